package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	newPass     = "N3w-Adm1n-Passw0rd!abc"
	adminSetURL = "jsonrpc:/cli/global/system/admin/user/"
)

// login logs in as user, failing the test unless want says whether it should succeed.
func loginAs(t *testing.T, c clients, user, pass string, want bool) string {
	t.Helper()
	sid, err := c.faz.LoginUser(context.Background(), user, pass)
	if (err == nil) != want {
		t.Fatalf("login as %s: %v, want success %v", user, err, want)
	}
	return sid
}

func TestSetAdminPassword(t *testing.T) {
	modes := []struct {
		name string
		mode fortitest.OldPasswordMode
	}{
		{"ignored", fortitest.OldPasswordIgnored},
		{"required", fortitest.OldPasswordRequired},
		{"optional", fortitest.OldPasswordOptional},
	}
	for _, m := range modes {
		for _, ends := range []bool{false, true} {
			for _, giveOld := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/ends sessions %v/old given %v", m.name, ends, giveOld), func(t *testing.T) {
					c := setup(t)
					c.s.SetOldPasswordMode(m.mode)
					c.s.SetPasswordChangeEndsSessions(ends)
					sid := loginAs(t, c, adminUser, adminPass, true)
					old := ""
					if giveOld {
						old = adminPass
					}
					err := c.faz.SetAdminPassword(context.Background(), sid, adminUser, newPass, old)
					noSecrets(t, err, adminPass, newPass, sid)
					changed := m.mode != fortitest.OldPasswordRequired || giveOld
					if !changed {
						e := wantKind(t, err, client.ErrRefused)
						if e.Code != fortitest.CodeDataInvalid || !strings.Contains(e.Message, adminUser) {
							t.Errorf("error %q: want code -10 naming the admin", err)
						}
						loginAs(t, c, adminUser, adminPass, true)
						return
					}
					if err != nil {
						t.Fatalf("SetAdminPassword: %v", err)
					}
					loginAs(t, c, adminUser, adminPass, false)
					loginAs(t, c, adminUser, newPass, true)
					// The old password travels only where the firmware insists.
					wantCalls := 1
					if m.mode == fortitest.OldPasswordRequired {
						wantCalls = 2
					}
					if got := c.s.Calls(adminSetURL + adminUser); got != wantCalls {
						t.Errorf("%d set calls, want %d", got, wantCalls)
					}
					if got := c.s.SessionAlive(sid); got == ends {
						t.Errorf("the caller's session alive %v after the change, with ends sessions %v", got, ends)
					}
				})
			}
		}
	}
}

func TestSetAdminPasswordRefused(t *testing.T) {
	const viewer, viewerPass = "viewer", "V1ewer-Passw0rd!xyz"
	cases := []struct {
		name   string
		caller string // the session's admin
		user   string // whose password changes
		code   int
		says   string
	}{
		{"unknown admin", adminUser, "nobody", fortitest.CodeNoObject, `admin "nobody" does not exist`},
		{"restricted profile", viewer, adminUser, fortitest.CodeNoSession, "no permission"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := setup(t)
			c.s.AddAdminProfile(viewer, viewerPass, fortitest.ProfileNoSystemSettings)
			pass := map[string]string{adminUser: adminPass, viewer: viewerPass}[tc.caller]
			sid := loginAs(t, c, tc.caller, pass, true)
			err := c.faz.SetAdminPassword(context.Background(), sid, tc.user, newPass, adminPass)
			e := wantKind(t, err, client.ErrRefused)
			if e.Code != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q: want code %d saying %q", err, tc.code, tc.says)
			}
			noSecrets(t, err, adminPass, newPass, viewerPass, sid)
			loginAs(t, c, adminUser, adminPass, true)
		})
	}
}

func TestSetAdminPasswordBadArguments(t *testing.T) {
	c := setup(t)
	sid := loginAs(t, c, adminUser, adminPass, true)
	cases := []struct{ session, user, pass, field string }{
		{"", adminUser, newPass, "session"},
		{sid, "", newPass, "user"},
		{sid, "a/b", newPass, "user"},
		{sid, "a b", newPass, "user"},
		{sid, adminUser, "", "new password"},
	}
	for _, tc := range cases {
		err := c.faz.SetAdminPassword(context.Background(), tc.session, tc.user, tc.pass, adminPass)
		wantKind(t, err, client.ErrRefused)
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("error %q does not name %s", err, tc.field)
		}
		noSecrets(t, err, adminPass, newPass, sid)
	}
	if got := c.s.Calls(adminSetURL + adminUser); got != 0 {
		t.Errorf("%d set calls for bad arguments, want none", got)
	}
}

// An upstream message that echoes the passwords never reaches the error.
func TestSetAdminPasswordScrubs(t *testing.T) {
	c := setup(t)
	sid := loginAs(t, c, adminUser, adminPass, true)
	c.s.AddFault(fortitest.Fault{Path: adminSetURL, Kind: fortitest.FaultCode, RPCCode: fortitest.CodeDataInvalid, Count: 1,
		Message: "bad password " + newPass + " for " + sid})
	c.s.AddFault(fortitest.Fault{Path: adminSetURL, Kind: fortitest.FaultCode, RPCCode: fortitest.CodeDataInvalid, Count: 1,
		Message: "old-password " + adminPass + " wrong"})
	err := c.faz.SetAdminPassword(context.Background(), sid, adminUser, newPass, adminPass)
	wantKind(t, err, client.ErrRefused)
	noSecrets(t, err, adminPass, newPass, sid)
}

// A set whose answer is lost after it took effect is not repeated, with or without
// old-password: a repeat would be refused (the old password no longer matches, or the change
// ended the session it carries) and report a change that happened as refused. The loss is
// reported as such, and the change stands.
func TestSetAdminPasswordAnswerLost(t *testing.T) {
	cases := []struct {
		name    string
		mode    fortitest.OldPasswordMode
		faults  []fortitest.Fault
		wantErr error // nil: success
		calls   int
	}{
		{"without old-password, not retried", fortitest.OldPasswordIgnored,
			[]fortitest.Fault{{Path: adminSetURL, Kind: fortitest.FaultActThen5xx, Status: 502, Count: 1}}, client.ErrRetryLater, 1},
		{"with old-password, not retried", fortitest.OldPasswordRequired,
			[]fortitest.Fault{
				{Path: adminSetURL, Kind: fortitest.FaultCode, RPCCode: fortitest.CodeDataInvalid, Count: 1},
				{Path: adminSetURL, Kind: fortitest.FaultActThen5xx, Status: 502, Count: 1},
			}, client.ErrRetryLater, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := setup(t)
			c.s.SetOldPasswordMode(tc.mode)
			sid := loginAs(t, c, adminUser, adminPass, true)
			for _, f := range tc.faults {
				c.s.AddFault(f)
			}
			err := c.faz.SetAdminPassword(context.Background(), sid, adminUser, newPass, adminPass)
			noSecrets(t, err, adminPass, newPass, sid)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("SetAdminPassword: %v", err)
			}
			if tc.wantErr != nil {
				wantKind(t, err, tc.wantErr)
			}
			if got := c.s.Calls(adminSetURL + adminUser); got != tc.calls {
				t.Errorf("%d set calls, want %d", got, tc.calls)
			}
			loginAs(t, c, adminUser, newPass, true)
		})
	}
}
