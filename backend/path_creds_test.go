package backend

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

// Every auth method issues, renews and revokes, and the fake agrees on what is live.
func TestCredsLifecycle(t *testing.T) {
	e := newEnv(t)
	type check struct {
		field string
		alive func(string) bool
		live  func() int
	}
	session := check{"session", e.fake.SessionAlive, e.fake.LiveSessions}
	lanTok := check{"access_token", e.fake.LANTokenAlive, e.fake.LiveLANTokens}
	oauthTok := check{"access_token", e.fake.OAuthTokenAlive, e.fake.LiveOAuthTokens}
	tests := []struct {
		name   string
		config map[string]any
		check  check
		fields []string
	}{
		{"faz local_user", e.fazLocal(), session, []string{"session", "url"}},
		{"faz forticloud_token", e.fazCloud(), session, []string{"session", "url"}},
		{"faz forticloud_api_user", e.fazAPIUser(), session, []string{"session", "url"}},
		{"fmg local_user", e.fmgLocal(), session, []string{"session", "url"}},
		{"fortilan email_user", e.lanEmail(), lanTok, []string{"access_token", "expires_at", "url"}},
		{"fortilan iam_user", e.lanIAM(), lanTok, []string{"access_token", "expires_at", "url"}},
		{"fortilan forticloud_api_user", e.lanAPIUser(), oauthTok, []string{"access_token", "expires_at", "url"}},
		{"forticloud forticloud_api_user", e.cloudAPIUser(), oauthTok, []string{"access_token", "expires_at", "token_type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.ok(logical.UpdateOperation, "config/c", tc.config)
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c", "ttl": "10m", "max_ttl": "20m"})
			before := tc.check.live()
			l := e.creds("r")
			for _, f := range tc.fields {
				if s, _ := l.data[f].(string); s == "" {
					t.Fatalf("creds lack %s: %v", f, l.data)
				}
			}
			if exp, ok := l.data["expires_at"].(string); ok {
				if _, err := time.Parse(time.RFC3339, exp); err != nil {
					t.Fatalf("expires_at %q is not RFC 3339", exp)
				}
			}
			cred := l.data[tc.check.field].(string)
			if !tc.check.alive(cred) {
				t.Fatalf("issued %s is not live upstream", tc.check.field)
			}
			if l.secret.TTL != 10*time.Minute || !l.secret.Renewable {
				t.Fatalf("lease TTL %s renewable %v", l.secret.TTL, l.secret.Renewable)
			}
			resp, err := e.renew(l)
			if err != nil || resp.IsError() {
				t.Fatalf("renew: %v %v", err, resp.Error())
			}
			if resp.Secret.InternalData["secret_type"] == nil {
				t.Fatal("renew lost the secret type")
			}
			if err := e.revoke(l); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if tc.check.alive(cred) {
				t.Fatal("credential still live after revoke")
			}
			if n := tc.check.live(); n > before {
				t.Fatalf("%d live after revoke, %d before", n, before)
			}
			// Revoking again, the credential already gone, still succeeds.
			if err := e.revoke(l); err != nil {
				t.Fatalf("second revoke: %v", err)
			}
			e.ok(logical.DeleteOperation, "roles/r", nil)
			e.ok(logical.DeleteOperation, "config/c", nil)
		})
	}
}

func TestCredsWriteWorksLikeRead(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	resp := e.ok(logical.UpdateOperation, "creds/r", nil)
	if resp.Secret == nil || resp.Data["session"] == "" {
		t.Fatalf("write to creds: %v", resp)
	}
	if resp.Secret.TTL != 0 {
		t.Fatalf("a role without ttl set TTL %s; the mount's default should apply", resp.Secret.TTL)
	}
}

func TestCredsUnknown(t *testing.T) {
	e := newEnv(t)
	e.fails(logical.ReadOperation, "creds/nope", nil, `role "nope" does not exist`)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	// The config vanishes behind the role's back (another node, a restore).
	if err := e.s.Delete(t.Context(), "config/faz"); err != nil {
		t.Fatal(err)
	}
	e.b.Invalidate(t.Context(), "config/faz")
	e.fails(logical.ReadOperation, "creds/r", nil, `names config "faz", which does not exist`)
}

// Renew probes the session: a session gone upstream cannot be renewed; revoke still succeeds.
func TestSessionRenewGone(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz", "ttl": "5m", "max_ttl": "1h"})
	l := e.creds("r")
	statusBefore := e.fake.Calls("jsonrpc:/sys/status")
	resp, err := e.renew(l)
	if err != nil || resp.IsError() {
		t.Fatalf("renew: %v %v", err, resp)
	}
	if e.fake.Calls("jsonrpc:/sys/status") != statusBefore+1 {
		t.Fatal("renew did not probe /sys/status")
	}
	if resp.Secret.TTL != 5*time.Minute || resp.Secret.MaxTTL != time.Hour {
		t.Fatalf("renew TTL %s max %s", resp.Secret.TTL, resp.Secret.MaxTTL)
	}
	e.fake.ExpireSession(l.data["session"].(string))
	resp, err = e.renew(l)
	if err != nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), "no longer alive") {
		t.Fatalf("renew of a gone session: %v %v", err, resp)
	}
	if err := e.revoke(l); err != nil {
		t.Fatalf("revoke of a gone session: %v", err)
	}
}

// A transient failure on revoke is an error (Vault keeps the lease and retries); the retry
// succeeds once the upstream is back.
func TestRevokeRetriesTransientFailures(t *testing.T) {
	faults := []struct {
		name  string
		fault fortitest.Fault
	}{
		{"down", fortitest.Fault{Kind: fortitest.FaultDown}},
		{"503", fortitest.Fault{Kind: fortitest.Fault5xx}},
		{"html", fortitest.Fault{Kind: fortitest.FaultHTML}},
		{"internal error code", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -1, Path: "jsonrpc:/sys/logout"}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			e := newEnv(t)
			e.ok(logical.UpdateOperation, "config/faz", with(e.fazLocal(), "request_timeout", "2s"))
			e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "request_timeout", "2s"))
			e.ok(logical.UpdateOperation, "roles/faz", map[string]any{"config": "faz"})
			e.ok(logical.UpdateOperation, "roles/lan", map[string]any{"config": "lan"})
			fl, ll := e.creds("faz"), e.creds("lan")
			e.fake.AddFault(f.fault)
			if err := e.revoke(fl); err == nil {
				t.Fatal("revoke succeeded while the upstream failed")
			}
			if f.fault.Path == "" {
				if err := e.revoke(ll); err == nil {
					t.Fatal("fortilan revoke succeeded while the upstream failed")
				}
			}
			e.fake.ClearFaults()
			e.revokeAllNoneLive(t, fl, ll)
		})
	}
}

// Revoke needs nothing but the lease: it works after the role and config were changed or
// deleted, through the settings saved in the lease.
func TestRevokeAfterConfigGone(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "config/lan", e.lanEmail())
	e.ok(logical.UpdateOperation, "roles/faz", map[string]any{"config": "faz"})
	e.ok(logical.UpdateOperation, "roles/lan", map[string]any{"config": "lan"})
	fl, ll := e.creds("faz"), e.creds("lan")
	fl2 := e.creds("faz")

	// The config now points elsewhere: revoke must still reach where the session lives.
	e.ok(logical.UpdateOperation, "config/faz", map[string]any{"url": "https://127.0.0.1:1", "password": adminPassword, "verify_connection": false})
	if err := e.revoke(fl2); err != nil {
		t.Fatalf("revoke after url change: %v", err)
	}
	for _, r := range []string{"roles/faz", "roles/lan", "config/faz", "config/lan"} {
		e.ok(logical.DeleteOperation, r, nil)
	}
	if _, err := e.renew(fl); err != nil {
		t.Fatalf("renew after role deleted: %v", err)
	}
	e.revokeAllNoneLive(t, fl, ll)
}

// FortiLAN leases never outlive the token: TTL capped with a warning at issue, max TTL at renew.
func TestTokenLeaseCappedAtExpiry(t *testing.T) {
	for _, relative := range []bool{false, true} {
		e := newEnv(t)
		e.fake.SetLANExpiresRelative(relative)
		e.fake.SetLANTokenTTL(20 * time.Minute)
		e.ok(logical.UpdateOperation, "config/lan", e.lanEmail())
		e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "lan", "ttl": "30m", "max_ttl": "2h"})
		resp := e.ok(logical.ReadOperation, "creds/r", nil)
		if resp.Secret.TTL > 20*time.Minute || resp.Secret.TTL < 19*time.Minute {
			t.Fatalf("relative=%v: TTL %s not capped at the token's 20m", relative, resp.Secret.TTL)
		}
		if resp.Secret.MaxTTL > 20*time.Minute {
			t.Fatalf("MaxTTL %s past the token's expiry", resp.Secret.MaxTTL)
		}
		if len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "capped") {
			t.Fatalf("no warning for the cap: %v", resp.Warnings)
		}
		exp, err := time.Parse(time.RFC3339, resp.Data["expires_at"].(string))
		if err != nil || time.Until(exp) > 21*time.Minute || time.Until(exp) < 19*time.Minute {
			t.Fatalf("expires_at %v (%v)", resp.Data["expires_at"], err)
		}
		l := lease{data: resp.Data, secret: storedSecret(t, resp.Secret)}
		rr, err := e.renew(l)
		if err != nil || rr.IsError() {
			t.Fatalf("renew: %v %v", err, rr)
		}
		if rr.Secret.MaxTTL > 20*time.Minute {
			t.Fatalf("renew MaxTTL %s past the token's expiry", rr.Secret.MaxTTL)
		}
		// Past expiry, renew refuses.
		l.secret.InternalData["expires_at"] = time.Now().Add(-time.Second).Unix()
		if rr, err := e.renew(l); err != nil || !rr.IsError() {
			t.Fatalf("renew past expiry: %v %v", err, rr)
		}
	}
}

// Upstream failures at issue answer clear errors with a fitting status, and nothing is left live.
func TestCredsUpstreamErrors(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", with(e.fazLocal(), "request_timeout", "2s"))
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	tests := []struct {
		name   string
		fault  fortitest.Fault
		status int
		want   string
	}{
		{"down", fortitest.Fault{Kind: fortitest.FaultDown}, 503, "try again later"},
		{"html", fortitest.Fault{Kind: fortitest.FaultHTML}, 502, "HTML"},
		{"broken json", fortitest.Fault{Kind: fortitest.FaultBrokenJSON}, 502, "not JSON"},
		{"huge", fortitest.Fault{Kind: fortitest.FaultHuge}, 502, "larger than"},
		{"rate limited", fortitest.Fault{Kind: fortitest.Fault429, RetryAfter: 30 * time.Second}, 429, "retry after"},
		{"rate limited, no Retry-After", fortitest.Fault{Kind: fortitest.Fault429}, 429, "rate limited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.fake.ClearFaults()
			e.fake.AddFault(tc.fault)
			resp, err := e.do(logical.ReadOperation, "creds/r", nil)
			if err == nil {
				t.Fatalf("creds succeeded: %v", resp)
			}
			var coded logical.HTTPCodedError
			if !errors.As(err, &coded) || coded.Code() != tc.status {
				t.Fatalf("error %v: want HTTP %d", err, tc.status)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
	e.fake.ClearFaults()
	e.t = t

	// A full session table says what it is and how to fix it.
	e.fake.SetLoginMax(2)
	l1, l2 := e.creds("r"), e.creds("r")
	msg := e.fails(logical.ReadOperation, "creds/r", nil, "login-max", "revoke unused leases")
	_ = msg
	for _, l := range []lease{l1, l2} {
		if err := e.revoke(l); err != nil {
			t.Fatal(err)
		}
	}
	e.creds("r")
}

// Leases of one API user share its one live token; the last revoke ends it upstream.
func TestSharedTokenConcurrent(t *testing.T) {
	for _, cfg := range []string{"lan", "cloud"} {
		t.Run(cfg, func(t *testing.T) {
			e := newEnv(t)
			data := e.lanAPIUser()
			if cfg == "cloud" {
				data = e.cloudAPIUser()
			}
			e.ok(logical.UpdateOperation, "config/c", data)
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c", "ttl": "10m"})
			const n = 20
			leases := make([]lease, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := e.do(logical.ReadOperation, "creds/r", nil)
					if err != nil || resp.IsError() {
						errs <- errors.Join(err, resp.Error())
						return
					}
					leases[i] = lease{data: resp.Data, secret: storedSecret(t, resp.Secret)}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			tok := leases[0].data["access_token"].(string)
			for _, l := range leases {
				if l.data["access_token"] != tok {
					t.Fatal("leases of one API user got different tokens")
				}
			}
			if !e.fake.OAuthTokenAlive(tok) || e.fake.LiveOAuthTokens() != 1 {
				t.Fatalf("shared token alive=%v, %d live", e.fake.OAuthTokenAlive(tok), e.fake.LiveOAuthTokens())
			}
			for i, l := range leases {
				if err := e.revoke(l); err != nil {
					t.Fatal(err)
				}
				if alive := e.fake.OAuthTokenAlive(tok); alive != (i < n-1) {
					t.Fatalf("after %d of %d revokes, token alive = %v", i+1, n, alive)
				}
			}
			// A new creds mints a new token.
			l := e.creds("r")
			if l.data["access_token"] == tok {
				t.Fatal("revoked token handed out again")
			}
		})
	}
}

// Twenty FortiAnalyzer Cloud logins at once for one API user all succeed: token requests are
// serialised, since each new token kills the last.
func TestAPIUserSessionsConcurrent(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazAPIUser())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.do(logical.ReadOperation, "creds/r", nil)
			if err != nil || resp.IsError() {
				errs <- errors.Join(err, resp.Error())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := e.fake.LiveSessions(); n != 20 {
		t.Fatalf("%d sessions live, want 20", n)
	}
	if n := e.fake.LiveOAuthTokens(); n != 0 {
		t.Fatalf("%d OAuth tokens left live after the exchanges", n)
	}
}

// FortiLAN logins stay within the configured rate: past it, creds answers a clear 429 at once,
// before the upstream sees the request, and the limit holds across a config rewrite.
func TestFortiLANLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.deadline = 10 * time.Second // a login queues within it, and is refused when the slot is later
	e.fake.SetAuthRateLimit(6)
	e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "login_rate_limit", nil, "verify_connection", false))
	if got := e.ok(logical.ReadOperation, "config/lan", nil).Data["login_rate_limit"]; got != 6 {
		t.Fatalf("default login_rate_limit = %v, want 6", got)
	}
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "lan"})
	for range 3 {
		e.creds("r")
	}
	// Rewriting the config does not reset the count.
	e.ok(logical.UpdateOperation, "config/lan", map[string]any{"request_timeout": "5s", "verify_connection": false})
	for range 3 {
		e.creds("r")
	}
	_, err := e.do(logical.ReadOperation, "creds/r", nil)
	var coded logical.HTTPCodedError
	if err == nil || !errors.As(err, &coded) || coded.Code() != 429 || !strings.Contains(err.Error(), "at most 6 logins a minute") || !strings.Contains(err.Error(), "retry after") {
		t.Fatalf("seventh login: %v", err)
	}
	if n := e.fake.Calls("/api/v1/auth"); n != 6 {
		t.Fatalf("the fake saw %d logins, want 6: the limiter let one through", n)
	}
	e.fails(logical.UpdateOperation, "config/faz", with(e.fazLocal(), "login_rate_limit", 5), "login_rate_limit: only used by type fortilan")
	e.ok(logical.UpdateOperation, "config/lanapi", e.lanAPIUser())
	if got, ok := e.ok(logical.ReadOperation, "config/lanapi", nil).Data["login_rate_limit"]; ok {
		t.Fatalf("a FortiLAN API user's config reads login_rate_limit %v, which nothing uses", got)
	}
	e.fails(logical.UpdateOperation, "config/lan", map[string]any{"login_rate_limit": -1}, "login_rate_limit: must be between")
}

// Configs that log in to one FortiLAN URL share one record of logins, each within its own
// login_rate_limit, and changing a limit keeps the record.
func TestFortiLANLoginRateLimitSharedByURL(t *testing.T) {
	e := newEnv(t)
	e.deadline = 10 * time.Second
	e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "login_rate_limit", 6, "verify_connection", false))
	e.ok(logical.UpdateOperation, "config/lan2", with(e.lanIAM(), "login_rate_limit", 3, "verify_connection", false))
	e.ok(logical.UpdateOperation, "roles/a", map[string]any{"config": "lan"})
	e.ok(logical.UpdateOperation, "roles/b", map[string]any{"config": "lan2"})
	for range 3 {
		e.creds("a")
	}
	// lan2 allows 3 a minute, and lan's 3 logins to the same URL count.
	e.fails(logical.ReadOperation, "creds/b", nil, "at most 3 logins a minute", "retry after")
	// A lower limit on lan keeps the 3 already made: one more, then none.
	e.ok(logical.UpdateOperation, "config/lan", map[string]any{"login_rate_limit": 4, "verify_connection": false})
	e.creds("a")
	e.fails(logical.ReadOperation, "creds/a", nil, "at most 4 logins a minute")
	if n := e.fake.Calls("/api/v1/auth"); n != 4 {
		t.Fatalf("the fake saw %d logins, want 4", n)
	}
}

// An expired FortiCloud token answers what to do; replacing it is a config write that keeps
// roles and leases.
func TestForticloudTokenExpired(t *testing.T) {
	e := newEnv(t)
	e.fake.AddCloudToken("short-lived-token-0001", time.Hour)
	e.ok(logical.UpdateOperation, "config/faz", with(e.fazCloud(), "token", "short-lived-token-0001"))
	if got := e.ok(logical.ReadOperation, "config/faz", nil).Data["token_stored_at"]; got == nil {
		t.Fatal("read does not say when the token was stored")
	}
	e.ok(logical.UpdateOperation, "roles/soc", map[string]any{"config": "faz", "ttl": "15m"})
	l := e.creds("soc")
	e.fake.ExpireAll()
	e.fake.AddCloudToken("short-lived-token-0002", time.Hour)
	msg := e.fails(logical.ReadOperation, "creds/soc", nil, "FortiCloud token of config/faz was refused", "must be replaced", "config/faz token=", "forticloud_api_user")
	if strings.Contains(msg, "short-lived-token") {
		t.Fatalf("error carries the token: %s", msg)
	}
	e.ok(logical.UpdateOperation, "config/faz", map[string]any{"token": "short-lived-token-0002"})
	if resp := e.ok(logical.ReadOperation, "roles/soc", nil); resp == nil {
		t.Fatal("replacing the token lost the role")
	}
	e.creds("soc")
	if err := e.revoke(l); err != nil {
		t.Fatalf("a lease from before the replacement no longer revokes: %v", err)
	}
}

// The share of an API user's token lives in storage: a new plugin process (a new backend over
// the same storage) hands out the same token, and the last revoke still ends it.
func TestSharedTokenSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/c", e.lanAPIUser())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
	l1 := e.creds("r")

	conf := logical.TestBackendConfig()
	conf.StorageView = e.s
	conf.Logger = e.b.Logger()
	conf.System = e.b.System()
	lb, err := Factory(t.Context(), conf)
	if err != nil {
		t.Fatal(err)
	}
	e.b = lb.(*backend)
	l2 := e.creds("r")
	tok := l1.data["access_token"].(string)
	if l2.data["access_token"] != tok {
		t.Fatal("after a restart, a new token was minted while the shared one was live")
	}
	if err := e.revoke(l1); err != nil || !e.fake.OAuthTokenAlive(tok) {
		t.Fatalf("first revoke: %v, token alive %v", err, e.fake.OAuthTokenAlive(tok))
	}
	if err := e.revoke(l2); err != nil || e.fake.OAuthTokenAlive(tok) {
		t.Fatalf("last revoke: %v, token alive %v", err, e.fake.OAuthTokenAlive(tok))
	}
}

// A share whose token expired is not handed out again: a new token is minted.
func TestSharedTokenExpiredIsReplaced(t *testing.T) {
	e := newEnv(t)
	e.fake.SetOAuthTokenTTL(90 * time.Second)
	e.ok(logical.UpdateOperation, "config/c", e.cloudAPIUser())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c", "ttl": "1h"})
	l1 := e.creds("r")
	if l1.secret.TTL > 90*time.Second {
		t.Fatalf("lease TTL %s past the token's life", l1.secret.TTL)
	}
	// Less than a minute of life left: the next creds mints anew, and the old lease's revoke
	// leaves the new token alone.
	key := shareKey(e.fake.URL, apiID)
	sh, _ := readShare(t.Context(), e.s, key)
	sh.ExpiresAt = time.Now().Add(30 * time.Second).Unix()
	if err := writeShare(t.Context(), e.s, key, sh); err != nil {
		t.Fatal(err)
	}
	l2 := e.creds("r")
	if l2.data["access_token"] == l1.data["access_token"] {
		t.Fatal("a token about to expire was handed out again")
	}
	if err := e.revoke(l1); err != nil {
		t.Fatal(err)
	}
	if !e.fake.OAuthTokenAlive(l2.data["access_token"].(string)) {
		t.Fatal("revoking the old lease ended the new token")
	}
}

// An API user's token leases revoke through OAuth even after their config is gone: the lease
// keeps its auth method.
func TestSharedTokenRevokeAfterConfigGone(t *testing.T) {
	for _, cfg := range []string{"lan", "cloud"} {
		t.Run(cfg, func(t *testing.T) {
			e := newEnv(t)
			data := e.lanAPIUser()
			if cfg == "cloud" {
				data = e.cloudAPIUser()
			}
			e.ok(logical.UpdateOperation, "config/c", data)
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
			l := e.creds("r")
			e.ok(logical.DeleteOperation, "roles/r", nil)
			e.ok(logical.DeleteOperation, "config/c", nil)
			if err := e.revoke(l); err != nil {
				t.Fatal(err)
			}
			if e.fake.OAuthTokenAlive(l.data["access_token"].(string)) {
				t.Fatal("token live after revoke")
			}
		})
	}
}

// Whatever else mints a token for the API user (another config, another product, a
// FortiAnalyzer Cloud login) kills the shared one: creds never hands out a dead token.
func TestSharedTokenNeverDead(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/lan", e.lanAPIUser())
	e.ok(logical.UpdateOperation, "config/cloud", e.cloudAPIUser())
	e.ok(logical.UpdateOperation, "config/faz", e.fazAPIUser())
	for _, n := range []string{"lan", "cloud", "faz"} {
		e.ok(logical.UpdateOperation, "roles/"+n, map[string]any{"config": n})
	}
	for _, role := range []string{"lan", "cloud", "lan", "faz", "lan", "lan", "cloud"} {
		l := e.creds(role)
		if tok, ok := l.data["access_token"].(string); ok && !e.fake.OAuthTokenAlive(tok) {
			t.Fatalf("creds/%s handed out a dead token", role)
		}
	}
}

// One API user behind a FortiLAN config (whose leases share its token) and a FAZ Cloud config:
// a FAZ Cloud login IAM refuses mints nothing, so the share is kept and its last lease still
// revokes the token; a login that may have minted one marks the share stale, never handed out
// again, yet still revoked by its last lease.
func TestShareAcrossFailedLogins(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fortitest.Fault
		stale bool
	}{
		{"refused: nothing minted", fortitest.Fault{Path: "/api/v1/oauth/token", Kind: fortitest.Fault401}, false},
		{"exchange failed: a token was minted", fortitest.Fault{Path: "/p/forticloud_jsonrpc_login", Kind: fortitest.FaultCode, Status: 400}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.ok(logical.UpdateOperation, "config/lan", e.lanAPIUser())
			e.ok(logical.UpdateOperation, "config/faz", with(e.fazAPIUser(), "verify_connection", false))
			e.ok(logical.UpdateOperation, "roles/lan", map[string]any{"config": "lan"})
			e.ok(logical.UpdateOperation, "roles/faz", map[string]any{"config": "faz"})
			l := e.creds("lan")
			tok := l.data["access_token"].(string)
			e.fake.AddFault(tc.fault)
			if _, err := e.do(logical.ReadOperation, "creds/faz", nil); err == nil {
				t.Fatal("creds/faz succeeded through the fault")
			}
			e.fake.ClearFaults()
			if alive := e.fake.OAuthTokenAlive(tok); alive == tc.stale {
				t.Fatalf("shared token alive %v after the failed login", alive)
			}
			// Live and shared: the next lease gets the same token; stale: a new one.
			l2 := e.creds("lan")
			if same := l2.data["access_token"] == tok; same == tc.stale {
				t.Fatalf("next lease got the same token: %v", same)
			}
			if err := e.revoke(l2); err != nil {
				t.Fatal(err)
			}
			if tc.stale {
				if err := e.revoke(l); err != nil {
					t.Fatal(err)
				}
				return
			}
			e.lastRevokeEndsToken(t, l, tok)
		})
	}
}

// While an API user's token is live and shared, verify_connection mints no token to check (it
// would end the shared one): the credentials that minted it pass, others pass with a warning.
func TestVerifyWhileShared(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/c", e.lanAPIUser())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
	l := e.creds("r")
	tok := l.data["access_token"].(string)
	if resp := e.ok(logical.UpdateOperation, "config/c2", e.lanAPIUser()); resp != nil && len(resp.Warnings) > 0 {
		t.Fatalf("the credentials that minted the live token were not taken as checked: %v", resp.Warnings)
	}
	resp := e.ok(logical.UpdateOperation, "config/c3", with(e.lanAPIUser(), "password", "wrong-password"))
	if resp == nil || len(resp.Warnings) == 0 || !strings.Contains(strings.Join(resp.Warnings, " "), "verify_connection: not checked") {
		t.Fatalf("other credentials passed with no warning: %v", resp)
	}
	if strings.Contains(strings.Join(resp.Warnings, " "), "wrong-password") {
		t.Fatal("the warning carries the password")
	}
	if !e.fake.OAuthTokenAlive(tok) {
		t.Fatal("verify_connection ended the shared token")
	}
}

// A config naming the same API user with credentials that did not mint the live shared token
// never gets that token: it logs in itself, and when IAM refuses, the shared token lives on
// and the next lease of the minting config still gets it.
func TestShareOnlyForItsMinter(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/lan", e.lanAPIUser())
	e.ok(logical.UpdateOperation, "config/other", with(e.lanAPIUser(), "password", "wrong-password", "verify_connection", false))
	e.ok(logical.UpdateOperation, "config/cloud", with(e.cloudAPIUser(), "verify_connection", false))
	for _, n := range []string{"lan", "other", "cloud"} {
		e.ok(logical.UpdateOperation, "roles/"+n, map[string]any{"config": n})
	}
	l := e.creds("lan")
	tok := l.data["access_token"].(string)
	e.fails(logical.ReadOperation, "creds/other", nil, "refused")
	// Another product refused by IAM: nothing minted either.
	e.fake.AddFault(fortitest.Fault{Path: "/api/v1/oauth/token", Kind: fortitest.Fault401})
	if _, err := e.do(logical.ReadOperation, "creds/cloud", nil); err == nil {
		t.Fatal("creds/cloud succeeded through the fault")
	}
	e.fake.ClearFaults()
	l2 := e.creds("lan")
	if l2.data["access_token"] != tok {
		t.Fatal("a refused login made the share stale: the live token was not handed out again")
	}
	if err := e.revoke(l2); err != nil {
		t.Fatal(err)
	}
	e.lastRevokeEndsToken(t, l, tok)
}

// A take is settled once its lease is handed over, after creds answer: none is left pending,
// also when the mount is cleaned up at once (which waits for the settling).
func TestSharedTokenTakesSettled(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/c", e.lanAPIUser())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c", "ttl": "10m"})
	var l lease
	for range 5 {
		l = e.creds("r")
	}
	e.b.clean(t.Context())
	li, err := decodeLease(l.secret.InternalData)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := readShare(t.Context(), e.s, li.shareKey())
	if err != nil || sh == nil {
		t.Fatalf("share: %v %v", sh, err)
	}
	if sh.Leases != 5 || len(sh.Pending) != 0 {
		t.Fatalf("%d leases, takes still pending: %v", sh.Leases, sh.Pending)
	}
}
