package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

const (
	module        = e2e.Module
	pluginName    = "vault-plugin-secrets-forticloud"
	pluginVersion = "v0.0.0-bench"
	kvPluginName  = "vault-plugin-secrets-kv"
	kvCatalogName = "kv-external"
	rootToken     = "root"
)

// buildPlugin builds the plugin as `make build` does, with the bench version stamped in. With
// pprof set, it is built with -tags pprof: the same plugin with a pprof listener.
func buildPlugin(root, out string, pprof bool) error {
	args := []string{"build", "-trimpath", "-ldflags", "-s -w -X " + module + "/backend.Version=" + pluginVersion, "-o", out}
	if pprof {
		args = append(args, "-tags", "pprof")
	}
	cmd := exec.Command("go", append(args, "./cmd/"+pluginName)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// scriptOutput runs one of the repository's scripts/ and returns the last line it printed.
func scriptOutput(root, script string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "scripts", script))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// freePort picks a free loopback port p with p+1 free too (Vault's cluster port).
func freePort() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err2 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err2 != nil {
			continue
		}
		l2.Close()
		return p, nil
	}
	return 0, errors.New("no free pair of loopback ports")
}

// vaultProc is `vault server -dev` (in-memory storage) in a process group of its own, so that
// the plugin processes it starts go with it.
type vaultProc struct {
	cmd     *exec.Cmd
	done    chan struct{}
	addr    string
	logPath string
	client  *api.Client
}

func startVault(vaultBin, dir, pluginDir string) (*vaultProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	hcl := filepath.Join(dir, "vault.hcl")
	// Synchronous revoke-prefix of thousands of leases outlasts the 90 s default.
	conf := fmt.Sprintf("plugin_directory = %q\ndefault_max_request_duration = \"30m\"\n", pluginDir)
	if err := os.WriteFile(hcl, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "vault.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(vaultBin, "server", "-dev", "-dev-root-token-id="+rootToken,
		"-dev-listen-address="+addr, "-config="+hcl, "-log-level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Without VAULT_* variables, which would steer the server, and with HOME in dir, where a
	// dev server writes its token helper file.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	v := &vaultProc{cmd: cmd, done: make(chan struct{}), addr: "http://" + addr, logPath: logPath}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(v.done)
	}()
	c, err := api.NewClient(&api.Config{Address: v.addr, MaxRetries: 0, Timeout: 30 * time.Minute})
	if err != nil {
		v.stop()
		return nil, err
	}
	c.SetToken(rootToken)
	v.client = c
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-v.done:
			return nil, fmt.Errorf("vault exited at start; see %s", logPath)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		h, err := c.Sys().HealthWithContext(ctx)
		cancel()
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			return v, nil
		}
		if time.Now().After(deadline) {
			v.stop()
			return nil, fmt.Errorf("vault did not answer within 60s; see %s", logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM, and kills the whole group (the plugins) if it lingers.
func (v *vaultProc) stop() {
	pgid := v.cmd.Process.Pid
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-v.done
	}
	e2e.ReapGroup(pgid)
}

func (v *vaultProc) pid() int { return v.cmd.Process.Pid }

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

// rssKB reads VmRSS of a process, in kB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// vaultHTTP sends the measured requests: a plain keep-alive client, so that what is measured
// is Vault and the plugin rather than a client library.
type vaultHTTP struct {
	addr string
	hc   *http.Client
}

func newVaultHTTP(addr string) *vaultHTTP {
	return &vaultHTTP{addr: addr, hc: &http.Client{Transport: &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     10 * time.Minute,
		DisableCompression:  true,
	}, Timeout: 30 * time.Minute}}
}

// do sends one request and reads the answer whole; any status but 200, 202 and 204 is an error.
func (v *vaultHTTP) do(method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, v.addr+"/v1/"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", rootToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

func (v *vaultHTTP) read(path string) error {
	_, err := v.do(http.MethodGet, path, nil)
	return err
}

// cpuTime reads the CPU time (user and system) a process has used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	// After the comm: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	// utime stime: utime and stime are the 12th and 13th fields, in clock ticks (USER_HZ, 100
	// on Linux).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}
