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
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
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
	proc   *e2e.Process
	url    string
	apiKey string // the demo admin's, for dynamic admins made straight upstream
	fgtKey string // the demo FortiGate root api-user's, for api-users made straight upstream
	hc     *http.Client
}

func startFakeProc(root, dir string, latency time.Duration) (*fakeProc, error) {
	bin := filepath.Join(dir, "forticloud-fake")
	build := exec.Command("go", "build", "-o", bin, "./cmd/forticloud-fake")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build cmd/forticloud-fake: %w", err)
	}
	info, ca := filepath.Join(dir, "fake.json"), filepath.Join(dir, "fake-ca.pem")
	proc, err := e2e.StartProcess(bin, filepath.Join(dir, "fake.log"), dir, "-addr", "127.0.0.1:0",
		"-ca-out", ca, "-info-out", info, "-latency", latency.String(),
		"-login-max", "1000000000", "-auth-rate", "0", "-call-rate", "0")
	if err != nil {
		return nil, err
	}
	p := &fakeProc{proc: proc}
	if p.url, p.apiKey, p.fgtKey, err = waitFakeInfo(proc, info); err == nil {
		p.hc, err = fakeClient(ca)
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// waitFakeInfo waits for the fake to write its URL, the demo admin's API key and the demo
// FortiGate root's key to the info file.
func waitFakeInfo(proc *e2e.Process, info string) (url, apiKey, fgtKey string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(info); err == nil {
			var v struct {
				URL    string `json:"url"`
				APIKey string `json:"api_key"`
				FGTKey string `json:"fortigate_key"`
			}
			if err := json.Unmarshal(b, &v); err != nil || v.URL == "" || v.APIKey == "" || v.FGTKey == "" {
				return "", "", "", errors.New("forticloud-fake wrote an info file without url, api_key or fortigate_key")
			}
			return v.URL, v.APIKey, v.FGTKey, nil
		}
		if proc.Exited() {
			return "", "", "", errors.New("forticloud-fake exited at start; see fake.log")
		}
		if time.Now().After(deadline) {
			return "", "", "", errors.New("forticloud-fake did not start within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeClient is an HTTP/2 client that trusts the fake's CA, read from caFile.
func fakeClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("forticloud-fake's CA certificate cannot be read")
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
		MaxIdleConns:      64, MaxIdleConnsPerHost: 64,
	}, Timeout: time.Minute}, nil
}

func (p *fakeProc) stop() { p.proc.Stop(10 * time.Second) }
