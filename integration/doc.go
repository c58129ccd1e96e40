// Package integration holds the end-to-end tests of the plugin: real Vault server and Vault
// Agent processes, started on loopback ports the tests pick, with the plugin built, registered
// by SHA-256 and version, and enabled, against the in-process fake Fortinet API
// (client/fortitest).
//
// Run them with `make integration`, which sets VAULT_BIN; without VAULT_BIN every test skips
// (and fails the run when CI=true).
package integration
