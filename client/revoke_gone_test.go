package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// Through the fake: FortiLAN's invalidate and IAM's revoke read every way of saying "already
// gone" as ErrGone, and a refusal about the request as ErrRefused, its message scrubbed.
func TestRevokeGoneAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		answer fortitest.GoneAnswer
		// an answer given instead of the fake's own, whatever the token (nil: none)
		fault   *fortitest.Fault
		lan     error // the kind Invalidate answers for a token invalidated already; nil: success
		iam     error // the kind Revoke answers for a token revoked already
		iamLive bool  // the fault applies to a live IAM token (which it leaves alive)
	}{
		{name: "default", answer: fortitest.GoneDefault, lan: client.ErrGone, iam: nil},
		{name: "401 invalid token", answer: fortitest.Gone401, lan: client.ErrGone, iam: client.ErrGone},
		{name: "400 invalid_token", answer: fortitest.Gone400InvalidToken, lan: client.ErrGone, iam: client.ErrGone},
		{name: "403 token expired", answer: fortitest.Gone403Expired, lan: client.ErrGone, iam: client.ErrGone},
		{name: "404 token not found", answer: fortitest.Gone404, lan: client.ErrGone, iam: client.ErrGone},
		{name: "400 malformed request", fault: &fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "invalid request body"},
			lan: client.ErrRefused, iam: client.ErrRefused, iamLive: true},
		{name: "400 naming the token", fault: &fortitest.Fault{Kind: fortitest.FaultCode, Status: 400, Message: "cannot invalidate TOKEN now"},
			lan: client.ErrRefused, iam: client.ErrRefused, iamLive: true},
		{name: "404 path not found", fault: &fortitest.Fault{Kind: fortitest.FaultCode, Status: 404, Message: "not found"},
			lan: client.ErrRefused, iam: client.ErrRefused, iamLive: true},
		{name: "401 echoing an expired token", fault: &fortitest.Fault{Kind: fortitest.Fault401, Message: "token TOKEN expired"},
			lan: client.ErrGone, iam: client.ErrGone, iamLive: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := setup(t)
			c.s.SetLANGone(tc.answer)
			c.s.SetOAuthGone(tc.answer)

			tok, err := c.lan.Login(ctx, client.LANUser{AccountID: lanAccount, UserName: lanEmail, Password: lanEmailPwd})
			if err != nil {
				t.Fatal(err)
			}
			if tc.fault == nil {
				if err := c.lan.Invalidate(ctx, tok.AccessToken); err != nil {
					t.Fatalf("Invalidate a live token: %v", err)
				}
			} else {
				f := *tc.fault
				f.Path, f.Message = "/api/v1/auth/invalidate_token", strings.ReplaceAll(f.Message, "TOKEN", tok.AccessToken)
				c.s.AddFault(f)
			}
			err = c.lan.Invalidate(ctx, tok.AccessToken)
			checkKind(t, "fortilan", err, tc.lan, tok.AccessToken)
			if tc.fault != nil && !c.s.LANTokenAlive(tok.AccessToken) {
				t.Error("fortilan: the fault killed the token")
			}
			c.s.ClearFaults()

			iam, err := c.oauth.Token(ctx, apiID, apiPass, "FortiAnalyzer")
			if err != nil {
				t.Fatal(err)
			}
			if tc.fault == nil {
				if err := c.oauth.Revoke(ctx, "FortiAnalyzer", iam.AccessToken); err != nil {
					t.Fatalf("Revoke a live token: %v", err)
				}
			} else {
				f := *tc.fault
				f.Path, f.Message = "/api/v1/oauth/revoke_token/", strings.ReplaceAll(f.Message, "TOKEN", iam.AccessToken)
				c.s.AddFault(f)
			}
			err = c.oauth.Revoke(ctx, "FortiAnalyzer", iam.AccessToken)
			checkKind(t, "forticloud iam", err, tc.iam, iam.AccessToken)
			if c.s.OAuthTokenAlive(iam.AccessToken) != tc.iamLive {
				t.Errorf("forticloud iam: token alive %v, want %v", !tc.iamLive, tc.iamLive)
			}
		})
	}
}

func checkKind(t *testing.T, what string, err, kind error, secret string) {
	t.Helper()
	if kind == nil {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	wantKind(t, err, kind)
	noSecrets(t, err, secret)
}
