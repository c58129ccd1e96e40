#!/usr/bin/env bash
# Leases a FortiGate REST API key from Vault, asks the FortiGate's status with it through curl,
# and revokes the lease, which deletes the REST API admin upstream: the key lived for one job.
#
#   export VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root     # `make dev` in another shell
#   examples/fortigate-curl/fgt-status.sh fgt-ci .dev/fortitest-ca.pem
#
# Arguments: the role (default fgt-ci) and the FortiGate's CA certificate (default: the system's).
# FORTICLOUD_MOUNT is the engine's mount (default forticloud); VAULT the vault command. Needs jq.
set -euo pipefail
role=${1:-fgt-ci}
ca=${2:-}
mount=${FORTICLOUD_MOUNT:-forticloud}
vault=${VAULT:-vault}

# One read, one lease: every field comes from the same answer (`-field` would lease each time).
creds=$("$vault" read -format=json "$mount/creds/$role")
lease=$(jq -r .lease_id <<<"$creds")
trap '"$vault" lease revoke "$lease" >/dev/null' EXIT
url=$(jq -r .data.url <<<"$creds")
key=$(jq -r .data.api_key <<<"$creds")

# The key goes in a header, never in the URL (FortiOS refuses it there since 7.4.5), and curl
# reads that header from stdin, so that the key is not in the process list.
curl -fsS ${ca:+--cacert "$ca"} -K - "$url/api/v2/monitor/system/status" <<<"header = \"Authorization: Bearer $key\""
echo
