package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestCreatingCallsOutliveTheCaller: a call that creates a credential, once sent, runs to its
// answer even when its caller gives up, and hands the credential back so that it can be ended.
// A real server creates it whatever the client does; a call abandoned halfway would leave it
// live upstream with nobody holding it.
func TestCreatingCallsOutliveTheCaller(t *testing.T) {
	const slow = 400 * time.Millisecond
	for _, tc := range []struct {
		name string
		path string
		// prepare, if set, runs before the fault and passes create what it needs.
		prepare func(t *testing.T, c clients) client.Token
		// create makes the call and reports whether what it returned is live upstream.
		create func(ctx context.Context, c clients, prep client.Token) (live func() bool, err error)
	}{
		{"FAZ login as local user", "jsonrpc:/sys/login/user", nil, func(ctx context.Context, c clients, _ client.Token) (func() bool, error) {
			sid, err := c.faz.LoginUser(ctx, adminUser, adminPass)
			return func() bool { return c.s.SessionAlive(sid) }, err
		}},
		{"FAZ login with forticloud token", "jsonrpc:/sys/login/cloud", nil, func(ctx context.Context, c clients, _ client.Token) (func() bool, error) {
			sid, err := c.faz.LoginCloudToken(ctx, cloudToken)
			return func() bool { return c.s.SessionAlive(sid) }, err
		}},
		{"FAZ Cloud session exchange", "/p/forticloud_jsonrpc_login", mint("FortiAnalyzer"), func(ctx context.Context, c clients, tok client.Token) (func() bool, error) {
			sid, err := c.faz.ExchangeCloud(ctx, tok.AccessToken)
			return func() bool { return c.s.SessionAlive(sid) }, err
		}},
		{"IAM token mint", "/api/v1/oauth/token", nil, func(ctx context.Context, c clients, _ client.Token) (func() bool, error) {
			tok, err := c.oauth.Token(ctx, apiID, apiPass, "fortilancloud")
			return func() bool { return c.s.OAuthTokenAlive(tok.AccessToken) }, err
		}},
		{"IAM token refresh", "/api/v1/oauth/token", mint("fortilancloud"), func(ctx context.Context, c clients, old client.Token) (func() bool, error) {
			tok, err := c.oauth.Refresh(ctx, "fortilancloud", old.RefreshToken)
			return func() bool { return c.s.OAuthTokenAlive(tok.AccessToken) }, err
		}},
		{"FortiLAN login", "/api/v1/auth", nil, func(ctx context.Context, c clients, _ client.Token) (func() bool, error) {
			tok, err := c.lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd})
			return func() bool { return c.s.LANTokenAlive(tok.AccessToken) }, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			var prep client.Token
			if tc.prepare != nil {
				prep = tc.prepare(t, c)
			}
			c.s.AddFault(fortitest.Fault{Path: tc.path, Kind: fortitest.FaultSlow, Delay: slow})
			ctx, cancel := context.WithTimeout(context.Background(), slow/8)
			defer cancel()
			live, err := tc.create(ctx, c, prep)
			if err != nil {
				t.Fatalf("the call gave up with its caller: %v (what it created is live upstream with nobody holding it)", err)
			}
			if !live() {
				t.Fatal("the call answered a credential that is not live upstream")
			}
		})
	}
}

// mint prepares a call that needs an IAM token.
func mint(clientID string) func(t *testing.T, c clients) client.Token {
	return func(t *testing.T, c clients) client.Token {
		tok, err := c.oauth.Token(context.Background(), apiID, apiPass, clientID)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// TestCreatingCallNotSentForNobody: a creating call whose caller already left is not sent.
func TestCreatingCallNotSentForNobody(t *testing.T) {
	c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.faz.LoginUser(ctx, adminUser, adminPass)
	wantKind(t, err, client.ErrRetryLater)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want it to say the request was cancelled", err)
	}
	if n := c.s.Calls("/jsonrpc"); n != 0 {
		t.Errorf("%d logins sent for a caller that had left", n)
	}
}

// TestCreatingCallNotRetriedForNobody: a login refused before it was handled (503) is not
// tried again once its caller left.
func TestCreatingCallNotRetriedForNobody(t *testing.T) {
	c := setup(t)
	c.s.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/login", Kind: fortitest.Fault5xx, RetryAfter: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.faz.LoginUser(ctx, adminUser, adminPass)
	wantKind(t, err, client.ErrRetryLater)
	if n := c.s.Calls("/jsonrpc"); n != 1 {
		t.Errorf("%d logins sent, want 1: the retry was for nobody", n)
	}
}

// TestAPIUserLoginCallerLeaves: an API user's FortiAnalyzer Cloud login is a mint then an
// exchange. Whichever step the caller leaves in, nothing is left live that the caller does
// not get back.
func TestAPIUserLoginCallerLeaves(t *testing.T) {
	for _, tc := range []struct {
		name        string
		path        string
		wantSession bool
	}{
		// The mint ends after the caller left: no exchange for nobody, and the token revoked.
		{"during the mint", "/api/v1/oauth/token", false},
		// The exchange ends after the caller left: the session comes back, the token revoked.
		{"during the exchange", "/p/forticloud_jsonrpc_login", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t)
			conn, err := client.New(client.Settings{
				Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthAPIUser, URL: s.URL, AuthURL: s.URL,
				APIID: apiID, Password: apiPass, TLS: client.TLSConfig{CACert: s.CACertPEM}, Timeout: 2 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			s.AddFault(fortitest.Fault{Path: tc.path, Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			sid, err := conn.Sessions.Login(ctx)
			// The fake finishes the slow step whatever the client does: look once it has.
			key := strings.TrimSuffix(tc.path, "/") + "/"
			for deadline := time.Now().Add(10 * time.Second); s.Handled(key) == 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the fake never finished the request to %s", key)
				}
			}
			if got := sid != ""; got != tc.wantSession {
				t.Fatalf("session returned: %v, want %v (err %v)", got, tc.wantSession, err)
			}
			if tc.wantSession && (err != nil || !s.SessionAlive(sid)) {
				t.Errorf("session alive %v, err %v", s.SessionAlive(sid), err)
			}
			if !tc.wantSession && s.LiveSessions() != 0 {
				t.Errorf("%d sessions live upstream that nobody holds", s.LiveSessions())
			}
			if n := s.LiveOAuthTokens(); n != 0 {
				t.Errorf("%d OAuth tokens live upstream after the login", n)
			}
		})
	}
}

// TestCreatingCallWaitsItsBudget: an upstream slower than one request's timeout still creates
// the credential; a creating call waits for it within the call's budget instead of leaving it
// unread. Other calls keep the per-request timeout.
func TestCreatingCallWaitsItsBudget(t *testing.T) {
	s := newFake(t)
	o := fastOptions(s)
	o.Timeout, o.RetryBudget = 300*time.Millisecond, 3*time.Second
	faz := client.NewJSONRPC("fortianalyzer", s.URL, newTransport(t, o))
	s.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/login", Kind: fortitest.FaultSlow, Delay: time.Second, Count: 1})
	sid, err := faz.LoginUser(context.Background(), adminUser, adminPass)
	if err != nil || !s.SessionAlive(sid) {
		t.Fatalf("a login slower than one request's timeout was given up: %v (its session lives upstream unread)", err)
	}
	s.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/status", Kind: fortitest.FaultSlow, Delay: time.Second})
	start := time.Now()
	err = faz.Status(context.Background(), sid)
	wantKind(t, err, client.ErrRetryLater)
	if n := s.Calls("jsonrpc:/sys/status"); n < 2 {
		t.Errorf("a status probe slower than the request timeout was tried %d times in %v, want retries", n, time.Since(start))
	}
}
