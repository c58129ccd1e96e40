#!/usr/bin/env bash
# Prints the path of a vault binary (1.15 or newer), building one from Vault's Go module when
# none is on PATH. Vault's release downloads are out of reach here; its module is not. The module
# zip leaves out ./api and ./sdk, which Vault's go.mod replaces locally, so those two replace lines
# are dropped and the real modules are fetched instead. The build is cached outside the clone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(tr -d ' \n' <"$here/vault-version")
cache=${VAULT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-plugin-secrets-forticloud/vault}
bin="$cache/$version/vault"

log() { echo "get-vault: $*" >&2; }

# A vault on PATH will do when it is recent enough.
if [ -z "${VAULT_FORCE_BUILD:-}" ] && command -v vault >/dev/null 2>&1; then
  v=$(vault version 2>/dev/null | sed -n 's/^Vault v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  if [ -n "$v" ]; then
    set -- $v
    if [ "$1" -gt 1 ] || { [ "$1" -eq 1 ] && [ "$2" -ge 15 ]; }; then
      command -v vault
      exit 0
    fi
  fi
fi

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache/$version"
# One build at a time, even when several test runs ask at once.
exec 9>"$cache/$version/.lock"
flock 9
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

log "building Vault v$version from its Go module (once; 5-15 minutes on 2 cores)"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
src=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/vault@v$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] || { log "cannot download github.com/hashicorp/vault@v$version"; exit 1; }
cp -r "$src" "$work/vault"
chmod -R u+w "$work/vault"
cd "$work/vault"
# Drop the replace lines that point into the module's own folders (./api, ./sdk, ./api/auth/...),
# which the module zip does not carry; the published modules are used instead.
sed -i -E '/^replace[[:space:]].*=>[[:space:]]+\.\//d; /^[[:space:]]+github\.com\/hashicorp\/vault\/[^[:space:]]+[[:space:]]+=>[[:space:]]+\.\//d' go.mod
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/hashicorp/vault/version.Version=$version -X github.com/hashicorp/vault/version.VersionPrerelease=" \
  -o "$bin.tmp" .
mv "$bin.tmp" "$bin"
log "built $bin"
echo "$bin"
