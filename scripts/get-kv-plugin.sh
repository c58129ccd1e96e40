#!/usr/bin/env bash
# Prints the path of a vault-plugin-secrets-kv binary: Vault's KV secrets engine built as an
# *external* plugin, for `make bench`, which reads from it to measure what any external plugin
# request costs (the gRPC hop included). It is built once from its Go module, at the version
# Vault's go.mod pins (v0.25.0 for Vault 1.21), and cached outside the clone, like
# scripts/get-vault.sh caches Vault. Replace lines that point into the module's own folders,
# which the module zip does not carry, are dropped, as get-vault.sh does.
set -euo pipefail

version=${KV_PLUGIN_VERSION:-v0.25.0}
cache=${KV_PLUGIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-plugin-secrets-forticloud/kv-plugin}
bin="$cache/$version/vault-plugin-secrets-kv"

log() { echo "get-kv-plugin: $*" >&2; }

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache/$version"
# One build at a time, even when several runs ask at once.
exec 9>"$cache/$version/.lock"
flock 9
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

log "building github.com/hashicorp/vault-plugin-secrets-kv@$version from its Go module (once)"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
src=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/vault-plugin-secrets-kv@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] || { log "cannot download github.com/hashicorp/vault-plugin-secrets-kv@$version"; exit 1; }
cp -r "$src" "$work/kv"
chmod -R u+w "$work/kv"
cd "$work/kv"
sed -i -E '/^replace[[:space:]].*=>[[:space:]]+\.\.?\//d; /^[[:space:]]+[^[:space:]]+([[:space:]]+v[^[:space:]]+)?[[:space:]]+=>[[:space:]]+\.\.?\//d' go.mod
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" ./cmd/vault-plugin-secrets-kv
mv "$bin.tmp" "$bin"
log "built $bin"
echo "$bin"
