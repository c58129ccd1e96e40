package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func TestTLS(t *testing.T) {
	ctx := context.Background()
	s := newFake(t)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	for _, tc := range []struct {
		name string
		base string
		tls  client.TLSConfig
		kind error // nil: success
	}{
		{name: "fake's CA", base: s.URL, tls: client.TLSConfig{CACert: s.CACertPEM}},
		{name: "localhost", base: "https://localhost:" + port, tls: client.TLSConfig{CACert: s.CACertPEM}},
		{name: "tls_server_name", base: s.URL, tls: client.TLSConfig{CACert: s.CACertPEM, ServerName: fortitest.ServerName}},
		{name: "skip verify", base: s.URL, tls: client.TLSConfig{SkipVerify: true}},
		{name: "no CA", base: s.URL, kind: client.ErrRefused},
		{name: "wrong server name", base: s.URL, tls: client.TLSConfig{CACert: s.CACertPEM, ServerName: "other.example"}, kind: client.ErrRefused},
		{name: "another CA", base: s.URL, tls: client.TLSConfig{CACert: otherCA(t)}, kind: client.ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.ResetCalls()
			conns := s.Connections()
			o := fastOptions(s)
			o.TLS = tc.tls
			tr := newTransport(t, o)
			faz := client.NewJSONRPC("fortianalyzer", tc.base, tr)
			sid, err := faz.LoginUser(ctx, adminUser, adminPass)
			if tc.kind == nil {
				if err != nil || sid == "" {
					t.Fatalf("LoginUser = %q, %v", sid, err)
				}
				return
			}
			wantKind(t, err, tc.kind)
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error %q does not say it is about the certificate", err)
			}
			// a certificate error is not retried
			if n := s.Connections() - conns; n != 1 {
				t.Errorf("%d connections for a certificate error, want 1", n)
			}
			if s.Calls("/jsonrpc") != 0 {
				t.Error("the request went through")
			}
		})
	}
}

// otherCA is a CA certificate unrelated to the fake's.
func otherCA(t *testing.T) string {
	t.Helper()
	s := fortitest.NewServer()
	s.Close()
	return s.CACertPEM
}

func TestTLSMinimumVersion(t *testing.T) {
	s := fortitest.NewUnstartedServer()
	s.TLS.MinVersion = tls.VersionTLS10
	s.TLS.MaxVersion = tls.VersionTLS11
	s.Start()
	t.Cleanup(s.Close)
	s.AddAdmin(adminUser, adminPass)
	o := fastOptions(s)
	o.MaxAttempts = 1
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
	_, err := faz.LoginUser(context.Background(), adminUser, adminPass)
	if err == nil {
		t.Fatal("the client spoke TLS 1.1")
	}
	if s.Calls("/jsonrpc") != 0 {
		t.Error("a request reached a TLS 1.1 server")
	}
	t.Logf("TLS 1.1 server: %v", err)
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		fault     fortitest.Fault
		kind      error // nil: success after retries
		wantCalls int
		minTime   time.Duration
		logout    bool // call Logout (safe to repeat) instead of LoginUser
	}{
		{name: "503 once", fault: fortitest.Fault{Kind: fortitest.Fault5xx, Count: 1}, wantCalls: 2},
		{name: "502 twice", fault: fortitest.Fault{Kind: fortitest.Fault5xx, Status: 502, Count: 2}, wantCalls: 3, logout: true},
		// A gateway's 502 or 504 may hide a login the server behind it made: never sent twice.
		{name: "login not repeated after a 502", fault: fortitest.Fault{Kind: fortitest.Fault5xx, Status: 502, Count: 1}, kind: client.ErrRetryLater, wantCalls: 1},
		{name: "login not repeated after a 504", fault: fortitest.Fault{Kind: fortitest.Fault5xx, Status: 504, Count: 1}, kind: client.ErrRetryLater, wantCalls: 1},
		// The JSON-RPC body tells, whatever the HTTP status: a session gone is gone, not retried.
		{name: "JSON-RPC -11 on HTTP 500", fault: fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.FaultCode, RPCCode: -11, Status: 500}, kind: client.ErrGone, wantCalls: 1, logout: true},
		// On a 503 the status speaks of load, whatever the body: retried.
		{name: "JSON-RPC body on a 503", fault: fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.FaultCode, RPCCode: -6, Status: 503, Count: 1}, wantCalls: 2, logout: true},
		{name: "429 twice", fault: fortitest.Fault{Kind: fortitest.Fault429, Count: 2}, wantCalls: 3},
		{name: "connection drop once", fault: fortitest.Fault{Kind: fortitest.FaultDown, Count: 1}, wantCalls: 2, logout: true},
		{name: "connection drop twice", fault: fortitest.Fault{Kind: fortitest.FaultDown, Count: 2}, wantCalls: 3, logout: true},
		// A login whose request went out may have opened a session: never sent twice.
		{name: "login not repeated after a drop", fault: fortitest.Fault{Kind: fortitest.FaultDown, Count: 1}, kind: client.ErrRetryLater, wantCalls: 1},
		{name: "login not repeated after a timeout", fault: fortitest.Fault{Kind: fortitest.FaultSlow, Delay: 5 * time.Second, Count: 1}, kind: client.ErrRetryLater, wantCalls: 1},
		{name: "Retry-After honoured", fault: fortitest.Fault{Kind: fortitest.Fault429, Count: 1, RetryAfter: time.Second}, wantCalls: 2, minTime: time.Second},
		{name: "timeout once", fault: fortitest.Fault{Kind: fortitest.FaultSlow, Delay: 5 * time.Second, Count: 1}, wantCalls: 2, minTime: 500 * time.Millisecond, logout: true},
		{name: "503 for good", fault: fortitest.Fault{Kind: fortitest.Fault5xx}, kind: client.ErrRetryLater, wantCalls: 3},
		{name: "connection drop for good", fault: fortitest.Fault{Kind: fortitest.FaultDown}, kind: client.ErrRetryLater, wantCalls: 3, logout: true},
		{name: "answer too large", fault: fortitest.Fault{Kind: fortitest.FaultHuge}, kind: client.ErrProtocol, wantCalls: 1},
		{name: "HTML page", fault: fortitest.Fault{Kind: fortitest.FaultHTML}, kind: client.ErrProtocol, wantCalls: 1},
		{name: "broken JSON", fault: fortitest.Fault{Kind: fortitest.FaultBrokenJSON}, kind: client.ErrProtocol, wantCalls: 1},
		{name: "302 not followed", fault: fortitest.Fault{Kind: fortitest.FaultRedirect}, kind: client.ErrProtocol, wantCalls: 1},
		{name: "307 not followed", fault: fortitest.Fault{Kind: fortitest.FaultRedirect, Status: 307}, kind: client.ErrProtocol, wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			o := fastOptions(s)
			o.Timeout = 500 * time.Millisecond
			faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
			var sid string
			var err error
			if tc.logout {
				if sid, err = faz.LoginUser(ctx, adminUser, adminPass); err != nil {
					t.Fatal(err)
				}
				s.ResetCalls()
			}
			s.AddFault(tc.fault)
			start := time.Now()
			if tc.logout {
				err = faz.Logout(ctx, sid)
			} else {
				sid, err = faz.LoginUser(ctx, adminUser, adminPass)
			}
			elapsed := time.Since(start)
			if got := s.Calls("/jsonrpc"); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if s.Calls(fortitest.RedirectTarget) != 0 {
				t.Error("a redirect was followed")
			}
			if elapsed < tc.minTime {
				t.Errorf("took %v, want at least %v", elapsed, tc.minTime)
			}
			if tc.kind == nil {
				if err != nil || s.SessionAlive(sid) != !tc.logout {
					t.Fatalf("call failed or session in the wrong state: %v", err)
				}
				return
			}
			wantKind(t, err, tc.kind)
			noSecrets(t, err, adminPass)
		})
	}
}

// TestRedirectsNotFollowed checks every call: a redirect could carry a password elsewhere.
func TestRedirectsNotFollowed(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	c.s.AddFault(fortitest.Fault{Kind: fortitest.FaultRedirect, Status: 307})
	calls := map[string]func() error{
		"LoginUser":       func() error { _, err := c.faz.LoginUser(ctx, adminUser, adminPass); return err },
		"LoginCloudToken": func() error { _, err := c.faz.LoginCloudToken(ctx, cloudToken); return err },
		"ExchangeCloud":   func() error { _, err := c.faz.ExchangeCloud(ctx, cloudToken); return err },
		"Logout":          func() error { return c.faz.Logout(ctx, "Some-Session-Id-0123456789") },
		"Status":          func() error { return c.faz.Status(ctx, "Some-Session-Id-0123456789") },
		"FortiLAN.Login": func() error {
			_, err := c.lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd})
			return err
		},
		"FortiLAN.Invalidate": func() error { return c.lan.Invalidate(ctx, "Some-Token-0123456789") },
		"OAuth.Token":         func() error { _, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer"); return err },
		"OAuth.Refresh":       func() error { _, err := c.oauth.Refresh(ctx, "FortiAnalyzer", "Some-Refresh-0123456789"); return err },
		"OAuth.Revoke":        func() error { return c.oauth.Revoke(ctx, "FortiAnalyzer", "Some-Token-0123456789") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if err == nil {
				t.Fatal("a redirect was taken for success")
			}
			if c.s.Calls(fortitest.RedirectTarget) != 0 {
				t.Fatal("the redirect was followed")
			}
		})
	}
}

func TestRetryAfterBeyondBudget(t *testing.T) {
	s := newFake(t)
	o := fastOptions(s)
	o.RetryBudget = time.Second
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
	s.AddFault(fortitest.Fault{Kind: fortitest.Fault429, RetryAfter: 30 * time.Second})
	start := time.Now()
	_, err := faz.LoginUser(context.Background(), adminUser, adminPass)
	wantKind(t, err, client.ErrRetryLater)
	if ra := client.RetryAfter(err); ra != 30*time.Second {
		t.Errorf("RetryAfter = %v, want 30s", ra)
	}
	if !strings.Contains(err.Error(), "retry after 30s") {
		t.Errorf("error %q does not say when to retry", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("waited %v for a Retry-After beyond the budget", d)
	}
	if n := s.Calls("/jsonrpc"); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	if client.RetryAfter(errors.New("plain")) != 0 || client.RetryAfter(nil) != 0 {
		t.Error("RetryAfter of a non-client error")
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	s := newFake(t)
	o := fastOptions(s)
	o.RetryBudget = 600 * time.Millisecond
	o.MaxAttempts = 10
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
	s.AddFault(fortitest.Fault{Kind: fortitest.Fault5xx})
	start := time.Now()
	err := faz.Status(context.Background(), "Some-Session-Id-0123456789")
	wantKind(t, err, client.ErrRetryLater)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with a 600ms budget", d)
	}
	if n := s.Calls("/jsonrpc"); n < 2 || n > 4 {
		t.Errorf("%d calls within a 600ms budget", n)
	}
}

func TestContextCancel(t *testing.T) {
	s := newFake(t)
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, fastOptions(s)))
	s.AddFault(fortitest.Fault{Kind: fortitest.Fault5xx})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := faz.LoginUser(ctx, adminUser, adminPass)
	wantKind(t, err, client.ErrRetryLater)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v after the context ended", d)
	}
}

func TestMaxBody(t *testing.T) {
	ctx := context.Background()
	s := newFake(t)
	for _, tc := range []struct {
		max  int64
		kind error
	}{{0, client.ErrProtocol}, {1 << 10, client.ErrProtocol}, {fortitest.HugeSize, nil}} {
		o := fastOptions(s)
		o.MaxBody = tc.max
		faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
		s.ClearFaults()
		s.AddFault(fortitest.Fault{Kind: fortitest.FaultHuge, Path: "jsonrpc:/sys/status"})
		err := faz.Status(ctx, "Some-Session-Id-0123456789")
		if tc.kind == nil {
			if err != nil {
				t.Errorf("MaxBody %d: %v", tc.max, err)
			}
			continue
		}
		e := wantKind(t, err, tc.kind)
		if !strings.Contains(e.Message, "larger than") {
			t.Errorf("MaxBody %d: %q", tc.max, err)
		}
	}
	// a small answer fits a small cap
	o := fastOptions(s)
	o.MaxBody = 1 << 10
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
	if _, err := faz.LoginUser(ctx, adminUser, adminPass); err != nil {
		t.Errorf("small answer, small cap: %v", err)
	}
}

// TestErrorsHoldNoSecrets has the fake echo every secret a call sends, in every way an error
// can carry upstream words, and checks that no error text holds one.
func TestErrorsHoldNoSecrets(t *testing.T) {
	ctx := context.Background()
	const (
		session = "Session-Secret-9f8e7d6c5b4a"
		token   = "Token-Secret-1a2b3c4d5e6f"
		refresh = "Refresh-Secret-6f5e4d3c2b1a"
		lanPwd  = "Lan-Pw-Secret-0a9b8c7d"
	)
	calls := []struct {
		name   string
		secret string
		rpc    bool // JSON-RPC (faults answer a JSON-RPC code)
		fn     func(c clients) error
	}{
		{"LoginUser", adminPass, true, func(c clients) error { _, err := c.faz.LoginUser(ctx, adminUser, adminPass); return err }},
		{"LoginCloudToken", token, true, func(c clients) error { _, err := c.faz.LoginCloudToken(ctx, token); return err }},
		{"Logout", session, true, func(c clients) error { return c.faz.Logout(ctx, session) }},
		{"Status", session, true, func(c clients) error { return c.faz.Status(ctx, session) }},
		{"ExchangeCloud", token, false, func(c clients) error { _, err := c.faz.ExchangeCloud(ctx, token); return err }},
		{"FortiLAN.Login", lanPwd, false, func(c clients) error {
			_, err := c.lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanPwd})
			return err
		}},
		{"FortiLAN.Invalidate", token, false, func(c clients) error { return c.lan.Invalidate(ctx, token) }},
		{"OAuth.Token", apiPass, false, func(c clients) error { _, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer"); return err }},
		{"OAuth.Refresh", refresh, false, func(c clients) error { _, err := c.oauth.Refresh(ctx, "FortiAnalyzer", refresh); return err }},
		{"OAuth.Revoke", token, false, func(c clients) error { return c.oauth.Revoke(ctx, "FortiAnalyzer", token) }},
	}
	faults := []struct {
		name  string
		fault func(secret string) fortitest.Fault
		rpc   *bool // nil: every call; else only JSON-RPC calls (true) or only the others
	}{
		{"code echoing", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -22, Message: "bad secret " + s + "!"}
		}, ptr(true)},
		{"200 echoing", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.FaultCode, Status: 200, Message: "bad secret " + s + "!"}
		}, ptr(false)},
		{"400 echoing", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "bad secret " + s + "!"}
		}, ptr(false)},
		{"401 echoing", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.Fault401, Message: "unauthorized: " + s}
		}, nil},
		{"5xx echoing", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.Fault5xx, Message: s + " broke the server"}
		}, nil},
		{"429 echoing", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.Fault429, RetryAfter: time.Minute, Message: "slow down " + s}
		}, nil},
		{"long message", func(s string) fortitest.Fault {
			return fortitest.Fault{Kind: fortitest.FaultCode, Status: 403, Message: strings.Repeat("x", 190) + s}
		}, ptr(false)},
		{"HTML", func(string) fortitest.Fault { return fortitest.Fault{Kind: fortitest.FaultHTML} }, nil},
		{"broken JSON", func(string) fortitest.Fault { return fortitest.Fault{Kind: fortitest.FaultBrokenJSON} }, nil},
		{"huge", func(string) fortitest.Fault { return fortitest.Fault{Kind: fortitest.FaultHuge} }, nil},
		{"down", func(string) fortitest.Fault { return fortitest.Fault{Kind: fortitest.FaultDown} }, nil},
	}
	for _, call := range calls {
		for _, f := range faults {
			if f.rpc != nil && *f.rpc != call.rpc {
				continue
			}
			t.Run(call.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				s := newFake(t)
				o := fastOptions(s)
				o.MaxAttempts = 2
				o.RetryBudget = time.Second
				c := newClients(t, s, o)
				s.AddFault(f.fault(call.secret))
				err := call.fn(c)
				if err == nil {
					if call.name == "OAuth.Revoke" || call.name == "FortiLAN.Invalidate" {
						return // a 2xx with a body these calls do not read
					}
					t.Fatal("no error")
				}
				noSecrets(t, err, call.secret, session, token, refresh, adminPass, apiPass, lanPwd)
				if strings.ContainsAny(err.Error(), "\n\r\x00") {
					t.Errorf("error %q holds control characters", err)
				}
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestErrorText(t *testing.T) {
	e := &client.Error{Op: "fortilan: login", Kind: client.ErrRetryLater, Status: 429, Code: -1, Message: "rate limited",
		RetryAfter: 1500 * time.Millisecond, Err: errors.New("boom")}
	want := "fortilan: login: try again later (HTTP 429) (code -1): rate limited: boom; retry after 2s"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, client.ErrRetryLater) || errors.Is(e, client.ErrRefused) {
		t.Error("errors.Is on the kind")
	}
	inner := errors.New("inner")
	if !errors.Is(&client.Error{Op: "x", Kind: client.ErrProtocol, Err: inner}, inner) {
		t.Error("errors.Is on the wrapped error")
	}
	if got := (&client.Error{Op: "x", Kind: client.ErrGone}).Error(); got != "x: already gone" {
		t.Errorf("minimal Error() = %q", got)
	}
}

func TestParseCACert(t *testing.T) {
	s := fortitest.NewServerT(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	badCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	for _, tc := range []struct {
		name, bundle string
		ok           bool
		errHas       string
	}{
		{"empty: system roots", "", true, ""},
		{"good", s.CACertPEM, true, ""},
		{"two certificates", s.CACertPEM + otherCA(t), true, ""},
		{"surrounding whitespace", "\n\n" + s.CACertPEM + "\n\n", true, ""},
		{"garbage", "not a certificate at all", false, "no PEM certificate"},
		{"private key", keyPEM, false, `"PRIVATE KEY", not CERTIFICATE`},
		{"key after a certificate", s.CACertPEM + keyPEM, false, "PEM block 2"},
		{"trailing data", s.CACertPEM + "trailing junk", false, "trailing data"},
		{"bad DER", badCert, false, "certificate 1"},
		{"truncated", s.CACertPEM[:len(s.CACertPEM)/2], false, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := client.ParseCACert(tc.bundle)
			if tc.ok {
				if err != nil || pool == nil {
					t.Fatalf("ParseCACert = %v, %v", pool, err)
				}
				return
			}
			if err == nil || pool != nil {
				t.Fatalf("ParseCACert = %v, %v; want an error", pool, err)
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q, want it to mention %q", err, tc.errHas)
			}
			if strings.Contains(err.Error(), "PRIVATE") && strings.Contains(err.Error(), "MIG") {
				t.Error("the error holds key material")
			}
		})
	}
	// the pool verifies the fake's certificate
	pool, err := client.ParseCACert(s.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), &tls.Config{RootCAs: pool, ServerName: fortitest.ServerName})
	if err != nil {
		t.Fatalf("the parsed pool does not verify the fake: %v", err)
	}
	conn.Close()

	if _, err := client.NewTransport(client.Options{TLS: client.TLSConfig{CACert: "junk"}}); err == nil || !strings.HasPrefix(err.Error(), "ca_cert: ") {
		t.Errorf("NewTransport with a bad CA: %v", err)
	}
}

// tls_skip_verify and tls_server_name are for url: FortiCloud IAM, where the API user's
// password goes, keeps its full certificate checks.
func TestURLTLSSettingsStayOffIAM(t *testing.T) {
	s := newFake(t)
	conn, err := client.New(client.Settings{
		Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthAPIUser, URL: s.URL, AuthURL: s.URL,
		APIID: apiID, Password: apiPass, TLS: client.TLSConfig{SkipVerify: true}, Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Sessions.Login(context.Background())
	wantKind(t, err, client.ErrRefused) // the fake's CA is not trusted for IAM
	if n := s.Calls("/api/v1/oauth/token"); n != 0 {
		t.Fatalf("the API user's password reached an unverified IAM (%d calls)", n)
	}
	// With the CA given, both work, tls_server_name applying to url alone.
	conn2, err := client.New(client.Settings{
		Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthAPIUser, URL: s.URL, AuthURL: s.URL,
		APIID: apiID, Password: apiPass, TLS: client.TLSConfig{CACert: s.CACertPEM, ServerName: fortitest.ServerName}, Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := conn2.Sessions.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Every FortiLAN login attempt, retries included, waits on the login limiter.
func TestLimiterCoversRetries(t *testing.T) {
	s := newFake(t)
	s.SetAuthRateLimit(0)
	s.AddFault(fortitest.Fault{Path: "/api/v1/auth", Kind: fortitest.Fault429, Count: 2})
	lan := client.NewFortiLAN(s.URL, newTransport(t, fastOptions(s)), client.NewLoginLimiter(1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd})
	if !client.RateLimited(err) {
		t.Fatalf("login: %v, want the limiter's refusal of the retry", err)
	}
	if n := s.Calls("/api/v1/auth"); n != 1 {
		t.Fatalf("%d logins reached FortiLAN through a limiter of 1 a minute", n)
	}
}

// Retry-After is read on a 503 too.
func TestRetryAfterOn503(t *testing.T) {
	s := newFake(t)
	s.AddFault(fortitest.Fault{Kind: fortitest.Fault5xx, RetryAfter: 30 * time.Second})
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, fastOptions(s)))
	err := faz.Logout(context.Background(), "sid")
	if client.RetryAfter(err) < 29*time.Second {
		t.Fatalf("logout: %v, want the 503's Retry-After", err)
	}
	if client.RateLimited(err) {
		t.Fatal("a 503 taken for a rate limit")
	}
}

// A gateway's 504 after the server behind it logged in: the client does not log in again, so
// one session (which the caller never learnt of, and which idles out) is all there is.
func TestLoginNotRepeatedAfterGatewayTimeout(t *testing.T) {
	s := newFake(t)
	s.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultActThen5xx, Count: 1})
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, fastOptions(s)))
	_, err := faz.LoginUser(context.Background(), adminUser, adminPass)
	wantKind(t, err, client.ErrRetryLater)
	if n := s.LiveSessions(); n != 1 {
		t.Fatalf("%d sessions upstream after one login the gateway lost, want 1", n)
	}
	if n := s.Calls("jsonrpc:/sys/login/user"); n != 1 {
		t.Fatalf("login sent %d times", n)
	}
}
