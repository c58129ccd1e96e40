#!/usr/bin/env bash
# Prints the path of a vault-plugin-secrets-kv binary: Vault's KV secrets engine built as an
# *external* plugin, for `make bench`, which reads from it to measure what any external plugin
# request costs (the gRPC hop included). It is built once from its Go module, at the version
# Vault's go.mod pins (v0.25.0 for Vault 1.21), and cached outside the clone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
version=${KV_PLUGIN_VERSION:-v0.25.0}
cache=${KV_PLUGIN_CACHE_DIR:-$cache_root/kv-plugin}

build() {
  log "building github.com/hashicorp/vault-plugin-secrets-kv@$version from its Go module (once)"
  module_source "github.com/hashicorp/vault-plugin-secrets-kv@$version" kv
  cd kv
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" ./cmd/vault-plugin-secrets-kv
}
cached "$cache/$version/vault-plugin-secrets-kv" build
