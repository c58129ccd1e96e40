package integration_test

import (
	"os"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestFAZCloudLoginTokenOutlivesFailedRevoke: a FortiAnalyzer Cloud login (auth_method
// forticloud_api_user) mints an IAM OAuth token, trades it for a session, then revokes the
// token "at once". When that revoke fails (IAM down for the few seconds of the retry budget),
// the token stays live upstream, held by no lease and no WAL entry, until the API user's next
// token kills it or it expires (4 h for client_id FortiAnalyzer, 1 h for FortiManager). Issue 5
// asks that no token stay live past the WAL rollback age. client/issuer.go (sessionIssuer.Login)
// drops the revoke's error on purpose ("harmless, since the API user's next token kills this
// one anyway").
//
// A known gap, not a regression: skipped unless E2E_KNOWN_GAPS=1, and it fails then.
func TestFAZCloudLoginTokenOutlivesFailedRevoke(t *testing.T) {
	if os.Getenv("E2E_KNOWN_GAPS") != "1" {
		t.Skip("known gap (an IAM token outlives a failed revoke after a FAZ Cloud login): E2E_KNOWN_GAPS=1 runs it")
	}
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
		t.Fatal("no IAM token live: the gap is closed, drop the skip")
	}
	// Past the WAL rollback age (5 s in this build) and one rollback pass (once a minute).
	waitFor(t, 75*time.Second, "the FAZ Cloud login's IAM token to end upstream", func() bool {
		return f.LiveOAuthTokens() == 0
	})
	revoke(t, c, s.LeaseID)
}
