package backend

import (
	"context"

	"slices"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// The fake's address for the engine: the admins it makes must trust it to log in.
const vaultHost = "127.0.0.1/32"

// The admin table's url, where adds go; as a fault's path, a prefix of every call on one
// admin too. oneAdmin is the prefix of those alone (get, delete).
const (
	adminTable = "jsonrpc:/cli/global/system/admin/user"
	oneAdmin   = adminTable + "/"
)

// fazKey is a FortiAnalyzer config whose root is the API key of admin user (a super user).
func (e *env) fazKey() map[string]any {
	key := e.fake.AddAPIKey(adminUser)
	if key == "" {
		e.t.Fatal("the fake made no API key")
	}
	return map[string]any{"type": "fortianalyzer", "url": e.fake.URL, "auth_method": "api_key",
		"api_key": key, "ca_cert": e.fake.CACertPEM}
}

// dynamicRole is a dynamic_admin role on config, its admins in ADOMs root and soc.
func dynamicRole(config string, kv ...any) map[string]any {
	return with(map[string]any{"config": config, "credential_type": "dynamic_admin",
		"admin_profile": "Restricted_User", "adoms": "root,soc", "trusted_hosts": vaultHost, "ttl": "1h", "max_ttl": "8h"}, kv...)
}

// made lists the admins upstream that the engine made: all but those seeded by the test.
func (e *env) made() []string {
	var out []string
	for _, n := range e.fake.Admins() {
		if !slices.Contains([]string{adminUser, restrictedAdmin, blindAdmin}, n) {
			out = append(out, n)
		}
	}
	return out
}

// recorded lists the admin index of config.
func (e *env) recorded(config string) []string {
	e.t.Helper()
	names, err := e.s.List(context.Background(), adminPrefix+config+"/")
	if err != nil {
		e.t.Fatal(err)
	}
	return names
}

// nothingLeft checks that no admin the engine made, no session, no record and no note of a root
// session is left.
// The root sessions the config's client keeps (at most rootSessionsPerConfig) are logged out
// when it closes, as at a config change or the mount's cleanup.
func (e *env) nothingLeft(config string) {
	e.t.Helper()
	if n := e.fake.LiveSessionsOf(adminUser); n > rootSessionsPerConfig {
		e.t.Fatalf("%d root sessions live, more than the %d a config may hold", n, rootSessionsPerConfig)
	}
	e.b.closeConfigs()
	if m, n, r := e.made(), e.fake.LiveSessions(), e.recorded(config); len(m) != 0 || n != 0 || len(r) != 0 {
		e.t.Fatalf("left behind: admins %v, %d sessions, records %v", m, n, r)
	}
	all, _ := framework.ListWAL(context.Background(), e.s)
	if admins, _ := e.adminWAL(); len(all) != len(admins) {
		e.t.Fatalf("left behind: %d WAL entries noting root sessions logged out", len(all)-len(admins))
	}
}

// dynamicEnv is an env with config c (its data) and a dynamic_admin role r on it.
func dynamicEnv(t *testing.T, config func(*env) map[string]any, role ...any) *env {
	t.Helper()
	e := newEnv(t)
	e.fake.AddADOM("soc")
	e.ok(logical.UpdateOperation, "config/c", config(e))
	e.ok(logical.UpdateOperation, "roles/r", dynamicRole("c", role...))
	return e
}

// rootOf is config c's connection and a root auth of it, ended with the test.
func (e *env) rootOf(c string) (*client.Client, client.Auth) {
	e.t.Helper()
	cc, err := e.b.config(context.Background(), e.s, c)
	if err != nil || cc == nil {
		e.t.Fatalf("config %s: %v", c, err)
	}
	auth, err := cc.conn.Admins.RootAuth(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = cc.conn.Admins.EndRootAuth(context.Background(), auth) })
	return cc.conn, auth
}

// The whole life of a dynamic admin, by each root and with and without a session: creds make
// an admin as the role asks, which the answer's credentials log in as; renew keeps it; revoke
// deletes it, its session with it, and nothing is left.
func TestDynamicAdminLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name        string
		config      func(*env) map[string]any
		withSession bool
	}{
		{"local user root", (*env).fazLocal, true},
		{"api key root", (*env).fazKey, true},
		{"local user root, no session", (*env).fazLocal, false},
		{"api key root, no session", (*env).fazKey, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, tc.config, "with_session", tc.withSession)
			l := e.creds("r")
			name, _ := l.data["username"].(string)
			pass, _ := l.data["password"].(string)
			if !strings.HasPrefix(name, "vault_r_") || len(name) > client.MaxAdminName || pass == "" || l.data["url"] != e.fake.URL {
				t.Fatalf("creds answered %v", l.data)
			}
			if got := e.made(); !slices.Equal(got, []string{name}) {
				t.Fatalf("admins made upstream %v, want [%s]", got, name)
			}
			sid, hasSession := l.data["session"].(string)
			if hasSession != tc.withSession || hasSession && !e.fake.SessionAlive(sid) {
				t.Fatalf("session %q in the answer, want one: %v", sid, tc.withSession)
			}
			// The admin is what the role asks.
			conn, auth := e.rootOf("c")
			a, err := conn.Admins.GetAdmin(context.Background(), auth, name)
			if err != nil {
				t.Fatal(err)
			}
			if a.Profile != "Restricted_User" || !slices.Equal(a.ADOMs, []string{"root", "soc"}) || a.RPCPermit != "read-write" {
				t.Fatalf("admin upstream: %+v", a)
			}
			// Its credentials log in, and the root's sessions were all logged out.
			own, err := conn.Sessions.LoginAs(context.Background(), name, pass)
			if err != nil {
				t.Fatalf("the answered password does not log in: %v", err)
			}
			want := 0 // an API key opens none
			if auth.Session != "" {
				want = 1 // rootOf's
			}
			if n := e.fake.LiveSessionsOf(adminUser); n != want {
				t.Fatalf("%d root sessions live after creds, want only the test's own (%d)", n, want)
			}
			if resp, err := e.renew(l); err != nil || resp.IsError() {
				t.Fatalf("renew: %v %v", resp, err)
			}
			if err := e.revoke(l); err != nil {
				t.Fatal(err)
			}
			if e.fake.SessionAlive(own) || hasSession && e.fake.SessionAlive(sid) {
				t.Fatal("a session of the admin outlived its revoke")
			}
			_ = conn.Admins.EndRootAuth(context.Background(), auth)
			e.nothingLeft("c")
			if ids, _ := e.adminWAL(); len(ids) != 0 {
				t.Fatalf("%d WAL entries left", len(ids))
			}
		})
	}
}

// Each firmware binds an ADOM list its own way: where the add binds it (with adom-access, or
// after a -10 without it), creds work; where only the read-back shows every ADOM, the admin is
// deleted and creds fail saying so.
func TestDynamicAdminFirmware(t *testing.T) {
	for _, tc := range []struct {
		name string
		fw   fortitest.ADOMFirmware
		adds int    // add calls made
		fail string // "" for success
	}{
		{"adom-access known", fortitest.ADOMAccessKnown, 1, ""},
		{"adom-access refused", fortitest.ADOMAccessRefused, 2, ""},
		{"adom-access ignored", fortitest.ADOMAccessIgnored, 1, "every ADOM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazLocal)
			e.fake.SetADOMFirmware(tc.fw)
			e.fake.ResetCalls()
			if tc.fail != "" {
				e.fails(logical.ReadOperation, "creds/r", nil, "wider than the role asks", tc.fail, "deleted")
				e.nothingLeft("c")
			} else {
				l := e.creds("r")
				if err := e.revoke(l); err != nil {
					t.Fatal(err)
				}
				e.nothingLeft("c")
			}
			// The add goes to the table itself; gets and deletes to one admin's url.
			if n := e.fake.Calls(adminTable); n != tc.adds {
				t.Fatalf("%d adds, want %d", n, tc.adds)
			}
		})
	}
}

// A role whose trusted hosts leave out Vault's address: the login as the new admin is refused,
// the admin deleted, and the error says why and what to do; with_session=false works.
func TestDynamicAdminTrustedHostsLeaveOutVault(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal, "trusted_hosts", "10.20.0.0/16")
	e.fails(logical.ReadOperation, "creds/r", nil, "trusted_hosts (10.20.0.0/16)", "with_session=false", "deleted")
	e.nothingLeft("c")
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"with_session": false})
	l := e.creds("r")
	if _, ok := l.data["session"]; ok {
		t.Fatalf("a session without with_session: %v", l.data)
	}
	if err := e.revoke(l); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft("c")
}

// An admin of the name the template gives exists already: it is another's, and left alone.
func TestDynamicAdminNameTaken(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal, "username_template", "{{ .RoleName }}_{{ random 4 }}")
	// A template that renders what exists: the write checks two renders differ, so take over
	// the template in storage, as a role of a careless writer would be.
	r, _ := readRole(context.Background(), e.s, "r")
	r.UsernameTemplate = "taken"
	entry, _ := logical.StorageEntryJSON(rolePrefix+"r", r)
	_ = e.s.Put(context.Background(), entry)
	e.b.dropRole("r")
	e.fake.AddAdmin("taken", "Its0wnPassword!")
	e.fails(logical.ReadOperation, "creds/r", nil, `admin "taken" already exists`, "left alone", "username_template")
	if !slices.Contains(e.fake.Admins(), "taken") {
		t.Fatal("the engine deleted an admin that was not its own")
	}
	if ids, _ := e.adminWAL(); len(ids) != 0 || len(e.recorded("c")) != 0 {
		t.Fatalf("WAL entries %v, records %v left for an admin never made", ids, e.recorded("c"))
	}
}

// adminWAL lists the WAL entries, but for the notes of the root sessions a config keeps
// (root.go), which live as long as the config's client.
func (e *env) adminWAL() ([]string, error) {
	ctx := context.Background()
	ids, err := framework.ListWAL(ctx, e.s)
	var out []string
	for _, id := range ids {
		if w, _ := framework.GetWAL(ctx, e.s, id); w != nil && w.Kind == sessionKind().name {
			continue
		}
		out = append(out, id)
	}
	return out, err
}
