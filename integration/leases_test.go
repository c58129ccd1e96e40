package integration_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestLeaseExpiryRevokes: a lease that runs out (no explicit revoke) ends its credential
// upstream, through Vault's expiration manager: sessions, FortiLAN tokens and shared tokens.
func TestLeaseExpiryRevokes(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	for name, cfg := range map[string]map[string]any{"faz": fazLocal(f), "lan": lanEmail(f), "lanapi": lanAPIUser(f)} {
		write(t, c, "forticloud/config/"+name, cfg)
		write(t, c, "forticloud/roles/"+name, map[string]any{"config": name, "ttl": "2s", "max_ttl": "2s"})
	}
	sid := str(t, readCreds(t, c, "forticloud", "faz"), "session")
	tok := str(t, readCreds(t, c, "forticloud", "lan"), "access_token")
	shared := str(t, readCreds(t, c, "forticloud", "lanapi"), "access_token")
	if !f.SessionAlive(sid) || !f.LANTokenAlive(tok) || !f.OAuthTokenAlive(shared) {
		t.Fatal("credentials not alive right after issue")
	}
	waitFor(t, 30*time.Second, "the expired leases' credentials to end upstream", func() bool {
		return !f.SessionAlive(sid) && !f.LANTokenAlive(tok) && !f.OAuthTokenAlive(shared)
	})
	waitFor(t, 10*time.Second, "Vault to drop the expired leases", func() bool {
		return len(leasesUnder(t, c, "forticloud/creds/")) == 0
	})
}

// TestRevokeAfterConfigChange: everything renew and revoke need lives in the lease, so for
// every auth method they still work, and end the credential upstream, after the role and the
// config were deleted ("deleted"), or after the config was rewritten to point at another
// upstream ("moved", which makes the plugin reach the credential from the lease's own data).
func TestRevokeAfterConfigChange(t *testing.T) {
	t.Parallel()
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()

	t.Run("group", func(t *testing.T) {
		for _, tc := range authCases {
			for _, change := range []string{"deleted", "moved"} {
				t.Run(tc.name+"/"+change, func(t *testing.T) {
					t.Parallel()
					// Fakes of its own: an API user has one live token per fake, so subtests
					// sharing one would kill each other's tokens.
					f, other := newFake(t), newFake(t)
					name := tc.name + "-" + change
					configure(t, c, "forticloud", name, tc.config(f))
					s := readCreds(t, c, "forticloud", name)
					cred := tc.credential(t, f, s)
					if !tc.alive(f, cred) {
						t.Fatal("credential not alive right after issue")
					}
					switch change {
					case "deleted":
						if _, err := c.Logical().DeleteWithContext(ctx, "forticloud/config/"+name); err == nil {
							t.Errorf("config/%s deleted while a role names it (the contract says it is refused)", name)
						}
						for _, p := range []string{"roles/", "config/"} {
							if _, err := c.Logical().DeleteWithContext(ctx, "forticloud/"+p+name); err != nil {
								t.Fatalf("delete %s%s: %v", p, name, err)
							}
						}
					case "moved":
						moved := tc.config(other)
						if tc.kind == kindCloud {
							// forticloud has no url: move its IAM endpoint instead.
							moved["auth_url"] = other.URL
						}
						write(t, c, "forticloud/config/"+name, moved)
					}
					renew(t, c, s.LeaseID)
					if !tc.alive(f, cred) {
						t.Fatal("the renewal ended the credential")
					}
					oauthRevokes, lanInvalidations := f.Calls("/api/v1/oauth/revoke_token/"), f.Calls("/api/v1/auth/invalidate_token")
					revoke(t, c, s.LeaseID)
					waitFor(t, 10*time.Second, "the credential of "+s.LeaseID+" to end upstream", func() bool {
						if !tc.alive(f, cred) {
							return true
						}
						if tc.shared && f.Calls("/api/v1/auth/invalidate_token") > lanInvalidations {
							t.Fatalf("revoke sent the API user's OAuth token to FortiLAN's invalidate_token (%d IAM revoke_token calls): "+
								"the lease was dropped as revoked, and the token lives on upstream", f.Calls("/api/v1/oauth/revoke_token/")-oauthRevokes)
						}
						return false
					})
				})
			}
		}
	})
}

// TestRevokeWhenAlreadyGoneUpstream: a credential that ended upstream on its own (idle FAZ
// session, expired FortiLAN token) fails to renew, yet its revoke succeeds at once, so that
// Vault drops the lease instead of retrying it into an irrevocable one.
func TestRevokeWhenAlreadyGoneUpstream(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	configure(t, c, "forticloud", "faz", fazLocal(f))
	configure(t, c, "forticloud", "lan", lanEmail(f))
	s := readCreds(t, c, "forticloud", "faz")
	l := readCreds(t, c, "forticloud", "lan")
	f.ExpireSession(str(t, s, "session"))
	f.ExpireLANToken(str(t, l, "access_token"))

	if _, err := c.Sys().RenewWithContext(ctx, s.LeaseID, 0); err == nil {
		t.Errorf("renewing a lease whose session idled out upstream succeeded")
	}
	for _, lease := range []string{s.LeaseID, l.LeaseID} {
		revoke(t, c, lease)
		if !leaseGone(c, lease) {
			t.Errorf("Vault kept lease %s, whose credential was already gone upstream", lease)
		}
	}
	if ls := leasesUnder(t, c, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left: %v", ls)
	}
}

// TestDisableMountRevokesLeases: disabling the mount revokes its leases, which ends every
// credential upstream.
func TestDisableMountRevokesLeases(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ls := issueMix(t, f, c)
	if err := c.Sys().UnmountWithContext(context.Background(), "forticloud"); err != nil {
		t.Fatalf("disable the mount: %v", err)
	}
	for _, l := range ls {
		eventuallyDead(t, "credential of "+l.secret.LeaseID, l.alive)
	}
	if n := f.LiveSessions() + f.LiveLANTokens() + f.LiveOAuthTokens() + len(vaultAdmins(f)); n != 0 {
		t.Errorf("%d credentials still live upstream", n)
	}
}

// TestTokenLeaseCappedAtExpiry: a FortiLAN token that expires upstream before the role's ttl
// gets a lease no longer than the token lives, with a warning, and renewals never pass it.
func TestTokenLeaseCappedAtExpiry(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.SetLANTokenTTL(90 * time.Second)
	v := newDevServer(t, serverOpts{})
	c := v.client
	configure(t, c, "forticloud", "lan", lanEmail(f)) // ttl 10m, max_ttl 1h
	s := readCreds(t, c, "forticloud", "lan")
	if s.LeaseDuration > 90 || s.LeaseDuration < 80 {
		t.Errorf("lease_duration %d, want it capped at the token's 90 s", s.LeaseDuration)
	}
	if !strings.Contains(strings.Join(s.Warnings, "\n"), "capped") {
		t.Errorf("no warning that the TTL was capped: %v", s.Warnings)
	}
	time.Sleep(2 * time.Second)
	r, err := c.Sys().RenewWithContext(context.Background(), s.LeaseID, 0)
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if r.LeaseDuration > 89 {
		t.Errorf("renew answered lease_duration %d, past the token's expiry (88 s away)", r.LeaseDuration)
	}
	exp, _ := time.Parse(time.RFC3339, str(t, s, "expires_at"))
	look, err := c.Sys().LookupWithContext(context.Background(), s.LeaseID)
	if err != nil {
		t.Fatal(err)
	}
	if et, ok := look.Data["expire_time"].(string); ok {
		leaseEnd, err := time.Parse(time.RFC3339Nano, et)
		if err == nil && leaseEnd.After(exp.Add(time.Second)) {
			t.Errorf("the lease ends at %s, after the token expires upstream at %s", leaseEnd, exp)
		}
	}
	revoke(t, c, s.LeaseID)
	eventuallyDead(t, "the token", func() bool { return f.LANTokenAlive(str(t, s, "access_token")) })
}

// TestSharedTokenAcrossConfigs: an API user has one live OAuth token at a time upstream, and
// minting a new one (for any config, any client_id, a FAZ/FMG Cloud login included) kills the
// last. A creds read must never hand out a token that is already dead upstream.
func TestSharedTokenAcrossConfigs(t *testing.T) {
	t.Parallel()
	v := newDevServer(t, serverOpts{})
	c := v.client

	check := func(t *testing.T, f *fortitest.Server, role string) {
		t.Helper()
		s := readCreds(t, c, "forticloud", role)
		if tok := str(t, s, "access_token"); !f.OAuthTokenAlive(tok) {
			t.Errorf("creds/%s handed out a token that is already dead upstream (lease %s): "+
				"a token minted since for the same API user through another config killed it", role, s.LeaseID)
		}
	}

	// Two FortiLAN configs of one API user (two names, or two regions): the same client_id.
	t.Run("two fortilan configs", func(t *testing.T) {
		f := newFake(t)
		configure(t, c, "forticloud", "lan-a", lanAPIUser(f))
		configure(t, c, "forticloud", "lan-b", lanAPIUser(f))
		check(t, f, "lan-a")
		check(t, f, "lan-b")
		check(t, f, "lan-a")
	})

	// A FortiAnalyzer Cloud login by the same API user mints (and drops) a token of its own.
	t.Run("fortianalyzer login then fortilan", func(t *testing.T) {
		f := newFake(t)
		faz := fazAPIUser(f)
		faz["api_id"], faz["password"] = lanAPIID, lanAPIPassword
		configure(t, c, "forticloud", "lan-c", lanAPIUser(f))
		configure(t, c, "forticloud", "faz-c", faz)
		check(t, f, "lan-c")
		readCreds(t, c, "forticloud", "faz-c")
		check(t, f, "lan-c")
	})
}

// TestRenewRestrictedAdmin: an admin without System Settings access gets -11 from /sys/status
// for a live session. Its leases renew while the session is alive and are refused once it is
// gone; an admin no status call answers is flagged at config write and read, and its leases
// renew unchecked, with a warning.
func TestRenewRestrictedAdmin(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	admin := func(user, password string) map[string]any {
		return map[string]any{"type": "fortianalyzer", "url": f.URL, "auth_method": "local_user",
			"username": user, "password": password, "ca_cert": f.CACertPEM}
	}
	renewProbe := func(name string) any {
		t.Helper()
		s, err := c.Logical().ReadWithContext(ctx, "forticloud/config/"+name)
		if err != nil || s == nil {
			t.Fatalf("read config/%s: %v", name, err)
		}
		return s.Data["renew_probe"]
	}

	configure(t, c, "forticloud", "restricted", admin(restrictedUser, restrictedPassword))
	if got := renewProbe("restricted"); got != "cli_status" {
		t.Errorf("renew_probe of the restricted admin's config = %v, want cli_status", got)
	}
	s := readCreds(t, c, "forticloud", "restricted")
	sid := str(t, s, "session")
	renew(t, c, s.LeaseID)
	if !f.SessionAlive(sid) {
		t.Fatal("the session died on renew")
	}
	f.ExpireSession(sid)
	if _, err := c.Sys().RenewWithContext(ctx, s.LeaseID, 0); err == nil || !strings.Contains(err.Error(), "no longer alive") {
		t.Errorf("renew of a gone session: %v, want a refusal saying it is no longer alive", err)
	}
	revoke(t, c, s.LeaseID)

	w := write(t, c, "forticloud/config/blind", admin(blindUser, blindPassword))
	if w == nil || !strings.Contains(strings.Join(w.Warnings, "\n"), "renew cannot tell") {
		t.Errorf("config write of an admin no status call answers: %v, want a warning", w)
	}
	write(t, c, "forticloud/roles/blind", map[string]any{"config": "blind", "ttl": "10m", "max_ttl": "1h"})
	if got := renewProbe("blind"); got != "none" {
		t.Errorf("renew_probe of the blind admin's config = %v, want none", got)
	}
	b := readCreds(t, c, "forticloud", "blind")
	if _, err := c.Sys().RenewWithContext(ctx, b.LeaseID, 0); err == nil || !strings.Contains(err.Error(), "cannot be checked") {
		t.Errorf("renew of a session no status call can check: %v, want a refusal saying why", err)
	}
	revoke(t, c, b.LeaseID)
	if n := f.LiveSessions(); n != 0 {
		t.Errorf("%d sessions live after revoke", n)
	}
}

// TestTokenRenewIncrementNeverPastExpiry: `vault lease renew -increment=4h` of a FortiLAN lease
// never ends it past the token's expires_at, though Vault counts in whole seconds. The lease is
// issued just after a second begins and renewed late in a second: the worst case for that
// arithmetic, where the renewal's fraction of a second used to land past the expiry. Not
// parallel, so that a loaded machine does not move the requests within their seconds.
func TestTokenRenewIncrementNeverPastExpiry(t *testing.T) {
	f := newFake(t)
	f.SetLANTokenTTL(90 * time.Second)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	configure(t, c, "forticloud", "lan", lanEmail(f)) // ttl 10m, max_ttl 1h
	sleepToFraction(10 * time.Millisecond)
	s := readCreds(t, c, "forticloud", "lan")
	exp, err := time.Parse(time.RFC3339, str(t, s, "expires_at"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sleepToFraction(850 * time.Millisecond)
		if _, err := c.Sys().RenewWithContext(ctx, s.LeaseID, int((4 * time.Hour).Seconds())); err != nil {
			t.Fatalf("renew -increment=4h: %v", err)
		}
		look, err := c.Sys().LookupWithContext(ctx, s.LeaseID)
		if err != nil {
			t.Fatal(err)
		}
		end, err := time.Parse(time.RFC3339Nano, fmt.Sprint(look.Data["expire_time"]))
		if err != nil {
			t.Fatalf("expire_time %v: %v", look.Data["expire_time"], err)
		}
		if end.After(exp) {
			t.Errorf("the renewed lease ends at %s, %s after the token expires upstream at %s",
				end.Format(time.RFC3339Nano), end.Sub(exp), exp.Format(time.RFC3339))
		}
	}
	revoke(t, c, s.LeaseID)
}

// sleepToFraction waits until the wall clock is d into a second.
func sleepToFraction(d time.Duration) {
	now := time.Now()
	wait := d - now.Sub(now.Truncate(time.Second))
	if wait < 0 {
		wait += time.Second
	}
	time.Sleep(wait)
}
