package integration_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

const rootToken = "root"

// ---- processes ----

// process is a child in a process group of its own (e2e.Process), tracked until it is stopped,
// so that TestMain kills whatever a test left running.
type process struct {
	name string
	proc *e2e.Process
}

func startProcess(name, logPath, home string, args ...string) (*process, error) {
	p, err := e2e.StartProcess(vaultBin, logPath, home, args...)
	if err != nil {
		return nil, err
	}
	trackGroup(p.PID(), name)
	return &process{name: name, proc: p}, nil
}

func (p *process) pid() int { return p.proc.PID() }

func (p *process) exited() bool { return p.proc.Exited() }

// stop sends SIGTERM and waits; past the grace period it kills the whole group. Whatever the
// process left behind in its group (a plugin) is killed too. It reports whether the process
// stopped on SIGTERM alone. Only the first call acts.
func (p *process) stop(grace time.Duration) bool {
	defer untrackGroup(p.pid())
	return p.proc.Stop(grace)
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- ports ----

var ports e2e.Ports

// freePort picks a free loopback port p with p+1 free too (Vault derives its cluster port from
// the API port), never one this run has handed out before.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Pair()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- Vault servers ----

// vaultServer is one Vault server process with the plugin registered and enabled.
type vaultServer struct {
	t       *testing.T
	name    string
	dir     string
	logPath string
	addr    string // http://127.0.0.1:port
	port    int
	dev     bool
	config  string // HCL file
	args    []string
	proc    *process
	client  *api.Client

	// file storage only
	unsealKey string
	rootToken string
}

type serverOpts struct {
	logLevel string   // default "debug"
	mount    string   // default "forticloud"; "-" mounts nothing
	devArgs  []string // more `vault server -dev` flags (e.g. -dev-latency=100)
}

// newDevServer starts `vault server -dev` on a free loopback port, registers the plugin and
// enables it, and stops the server when the test ends.
func newDevServer(t *testing.T, o serverOpts) *vaultServer {
	t.Helper()
	requireVault(t)
	s := newServer(t, o, true)
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		s.addr = fmt.Sprintf("http://127.0.0.1:%d", s.port)
		writeFile(t, s.config, fmt.Sprintf("plugin_directory = %q\n", pluginDir))
		s.args = []string{"server", "-dev", "-dev-root-token-id=" + rootToken,
			"-dev-listen-address=" + fmt.Sprintf("127.0.0.1:%d", s.port),
			"-config=" + s.config, "-log-level=" + s.logLevel(o)}
		s.args = append(s.args, o.devArgs...)
		err := s.start()
		if err == nil {
			break
		}
		if attempt < 3 && errors.Is(err, e2e.ErrAddrInUse) {
			t.Logf("%s: port %d taken, trying another: %v", s.name, s.port, err)
			continue
		}
		t.Fatalf("%s: %v\n%s", s.name, err, tailFile(s.logPath, 40))
	}
	s.client.SetToken(rootToken)
	s.setupPlugin(o)
	return s
}

// newFileServer starts a non-dev Vault with file storage, initialises it with one key share,
// unseals it, registers the plugin and enables it. restart stops and starts it again.
func newFileServer(t *testing.T, o serverOpts) *vaultServer {
	t.Helper()
	requireVault(t)
	s := newServer(t, o, false)
	s.port = freePort(t)
	s.addr = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	writeFile(t, s.config, fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr         = %q
cluster_addr     = "https://127.0.0.1:%d"
disable_mlock    = true
plugin_directory = %q
`, filepath.Join(s.dir, "data"), s.port, s.port+1, s.addr, s.port+1, pluginDir))
	s.args = []string{"server", "-config=" + s.config, "-log-level=" + s.logLevel(o)}
	if err := s.start(); err != nil {
		t.Fatalf("%s: %v\n%s", s.name, err, tailFile(s.logPath, 40))
	}
	ctx := context.Background()
	initResp, err := s.client.Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("%s: init: %v", s.name, err)
	}
	s.unsealKey, s.rootToken = initResp.Keys[0], initResp.RootToken
	s.client.SetToken(s.rootToken)
	s.unseal()
	s.setupPlugin(o)
	return s
}

func newServer(t *testing.T, o serverOpts, dev bool) *vaultServer {
	dir := t.TempDir()
	s := &vaultServer{t: t, name: "vault " + t.Name(), dir: dir, dev: dev,
		logPath: filepath.Join(dir, "vault.log"), config: filepath.Join(dir, "vault.hcl")}
	// Registered first, so it runs last: after the server stopped, with its shutdown logged.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: last lines of %s:\n%s", s.name, s.logPath, tailFile(s.logPath, 80))
		}
	})
	t.Cleanup(func() {
		if s.proc != nil && !s.proc.stop(20*time.Second) {
			t.Errorf("%s: did not stop within 20s of SIGTERM: killed", s.name)
		}
	})
	return s
}

func (s *vaultServer) logLevel(o serverOpts) string {
	if o.logLevel != "" {
		return o.logLevel
	}
	return "debug"
}

// start starts the process and waits until it answers (dev: unsealed and active).
func (s *vaultServer) start() error {
	p, err := startProcess(s.name, s.logPath, s.dir, s.args...)
	if err != nil {
		return err
	}
	s.proc = p
	c, err := api.NewClient(&api.Config{Address: s.addr, MaxRetries: 0, Timeout: 90 * time.Second})
	if err != nil {
		return err
	}
	if s.client != nil {
		c.SetToken(s.client.Token())
	}
	s.client = c
	err = e2e.WaitVault(c, p.proc, s.dev, 60*time.Second)
	if err != nil && p.exited() {
		p.stop(time.Second)
		s.proc = nil
	}
	return err
}

// unseal unseals a file-storage server and waits until it is active.
func (s *vaultServer) unseal() {
	s.t.Helper()
	ctx := context.Background()
	st, err := s.client.Sys().UnsealWithContext(ctx, s.unsealKey)
	if err != nil {
		s.t.Fatalf("%s: unseal: %v", s.name, err)
	}
	if st.Sealed {
		s.t.Fatalf("%s: still sealed after the one key share", s.name)
	}
	waitFor(s.t, 60*time.Second, s.name+" active after unseal", func() bool {
		h, err := s.client.Sys().HealthWithContext(ctx)
		if err != nil || h.Sealed || h.Standby {
			return false
		}
		_, err = s.client.Sys().ListMountsWithContext(ctx)
		return err == nil
	})
}

// restart stops a file-storage server with SIGTERM, starts it again with the same config and
// unseals it.
func (s *vaultServer) restart() {
	s.t.Helper()
	if s.dev {
		s.t.Fatal("restart: a dev server keeps nothing")
	}
	if !s.proc.stop(20 * time.Second) {
		s.t.Fatalf("%s: did not stop within 20s of SIGTERM", s.name)
	}
	s.proc = nil
	if err := s.start(); err != nil {
		s.t.Fatalf("%s: restart: %v", s.name, err)
	}
	s.unseal()
}

// setupPlugin registers the plugin in the catalog (SHA-256, version) and enables it.
func (s *vaultServer) setupPlugin(o serverOpts) {
	s.t.Helper()
	ctx := context.Background()
	err := s.client.Sys().RegisterPluginWithContext(ctx, &api.RegisterPluginInput{
		Name: pluginName, Type: api.PluginTypeSecrets, Command: pluginName, SHA256: pluginSHA, Version: pluginVersion,
	})
	if err != nil {
		s.t.Fatalf("%s: register the plugin: %v", s.name, err)
	}
	mount := o.mount
	if mount == "" {
		mount = "forticloud"
	}
	if mount == "-" {
		return
	}
	s.enable(mount)
}

func (s *vaultServer) enable(mount string) {
	s.t.Helper()
	err := s.client.Sys().MountWithContext(context.Background(), mount, &api.MountInput{
		Type: pluginName, Config: api.MountConfigInput{PluginVersion: pluginVersion},
	})
	if err != nil {
		s.t.Fatalf("%s: enable the plugin at %s: %v", s.name, mount, err)
	}
}

// log returns what the server wrote to stdout and stderr so far.
func (s *vaultServer) log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// pluginPIDs lists the running processes of the plugin binary that are children of the server.
func (s *vaultServer) pluginPIDs() []int {
	s.t.Helper()
	if s.proc == nil {
		return nil
	}
	pids, err := e2e.ChildPIDs(s.proc.pid(), pluginName)
	if err != nil {
		s.t.Fatal(err)
	}
	return pids
}

// ---- Vault Agent ----

// startAgent runs `vault agent -config=<hcl>` and stops it when the test ends.
func startAgent(t *testing.T, dir, hcl string) *process {
	t.Helper()
	cfg := filepath.Join(dir, "agent.hcl")
	logPath := filepath.Join(dir, "agent.log")
	writeFile(t, cfg, hcl)
	p, err := startProcess("vault agent "+t.Name(), logPath, dir, "agent", "-config="+cfg, "-log-level=debug")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vault agent: last lines of %s:\n%s", logPath, tailFile(logPath, 60))
		}
	})
	t.Cleanup(func() { p.stop(20 * time.Second) })
	return p
}

// ---- small helpers ----

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
