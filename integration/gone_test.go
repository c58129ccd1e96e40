package integration_test

import (
	"context"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestDisableMountWhenGoneUpstream: credentials that ended upstream on their own, whose
// upstream says so with 400 invalid_token (FortiLAN's invalidate_token, IAM's revoke_token)
// or -11 (FAZ's logout), do not hold up `vault secrets disable`: it succeeds, every lease is
// revoked, and none is left irrevocable.
func TestDisableMountWhenGoneUpstream(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.SetLANGone(fortitest.Gone400InvalidToken)
	f.SetOAuthGone(fortitest.Gone400InvalidToken)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ls := issueMix(t, f, c)
	f.ExpireAll()
	invalidations, oauthRevokes := f.Calls("/api/v1/auth/invalidate_token"), f.Calls("/api/v1/oauth/revoke_token/")

	if err := c.Sys().UnmountWithContext(context.Background(), "forticloud"); err != nil {
		t.Fatalf("disable the mount: %v", err)
	}
	if f.Calls("/api/v1/auth/invalidate_token") == invalidations || f.Calls("/api/v1/oauth/revoke_token/") == oauthRevokes {
		t.Fatal("the tokens' revokes never reached the upstream: the test saw no 400 invalid_token")
	}
	for _, l := range ls {
		if !leaseGone(c, l.secret.LeaseID) {
			t.Errorf("lease %s outlived the mount", l.secret.LeaseID)
		}
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
	if strings.Contains(v.log(), "marking lease as irrevocable") {
		t.Error("Vault's log shows a lease marked irrevocable")
	}
}
