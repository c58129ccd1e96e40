package fortitest_test

import (
	"fmt"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func setPassword(t *testing.T, s *fortitest.Server, sid, user string, data map[string]string) rpcOut {
	t.Helper()
	return rpcCall(t, s, map[string]any{"id": 3, "method": "set", "session": sid,
		"params": []any{map[string]any{"url": "/cli/global/system/admin/user/" + user, "data": data}}})
}

func TestSetAdminPassword(t *testing.T) {
	const old, neu = "old-pass-1234", "new-pass-5678"
	withOld := map[string]string{"password": neu, "old-password": old}
	without := map[string]string{"password": neu}
	wrongOld := map[string]string{"password": neu, "old-password": "not-the-old-one"}
	cases := []struct {
		name    string
		mode    fortitest.OldPasswordMode
		data    map[string]string
		want    int
		changed bool
	}{
		{"ignored without", fortitest.OldPasswordIgnored, without, fortitest.CodeOK, true},
		{"ignored with", fortitest.OldPasswordIgnored, withOld, fortitest.CodeDataInvalid, false},
		{"required without", fortitest.OldPasswordRequired, without, fortitest.CodeDataInvalid, false},
		{"required with", fortitest.OldPasswordRequired, withOld, fortitest.CodeOK, true},
		{"required wrong", fortitest.OldPasswordRequired, wrongOld, fortitest.CodeDataInvalid, false},
		{"optional without", fortitest.OldPasswordOptional, without, fortitest.CodeOK, true},
		{"optional with", fortitest.OldPasswordOptional, withOld, fortitest.CodeOK, true},
		{"optional wrong", fortitest.OldPasswordOptional, wrongOld, fortitest.CodeDataInvalid, false},
		{"empty password", fortitest.OldPasswordOptional, map[string]string{"password": ""}, fortitest.CodeDataInvalid, false},
		{"unknown field", fortitest.OldPasswordOptional, map[string]string{"password": neu, "profileid": "x"}, fortitest.CodeDataInvalid, false},
	}
	for _, tc := range cases {
		for _, ends := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ends sessions %v", tc.name, ends), func(t *testing.T) {
				s := fortitest.NewServerT(t)
				s.SetOldPasswordMode(tc.mode)
				s.SetPasswordChangeEndsSessions(ends)
				s.AddAdmin("root", old)
				sid := loginUser(t, s, "root", old).session
				if got := setPassword(t, s, sid, "root", tc.data); got.code != tc.want {
					t.Fatalf("set answered %d %q, want %d", got.code, got.message, tc.want)
				}
				if got := loginUser(t, s, "root", neu).code == fortitest.CodeOK; got != tc.changed {
					t.Errorf("login with the new password succeeds: %v, want %v", got, tc.changed)
				}
				if got := loginUser(t, s, "root", old).code == fortitest.CodeOK; got == tc.changed {
					t.Errorf("login with the old password succeeds: %v, want %v", got, !tc.changed)
				}
				if got, want := s.SessionAlive(sid), !(ends && tc.changed); got != want {
					t.Errorf("the caller's session alive: %v, want %v", got, want)
				}
			})
		}
	}
}

func TestSetAdminPasswordRefusals(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("root", "root-pass-1234")
	s.AddAdminProfile("viewer", "viewer-pass-1234", fortitest.ProfileNoSystemSettings)
	s.AddAdminProfile("blind", "blind-pass-1234", fortitest.ProfileNoStatus)
	root := loginUser(t, s, "root", "root-pass-1234").session
	data := map[string]string{"password": "new-pass-5678"}
	if got := setPassword(t, s, root, "nobody", data); got.code != fortitest.CodeNoObject {
		t.Errorf("unknown admin: code %d, want -3", got.code)
	}
	for _, u := range []string{"viewer", "blind"} {
		sid := loginUser(t, s, u, u+"-pass-1234").session
		if got := setPassword(t, s, sid, "root", data); got.code != fortitest.CodeNoSession {
			t.Errorf("%s's session: code %d, want -11", u, got.code)
		}
	}
	if got := setPassword(t, s, "no-such-session", "root", data); got.code != fortitest.CodeNoSession {
		t.Errorf("no session: code %d, want -11", got.code)
	}
	s.ExpireSession(root)
	if got := setPassword(t, s, root, "root", data); got.code != fortitest.CodeNoSession {
		t.Errorf("gone session: code %d, want -11", got.code)
	}
	if loginUser(t, s, "root", "root-pass-1234").code != fortitest.CodeOK {
		t.Error("a refused change changed the password")
	}
}
