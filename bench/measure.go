package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ms is a duration in milliseconds, for tables and JSON.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stats summarises latency samples.
type stats struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Mean float64 `json:"mean_ms"`
	Min  float64 `json:"min_ms"`
	Max  float64 `json:"max_ms"`
}

func summarise(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return stats{N: len(s), P50: ms(quantile(s, 0.50)), P99: ms(quantile(s, 0.99)),
		Mean: ms(sum / time.Duration(len(s))), Min: ms(s[0]), Max: ms(s[len(s)-1])}
}

// quantile of sorted samples, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// op is one measured operation.
type op struct {
	name string
	fn   func() error
}

// sequential runs every op n times, one at a time, so that each sees the machine in the same
// state: round robin, since load from other processes drifts and blocks would each see a
// different part of it; in a new random order each round, and each after the same pause. An
// op that follows another closely finds Vault and the plugin still awake (threads spinning,
// virtual CPUs not halted), and one that follows a pause, or a 20 ms upstream wait, pays for
// waking them: measured in a fixed order, the op after a fast one would look faster than it is.
func sequential(ops []op, n int, pause time.Duration) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	order := slices.Clone(ops)
	for i := range n {
		rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, o := range order {
			time.Sleep(pause)
			start := time.Now()
			if err := o.fn(); err != nil {
				return nil, fmt.Errorf("%s (#%d): %w", o.name, i+1, err)
			}
			out[o.name] = append(out[o.name], time.Since(start))
		}
	}
	return out, nil
}

// loadResult is one closed-loop load run.
type loadResult struct {
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	Latency     stats   `json:"latency"`
	FirstError  string  `json:"first_error,omitempty"`
}

// load runs fn from c workers until d has passed (d > 0) or n calls were made (n > 0).
func load(c int, d time.Duration, n int, fn func() error) loadResult {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr string
		taken    atomic.Int64
	)
	start := time.Now()
	deadline := start.Add(d)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				if d > 0 && !time.Now().Before(deadline) {
					break
				}
				if n > 0 && taken.Add(1) > int64(n) {
					break
				}
				t0 := time.Now()
				err := fn()
				el := time.Since(t0)
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, el)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	return loadResult{Concurrency: c, Requests: len(lat), Errors: errs, Seconds: el.Seconds(),
		PerSecond: float64(len(lat)) / el.Seconds(), Latency: summarise(lat), FirstError: firstErr}
}

// upstream calls a fake directly, as the plugin would but without Vault: the floor that the
// upstream login alone sets. It keeps what it opened, to close it afterwards, untimed.
type upstream struct {
	url   string
	hc    *http.Client
	creds fakeCreds

	mu       sync.Mutex
	sessions []string
	tokens   []string
}

// fakeCreds are the credentials a fake knows.
type fakeCreds struct {
	admin, password, cloudToken, lanAccount, lanUser, lanPassword string
}

func newUpstream(url string, hc *http.Client, c fakeCreds) *upstream {
	return &upstream{url: url, hc: hc, creds: c}
}

func (u *upstream) post(path, bearer string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, u.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	return b, nil
}

func (u *upstream) rpcLogin(url string, data any) error {
	body, _ := json.Marshal(map[string]any{"id": 1, "method": "exec", "session": nil,
		"params": []any{map[string]any{"url": url, "data": data}}})
	b, err := u.post("/jsonrpc", "", body)
	if err != nil {
		return err
	}
	var a struct {
		Session string `json:"session"`
	}
	if json.Unmarshal(b, &a) != nil || a.Session == "" {
		return fmt.Errorf("%s: no session in %s", url, b)
	}
	u.mu.Lock()
	u.sessions = append(u.sessions, a.Session)
	u.mu.Unlock()
	return nil
}

// fazLogin is /sys/login/user.
func (u *upstream) fazLogin() error {
	return u.rpcLogin("/sys/login/user", []map[string]string{{"user": u.creds.admin, "passwd": u.creds.password}})
}

// fazCloudLogin is /sys/login/cloud.
func (u *upstream) fazCloudLogin() error {
	return u.rpcLogin("/sys/login/cloud", map[string]string{"token": u.creds.cloudToken})
}

// lanLogin is FortiLAN's /api/v1/auth.
func (u *upstream) lanLogin() error {
	body, _ := json.Marshal(map[string]string{"accountId": u.creds.lanAccount, "userName": u.creds.lanUser, "password": u.creds.lanPassword})
	b, err := u.post("/api/v1/auth", "", body)
	if err != nil {
		return err
	}
	var a struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(b, &a) != nil || a.AccessToken == "" {
		return errors.New("/api/v1/auth: no access_token")
	}
	u.mu.Lock()
	u.tokens = append(u.tokens, a.AccessToken)
	u.mu.Unlock()
	return nil
}

// cleanup logs out every session and invalidates every token it opened, 32 at a time.
func (u *upstream) cleanup() error {
	u.mu.Lock()
	sessions, tokens := u.sessions, u.tokens
	u.sessions, u.tokens = nil, nil
	u.mu.Unlock()
	var calls []func() error
	for _, sid := range sessions {
		body, _ := json.Marshal(map[string]any{"id": 1, "method": "exec", "session": sid,
			"params": []any{map[string]any{"url": "/sys/logout"}}})
		calls = append(calls, func() error { _, err := u.post("/jsonrpc", "", body); return err })
	}
	for _, tok := range tokens {
		body, _ := json.Marshal(map[string]string{"access_token": tok})
		calls = append(calls, func() error { _, err := u.post("/api/v1/auth/invalidate_token", tok, body); return err })
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(calls) {
					return
				}
				if err := calls[i](); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
