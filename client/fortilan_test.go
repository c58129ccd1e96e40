package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func TestFortiLANLogin(t *testing.T) {
	ctx := context.Background()
	email := client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd}
	iam := client.LANUser{AccountID: lanAccount, UserName: lanIAM, Password: lanIAMPwd, IAM: true}
	for _, tc := range []struct {
		name      string
		user      client.LANUser
		relative  bool
		ttl       time.Duration
		fault     *fortitest.Fault
		kind      error
		wantCalls int
	}{
		{name: "email user, absolute expires_in", user: email, wantCalls: 1},
		{name: "iam user, absolute expires_in", user: iam, ttl: 20 * time.Minute, wantCalls: 1},
		{name: "email user, relative expires_in", user: email, relative: true, ttl: 10 * time.Minute, wantCalls: 1},
		{name: "iam user, relative expires_in", user: iam, relative: true, wantCalls: 1},
		{name: "iam user without type", user: client.LANUser{AccountID: lanAccount, UserName: lanIAM, Password: lanIAMPwd}, kind: client.ErrRefused, wantCalls: 1},
		{name: "email user as iam", user: client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd, IAM: true}, kind: client.ErrRefused, wantCalls: 1},
		{name: "wrong password is not retried", user: client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: "Wrong-Password-123"}, kind: client.ErrRefused, wantCalls: 1},
		{name: "429 once then ok", user: email, wantCalls: 2, fault: &fortitest.Fault{Kind: fortitest.Fault429, Count: 1}},
		{name: "login not repeated after a drop", user: email, kind: client.ErrRetryLater, wantCalls: 1, fault: &fortitest.Fault{Kind: fortitest.FaultDown, Count: 2}},
		{name: "503 twice then ok", user: email, wantCalls: 3, fault: &fortitest.Fault{Kind: fortitest.Fault5xx, Count: 2}},
		{name: "HTML page", user: email, kind: client.ErrProtocol, wantCalls: 1, fault: &fortitest.Fault{Kind: fortitest.FaultHTML}},
		{name: "broken JSON", user: email, kind: client.ErrProtocol, wantCalls: 1, fault: &fortitest.Fault{Kind: fortitest.FaultBrokenJSON}},
		{name: "200 naming an error", user: email, kind: client.ErrRefused, wantCalls: 1, fault: &fortitest.Fault{Kind: fortitest.FaultCode, Status: 200, Message: "account locked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			c.s.SetLANExpiresRelative(tc.relative)
			c.s.SetLANTokenTTL(tc.ttl)
			if tc.fault != nil {
				c.s.AddFault(*tc.fault)
			}
			tok, err := c.lan.Login(ctx, tc.user)
			if got := c.s.Calls("/api/v1/auth"); got != tc.wantCalls {
				t.Errorf("auth reached the fake %d times, want %d", got, tc.wantCalls)
			}
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
				noSecrets(t, err, tc.user.Password)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tok.AccessToken) != 32 || !c.s.LANTokenAlive(tok.AccessToken) {
				t.Errorf("token %q not alive", tok.AccessToken)
			}
			ttl := tc.ttl
			if ttl == 0 {
				ttl = fortitest.DefaultLANTokenTTL
			}
			within(t, "ExpiresAt", tok.ExpiresAt, ttl, 3*time.Second)
		})
	}
}

func TestFortiLANRateLimit(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	c.s.SetAuthRateLimit(2)
	u := client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd}
	for i := 0; i < 2; i++ {
		if _, err := c.lan.Login(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err := c.lan.Login(ctx, u)
	e := wantKind(t, err, client.ErrRetryLater)
	// Retry-After (about a minute) is beyond the retry budget: no retry, and the wait is reported.
	if ra := client.RetryAfter(err); ra < 50*time.Second || ra > time.Minute {
		t.Errorf("RetryAfter = %v, want about a minute", ra)
	}
	if e.Status != 429 {
		t.Errorf("Status = %d", e.Status)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a hopeless retry was waited for: %v", d)
	}
	if got := c.s.Calls("/api/v1/auth"); got != 3 {
		t.Errorf("auth reached the fake %d times, want 3", got)
	}
}

func TestFortiLANInvalidate(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	login := func() string {
		t.Helper()
		tok, err := c.lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanIAM, Password: lanIAMPwd, IAM: true})
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	tok := login()
	if err := c.lan.Invalidate(ctx, tok); err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	if c.s.LANTokenAlive(tok) {
		t.Fatal("token alive after Invalidate")
	}

	for _, tc := range []struct {
		name  string
		prep  func(tok string)
		fault *fortitest.Fault
		kind  error // nil: success
		calls int
	}{
		{name: "invalidated already", prep: func(tok string) { _ = c.lan.Invalidate(ctx, tok) }, kind: client.ErrGone, calls: 1},
		{name: "expired upstream", prep: func(tok string) { c.s.ExpireLANToken(tok) }, kind: client.ErrGone, calls: 1},
		{name: "lifetime over", prep: func(string) { c.s.Advance(2 * time.Hour) }, kind: client.ErrGone, calls: 1},
		{name: "5xx once then ok", fault: &fortitest.Fault{Kind: fortitest.Fault5xx, Count: 1}, calls: 2},
		{name: "5xx for good", fault: &fortitest.Fault{Kind: fortitest.Fault5xx}, kind: client.ErrRetryLater, calls: 3},
		{name: "403", fault: &fortitest.Fault{Kind: fortitest.FaultCode, Status: 403}, kind: client.ErrRefused, calls: 1},
		{name: "HTML page", fault: &fortitest.Fault{Kind: fortitest.FaultHTML}, kind: client.ErrProtocol, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := login()
			if tc.prep != nil {
				tc.prep(tok)
			}
			c.s.ResetCalls()
			if tc.fault != nil {
				tc.fault.Message = "token " + tok + " rejected"
				tc.fault.Path = "/api/v1/auth/invalidate_token"
				c.s.AddFault(*tc.fault)
			}
			err := c.lan.Invalidate(ctx, tok)
			c.s.ClearFaults()
			if got := c.s.Calls("/api/v1/auth/invalidate_token"); got != tc.calls {
				t.Errorf("invalidate reached the fake %d times, want %d", got, tc.calls)
			}
			if tc.kind == nil {
				if err != nil || c.s.LANTokenAlive(tok) {
					t.Fatalf("Invalidate = %v, alive %v", err, c.s.LANTokenAlive(tok))
				}
				return
			}
			wantKind(t, err, tc.kind)
			noSecrets(t, err, tok)
		})
	}
}

// TestFortiLANTokenWorks checks, through the fake, that a token from Login is usable and one
// from Invalidate is not: the same check the backend's tests can make.
func TestFortiLANTokenWorks(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	tok, err := c.lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd})
	if err != nil {
		t.Fatal(err)
	}
	call := func() int {
		req, _ := newBearerRequest(ctx, c.s.URL+"/api/v1/devices", tok.AccessToken)
		resp, err := c.s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := call(); st != 200 {
		t.Errorf("call with the token: %d", st)
	}
	if err := c.lan.Invalidate(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if st := call(); st != 401 {
		t.Errorf("call with the invalidated token: %d", st)
	}
}
