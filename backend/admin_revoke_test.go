package backend

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// An admin deleted outside Vault: renew refuses, saying so; revoke counts it as deleted.
func TestDynamicAdminDeletedOutOfBand(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	l := e.creds("r")
	conn, auth := e.rootOf("c")
	if err := conn.Admins.DeleteAdmin(context.Background(), auth, l.data["username"].(string)); err != nil {
		t.Fatal(err)
	}
	_ = conn.Admins.EndRootAuth(context.Background(), auth)
	resp, err := e.renew(l)
	if err != nil || resp == nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), "no longer exists upstream") {
		t.Fatalf("renew of a deleted admin: %v %v", resp, err)
	}
	if err := e.revoke(l); err != nil {
		t.Fatalf("revoke of an admin gone upstream: %v", err)
	}
	e.nothingLeft("c")
}

// Revoke ends the admin whatever happened to its role and config since: the role changed or
// deleted, the root's password rotated, the plugin restarted.
func TestDynamicAdminRevokeAfterChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *env)
	}{
		{"role deleted", func(e *env) { e.ok(logical.DeleteOperation, "roles/r", nil) }},
		{"role changed", func(e *env) {
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"adoms": "root", "admin_profile": "Standard_User", "ttl": "5m"})
		}},
		{"root rotated", func(e *env) { e.ok(logical.UpdateOperation, "rotate-root/c", nil) }},
		{"root rotated twice, then a restart", func(e *env) {
			e.ok(logical.UpdateOperation, "rotate-root/c", nil)
			e.ok(logical.UpdateOperation, "rotate-root/c", nil)
			e.restart()
		}},
		{"config rewritten at the same url", func(e *env) { e.ok(logical.UpdateOperation, "config/c", e.fazLocal()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazLocal)
			l := e.creds("r")
			tc.change(e)
			if resp, err := e.renew(l); err != nil || resp.IsError() {
				t.Fatalf("renew after the change: %v %v", resp, err)
			}
			if err := e.revoke(l); err != nil {
				t.Fatalf("revoke after the change: %v", err)
			}
			e.nothingLeft("c")
		})
	}
}

// While admins the engine made through a config live, the config cannot be deleted, nor moved
// to another URL or a root that cannot manage admins: the error names the admins and the revoke
// to run. Once they are revoked, or found gone upstream, it can.
func TestConfigKeptForItsAdmins(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	l := e.creds("r")
	name := l.data["username"].(string)
	e.ok(logical.DeleteOperation, "roles/r", nil)
	e.fails(logical.DeleteOperation, "config/c", nil, name, "vault lease revoke -prefix creds/r", "be deleted")
	e.fails(logical.UpdateOperation, "config/c", with(e.fazLocal(), "url", "https://localhost:1"),
		"url:", name, "move to another url")
	e.fails(logical.UpdateOperation, "config/c", with(e.fazCloud(), "verify_connection", false),
		"auth_method:", name, "forticloud_token")
	// Switching to another root that manages the same admins is fine.
	e.ok(logical.UpdateOperation, "config/c", e.fazKey())
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())

	if err := e.revoke(l); err != nil {
		t.Fatal(err)
	}
	e.ok(logical.DeleteOperation, "config/c", nil)
	e.nothingLeft("c")
}

// A record whose admin is gone upstream (its lease revoked with -force, the admin deleted by
// hand) does not keep its config forever: the delete checks upstream and forgets it.
func TestConfigDeleteForgetsGoneAdmins(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	gone, kept := e.creds("r"), e.creds("r")
	e.ok(logical.DeleteOperation, "roles/r", nil)
	conn, auth := e.rootOf("c")
	if err := conn.Admins.DeleteAdmin(context.Background(), auth, gone.data["username"].(string)); err != nil {
		t.Fatal(err)
	}
	_ = conn.Admins.EndRootAuth(context.Background(), auth)
	msg := e.fails(logical.DeleteOperation, "config/c", nil, kept.data["username"].(string), "has 1 admin(s) or api-user(s)")
	if strings.Contains(msg, gone.data["username"].(string)) {
		t.Fatalf("the delete still counts an admin gone upstream: %s", msg)
	}
	if got := e.recorded("c"); !slices.Equal(got, []string{kept.data["username"].(string)}) {
		t.Fatalf("records %v after the check", got)
	}
	if err := e.revoke(kept); err != nil {
		t.Fatal(err)
	}
	e.ok(logical.DeleteOperation, "config/c", nil)
}

// An admin of creds cut short between its add and its record (a plugin killed there) is in no
// record, only in its WAL entry: the config is not deleted while it lives, and once rollback has
// deleted it, it is.
func TestConfigDeleteWaitsForUnrecordedAdmins(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	l, r := e.dynamicLease("c", "r", "vault_r_unrecorded", "claim")
	if _, err := e.b.noteAdmin(context.Background(), e.s, dynamicAdminKind(), l, e.b.holdName(l)); err != nil {
		t.Fatal(err)
	}
	conn, auth := e.rootOf("c")
	want, _ := r.admin(l.Admin, "Unrec0rded-Passw0rd!")
	if err := conn.Admins.AddAdmin(context.Background(), auth, want); err != nil {
		t.Fatal(err)
	}
	_ = conn.Admins.EndRootAuth(context.Background(), auth)
	e.restart()
	e.ok(logical.DeleteOperation, "roles/r", nil)
	e.fails(logical.DeleteOperation, "config/c", nil, l.Admin, "1 of them from creds cut short", "WAL rollback")
	rollback(t, e)
	e.ok(logical.DeleteOperation, "config/c", nil)
	if m := e.made(); len(m) != 0 {
		t.Fatalf("admins %v left", m)
	}
}

// A config write that would leave its roles with a credential type it cannot serve is refused,
// naming them.
func TestConfigWriteKeepsItsRolesServed(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
	e.ok(logical.UpdateOperation, "roles/s", map[string]any{"config": "c"})
	e.ok(logical.UpdateOperation, "roles/d", dynamicRole("c", "adoms", "root"))
	e.fails(logical.UpdateOperation, "config/c", e.fazKey(), "roles s (session)", "opens no session")
	e.ok(logical.DeleteOperation, "roles/s", nil)
	e.ok(logical.UpdateOperation, "config/c", e.fazKey())
	e.fails(logical.UpdateOperation, "config/c", e.fazCloud(), "roles d (dynamic_admin)", "local_user or api_key")
}

// Many creds and revokes of one local_user config at once hold at most rootSessionsPerConfig
// root sessions: a root whose login-max is no more than that serves them all.
func TestDynamicAdminRootSessionsBounded(t *testing.T) {
	const n = 24
	e := dynamicEnv(t, (*env).fazLocal)
	e.fake.SetLoginMax(4)                    // rootSessionsPerConfig, written out: the test must not follow a change of it
	e.fake.SetLatency(20 * time.Millisecond) // so that root sessions overlap
	leases := make([]lease, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range leases {
		wg.Go(func() {
			resp, err := e.do(logical.ReadOperation, "creds/r", nil)
			if err == nil && resp.IsError() {
				err = resp.Error()
			}
			if err != nil {
				errs <- err
				return
			}
			leases[i] = lease{data: resp.Data, secret: storedSecret(t, resp.Secret)}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("creds: %v", err)
	}
	if got := len(e.made()); got != n {
		t.Fatalf("%d admins made, want %d", got, n)
	}
	for _, l := range leases {
		wg.Go(func() {
			if err := e.revoke(l); err != nil {
				t.Errorf("revoke: %v", err)
			}
		})
	}
	wg.Wait()
	e.nothingLeft("c")
}
