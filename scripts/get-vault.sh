#!/usr/bin/env bash
# Usage: get-vault.sh [VERSION]
# Prints the path of a vault binary. Without VERSION: the vault on PATH when it is the oldest
# supported (scripts/vault-version-oldest) or newer, else the version pinned in
# scripts/vault-version. Either way one not on PATH is built from Vault's Go module, once, and
# cached outside the clone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
version=${1:-$(tr -d ' \n' <"$here/vault-version")}
cache=${VAULT_CACHE_DIR:-$cache_root/vault}

# A vault on PATH will do when no version is asked for and it is recent enough.
if [ $# -eq 0 ] && [ -z "${VAULT_FORCE_BUILD:-}" ] && command -v vault >/dev/null 2>&1; then
  IFS=. read -r min_major min_minor _ <"$here/vault-version-oldest"
  v=$(vault version 2>/dev/null | sed -n 's/^Vault v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  if [ -n "$v" ]; then
    set -- $v
    if [ "$1" -gt "$min_major" ] || { [ "$1" -eq "$min_major" ] && [ "$2" -ge "$min_minor" ]; }; then
      command -v vault
      exit 0
    fi
  fi
fi

# The module zip leaves out ./sdk, a module of its own, and the SDK a release was built with is
# often no published sdk version: its release branch gets fixes between sdk tags. So ./sdk is
# put back from the sdk version Vault's go.mod requires, and scripts/vault-build/VERSION.patch,
# where there is one, brings the SDK (or Vault's calls into it) to what that release compiled
# against. It names each difference and why; nothing else of Vault is changed.
build() {
  log "building Vault v$version from its Go module (once; 5-15 minutes on 2 cores)"
  module_source "github.com/hashicorp/vault@v$version" vault
  local sdk
  sdk=$(awk '$1 == "github.com/hashicorp/vault/sdk" && $2 ~ /^v/ { print $2; exit }' vault/go.mod)
  [ -n "$sdk" ] || { log "vault v$version: its go.mod requires no github.com/hashicorp/vault/sdk"; return 1; }
  module_source "github.com/hashicorp/vault/sdk@$sdk" sdk
  mv sdk vault/sdk
  cd vault
  go mod edit -replace github.com/hashicorp/vault/sdk=./sdk
  local patch=$here/vault-build/$version.patch
  if [ -f "$patch" ]; then
    log "applying $(basename "$patch") (sdk $sdk)"
    # git apply outside any repository: paths are taken from here even if $TMPDIR is in one.
    GIT_CEILING_DIRECTORIES=$(dirname "$PWD") git apply --whitespace=nowarn "$patch"
  fi
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/vault/version.Version=$version -X github.com/hashicorp/vault/version.VersionPrerelease=" \
    -o "$1" .
}
cached "$cache/$version/vault" build
