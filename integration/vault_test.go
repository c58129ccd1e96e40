package integration_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

const rootToken = "root"

// ---- processes ----

// process is a child started in a process group of its own, its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	logFile *os.File

	stopOnce  sync.Once
	stopClean bool
}

// childEnv is the test's environment without VAULT_* variables, which would steer the child
// (VAULT_ADDR, VAULT_TOKEN, ...), and with HOME in dir, so that a dev server's ~/.vault-token
// lands there and not in the user's home.
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

func startProcess(name, logPath, home string, args ...string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "==== %s: %s %s\n", time.Now().Format(time.RFC3339Nano), vaultBin, strings.Join(args, " "))
	cmd := exec.Command(vaultBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = childEnv(home)
	cmd.Dir = home // relative paths in a config (the agent example's) are taken from here
	// A group of its own, so that the plugin processes it starts can be found and stopped with
	// it; and SIGTERM if the test binary dies (a timeout panic), so that nothing outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	trackGroup(cmd.Process.Pid, name)
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), logFile: f}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits; past the grace period it kills the whole group. Whatever the
// process left behind in its group (a plugin) is killed too. It reports whether the process
// stopped on SIGTERM alone. Only the first call acts.
func (p *process) stop(grace time.Duration) bool {
	p.stopOnce.Do(func() { p.stopClean = p.doStop(grace) })
	return p.stopClean
}

func (p *process) doStop(grace time.Duration) bool {
	pgid := p.pid()
	defer untrackGroup(pgid)
	defer p.logFile.Close()
	clean := true
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			clean = false
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	e2e.ReapGroup(pgid)
	return clean
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

var ports = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

// freePort picks a free loopback port p with p+1 free too (Vault derives its cluster port from
// the API port), never one this run has handed out before.
func freePort(t *testing.T) int {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err2 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err2 != nil {
			continue
		}
		l2.Close()
		if ports.used[p] || ports.used[p+1] {
			continue
		}
		ports.used[p], ports.used[p+1] = true, true
		return p
	}
	t.Fatal("no free pair of loopback ports")
	return 0
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
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p.exited() {
			p.stop(time.Second)
			s.proc = nil
			log, _ := os.ReadFile(s.logPath)
			if bytes.Contains(log, []byte("address already in use")) {
				return errors.New("vault exited: address already in use")
			}
			return fmt.Errorf("vault exited at start: %v", p.waitErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var ready bool
		if s.dev {
			h, err := c.Sys().HealthWithContext(ctx)
			ready = err == nil && h.Initialized && !h.Sealed && !h.Standby
		} else {
			_, err := c.Sys().SealStatusWithContext(ctx)
			ready = err == nil
		}
		cancel()
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("vault did not answer within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
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
