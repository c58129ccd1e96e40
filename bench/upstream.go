package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// upstream calls a fake directly, as the plugin would but without Vault: the floor that the
// upstream login alone sets. It keeps what it opened, to close it afterwards, untimed.
type upstream struct {
	url   string
	hc    *http.Client
	creds fakeCreds

	mu       sync.Mutex
	sessions []string
	tokens   []string
	admins   []string // made by dynAdmin, deleted with apiKey
	fgtUsers []string // made by fgtAPIUser, deleted with fgtKey
	seq      int      // numbers the admins dynAdmin makes
	root     string   // the root session dynAdmin keeps, as the engine keeps one per config
}

// fakeCreds are the credentials a fake knows.
type fakeCreds struct {
	admin, password, cloudToken, lanAccount, lanUser, lanPassword string
	apiKey                                                        string // admin's
	fgtKey                                                        string // the FortiGate root api-user's
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
	return send(u.hc, req, path, http.StatusOK)
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

// cleanup logs out every session, invalidates every token and deletes every admin (their
// sessions end with them) it opened, 32 at a time.
func (u *upstream) cleanup() error {
	u.mu.Lock()
	sessions, tokens, admins, fgtUsers := u.sessions, u.tokens, u.admins, u.fgtUsers
	u.sessions, u.tokens, u.admins, u.fgtUsers = nil, nil, nil, nil
	u.mu.Unlock()
	var calls []func() error
	for _, name := range fgtUsers {
		calls = append(calls, func() error { return u.fgtDelete(name) })
	}
	for _, name := range admins {
		calls = append(calls, func() error { _, err := u.rpc("delete", adminUserURL+"/"+name, nil, "", u.creds.apiKey); return err })
	}
	for _, sid := range sessions {
		body, _ := json.Marshal(map[string]any{"id": 1, "method": "exec", "session": sid,
			"params": []any{map[string]any{"url": "/sys/logout"}}})
		calls = append(calls, func() error { _, err := u.post("/jsonrpc", "", body); return err })
	}
	for _, tok := range tokens {
		body, _ := json.Marshal(map[string]string{"access_token": tok})
		calls = append(calls, func() error { _, err := u.post("/api/v1/auth/invalidate_token", tok, body); return err })
	}
	return parallel(32, calls)
}

// parallel makes the calls from n workers and returns the first error.
func parallel(n int, calls []func() error) error {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(calls); i = int(next.Add(1)) - 1 {
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
