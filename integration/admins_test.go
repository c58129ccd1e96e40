package integration_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// The upstream side of dynamic_admin roles: the admins Vault made on a fake, looked at from
// outside Vault, and a tally of them across the run.

// seededAdmins are the admins newFake makes; any other admin on a fake is one Vault made.
var seededAdmins = []string{adminUser, restrictedUser, blindUser}

// vaultAdmins lists the admins on f that Vault made (every one but the seeded), sorted.
func vaultAdmins(f *fortitest.Server) []string {
	var out []string
	for _, a := range f.Admins() {
		if !slices.Contains(seededAdmins, a) {
			out = append(out, a)
		}
	}
	return out
}

// adminTally counts, across every fake of the run, the admins Vault created and deleted
// through the admin table, and those left when the fake closed (after its Vault stopped).
var adminTally struct {
	sync.Mutex
	tests, created, deleted, left int
}

// tallyAdmins adds f's admins to adminTally when the test ends, logs them, and fails the test
// if any Vault made is left. Register it after the fake's Close, so that it runs before it.
func tallyAdmins(t *testing.T, f *fortitest.Server) {
	t.Cleanup(func() {
		created, deleted, left := f.AdminsAdded(), f.AdminsDeleted(), vaultAdmins(f)
		if created == 0 {
			return
		}
		t.Logf("dynamic admins on this fake: %d created, %d deleted, %d left", created, deleted, len(left))
		if len(left) != 0 || created-deleted != len(left) {
			t.Errorf("admins Vault made are left upstream: %v (%d created, %d deleted)", left, created, deleted)
		}
		adminTally.Lock()
		defer adminTally.Unlock()
		adminTally.tests++
		adminTally.created += created
		adminTally.deleted += deleted
		adminTally.left += len(left)
	})
}

// reportAdminTally prints adminTally once every test ran.
func reportAdminTally() {
	adminTally.Lock()
	defer adminTally.Unlock()
	if adminTally.created == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "integration: dynamic admins across %d tests: %d created, %d deleted, %d left\n",
		adminTally.tests, adminTally.created, adminTally.deleted, adminTally.left)
}

// keptRootSessions is at most how many root sessions the engine keeps per config between admin
// calls (backend.rootSessionsPerConfig).
const keptRootSessions = 4

// rootSessionsEnd waits for the root sessions the engine keeps between admin calls (1 s idle in
// the e2e build) to be logged out.
func rootSessionsEnd(t *testing.T, f *fortitest.Server) {
	t.Helper()
	eventuallyDead(t, "the root sessions the engine keeps", func() bool { return f.LiveSessionsOf(adminUser) > 0 })
}

// asRoot runs fn with a root session of its own, outside Vault, logged out after.
func asRoot(t *testing.T, f *fortitest.Server, fn func(client.AdminTable, client.Auth) error) error {
	t.Helper()
	ctx := context.Background()
	conn, err := client.New(client.Settings{Type: "fortianalyzer", AuthMethod: client.AuthLocalUser, URL: f.URL,
		Username: adminUser, Password: adminPassword, TLS: client.TLSConfig{CACert: f.CACertPEM}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // which logs out the root session EndRootAuth keeps
	tbl := conn.Admins
	auth, err := tbl.RootAuth(ctx)
	if err != nil {
		t.Fatalf("root login: %v", err)
	}
	defer func() {
		if err := tbl.EndRootAuth(ctx, auth); err != nil {
			t.Errorf("root logout: %v", err)
		}
	}()
	return fn(tbl, auth)
}

// upstreamAdmin reads an admin back from f as the root sees it.
func upstreamAdmin(t *testing.T, f *fortitest.Server, name string) *client.Admin {
	t.Helper()
	var a *client.Admin
	err := asRoot(t, f, func(tbl client.AdminTable, auth client.Auth) (err error) {
		a, err = tbl.GetAdmin(context.Background(), auth, name)
		return err
	})
	if err != nil {
		t.Fatalf("read admin %s upstream: %v", name, err)
	}
	return a
}

// deleteUpstream deletes an admin from f behind Vault's back, as another FAZ admin would.
func deleteUpstream(t *testing.T, f *fortitest.Server, name string) {
	t.Helper()
	err := asRoot(t, f, func(tbl client.AdminTable, auth client.Auth) error {
		return tbl.DeleteAdmin(context.Background(), auth, name)
	})
	if err != nil {
		t.Fatalf("delete admin %s upstream: %v", name, err)
	}
}

// loginAs logs in to f as a user and out again; it reports whether the login was taken. A
// refused login is not an error.
func loginAs(t *testing.T, f *fortitest.Server, user, password string) bool {
	t.Helper()
	conn, err := client.New(client.Settings{Type: "fortianalyzer", URL: f.URL, TLS: client.TLSConfig{CACert: f.CACertPEM}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rpc := client.NewJSONRPC("fortianalyzer", f.URL, conn.Transport)
	sid, err := rpc.LoginUser(context.Background(), user, password)
	if errors.Is(err, client.ErrRefused) {
		return false
	}
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	if err := rpc.Logout(context.Background(), sid); err != nil {
		t.Errorf("logout of %s: %v", user, err)
	}
	return true
}

// prefixes parses CIDRs, masked, sorted.
func prefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p.Masked()
	}
	sortPrefixes(out)
	return out
}

func sortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
}
