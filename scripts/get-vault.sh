#!/usr/bin/env bash
# Prints the path of a vault binary (1.15 or newer), building one from Vault's Go module when
# none is on PATH, pinned in scripts/vault-version and cached outside the clone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
version=$(tr -d ' \n' <"$here/vault-version")
cache=${VAULT_CACHE_DIR:-$cache_root/vault}

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

build() {
  log "building Vault v$version from its Go module (once; 5-15 minutes on 2 cores)"
  module_source "github.com/hashicorp/vault@v$version" vault
  cd vault
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/vault/version.Version=$version -X github.com/hashicorp/vault/version.VersionPrerelease=" \
    -o "$1" .
}
cached "$cache/$version/vault" build
