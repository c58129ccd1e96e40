#!/usr/bin/env bash
# make dev: a Vault dev server with the plugin registered (SHA-256 and version), enabled at
# forticloud/, and demo configs and roles against the fake Fortinet API. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

port=${VAULT_DEV_PORT:-8200}
version=${VERSION:-$(cat VERSION)}
dev=.dev
plugin=vault-plugin-secrets-forticloud
rm -rf "$dev" && mkdir -p "$dev/plugins"

echo "==> building the plugin ($version) and the fake Fortinet API"
CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/forticloud/vault-plugin-secrets-forticloud/backend.Version=$version" \
  -o "$dev/plugins/$plugin" ./cmd/$plugin
go build -o "$dev/forticloud-fake" ./cmd/forticloud-fake
vault_bin=$(scripts/get-vault.sh)

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$dev/forticloud-fake" -ca-out "$dev/fortitest-ca.pem" -info-out "$dev/fake.json" >"$dev/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$dev/fake.json" ] && break; sleep 0.1; done
[ -s "$dev/fake.json" ] || { cat "$dev/fake.log"; echo "the fake did not start"; exit 1; }
fake_url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$dev/fake.json")
fake_key=$(sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p' "$dev/fake.json")

cat >"$dev/vault.hcl" <<HCL
plugin_directory = "$PWD/$dev/plugins"
HCL
"$vault_bin" server -dev -dev-root-token-id=root -dev-listen-address="127.0.0.1:$port" \
  -config="$dev/vault.hcl" >"$dev/vault.log" 2>&1 &
pids+=($!)

export VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN=root
v() { "$vault_bin" "$@"; }
for _ in $(seq 100); do v status >/dev/null 2>&1 && break; sleep 0.2; done
v status >/dev/null || { tail -20 "$dev/vault.log"; echo "Vault did not start (port $port busy? set VAULT_DEV_PORT)"; exit 1; }

sha=$(sha256sum "$dev/plugins/$plugin" | cut -d' ' -f1)
v plugin register -sha256="$sha" -version="$version" secret "$plugin" >/dev/null
v secrets enable -path=forticloud -plugin-version="$version" "$plugin" >/dev/null

ca=@"$dev/fortitest-ca.pem"
v write forticloud/config/faz type=fortianalyzer url="$fake_url" auth_method=local_user \
  username=demo-admin password=demo-password ca_cert="$ca" >/dev/null
# Its admin may not manage admins, and the write warns so (dynamic_admin roles would fail on it):
# the warning is shown only if the write fails.
out=$(v write forticloud/config/faz-restricted type=fortianalyzer url="$fake_url" auth_method=local_user \
  username=demo-restricted-admin password=demo-password ca_cert="$ca" 2>&1) || { echo "$out"; exit 1; }
v write forticloud/config/faz-key type=fortianalyzer url="$fake_url" auth_method=api_key \
  api_key="$fake_key" ca_cert="$ca" >/dev/null
v write forticloud/config/faz-cloud type=fortianalyzer url="$fake_url" auth_method=forticloud_token \
  token=demo-forticloud-token ca_cert="$ca" >/dev/null
v write forticloud/config/fmg type=fortimanager url="$fake_url" auth_method=forticloud_api_user \
  api_id=DEMO-API-USER password=demo-api-password auth_url="$fake_url" ca_cert="$ca" >/dev/null
v write forticloud/config/lan type=fortilan url="$fake_url" account_id=acct@example.com \
  username=ops@example.com password=demo-lan-password ca_cert="$ca" >/dev/null
v write forticloud/roles/demo config=faz ttl=15m max_ttl=8h >/dev/null
v write forticloud/roles/restricted config=faz-restricted ttl=15m max_ttl=8h >/dev/null
v write forticloud/roles/faz-cloud config=faz-cloud ttl=15m max_ttl=8h >/dev/null
# A FortiAnalyzer admin of its own per lease, with the rights of the role; trusted hosts are
# loopback, where Vault and the fake run.
v write forticloud/roles/demo-dynamic config=faz credential_type=dynamic_admin \
  admin_profile=Restricted_User adoms=root,soc trusted_hosts=127.0.0.0/8,::1/128 rpc_permit=read \
  ttl=15m max_ttl=8h >/dev/null
v write forticloud/roles/demo-dynamic-app config=faz-key credential_type=dynamic_admin \
  admin_profile=Standard_User adoms=soc trusted_hosts=127.0.0.0/8 with_session=false \
  ttl=15m max_ttl=8h >/dev/null
v write forticloud/roles/fmg config=fmg ttl=15m max_ttl=8h >/dev/null
v write forticloud/roles/netops config=lan ttl=30m >/dev/null
# A FortiGate: the root api-user's key (the fake makes a new one each start), and a REST API
# admin of its own per lease, trusted from loopback only, where Vault and the fake run.
fgt_key=$(sed -n 's/.*"fortigate_key":"\([^"]*\)".*/\1/p' "$dev/fake.json")
v write forticloud/config/fgt type=fortigate url="$fake_url" api_key="$fgt_key" username=vault-root \
  ca_cert="$ca" >/dev/null
v write forticloud/roles/fgt-ci config=fgt admin_profile=demo_read_only vdoms=root \
  trusted_hosts=127.0.0.0/8,::1/128 ttl=30m max_ttl=4h >/dev/null

cat <<TXT

Vault dev server on $VAULT_ADDR (root token: root), plugin $plugin $version enabled at forticloud/.
The fake Fortinet API is at $fake_url (its CA: $dev/fortitest-ca.pem). Logs: $dev/vault.log, $dev/fake.log.

In another shell:
  export VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=root
  vault read forticloud/creds/demo          # a FortiAnalyzer session (local admin), under a lease
  vault read forticloud/creds/restricted    # a session of an admin without System Settings access
  vault read forticloud/creds/demo-dynamic  # a FortiAnalyzer admin made for this lease (ADOMs root, soc), its session
  vault read forticloud/creds/demo-dynamic-app   # one made with an API key root: username, password
  vault read forticloud/creds/faz-cloud     # a FortiAnalyzer session from a FortiCloud token
  vault read forticloud/creds/fmg           # a FortiManager session through a FortiCloud API user
  vault read forticloud/creds/fgt-ci        # a FortiGate REST API admin and its key, made for this lease
  vault write -f forticloud/rotate-root/fgt # the FortiGate root key regenerated: only Vault knows it
  vault read forticloud/creds/netops        # a FortiLAN Cloud access token
  vault lease revoke -prefix forticloud/creds/   # logs every session out, deletes every admin made, invalidates every token
  vault list forticloud/config ; vault read forticloud/config/faz

(vault here is $vault_bin.) Ctrl-C stops Vault and the fake.
TXT
wait "${pids[@]}"
