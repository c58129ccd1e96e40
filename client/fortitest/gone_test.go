package fortitest_test

import (
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// Every GoneAnswer on both endpoints, for tokens unknown, expired and ended already; live
// tokens and malformed requests are not affected by the setting.
func TestGoneAnswers(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.SetAuthRateLimit(0)
	s.AddLANUser("acct", "user", "pw-12345", false)
	s.AddAPIUser("API1", "api-pass-1")
	lanToken := func() string {
		a := post(t, s.Client(), s.URL+"/api/v1/auth", map[string]string{"accountId": "acct", "userName": "user", "password": "pw-12345"})
		return a.json(t)["access_token"].(string)
	}
	invalidate := func(tok string, body any) answer {
		return post(t, s.Client(), s.URL+"/api/v1/auth/invalidate_token", body, "Authorization", "Bearer "+tok)
	}
	revoke := func(tok string) answer {
		return post(t, s.Client(), s.URL+"/api/v1/oauth/revoke_token/", map[string]string{"client_id": "FortiManager", "token": tok})
	}
	for _, tc := range []struct {
		a         fortitest.GoneAnswer
		lan, iam  int
		errorText string // the body's "error"; IAM's 200 has none
	}{
		{fortitest.GoneDefault, 401, 200, "invalid token"},
		{fortitest.Gone401, 401, 401, "invalid token"},
		{fortitest.Gone400InvalidToken, 400, 400, "invalid_token"},
		{fortitest.Gone403Expired, 403, 403, "token expired"},
		{fortitest.Gone404, 404, 404, "token not found"},
	} {
		s.SetLANGone(tc.a)
		s.SetOAuthGone(tc.a)
		check := func(what string, a answer, status int) {
			t.Helper()
			if a.status != status {
				t.Errorf("answer %d, %s: %d %s, want %d", tc.a, what, a.status, a.body, status)
			}
			if status != 200 && a.json(t)["error"] != tc.errorText {
				t.Errorf("answer %d, %s: %s, want error %q", tc.a, what, a.body, tc.errorText)
			}
		}

		// FortiLAN: a live token is invalidated; the same again, an expired one and an unknown
		// one answer the shape.
		tok := lanToken()
		if a := invalidate(tok, `{}`); a.status != 400 || a.json(t)["error"] != "invalid request body" || !s.LANTokenAlive(tok) {
			t.Errorf("answer %d, a body without access_token: %d %s", tc.a, a.status, a.body)
		}
		if a := invalidate(tok, map[string]string{"access_token": tok}); a.status != 200 || s.LANTokenAlive(tok) {
			t.Errorf("answer %d, a live token: %d %s", tc.a, a.status, a.body)
		}
		check("fortilan, invalidated already", invalidate(tok, map[string]string{"access_token": tok}), tc.lan)
		exp := lanToken()
		s.ExpireLANToken(exp)
		check("fortilan, expired", invalidate(exp, map[string]string{"access_token": exp}), tc.lan)
		check("fortilan, unknown", invalidate("Unknown-Token-0123", map[string]string{"access_token": "Unknown-Token-0123"}), tc.lan)

		// IAM: a live token is revoked; the same again, an expired one and an unknown one answer
		// the shape; an empty token is still a malformed request.
		s.SetOAuthTokenTTL(time.Minute)
		live, _, _ := oauthToken(t, s, "API1", "api-pass-1", "FortiManager")
		if a := revoke(live); a.status != 200 || s.OAuthTokenAlive(live) {
			t.Errorf("answer %d, a live IAM token: %d %s", tc.a, a.status, a.body)
		}
		check("iam, revoked already", revoke(live), tc.iam)
		old, _, _ := oauthToken(t, s, "API1", "api-pass-1", "FortiManager")
		s.Advance(61 * time.Second)
		check("iam, expired", revoke(old), tc.iam)
		check("iam, unknown", revoke("Unknown-Token-0123"), tc.iam)
		if a := revoke(""); a.status != 400 || a.json(t)["error"] != "invalid_request" {
			t.Errorf("answer %d, an empty IAM token: %d %s", tc.a, a.status, a.body)
		}
	}
}
