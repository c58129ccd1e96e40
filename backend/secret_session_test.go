package backend

import (
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

// Admins whose profiles let fewer status calls answer (docs/upstream.md §1).
const (
	restrictedAdmin = "restricted-admin" // no System Settings: /sys/status answers -11
	blindAdmin      = "blind-admin"      // neither status call answers
)

// fazAdmin is a verified FortiAnalyzer config logging in as user, who has profile p upstream.
func (e *env) fazAdmin(user string, p fortitest.Profile) map[string]any {
	e.fake.AddAdminProfile(user, adminPassword, p)
	return with(e.fazLocal(), "username", user)
}

const (
	callsSys = "jsonrpc:/sys/status"
	callsCLI = "jsonrpc:/cli/global/system/status"
)

// Renew tells "no permission" from "session gone": a live session of an admin without System
// Settings access renews, and resets its idle timer; a gone one is refused, whether
// verify_connection learnt the admin's probe or not. An admin no status call answers is refused
// without an upstream call, saying why, once verify_connection found that out.
func TestSessionRenewByProfile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		user     string
		profile  fortitest.Profile
		verify   bool
		sys, cli int  // status calls for the renew of a live session
		checked  bool // whether renew can check the session (else it refuses to renew)
		hint     bool // whether the refusal of a gone session says to verify the config
	}{
		{"super user", adminUser, fortitest.ProfileSuperUser, true, 1, 0, true, false},
		{"super user, not verified", adminUser, fortitest.ProfileSuperUser, false, 1, 0, true, true},
		{"no system settings", restrictedAdmin, fortitest.ProfileNoSystemSettings, true, 0, 1, true, false},
		{"no system settings, not verified", restrictedAdmin, fortitest.ProfileNoSystemSettings, false, 1, 1, true, true},
		{"no status", blindAdmin, fortitest.ProfileNoStatus, true, 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetSessionIdle(time.Minute)
			e.ok(logical.UpdateOperation, "config/faz", with(e.fazAdmin(tc.user, tc.profile), "verify_connection", tc.verify))
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz", "ttl": "5m", "max_ttl": "1h"})
			l := e.creds("r")
			sid := l.data["session"].(string)

			e.fake.Advance(40 * time.Second)
			e.fake.ResetCalls()
			resp, err := e.renew(l)
			if !tc.checked {
				// Nothing can show the session alive: renew refuses, without asking upstream.
				if err != nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), "cannot be checked") {
					t.Fatalf("renew of a session no status call can check: %v %v, want a refusal saying why", err, resp)
				}
				if n := e.fake.Calls(callsSys) + e.fake.Calls(callsCLI); n != 0 {
					t.Errorf("renew asked %d status calls that cannot answer", n)
				}
				if err := e.revoke(l); err != nil || e.fake.SessionAlive(sid) {
					t.Fatalf("revoke: %v", err)
				}
				return
			}
			if err != nil || resp.IsError() {
				t.Fatalf("renew of a live session: %v %v", err, resp)
			}
			if resp.Secret != l.secret || resp.Secret.TTL != 5*time.Minute || resp.Secret.MaxTTL != time.Hour {
				t.Fatalf("renew answered secret %p (TTL %s, max %s), want the lease's own %p with 5m, 1h",
					resp.Secret, resp.Secret.TTL, resp.Secret.MaxTTL, l.secret)
			}
			if sys, cli := e.fake.Calls(callsSys), e.fake.Calls(callsCLI); sys != tc.sys || cli != tc.cli {
				t.Errorf("renew asked /sys/status %d and /cli/global/system/status %d times, want %d and %d", sys, cli, tc.sys, tc.cli)
			}
			e.fake.Advance(40 * time.Second)
			if !e.fake.SessionAlive(sid) {
				t.Error("the renew's probe did not reset the idle timer")
			}

			e.fake.ExpireSession(sid)
			resp, err = e.renew(l)
			switch {
			case err != nil:
				t.Fatalf("renew of a gone session: %v", err)
			case !resp.IsError() || !strings.Contains(resp.Error().Error(), "no longer alive"):
				t.Fatalf("renew of a gone session: %v", resp)
			case strings.Contains(resp.Error().Error(), "verify_connection=true") != tc.hint:
				t.Errorf("refusal %q: want a hint to verify the config only when nothing was learnt", resp.Error())
			}
			if err := e.revoke(l); err != nil {
				t.Fatalf("revoke of a gone session: %v", err)
			}
		})
	}
}

// Without verify_connection nothing is learnt, and for an admin no status call answers a live
// session looks gone: renew refuses it, and says what to do; once verified, it says why.
func TestSessionRenewUnverifiedBlindAdmin(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", with(e.fazAdmin(blindAdmin, fortitest.ProfileNoStatus), "verify_connection", false))
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	l := e.creds("r")
	resp, err := e.renew(l)
	if err != nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), "write config/faz again with verify_connection=true") {
		t.Fatalf("renew: %v %v", err, resp)
	}
	// Verified, new leases are refused for what they are: sessions no status call can check.
	e.ok(logical.UpdateOperation, "config/faz", e.fazAdmin(blindAdmin, fortitest.ProfileNoStatus))
	l2 := e.creds("r")
	resp, err = e.renew(l2)
	if err != nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), "renew_probe is none") {
		t.Fatalf("renew after verification: %v %v", err, resp)
	}
	e.revokeAllNoneLive(t, l, l2)
}

// A lease keeps the probe learnt for its session's admin: a config rewritten for another admin
// changes nothing for it, and nor does the config's deletion.
func TestSessionRenewProbeInLease(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazAdmin(restrictedAdmin, fortitest.ProfileNoSystemSettings))
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	l := e.creds("r")
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal()) // the super user: sys_status
	if got := e.ok(logical.ReadOperation, "config/faz", nil).Data["renew_probe"]; got != "sys_status" {
		t.Fatalf("renew_probe %v after the rewrite", got)
	}
	renewAsksLeaseProbe := func(step string) {
		t.Helper()
		e.fake.ResetCalls()
		if resp, err := e.renew(l); err != nil || resp.IsError() {
			t.Fatalf("%s: renew: %v %v", step, err, resp)
		}
		if sys, cli := e.fake.Calls(callsSys), e.fake.Calls(callsCLI); sys != 0 || cli != 1 {
			t.Errorf("%s: renew asked /sys/status %d and /cli/global/system/status %d times, want the lease's probe alone", step, sys, cli)
		}
	}
	renewAsksLeaseProbe("config rewritten")
	e.ok(logical.DeleteOperation, "roles/r", nil)
	e.ok(logical.DeleteOperation, "config/faz", nil)
	renewAsksLeaseProbe("config deleted")
	e.revokeAllNoneLive(t, l)
}
