package integration_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
)

const (
	module        = e2e.Module
	pluginName    = "vault-plugin-secrets-forticloud"
	pluginVersion = "v0.1.0-e2e"
)

// Set once by TestMain.
var (
	vaultBin   string // the vault binary
	pluginDir  string // plugin_directory of every server: holds the plugin binary only
	pluginSHA  string // hex SHA-256 of the plugin binary
	skipReason string // when set, every test skips with it
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	vaultBin = os.Getenv("VAULT_BIN")
	if vaultBin == "" {
		msg := "VAULT_BIN is not set: run the end-to-end tests with `make integration`, which gets a Vault binary and sets it"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "integration: "+msg+" (CI=true: failing rather than skipping)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "integration: skipping every test: "+msg)
		skipReason = msg
		return m.Run()
	}
	if _, err := exec.LookPath(vaultBin); err != nil {
		fmt.Fprintf(os.Stderr, "integration: VAULT_BIN=%q: %v\n", vaultBin, err)
		return 1
	}
	v, err := e2e.VaultVersion(vaultBin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	vaultVersion = v
	fmt.Fprintf(os.Stderr, "integration: Vault %s (%s)\n", vaultVersion, vaultBin)

	// The tests spend their time waiting on processes, not computing: run more of them at once
	// than the default GOMAXPROCS, unless -parallel was given.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "4")
	}

	dir, err := os.MkdirTemp("", "forticloud-e2e-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginDir = dir
	if err := buildPlugin(filepath.Join(dir, pluginName)); err != nil {
		fmt.Fprintln(os.Stderr, "integration: building the plugin:", err)
		return 1
	}
	sum, err := e2e.FileSHA256(filepath.Join(dir, pluginName))
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	pluginSHA = sum

	code := m.Run()
	reportAdminTally()
	if n := killLeftovers(); n > 0 {
		fmt.Fprintf(os.Stderr, "integration: killed %d process group(s) a test left running\n", n)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// buildPlugin builds the plugin with the e2e version, a 5 s WAL rollback age and a 2 s rotation
// scheduler tick stamped in.
func buildPlugin(out string) error { return buildPluginVersion(out, pluginVersion) }

// buildPluginVersion builds the plugin as buildPlugin does, with another version stamped in.
func buildPluginVersion(out, version string) error {
	root, err := e2e.ModuleRoot()
	if err != nil {
		return err
	}
	// A root session kept 1 s (not a minute) lets the tests wait for the upstream to be empty.
	ldflags := fmt.Sprintf("-X %s/backend.Version=%s -X %s/backend.walRollbackMinAge=5s -X %s/backend.rotationTick=2s "+
		"-X %s/backend.rootSessionIdle=1s", module, version, module, module, module)
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, "./cmd/"+pluginName)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "integration: built the plugin in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func requireVault(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// Process groups started by the tests (Vault servers with their plugins, agents). Each process
// is started in a group of its own, so that its children (the plugin) go with it.
var groups = struct {
	sync.Mutex
	live map[int]string
}{live: map[int]string{}}

func trackGroup(pgid int, name string) {
	groups.Lock()
	defer groups.Unlock()
	groups.live[pgid] = name
}

func untrackGroup(pgid int) {
	groups.Lock()
	defer groups.Unlock()
	delete(groups.live, pgid)
}

// killLeftovers kills every process group a test started and did not stop: only ours, by id.
func killLeftovers() int {
	groups.Lock()
	defer groups.Unlock()
	n := 0
	for pgid, name := range groups.live {
		if syscall.Kill(-pgid, 0) == nil {
			fmt.Fprintf(os.Stderr, "integration: %s (process group %d) still running: killing it\n", name, pgid)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			n++
		}
		delete(groups.live, pgid)
	}
	return n
}
