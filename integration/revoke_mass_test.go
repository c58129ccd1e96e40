package integration_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestRevokeMass: 120 FortiLAN leases ended by one revoke-prefix, against a fake that enforces
// FortiLAN's 60 calls a minute besides logins (invalidate_token among them). Both ways Vault
// revokes a prefix: asynchronously (`vault lease revoke -prefix`, the CLI's default: Vault's
// revocation workers, each revoke with a 90 s deadline, failures retried from 10-30 s on, up to
// 6 attempts) and synchronously (the API's default: one lease after another on a context
// without a deadline, stopping at the first failure). Then no token is live upstream, Vault
// holds no lease, irrevocable or not, and the fake answered at most a handful of 429s. The
// time and the counts are logged for BENCHMARKS.md.
//
// Only with REVOKE_MASS=1 (it takes a minute and more): make revoke-mass
// (REVOKE_MASS_LEASES=360 make revoke-mass for more leases).
func TestRevokeMass(t *testing.T) {
	if os.Getenv("REVOKE_MASS") != "1" {
		t.Skip("the mass revoke runs only with REVOKE_MASS=1: make revoke-mass")
	}
	leases := soakEnvInt(t, "REVOKE_MASS_LEASES", 120)
	const max429 = 5
	for _, tc := range []struct {
		name string
		sync bool
	}{{"async", false}, {"sync", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Issuing is paced by FortiLAN's 6 logins a minute: 20 minutes for 120. Both the fake's
			// auth limit and login_rate_limit are off (newFake, lanEmail); the call limit is on,
			// at its default, on both sides.
			f := newFake(t)
			f.SetCallRateLimit(fortitest.DefaultCallRateLimit)
			v := newDevServer(t, serverOpts{logLevel: "info"})
			c := v.client
			// No verify_connection: its invalidation would take a slot, and the 120th revoke would
			// wait for a third minute.
			cfg := lanEmail(f)
			cfg["verify_connection"] = false
			configure(t, c, "forticloud", "lan", cfg)
			read, err := c.Logical().Read("forticloud/config/lan")
			if err != nil || read == nil || fmt.Sprint(read.Data["call_rate_limit"]) != "60" {
				t.Fatalf("config/lan call_rate_limit: %v, %v; want the default 60", read, err)
			}
			issueMany(t, c, "forticloud", "lan", leases)
			if n := f.LiveLANTokens(); n != leases {
				t.Fatalf("after %d creds the fake has %d live tokens", leases, n)
			}
			const inv = "/api/v1/auth/invalidate_token"
			before := f.Calls(inv)

			ctx := context.Background()
			// A minute per 60 leases, and Vault's retries: 5 after the first attempt, 10-30 s
			// after it, each backoff doubling, up to 15.5 minutes in all.
			wait := time.Duration(leases/60+17) * time.Minute
			start := time.Now()
			if tc.sync {
				c.SetClientTimeout(wait) // the call lasts until every lease is revoked
				err = c.Sys().RevokePrefixWithContext(ctx, "forticloud/creds/")
			} else {
				_, err = c.Logical().WriteWithContext(ctx, "sys/leases/revoke-prefix/forticloud/creds/", map[string]any{"sync": false})
			}
			if err != nil {
				t.Fatalf("revoke-prefix after %s: %v (%d invalidate calls upstream, %d answered 429, %d tokens live)",
					time.Since(start).Round(100*time.Millisecond), err, f.Calls(inv)-before, f.TooManyRequests(inv), f.LiveLANTokens())
			}
			// Done when every lease left, if any, is one Vault gave up on.
			state := func() string {
				return fmt.Sprintf("%s: %d invalidate calls upstream, %d answered 429; %d leases left, %d irrevocable; %d live tokens",
					time.Since(start).Round(100*time.Millisecond), f.Calls(inv)-before, f.TooManyRequests(inv),
					len(leasesUnder(t, c, "forticloud/creds/")), irrevocableLeases(t, c), f.LiveLANTokens())
			}
			progress := time.Now()
			waitFor(t, wait, "every lease revoked or irrevocable", func() bool {
				if time.Since(progress) > time.Minute {
					t.Logf("%s revoke-prefix, %s", tc.name, state())
					progress = time.Now()
				}
				return len(leasesUnder(t, c, "forticloud/creds/")) == irrevocableLeases(t, c)
			})
			refused := f.TooManyRequests(inv)
			irrevocable, live := irrevocableLeases(t, c), f.LiveLANTokens()
			t.Logf("%s revoke-prefix of %d FortiLAN leases done in %s", tc.name, leases, state())
			if irrevocable != 0 || live != 0 {
				t.Errorf("%d leases irrevocable, %d tokens live upstream; want none", irrevocable, live)
			}
			if refused > max429 {
				t.Errorf("the fake answered %d invalidations with 429, want at most %d", refused, max429)
			}
		})
	}
}
