# vault-plugin-secrets-forticloud
SHELL   := /usr/bin/env bash
MODULE  := github.com/forticloud/vault-plugin-secrets-forticloud
PLUGIN  := vault-plugin-secrets-forticloud
VERSION ?= $(shell cat VERSION)
LDFLAGS := -s -w -X $(MODULE)/backend.Version=$(VERSION)
BIN     := bin

.PHONY: all build fake vault test unit integration compat dev bench fuzz soak revoke-mass fmt lint release clean

all: build

build: ## the plugin binary, version stamped in
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/$(PLUGIN) ./cmd/$(PLUGIN)

fake: ## the fake Fortinet API as a command
	go build -o $(BIN)/forticloud-fake ./cmd/forticloud-fake

vault: ## a Vault binary: on PATH if recent, else built once from its Go module and cached
	@scripts/get-vault.sh

test: unit integration ## every test: unit, then end-to-end against a real Vault

unit:
	go vet ./...
	go test -race -count=1 ./client/... ./backend/... ./cmd/... ./internal/...

integration: ## end-to-end tests against a real Vault process (gets Vault, and a Terraform provider mirror where terraform is on PATH, first)
	vault=$$(scripts/get-vault.sh) || exit 1; \
	tfrc=$$(if command -v terraform >/dev/null; then scripts/get-terraform-provider-vault.sh; fi) || exit 1; \
	VAULT_BIN="$$vault" TF_CLI_CONFIG_FILE="$$tfrc" go test -count=1 -timeout 20m $(TESTFLAGS) ./integration/...

COMPAT_VAULT_VERSIONS ?= $(shell cat scripts/vault-version-oldest scripts/vault-version)
compat: ## the end-to-end suite against each of COMPAT_VAULT_VERSIONS (the oldest supported and the pinned newest; each built once, cached): a table per version; not part of `make test`
	scripts/compat.sh $(COMPAT_VAULT_VERSIONS)

dev: ## Vault dev server + plugin + fake Fortinet API: `vault read forticloud/creds/demo`
	@scripts/dev.sh

bench: ## Go micro-benchmarks of the hot paths, then the engine through a real Vault (BENCH_LATENCY=20ms): a table and bench/results.json
	go test -run '^$$' -bench . -benchmem ./client/... ./backend/...
	VAULT_BIN="$$(scripts/get-vault.sh)" KV_PLUGIN_BIN="$$(scripts/get-kv-plugin.sh)" go run ./bench

FUZZTIME ?= 30s
fuzz: ## every fuzz target for FUZZTIME each
	@for pkg in ./client ./backend; do \
	  for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; go test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

STATICCHECK_VERSION := v0.8.2
lint: ## gofmt, go vet and staticcheck (fetched through the Go module proxy)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...
	go vet -tags pprof ./cmd/...
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
DIST      ?= dist
release: ## binaries for every platform, version stamped in, and SHA256SUMS, in dist/
	rm -rf $(DIST) && mkdir -p $(DIST)
	@for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; out=$(DIST)/$(PLUGIN)_$(VERSION)_$${os}_$${arch}; \
	  echo "==> $$out"; \
	  GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/$(PLUGIN) || exit 1; \
	done
	cd $(DIST) && { command -v sha256sum >/dev/null && sum="sha256sum" || sum="shasum -a 256"; $$sum $(PLUGIN)_* > SHA256SUMS; } && cat SHA256SUMS

clean:
	rm -rf $(BIN) .dev

SOAK_DURATION ?= 10m
SOAK_WORKERS  ?= 8
SOAK_TIMEOUT  ?= 2h
soak: ## a bounded soak (SOAK_DURATION, SOAK_WORKERS) through a real Vault, random upstream faults; not part of `make test`
	SOAK=1 SOAK_DURATION=$(SOAK_DURATION) SOAK_WORKERS=$(SOAK_WORKERS) VAULT_BIN="$$(scripts/get-vault.sh)" \
	  go test -count=1 -timeout $(SOAK_TIMEOUT) -run '^TestSoak$$' -v ./integration/

REVOKE_MASS_LEASES  ?= 120
REVOKE_MASS_TIMEOUT ?= 30m
revoke-mass: ## REVOKE_MASS_LEASES FortiLAN leases ended by one revoke-prefix through a real Vault, FortiLAN's 60 calls a minute enforced (a minute per 60); not part of `make test`
	REVOKE_MASS=1 REVOKE_MASS_LEASES=$(REVOKE_MASS_LEASES) VAULT_BIN="$$(scripts/get-vault.sh)" \
	  go test -count=1 -timeout $(REVOKE_MASS_TIMEOUT) -run '^TestRevokeMass$$' -v ./integration/
