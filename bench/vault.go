package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

const rootToken = "root"

// vaultProc is `vault server -dev` (in-memory storage) in a process group of its own, so that
// the plugin processes it starts go with it.
type vaultProc struct {
	proc   *e2e.Process
	addr   string
	client *api.Client
}

func startVault(vaultBin, dir, pluginDir string, ports *e2e.Ports) (*vaultProc, error) {
	port, err := ports.Pair()
	if err != nil {
		return nil, err
	}
	hcl := filepath.Join(dir, "vault.hcl")
	// Synchronous revoke-prefix of thousands of leases outlasts the 90 s default.
	conf := fmt.Sprintf("plugin_directory = %q\ndefault_max_request_duration = \"30m\"\n", pluginDir)
	if err := os.WriteFile(hcl, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := e2e.StartProcess(vaultBin, filepath.Join(dir, "vault.log"), dir, "server", "-dev",
		"-dev-root-token-id="+rootToken, "-dev-listen-address="+addr, "-config="+hcl, "-log-level=warn")
	if err != nil {
		return nil, err
	}
	v := &vaultProc{proc: p, addr: "http://" + addr}
	if v.client, err = api.NewClient(&api.Config{Address: v.addr, MaxRetries: 0, Timeout: 30 * time.Minute}); err != nil {
		v.stop()
		return nil, err
	}
	v.client.SetToken(rootToken)
	if err := e2e.WaitVault(v.client, p, true, 60*time.Second); err != nil {
		v.stop()
		return nil, fmt.Errorf("%w; see %s", err, p.LogPath())
	}
	return v, nil
}

// stop sends SIGTERM, and kills the whole group (the plugins) if it lingers. It may be called
// more than once, from more than one goroutine.
func (v *vaultProc) stop() { v.proc.Stop(20 * time.Second) }

func (v *vaultProc) pid() int { return v.proc.PID() }

// version asks the server its version.
func (v *vaultProc) version() string {
	s, err := v.client.Logical().Read("sys/seal-status")
	if err == nil && s != nil {
		if ver, ok := s.Data["version"].(string); ok {
			return ver
		}
	}
	return "unknown"
}

// childPIDs lists the live processes whose parent is the server and whose command line names
// binary.
func (v *vaultProc) childPIDs(binary string) []int {
	pids, _ := e2e.ChildPIDs(v.pid(), binary)
	return pids
}
