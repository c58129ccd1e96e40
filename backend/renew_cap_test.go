package backend

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// A token lease renewed with a long increment ends no later than the token, once Vault has
// done its whole-second arithmetic (framework.CalculateTTL, then now plus the TTL, as
// vault/expiration.go renews). An issue time on a whole second is the worst case: Vault's
// truncation takes nothing off it, and the renewal's own fraction of a second comes on top.
func TestTokenRenewNeverPastExpiry(t *testing.T) {
	e := newEnv(t)
	e.fake.SetLANTokenTTL(20 * time.Minute)
	e.ok(logical.UpdateOperation, "config/lan", e.lanEmail())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "lan", "ttl": "30m", "max_ttl": "2h"})
	l := e.creds("r")
	exp, err := time.Parse(time.RFC3339, l.data["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, issued := range []time.Time{time.Now().Truncate(time.Second), time.Now().Add(-time.Second).Truncate(time.Second).Add(999 * time.Millisecond)} {
		l.secret.IssueTime = issued
		l.secret.Increment = 4 * time.Hour
		resp, err := e.renew(l)
		if err != nil || resp.IsError() {
			t.Fatalf("renew: %v %v", err, resp)
		}
		ttl, _, err := framework.CalculateTTL(e.b.System(), 4*time.Hour, resp.Secret.TTL, 0, resp.Secret.MaxTTL, 0, issued)
		if err != nil {
			t.Fatal(err)
		}
		if end := time.Now().Add(ttl); end.After(exp) {
			t.Errorf("issued at %s: the renewed lease ends at %s, %s after the token expires at %s",
				issued.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), end.Sub(exp), exp.Format(time.RFC3339))
		}
		if ttl < 19*time.Minute {
			t.Errorf("issued at %s: renewed for %s only", issued.Format(time.RFC3339Nano), ttl)
		}
	}
}
