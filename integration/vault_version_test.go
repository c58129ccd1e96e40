package integration_test

import (
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
)

// vaultVersion is the release of vaultBin, set once by TestMain.
var vaultVersion e2e.Version

// vaultFeature is something of Vault's that a test uses and not every supported Vault has
// (README: "Vault versions"). `make compat` runs the tests against the oldest supported Vault
// and the newest, and lists the lines missing logs.
type vaultFeature struct {
	what         string // what it is, as a reader of the log knows it
	major, minor int    // the first Vault release that has it
	without      string // what the test does instead
}

// The features a test asks about: the one place where a version difference is written down.
var pluginPins = vaultFeature{"plugin version pins (sys/plugins/pins)", 1, 16,
	"the example runs with pin_plugin_version=false: the mount's own plugin_version, tuned"}

// missing reports whether this Vault lacks f; if it does, it logs so, and what the test does
// instead, on a line starting "unavailable on Vault" that `make compat` collects.
func (f vaultFeature) missing(t *testing.T) bool {
	t.Helper()
	if vaultVersion.AtLeast(f.major, f.minor) {
		return false
	}
	t.Logf("unavailable on Vault %s: %s, added in %d.%d; %s", vaultVersion, f.what, f.major, f.minor, f.without)
	return true
}
