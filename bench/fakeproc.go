package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// The demo credentials cmd/forticloud-fake knows.
var demoCreds = fakeCreds{
	admin: "demo-admin", password: "demo-password", cloudToken: "demo-forticloud-token",
	lanAccount: "acct@example.com", lanUser: "ops@example.com", lanPassword: "demo-lan-password",
}

// fakeProc is cmd/forticloud-fake in a process of its own. The upstream login alone is measured
// against it from this process, so that, like the plugin's calls, it crosses processes: a call
// to the in-process fake skips the wake-up of another process, which the plugin's calls pay.
type fakeProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	url  string
	hc   *http.Client
}

func startFakeProc(root, dir string, latency time.Duration) (*fakeProc, error) {
	bin := filepath.Join(dir, "forticloud-fake")
	build := exec.Command("go", "build", "-o", bin, "./cmd/forticloud-fake")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build cmd/forticloud-fake: %w", err)
	}
	info := filepath.Join(dir, "fake.json")
	ca := filepath.Join(dir, "fake-ca.pem")
	logf, err := os.Create(filepath.Join(dir, "fake.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-ca-out", ca, "-info-out", info,
		"-latency", latency.String(), "-login-max", "1000000000", "-auth-rate", "0", "-call-rate", "0")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &fakeProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(info)
		if err == nil {
			var v struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(b, &v); err != nil || v.URL == "" {
				p.stop()
				return nil, fmt.Errorf("forticloud-fake wrote %q", b)
			}
			p.url = v.URL
			break
		}
		select {
		case <-p.done:
			return nil, errors.New("forticloud-fake exited at start; see fake.log")
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("forticloud-fake did not start within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		p.stop()
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		p.stop()
		return nil, errors.New("forticloud-fake's CA certificate cannot be read")
	}
	p.hc = &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
		MaxIdleConns:      64, MaxIdleConnsPerHost: 64,
	}, Timeout: time.Minute}
	return p, nil
}

func (p *fakeProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}
