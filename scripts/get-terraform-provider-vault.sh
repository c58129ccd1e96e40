#!/usr/bin/env bash
# Prints the path of a Terraform CLI configuration file (for TF_CLI_CONFIG_FILE) that installs
# hashicorp/vault from a local filesystem mirror, for the test that applies examples/terraform.
# No provider registry is reachable here, and the Go module proxy serves
# github.com/hashicorp/terraform-provider-vault only at v1.9.0, whose code predates Terraform
# 0.12 and speaks plugin protocol 4, which Terraform 1.x refuses. So that code is built against
# Terraform v0.12.31's plugin SDK, whose plugin.Serve also speaks protocol 5 (what provider 2.0.0
# did upstream); its vault_mount and vault_generic_endpoint are what the example uses. Built
# once and cached outside the clone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
version=1.9.0
sdk=v0.12.31
cache=${TF_PROVIDER_CACHE_DIR:-$cache_root/terraform-provider-vault}
platform=$(go env GOOS)_$(go env GOARCH)
mirror="$cache/$version-sdk-$sdk/mirror"
bin="$mirror/registry.terraform.io/hashicorp/vault/$version/$platform/terraform-provider-vault_v$version"

build() {
  log "building terraform-provider-vault v$version with Terraform $sdk's SDK from their Go modules (once; about a minute)"
  module_source "github.com/hashicorp/terraform-provider-vault@v$version" provider
  cd provider
  rm -rf vendor
  # go get lists every module it moves: keep that for when it fails.
  GOFLAGS=-mod=mod go get "github.com/hashicorp/terraform@$sdk" 2>go-get.log || { cat go-get.log >&2; return 1; }
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" .
}
# The lock stays out of the mirror, which holds only what Terraform installs.
CACHED_LOCK="$cache/.lock" cached "$bin" build >/dev/null

rc="$cache/$version-sdk-$sdk/terraformrc"
tmp=$(mktemp "$rc.XXXXXX")
cat >"$tmp" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/vault"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/vault"]
  }
}
RC
mv "$tmp" "$rc"
echo "$rc"
