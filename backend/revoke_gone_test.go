package backend

import (
	"context"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

// A token already gone upstream is revoked whichever way the upstream says so; a refusal about
// the request keeps the lease (revoke answers an error), and so does a wrong client_id at IAM.
func TestRevokeTokenGoneAnswers(t *testing.T) {
	for name, a := range map[string]fortitest.GoneAnswer{
		"default": fortitest.GoneDefault, "401": fortitest.Gone401, "400 invalid_token": fortitest.Gone400InvalidToken,
		"403 expired": fortitest.Gone403Expired, "404": fortitest.Gone404,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.fake.SetLANGone(a)
			e.fake.SetOAuthGone(a)
			lan, shared, tok := e.lanAndShared(t)
			e.fake.ExpireLANToken(lan.data["access_token"].(string))
			e.fake.ExpireOAuthToken(tok)
			if err := e.revoke(lan); err != nil {
				t.Errorf("revoke of a FortiLAN token gone upstream: %v", err)
			}
			if err := e.revoke(shared); err != nil {
				t.Errorf("revoke of a shared token gone upstream: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		lan  fortitest.Fault
		iam  fortitest.Fault
	}{
		{"400 malformed request",
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "invalid request body"},
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "invalid request body"}},
		{"400 invalid_request naming the token",
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "access_token is required"},
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "Token is required."}},
		{"404 path not found",
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 404, Message: "not found"},
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 404, Message: "not found"}},
		{"403 at FortiLAN, 401 at IAM, no reason",
			fortitest.Fault{Kind: fortitest.FaultCode, Status: 403, Message: "forbidden"},
			fortitest.Fault{Kind: fortitest.Fault401, Message: "unauthorized"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			lan, shared, tok := e.lanAndShared(t)
			lanTok := lan.data["access_token"].(string)
			tc.lan.Path, tc.iam.Path = "/api/v1/auth/invalidate_token", "/api/v1/oauth/revoke_token/"
			e.fake.AddFault(tc.lan)
			e.fake.AddFault(tc.iam)
			if err := e.revoke(lan); err == nil {
				t.Error("a FortiLAN revoke refused for the request succeeded: the lease is dropped, its token lives")
			}
			if err := e.revoke(shared); err == nil {
				t.Error("a shared token's revoke refused for the request succeeded: the lease is dropped, its token lives")
			}
			if !e.fake.LANTokenAlive(lanTok) || !e.fake.OAuthTokenAlive(tok) {
				t.Fatal("a refused revoke ended a token")
			}
			e.fake.ClearFaults()
			e.revokeAllNoneLive(t, lan)
			e.lastRevokeEndsToken(t, shared, tok)
		})
	}
}

// A token past its expires_at is gone: its revoke succeeds whatever the upstream answers, and
// well past it the upstream is not even asked.
func TestRevokeExpiredTokenWithoutUpstream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		past  time.Duration
		fault fortitest.Fault
		calls bool
	}{
		{"just expired, upstream 500", time.Second, fortitest.Fault{Kind: fortitest.FaultCode, Status: 500}, true},
		{"just expired, upstream down", time.Second, fortitest.Fault{Kind: fortitest.FaultDown}, true},
		{"just expired, upstream refusing", time.Second, fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "invalid request body"}, true},
		{"long expired, upstream 500", 2 * expiredSlack, fortitest.Fault{Kind: fortitest.FaultCode, Status: 500}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			lan, shared, _ := e.lanAndShared(t)
			past := time.Now().Add(-tc.past).Unix()
			lan.secret.InternalData["expires_at"] = past
			sh, err := readShare(context.Background(), e.s, shareKey(e.fake.URL, apiID))
			if err != nil || sh == nil {
				t.Fatalf("share: %v %v", sh, err)
			}
			sh.ExpiresAt = past
			if err := writeShare(context.Background(), e.s, shareKey(e.fake.URL, apiID), sh); err != nil {
				t.Fatal(err)
			}
			e.fake.AddFault(tc.fault)
			e.fake.ResetCalls()
			if err := e.revoke(lan); err != nil {
				t.Errorf("revoke of a FortiLAN token past its expiry: %v", err)
			}
			if err := e.revoke(shared); err != nil {
				t.Errorf("revoke of a shared token past its expiry: %v", err)
			}
			if sh, err := readShare(context.Background(), e.s, shareKey(e.fake.URL, apiID)); err != nil || sh != nil {
				t.Errorf("the share outlived its last lease: %v %v", sh, err)
			}
			asked := e.fake.Calls("/api/v1/auth/invalidate_token") > 0 && e.fake.Calls("/api/v1/oauth/revoke_token/") > 0
			if asked != tc.calls {
				t.Errorf("upstream asked: %v, want %v", asked, tc.calls)
			}
		})
	}
}

// lanAndShared issues a FortiLAN email user's lease and a lease of an API user's shared token,
// with a short request_timeout, and returns them with the shared token.
func (e *env) lanAndShared(t *testing.T) (lan, shared lease, tok string) {
	t.Helper()
	e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "request_timeout", "2s"))
	e.ok(logical.UpdateOperation, "config/lana", with(e.lanAPIUser(), "request_timeout", "2s"))
	e.ok(logical.UpdateOperation, "roles/lan", map[string]any{"config": "lan"})
	e.ok(logical.UpdateOperation, "roles/lana", map[string]any{"config": "lana"})
	lan, shared = e.creds("lan"), e.creds("lana")
	return lan, shared, shared.data["access_token"].(string)
}
