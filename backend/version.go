package backend

// Version is the plugin's version, stamped at build time with
// -ldflags "-X github.com/forticloud/vault-plugin-secrets-forticloud/backend.Version=v1.2.3".
// Vault compares it with the version given at `vault plugin register -version`.
var Version = "v0.0.0-dev"
