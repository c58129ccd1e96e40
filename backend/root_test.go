package backend

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// A local_user root's session is kept between the creds and revokes of its config, one root
// login for all of them, and logged out when the config changes (a write, a rotation) or the
// mount is cleaned up; the next creds log in with the config as it is then.
func TestRootSessionKeptBetweenCreds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *env)
		after  bool // creds are read after the change
	}{
		{"config rewritten", func(e *env) { e.ok(logical.UpdateOperation, "config/c", e.fazLocal()) }, true},
		{"root rotated", func(e *env) { e.ok(logical.UpdateOperation, "rotate-root/c", nil) }, true},
		{"mount cleaned up", func(e *env) { e.b.Cleanup(context.Background()) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazLocal, "with_session", false) // every login is the root's
			logins := func() int { return e.fake.Handled("jsonrpc:/sys/login/user") }
			before := logins()
			for range 3 {
				e.credsRevoked("r")
			}
			if n, live := logins()-before, e.fake.LiveSessionsOf(adminUser); n != 1 || live != 1 {
				t.Fatalf("3 creds and revokes: %d root logins, %d root sessions live; want 1 and 1, kept", n, live)
			}
			tc.change(e)
			e.b.closing.Wait()
			if live := e.fake.LiveSessionsOf(adminUser); live != 0 {
				t.Fatalf("after the change, %d root sessions live; want the kept one logged out", live)
			}
			if tc.after {
				e.credsRevoked("r")
				if live := e.fake.LiveSessionsOf(adminUser); live != 1 {
					t.Errorf("creds after the change: %d root sessions live, want 1, kept", live)
				}
			}
			e.nothingLeft("c")
		})
	}
}

// A plugin killed while its config keeps a root session leaves the session's note in the WAL:
// rollback, in the plugin that follows, logs it out. A config whose root is a key keeps none.
func TestRootSessionKeptThenKilled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func(*env) map[string]any
		notes  int
	}{
		{"local_user root", (*env).fazLocal, 1},
		{"api_key root", (*env).fazKey, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, tc.config, "with_session", false)
			e.credsRevoked("r")
			all, _ := framework.ListWAL(context.Background(), e.s)
			if live := e.fake.LiveSessionsOf(adminUser); len(all) != tc.notes || live != tc.notes {
				t.Fatalf("a config keeping its root sessions: %d WAL entries, %d root sessions live; want %d and %d",
					len(all), live, tc.notes, tc.notes)
			}
			e.b = e.newBackend() // the old one is killed: no cleanup, its timers never fire
			rollback(t, e)
			if live := e.fake.LiveSessionsOf(adminUser); live != 0 {
				t.Errorf("after rollback, %d root sessions live; want the killed plugin's logged out", live)
			}
			e.nothingLeft("c")
		})
	}
}

// A root whose login-max is no more than rootSessionsPerConfig serves a config that keeps that
// many root sessions through what would open more: rotate-root (which logs out the kept ones
// first), and a config rewritten while the old client's logouts are slow (whose sessions still
// hold their slots until they are out).
func TestRootSessionsWithinLoginMax(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *env)
	}{
		{"rotate-root", func(e *env) { e.ok(logical.UpdateOperation, "rotate-root/c", nil) }},
		{"config rewritten, logouts slow", func(e *env) {
			e.fake.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 4})
			e.ok(logical.UpdateOperation, "config/c", with(e.fazLocal(), "verify_connection", false))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazLocal, "with_session", false)
			e.fake.SetLoginMax(4)                    // rootSessionsPerConfig, written out
			e.fake.SetLatency(20 * time.Millisecond) // so that creds overlap
			burst := func() []lease {
				ls := make([]lease, 8)
				var wg sync.WaitGroup
				for i := range ls {
					wg.Go(func() { ls[i] = e.creds("r") })
				}
				wg.Wait()
				return ls
			}
			ls := burst()
			if n := e.fake.LiveSessionsOf(adminUser); n != 4 {
				t.Fatalf("after 8 creds at once, %d root sessions live; want the 4 kept", n)
			}
			tc.change(e)
			ls = append(ls, burst()...)
			for _, l := range ls {
				if err := e.revoke(l); err != nil {
					t.Fatal(err)
				}
			}
			e.nothingLeft("c")
		})
	}
}

// credsRevoked reads creds of role and revokes them.
func (e *env) credsRevoked(role string) {
	e.t.Helper()
	if err := e.revoke(e.creds(role)); err != nil {
		e.t.Fatal(err)
	}
}
