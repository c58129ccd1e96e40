package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// call_rate_limit: 60 by default for FortiLAN email and IAM users, checked with errors naming
// the field, shown on read; for API users (revoked at IAM) only 0, and not shown.
func TestConfigCallRateLimit(t *testing.T) {
	e := newEnv(t)
	read := func(name string) (any, bool) {
		v, ok := e.ok(logical.ReadOperation, "config/"+name, nil).Data["call_rate_limit"]
		return v, ok
	}
	e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "verify_connection", false))
	e.ok(logical.UpdateOperation, "config/iam", with(e.lanIAM(), "verify_connection", false))
	for _, name := range []string{"lan", "iam"} {
		if v, _ := read(name); v != 60 {
			t.Fatalf("config/%s: default call_rate_limit %v, want 60", name, v)
		}
	}
	e.ok(logical.UpdateOperation, "config/lan", map[string]any{"call_rate_limit": 0, "verify_connection": false})
	e.ok(logical.UpdateOperation, "config/lan", map[string]any{"request_timeout": "5s", "verify_connection": false})
	if v, _ := read("lan"); v != 0 {
		t.Fatalf("call_rate_limit 0 read back as %v after a rewrite", v)
	}
	e.ok(logical.UpdateOperation, "config/lan", map[string]any{"call_rate_limit": 600, "verify_connection": false})

	e.ok(logical.UpdateOperation, "config/api", with(e.lanAPIUser(), "call_rate_limit", 0))
	if v, ok := read("api"); ok {
		t.Fatalf("a FortiLAN API user's config reads call_rate_limit %v, which nothing uses", v)
	}
	// An API user turned email user gets FortiLAN's limit.
	e.ok(logical.UpdateOperation, "config/api", with(e.lanEmail(), "auth_method", "email_user", "verify_connection", false))
	if v, _ := read("api"); v != 60 {
		t.Fatalf("after the switch to email_user, call_rate_limit %v, want 60", v)
	}

	for _, tc := range []struct {
		name string
		path string
		data map[string]any
		want string
	}{
		{"faz", "config/faz", with(e.fazLocal(), "call_rate_limit", 60), "call_rate_limit: only used by type fortilan"},
		{"api user", "config/api2", with(e.lanAPIUser(), "call_rate_limit", 60), "call_rate_limit: only used by auth_method email_user and iam_user (API users' tokens are revoked at auth_url)"},
		{"negative", "config/lan", map[string]any{"call_rate_limit": -1}, "call_rate_limit: must be between 0 (no limit) and 600 calls a minute"},
		{"above FortiLAN's limit across addresses", "config/lan", map[string]any{"call_rate_limit": 601}, "call_rate_limit: must be between 0"},
		{"not a number", "config/lan", map[string]any{"call_rate_limit": "many"}, "call_rate_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.fails(logical.UpdateOperation, tc.path, tc.data, tc.want)
		})
	}
}

// revokeWithin revokes a lease as Vault does, with a deadline.
func (e *env) revokeWithin(l lease, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	resp, err := e.b.HandleRequest(ctx, &logical.Request{
		Operation: logical.RevokeOperation, Storage: e.s, Secret: l.secret, Data: l.data,
	})
	if err == nil && resp != nil && resp.IsError() {
		err = resp.Error()
	}
	return err
}

// Invalidations to one URL share one window across configs, each within its own limit; past
// it, a revoke whose slot is beyond its deadline answers "retry later" (Vault retries it) and
// the token stays live, without a call upstream.
func TestRevokePacedPerURL(t *testing.T) {
	e := newEnv(t)
	e.fake.SetCallRateLimit(0) // what the engine sends, not what the fake refuses
	e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "call_rate_limit", 2, "verify_connection", false))
	e.ok(logical.UpdateOperation, "config/iam", with(e.lanIAM(), "call_rate_limit", 3, "verify_connection", false))
	e.ok(logical.UpdateOperation, "roles/lan", map[string]any{"config": "lan"})
	e.ok(logical.UpdateOperation, "roles/iam", map[string]any{"config": "iam"})
	lan := []lease{e.creds("lan"), e.creds("lan")}
	iam := []lease{e.creds("iam"), e.creds("iam")}
	for _, l := range []lease{lan[0], lan[1], iam[0]} {
		if err := e.revokeWithin(l, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	err := e.revokeWithin(iam[1], time.Second)
	if !errors.Is(err, client.ErrRetryLater) || !strings.Contains(err.Error(), "at most 3 calls a minute") || !strings.Contains(err.Error(), "retry after") {
		t.Fatalf("fourth invalidation to the URL, limit 3: %v", err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Fatal("a revoke whose slot is past its deadline queued")
	}
	if n := e.fake.Calls("/api/v1/auth/invalidate_token"); n != 3 {
		t.Fatalf("the fake saw %d invalidations, want 3", n)
	}
	if !e.fake.LANTokenAlive(iam[1].data["access_token"].(string)) {
		t.Fatal("the token of the revoke that must be retried is gone")
	}
}

// A lease whose config is gone is revoked at FortiLAN's own limit, in the window of its URL.
func TestRevokePacedAfterConfigGone(t *testing.T) {
	e := newEnv(t)
	e.fake.SetCallRateLimit(0)
	e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "call_rate_limit", 0, "verify_connection", false))
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "lan"})
	var leases []lease
	for range client.DefaultFortiLANCallsPerMinute + 1 {
		leases = append(leases, e.creds("r"))
	}
	e.ok(logical.DeleteOperation, "roles/r", nil)
	e.ok(logical.DeleteOperation, "config/lan", nil)
	for i, l := range leases {
		err := e.revokeWithin(l, time.Second)
		if i < client.DefaultFortiLANCallsPerMinute && err != nil {
			t.Fatalf("revoke %d: %v", i+1, err)
		}
		if i == client.DefaultFortiLANCallsPerMinute && !strings.Contains(fmtErr(err), "at most 60 calls a minute") {
			t.Fatalf("revoke %d: %v, want the default limit of 60", i+1, err)
		}
	}
	if n := e.fake.Calls("/api/v1/auth/invalidate_token"); n != client.DefaultFortiLANCallsPerMinute {
		t.Fatalf("the fake saw %d invalidations, want 60", n)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
