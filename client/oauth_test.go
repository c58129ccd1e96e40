package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func TestOAuthToken(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		id, pw    string
		clientID  string
		ttl       time.Duration
		fault     *fortitest.Fault
		kind      error
		wantCalls int
	}{
		{name: "FortiAnalyzer", id: apiID, pw: apiPass, clientID: "FortiAnalyzer", ttl: 14400 * time.Second, wantCalls: 1},
		{name: "FortiManager", id: apiID, pw: apiPass, clientID: "FortiManager", ttl: 3600 * time.Second, wantCalls: 1},
		{name: "fortilancloud", id: apiID, pw: apiPass, clientID: "fortilancloud", ttl: 14400 * time.Second, wantCalls: 1},
		{name: "wrong password is not retried", id: apiID, pw: "Wrong-Password-123", clientID: "FortiAnalyzer", kind: client.ErrRefused, wantCalls: 1},
		{name: "unknown API user", id: "nobody", pw: apiPass, clientID: "FortiAnalyzer", kind: client.ErrRefused, wantCalls: 1},
		{name: "5xx once then ok", id: apiID, pw: apiPass, clientID: "FortiAnalyzer", ttl: 14400 * time.Second, wantCalls: 2,
			fault: &fortitest.Fault{Kind: fortitest.Fault5xx, Count: 1}},
		{name: "HTML page", id: apiID, pw: apiPass, clientID: "FortiAnalyzer", kind: client.ErrProtocol, wantCalls: 1,
			fault: &fortitest.Fault{Kind: fortitest.FaultHTML}},
		{name: "broken JSON", id: apiID, pw: apiPass, clientID: "FortiAnalyzer", kind: client.ErrProtocol, wantCalls: 1,
			fault: &fortitest.Fault{Kind: fortitest.FaultBrokenJSON}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			if tc.fault != nil {
				c.s.AddFault(*tc.fault)
			}
			tok, err := c.oauth.Token(ctx, tc.id, tc.pw, tc.clientID)
			if got := c.s.Calls("/api/v1/oauth/token/"); got != tc.wantCalls {
				t.Errorf("token reached the fake %d times, want %d", got, tc.wantCalls)
			}
			if tc.kind != nil {
				e := wantKind(t, err, tc.kind)
				noSecrets(t, err, tc.pw)
				if tc.kind == client.ErrRefused && (e.Status != 401 || !strings.Contains(e.Message, "Invalid credentials given.")) {
					t.Errorf("refusal: status %d message %q", e.Status, e.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.s.OAuthTokenAlive(tok.AccessToken) || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
				t.Errorf("token %+v", tok)
			}
			within(t, "ExpiresAt", tok.ExpiresAt, tc.ttl, 3*time.Second)
		})
	}
}

func TestOAuthOneLiveToken(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	first, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.oauth.Token(ctx, apiID, apiPass, "fortilancloud")
	if err != nil {
		t.Fatal(err)
	}
	if c.s.OAuthTokenAlive(first.AccessToken) || !c.s.OAuthTokenAlive(second.AccessToken) {
		t.Error("a new token for the API user left the previous one alive")
	}
	// the dead token no longer opens a session
	_, err = c.faz.ExchangeCloud(ctx, first.AccessToken)
	wantKind(t, err, client.ErrRefused)
	noSecrets(t, err, first.AccessToken)
}

func TestOAuthRefresh(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	tok, err := c.oauth.Token(ctx, apiID, apiPass, "FortiManager")
	if err != nil {
		t.Fatal(err)
	}
	next, err := c.oauth.Refresh(ctx, "FortiManager", tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken || next.RefreshToken == "" {
		t.Errorf("refresh did not give a new pair: %+v", next)
	}
	if c.s.OAuthTokenAlive(tok.AccessToken) || !c.s.OAuthTokenAlive(next.AccessToken) {
		t.Error("refresh left the old access token alive")
	}
	within(t, "ExpiresAt", next.ExpiresAt, time.Hour, 3*time.Second)

	for _, tc := range []struct {
		name, clientID, refresh string
	}{
		{"used refresh token", "FortiManager", tok.RefreshToken},
		{"wrong client_id", "FortiAnalyzer", next.RefreshToken},
		{"unknown refresh token", "FortiManager", "Unknown-Refresh-Token-012345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.s.ResetCalls()
			_, err := c.oauth.Refresh(ctx, tc.clientID, tc.refresh)
			wantKind(t, err, client.ErrRefused)
			noSecrets(t, err, tc.refresh)
			if n := c.s.Calls("/api/v1/oauth/token/"); n != 1 {
				t.Errorf("a refused refresh was tried %d times", n)
			}
		})
	}
}

func TestOAuthRevoke(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	tok, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, clientID, token string
		fault                 *fortitest.Fault
		kind                  error // nil: success
		alive                 bool
	}{
		{name: "wrong client_id", clientID: "FortiManager", token: tok.AccessToken, kind: client.ErrRefused, alive: true},
		{name: "empty token", clientID: "FortiAnalyzer", token: "", kind: client.ErrRefused, alive: true},
		{name: "HTML page", clientID: "FortiAnalyzer", token: tok.AccessToken, kind: client.ErrProtocol, alive: true,
			fault: &fortitest.Fault{Kind: fortitest.FaultHTML}},
		{name: "429 then ok", clientID: "FortiAnalyzer", token: tok.AccessToken, alive: false,
			fault: &fortitest.Fault{Kind: fortitest.Fault429, Count: 1}},
		{name: "unknown token", clientID: "FortiAnalyzer", token: "Unknown-Token-0123456789"},
		{name: "revoked already", clientID: "FortiAnalyzer", token: tok.AccessToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.s.ClearFaults()
			if tc.fault != nil {
				c.s.AddFault(*tc.fault)
			}
			err := c.oauth.Revoke(ctx, tc.clientID, tc.token)
			if got := c.s.OAuthTokenAlive(tok.AccessToken); got != tc.alive {
				t.Errorf("token alive = %v, want %v", got, tc.alive)
			}
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("Revoke: %v", err)
				}
				return
			}
			wantKind(t, err, tc.kind)
			noSecrets(t, err, tc.token)
		})
	}
}
