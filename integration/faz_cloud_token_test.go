package integration_test

import (
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestFAZCloudLoginTokenOutlivesFailedRevoke: a FortiAnalyzer Cloud login (auth_method
// forticloud_api_user) mints an IAM OAuth token, trades it for a session, then revokes the
// token at once. When that revoke fails (IAM down for the few seconds of the retry budget),
// the token must not stay live upstream until the API user's next token or its expiry (4 h):
// a WAL entry records it, and Vault's rollback revokes it past the WAL age.
func TestFAZCloudLoginTokenOutlivesFailedRevoke(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	cfg := fazAPIUser(f)
	cfg["request_timeout"] = "2s"
	configure(t, c, "forticloud", "fazcloud", cfg)
	if n := f.LiveOAuthTokens(); n != 0 {
		t.Fatalf("%d IAM tokens live after the config write", n)
	}

	f.AddFault(fortitest.Fault{Path: "/api/v1/oauth/revoke_token", Kind: fortitest.FaultDown})
	s := readCreds(t, c, "forticloud", "fazcloud") // the session is fine: the exchange worked
	f.ClearFaults()
	if n := f.LiveOAuthTokens(); n == 0 {
		t.Fatal("no IAM token live: the fault did not hold, so the test shows nothing")
	}
	// Past the WAL rollback age (5 s in this build) and one rollback pass (once a minute).
	waitFor(t, 75*time.Second, "the FAZ Cloud login's IAM token to end upstream", func() bool {
		return f.LiveOAuthTokens() == 0
	})
	revoke(t, c, s.LeaseID)
}
