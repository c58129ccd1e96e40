package client_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func TestLoginUser(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		user, pw  string
		loginMax  int
		fault     *fortitest.Fault
		kind      error // nil: success
		wantCalls int
	}{
		{name: "ok", user: adminUser, pw: adminPass, wantCalls: 1},
		{name: "wrong password is not retried", user: adminUser, pw: "Wrong-Password-123", kind: client.ErrRefused, wantCalls: 1},
		{name: "unknown user", user: "nobody", pw: adminPass, kind: client.ErrRefused, wantCalls: 1},
		{name: "login-max", user: adminUser, pw: adminPass, loginMax: 1, kind: client.ErrLoginLimit, wantCalls: 1},
		{name: "code -1 is not retried", user: adminUser, pw: adminPass, kind: client.ErrRefused, wantCalls: 1,
			fault: &fortitest.Fault{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultCode, RPCCode: -1}},
		{name: "code 0 without a session", user: adminUser, pw: adminPass, kind: client.ErrProtocol, wantCalls: 1,
			fault: &fortitest.Fault{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultCode, RPCCode: 0}},
		{name: "5xx twice then ok", user: adminUser, pw: adminPass, wantCalls: 3,
			fault: &fortitest.Fault{Kind: fortitest.Fault5xx, Count: 2}},
		{name: "HTTP 401 with a body that is not JSON-RPC", user: adminUser, pw: adminPass, kind: client.ErrRefused, wantCalls: 1,
			fault: &fortitest.Fault{Kind: fortitest.Fault401}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			if tc.loginMax > 0 {
				c.s.SetLoginMax(tc.loginMax)
				if _, err := c.faz.LoginUser(ctx, adminUser, adminPass); err != nil {
					t.Fatal(err)
				}
				c.s.ResetCalls()
			}
			if tc.fault != nil {
				c.s.AddFault(*tc.fault)
			}
			sid, err := c.faz.LoginUser(ctx, tc.user, tc.pw)
			if got := c.s.Calls("jsonrpc:/sys/login/user"); got != tc.wantCalls {
				t.Errorf("login reached the fake %d times, want %d", got, tc.wantCalls)
			}
			if tc.kind == nil {
				if err != nil || sid == "" || !c.s.SessionAlive(sid) {
					t.Fatalf("LoginUser = %q, %v", sid, err)
				}
				return
			}
			e := wantKind(t, err, tc.kind)
			if sid != "" {
				t.Errorf("a session came with an error: %q", sid)
			}
			if tc.kind == client.ErrLoginLimit && e.Code != fortitest.CodeLoginMax {
				t.Errorf("Code = %d", e.Code)
			}
			noSecrets(t, err, tc.pw)
		})
	}
}

func TestLoginCloudToken(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	fazTok, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"IAM token for FortiAnalyzer", fazTok.AccessToken, true},
		{"token added to the fake", cloudToken, true},
		{"unknown token", "Unknown-Token-0123456789", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.s.ResetCalls()
			sid, err := c.faz.LoginCloudToken(ctx, tc.token)
			if tc.ok {
				if err != nil || !c.s.SessionAlive(sid) {
					t.Fatalf("LoginCloudToken = %q, %v", sid, err)
				}
				return
			}
			wantKind(t, err, client.ErrRefused)
			noSecrets(t, err, tc.token)
			if n := c.s.Calls("jsonrpc:/sys/login/cloud"); n != 1 {
				t.Errorf("a refused login was tried %d times", n)
			}
		})
	}
	// a token for another product is refused
	lanTok, err := c.oauth.Token(ctx, apiID, apiPass, "fortilancloud")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.faz.LoginCloudToken(ctx, lanTok.AccessToken)
	wantKind(t, err, client.ErrRefused)
}

func TestExchangeCloud(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	// something over HTTP/2 first, so that the exchange must pick its own connection
	if _, err := c.faz.LoginUser(ctx, adminUser, adminPass); err != nil {
		t.Fatal(err)
	}
	if c.s.Protos("/jsonrpc")["HTTP/2.0"] != 1 {
		t.Errorf("JSON-RPC protocols: %v, want HTTP/2", c.s.Protos("/jsonrpc"))
	}
	tok, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.faz.ExchangeCloud(ctx, tok.AccessToken)
	if err != nil || !c.s.SessionAlive(sid) {
		t.Fatalf("ExchangeCloud = %q, %v", sid, err)
	}
	if got := c.s.ExchangeProtoMajor(); got != 1 {
		t.Errorf("the exchange used HTTP/%d, want HTTP/1.1", got)
	}
	// pyFMG revokes the token at once and keeps the session
	if err := c.oauth.Revoke(ctx, "FortiAnalyzer", tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := c.faz.Status(ctx, sid); err != nil {
		t.Errorf("Status after revoking the token: %v", err)
	}

	for _, tc := range []struct {
		name  string
		token string
		fault *fortitest.Fault
		kind  error
	}{
		{"revoked token", tok.AccessToken, nil, client.ErrRefused},
		{"HTML page", cloudToken, &fortitest.Fault{Kind: fortitest.FaultHTML}, client.ErrProtocol},
		{"broken JSON", cloudToken, &fortitest.Fault{Kind: fortitest.FaultBrokenJSON}, client.ErrProtocol},
		{"200 without a session", cloudToken, &fortitest.Fault{Kind: fortitest.FaultCode, Status: 200, Message: "token expired"}, client.ErrRefused},
		{"login-max", cloudToken, nil, client.ErrLoginLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.s.ClearFaults()
			c.s.SetLoginMax(0)
			if tc.fault != nil {
				c.s.AddFault(*tc.fault)
			}
			if tc.name == "login-max" {
				c.s.SetLoginMax(1)
				if _, err := c.faz.ExchangeCloud(ctx, cloudToken); err != nil {
					t.Fatal(err)
				}
			}
			sid, err := c.faz.ExchangeCloud(ctx, tc.token)
			if sid != "" {
				t.Errorf("session %q with an error", sid)
			}
			wantKind(t, err, tc.kind)
			noSecrets(t, err, tc.token)
		})
	}
}

func TestLogoutAndStatus(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	c.s.SetSessionIdle(time.Minute)
	login := func() string {
		t.Helper()
		sid, err := c.faz.LoginUser(ctx, adminUser, adminPass)
		if err != nil {
			t.Fatal(err)
		}
		return sid
	}

	sid := login()
	c.s.Advance(40 * time.Second)
	if err := c.faz.Status(ctx, sid); err != nil {
		t.Fatalf("Status: %v", err)
	}
	c.s.Advance(40 * time.Second)
	if !c.s.SessionAlive(sid) {
		t.Fatal("Status did not reset the idle timer")
	}
	if err := c.faz.Logout(ctx, sid); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if c.s.SessionAlive(sid) {
		t.Fatal("session alive after Logout")
	}

	for _, tc := range []struct {
		name  string
		prep  func(sid string)
		fault *fortitest.Fault
		kind  error
	}{
		{name: "logged out already", prep: func(sid string) { _ = c.faz.Logout(ctx, sid) }, kind: client.ErrGone},
		{name: "expired upstream", prep: func(sid string) { c.s.ExpireSession(sid) }, kind: client.ErrGone},
		{name: "idled out", prep: func(string) { c.s.Advance(2 * time.Minute) }, kind: client.ErrGone},
		{name: "code -11", fault: &fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -11}, kind: client.ErrGone},
		{name: "code -1", fault: &fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -1}, kind: client.ErrRetryLater},
		{name: "code -20020", fault: &fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -20020}, kind: client.ErrRefused},
		{name: "HTML page", fault: &fortitest.Fault{Kind: fortitest.FaultHTML}, kind: client.ErrProtocol},
		{name: "broken JSON", fault: &fortitest.Fault{Kind: fortitest.FaultBrokenJSON}, kind: client.ErrProtocol},
	} {
		for _, call := range []struct {
			name string
			fn   func(context.Context, string) error
		}{{"Logout", c.faz.Logout}, {"Status", c.faz.Status}} {
			t.Run(call.name+"/"+tc.name, func(t *testing.T) {
				c.s.ClearFaults()
				sid := login()
				if tc.prep != nil {
					tc.prep(sid)
				}
				if tc.fault != nil {
					tc.fault.Message = "session " + sid + " says no"
					c.s.AddFault(*tc.fault)
				}
				err := call.fn(ctx, sid)
				c.s.ClearFaults()
				wantKind(t, err, tc.kind)
				noSecrets(t, err, sid)
				_ = c.faz.Logout(ctx, sid)
			})
		}
	}
}

func TestJSONRPCConcurrent(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				sid, err := c.faz.LoginUser(ctx, adminUser, adminPass)
				if err == nil {
					err = c.faz.Status(ctx, sid)
				}
				if err == nil {
					err = c.faz.Logout(ctx, sid)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := c.s.LiveSessions(); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}

func TestLoginLimitAfterLeaks(t *testing.T) {
	// Sessions that are never logged out hold their slot until they idle out.
	ctx := context.Background()
	c := setup(t)
	c.s.SetLoginMax(3)
	for i := 0; i < 3; i++ {
		if _, err := c.faz.LoginUser(ctx, adminUser, adminPass); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.faz.LoginUser(ctx, adminUser, adminPass)
	if !errors.Is(err, client.ErrLoginLimit) {
		t.Fatalf("err = %v, want ErrLoginLimit", err)
	}
	c.s.Advance(fortitest.DefaultSessionIdle + time.Second)
	if _, err := c.faz.LoginUser(ctx, adminUser, adminPass); err != nil {
		t.Fatalf("after the sessions idled out: %v", err)
	}
}
