package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler fetches CPU profiles of the plugin and of Vault over one run.
type profiler struct{ wg sync.WaitGroup }

func (p *profiler) wait() { p.wg.Wait() }

// startProfiles starts CPU profiles of the plugin (its pprof listener, BENCH_PPROF) and of
// Vault over the next d, written to the BENCH_PPROF directory.
func (b *bench) startProfiles(d time.Duration) *profiler {
	p := &profiler{}
	if err := os.MkdirAll(b.set.pprofDir, 0o755); err != nil {
		logf("profile: %v", err)
		return p
	}
	secs := max(1, int(d.Seconds()))
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		b.fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", b.res.pprofAddr, secs), "", "plugin-cpu.pprof")
	}()
	go func() {
		defer p.wg.Done()
		b.fetchProfile(fmt.Sprintf("%s/v1/sys/pprof/profile?seconds=%d", b.vault.addr, secs), rootToken, "vault-cpu.pprof")
	}()
	return p
}

// fetchProfile writes the profile at url to file in the BENCH_PPROF directory; it logs what
// fails, since a missing profile does not spoil the run.
func (b *bench) fetchProfile(url, token, file string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		logf("profile %s: %v", url, err)
		return
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	body, err := send(http.DefaultClient, req, "profile "+url, http.StatusOK)
	if err != nil {
		logf("%v", err)
		return
	}
	path := filepath.Join(b.set.pprofDir, file)
	if err := os.WriteFile(path, body, 0o644); err != nil {
		logf("profile: %v", err)
		return
	}
	logf("wrote %s", path)
}
