package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
)

// bench is one run's world.
type bench struct {
	set      settings
	root     string
	dir      string // the run's files: plugins, logs
	keepLogs bool   // the logs stay for a look when the run fails
	ports    e2e.Ports
	vault    *vaultProc
	vh       *vaultHTTP
	fazFake  *fortitest.Server // FortiAnalyzer sessions: the plugin's configs faz, faz-token
	lanFake  *fortitest.Server // FortiLAN tokens and FortiCloud IAM: lan, lan-api
	direct   *fortitest.Server // the upstream login alone, from this same process
	fakeP    *fakeProc         // the upstream login alone, from another process
	upIn     *upstream         // calls direct
	up       *upstream         // calls fakeP
	res      results
}

func newBench() (*bench, error) {
	root, err := e2e.ModuleRoot()
	if err != nil {
		return nil, err
	}
	set, err := loadSettings(root)
	if err != nil {
		return nil, err
	}
	b := &bench{set: set, root: root, keepLogs: true}
	b.res.Settings, b.res.Machine, b.res.B = set, machineInfo(), set.bDir
	logf("load average at start: %s", b.res.Machine.LoadStart)
	return b, nil
}

// start builds the plugins, and starts the fakes and Vault.
func (b *bench) start() error {
	vaultBin, err := toolPath(b.root, "VAULT_BIN", "get-vault.sh")
	if err != nil {
		return err
	}
	kvBin, err := toolPath(b.root, "KV_PLUGIN_BIN", "get-kv-plugin.sh")
	if err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "forticloud-bench-"); err != nil {
		return err
	}
	if err := b.buildPlugins(kvBin); err != nil {
		return err
	}
	b.res.kvVersion = kvVersion(kvBin)
	b.res.Machine.KVPlugin = "github.com/hashicorp/vault-plugin-secrets-kv " + b.res.kvVersion
	if err := b.startFakes(); err != nil {
		return err
	}
	logf("starting Vault (%s)", vaultBin)
	if b.vault, err = startVault(vaultBin, b.dir, b.pluginDir(), &b.ports); err != nil {
		return err
	}
	b.stopOnInterrupt()
	b.vh = newVaultHTTP(b.vault.addr)
	b.res.Machine.VaultVersion = b.vault.version()
	return nil
}

// buildPlugins fills the plugin directory: this checkout's plugin, BENCH_B's, the KV plugin.
func (b *bench) buildPlugins(kvBin string) error {
	if err := os.MkdirAll(b.pluginDir(), 0o755); err != nil {
		return err
	}
	logf("building the plugin")
	if err := buildPlugin(b.root, filepath.Join(b.pluginDir(), pluginName), b.set.pprofDir != ""); err != nil {
		return fmt.Errorf("build the plugin: %w", err)
	}
	if b.set.bDir != "" {
		logf("building the plugin of %s (B)", b.set.bDir)
		if err := buildPlugin(b.set.bDir, filepath.Join(b.pluginDir(), pluginName+"-b"), false); err != nil {
			return fmt.Errorf("build the plugin of BENCH_B: %w", err)
		}
	}
	return copyFile(kvBin, filepath.Join(b.pluginDir(), kvPluginName), 0o755)
}

// startFakes starts the in-process fakes and cmd/forticloud-fake.
func (b *bench) startFakes() error {
	b.fazFake, b.lanFake, b.direct = newFake(b.set.Latency), newFake(b.set.Latency), newFake(b.set.Latency)
	b.upIn = newUpstream(b.direct.URL, b.direct.Client(), fakeCreds{admin: fazAdmin, password: fazPassword})
	var err error
	if b.fakeP, err = startFakeProc(b.root, b.dir, b.set.Latency); err != nil {
		return err
	}
	creds := demoCreds
	creds.apiKey, creds.fgtKey = b.fakeP.apiKey, b.fakeP.fgtKey
	b.up = newUpstream(b.fakeP.url, b.fakeP.hc, creds)
	return nil
}

// stopOnInterrupt stops Vault, its plugins with it, and the fake's process on SIGINT or SIGTERM.
func (b *bench) stopOnInterrupt() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		logf("interrupted: stopping Vault and the fake")
		b.vault.stop()
		b.fakeP.stop()
		os.Exit(130)
	}()
}

// close stops whatever start started, however the run ends, and removes the run's files
// unless the logs are kept.
func (b *bench) close() {
	if b.vault != nil {
		b.vault.stop()
	}
	if b.fakeP != nil {
		b.fakeP.stop()
	}
	for _, f := range []*fortitest.Server{b.direct, b.lanFake, b.fazFake} {
		if f != nil {
			f.Close()
		}
	}
	switch {
	case b.dir == "":
	case b.keepLogs:
		logf("logs kept in %s", b.dir)
	default:
		os.RemoveAll(b.dir)
	}
}
