package integration_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// dynamic_admin roles end to end: a local FAZ/FMG admin per lease, made with the role's rights
// and deleted when the lease ends, whatever happens in between.

const (
	dynProfile = "Restricted_User"
	socADOM    = "soc" // an ADOM besides root, which newFake adds
	// addAdminPath is the fake's fault path of the admin table: adds, and by prefix the gets
	// and deletes of single admins under it.
	addAdminPath = "jsonrpc:/cli/global/system/admin/user"
)

// dynTrusted are the trusted hosts of dynamicRole: loopback (where Vault reaches the fake
// from) of both families, and a network of neither.
var dynTrusted = []string{"127.0.0.0/8", "10.20.0.0/16", "::1/128"}

// adminName is what the contract allows an admin's name to be.
var adminName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,35}$`)

// dynamicRole is a dynamic_admin role of config: profile Restricted_User, ADOMs root and soc,
// dynTrusted, rpc_permit read, ttl 10m, max_ttl 1h; more overrides or adds fields (nil
// removes one).
func dynamicRole(config string, more map[string]any) map[string]any {
	r := map[string]any{"config": config, "credential_type": "dynamic_admin", "admin_profile": dynProfile,
		"adoms": []string{"root", socADOM}, "trusted_hosts": dynTrusted, "rpc_permit": "read", "ttl": "10m", "max_ttl": "1h"}
	for k, v := range more {
		if v == nil {
			delete(r, k)
		} else {
			r[k] = v
		}
	}
	return r
}

// fazAPIKey is an api_key config of f whose key is the tests' root admin's.
func fazAPIKey(t *testing.T, f *fortitest.Server) map[string]any {
	t.Helper()
	key := f.AddAPIKey(adminUser)
	if key == "" {
		t.Fatal("the fake made no API key for the root admin")
	}
	return map[string]any{"type": "fortianalyzer", "url": f.URL, "auth_method": "api_key", "api_key": key, "ca_cert": f.CACertPEM}
}

// dynCreds checks a dynamic admin's creds: username (a valid name, naming the role), password
// and url, and a session exactly when withSession; it returns them.
func dynCreds(t *testing.T, f *fortitest.Server, s *api.Secret, role string, withSession bool) (user, password, session string) {
	t.Helper()
	user, password = str(t, s, "username"), str(t, s, "password")
	if !adminName.MatchString(user) {
		t.Errorf("username %q: want at most 35 characters of A-Za-z0-9_-", user)
	}
	// The default template names the role, cut short to leave room for what makes it unique.
	if !strings.Contains(user, role[:min(len(role), 8)]) {
		t.Errorf("username %q does not name the role %q", user, role)
	}
	if u := str(t, s, "url"); u != f.URL {
		t.Errorf("url %q, want %q", u, f.URL)
	}
	if withSession {
		session = str(t, s, "session")
	} else if v, ok := s.Data["session"]; ok && v != "" && v != nil {
		t.Errorf("with_session=false, yet creds hold a session")
	}
	return user, password, session
}

// checkAdmin checks that the admin upstream has exactly the rights of dynamicRole.
func checkAdmin(t *testing.T, f *fortitest.Server, user, rpcPermit, adomAccess string) {
	t.Helper()
	a := upstreamAdmin(t, f, user)
	adoms := slices.Sorted(slices.Values(a.ADOMs))
	hosts := slices.Clone(a.TrustedHosts)
	sortPrefixes(hosts)
	switch {
	case a.Profile != dynProfile:
		t.Errorf("admin %s: profile %q, want %q", user, a.Profile, dynProfile)
	case !slices.Equal(adoms, []string{"root", socADOM}):
		t.Errorf("admin %s: ADOMs %v, want [root %s]", user, a.ADOMs, socADOM)
	case a.ADOMAccess != adomAccess:
		t.Errorf("admin %s: adom-access %q, want %q", user, a.ADOMAccess, adomAccess)
	case !slices.Equal(hosts, prefixes(t, dynTrusted...)):
		t.Errorf("admin %s: trusted hosts %v, want %v", user, hosts, dynTrusted)
	case a.RPCPermit != rpcPermit:
		t.Errorf("admin %s: rpc-permit %q, want %q", user, a.RPCPermit, rpcPermit)
	}
}

// TestDynamicAdmin: creds of a dynamic_admin role make an admin upstream with exactly the role's
// profile, ADOMs, trusted hosts and rpc-permit, on FortiAnalyzer and FortiManager, on firmware
// that binds ADOMs with adom-access and on firmware that refuses the field; its session and
// password work; renew keeps it; revoke leaves no admin and no session, and no root session is
// left open at any point. On firmware that binds no ADOM list, only the read-back shows the
// admin wider than asked: creds fail saying so, and no admin is left.
func TestDynamicAdmin(t *testing.T) {
	t.Parallel()
	v := newDevServer(t, serverOpts{})
	c := v.client
	t.Run("group", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			config     func(*fortitest.Server) map[string]any
			firmware   fortitest.ADOMFirmware
			adomAccess string // as read back
		}{
			{"fortianalyzer adom-access", fazLocal, fortitest.ADOMAccessKnown, "specify"},
			{"fortianalyzer no adom-access", fazLocal, fortitest.ADOMAccessRefused, ""},
			{"fortimanager adom-access", fmgLocal, fortitest.ADOMAccessKnown, "specify"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				f := newFake(t)
				f.SetADOMFirmware(tc.firmware)
				name := strings.ReplaceAll(tc.name, " ", "-")
				write(t, c, "forticloud/config/"+name, tc.config(f))
				if w := write(t, c, "forticloud/roles/"+name, dynamicRole(name, nil)); w != nil && len(w.Warnings) > 0 {
					t.Errorf("role write with trusted_hosts warned: %v", w.Warnings)
				}
				role, err := c.Logical().Read("forticloud/roles/" + name)
				if err != nil || role == nil {
					t.Fatalf("read role: %v", err)
				}
				for k, want := range map[string]any{"credential_type": "dynamic_admin", "admin_profile": dynProfile,
					"rpc_permit": "read", "with_session": true} {
					if role.Data[k] != want {
						t.Errorf("role reads %s = %v, want %v", k, role.Data[k], want)
					}
				}

				s := readCreds(t, c, "forticloud", name)
				user, password, session := dynCreds(t, f, s, name, true)
				if got := vaultAdmins(f); !slices.Equal(got, []string{user}) {
					t.Fatalf("admins Vault made upstream: %v, want [%s]", got, user)
				}
				if !f.SessionAlive(session) || f.LiveSessionsOf(user) != 1 {
					t.Fatalf("the session is not alive upstream (%d sessions of %s)", f.LiveSessionsOf(user), user)
				}
				if n := f.LiveSessionsOf(adminUser); n > 1 {
					t.Errorf("%d root sessions left open after creds, more than the one kept", n)
				}
				checkAdmin(t, f, user, "read", tc.adomAccess)
				if !loginAs(t, f, user, password) {
					t.Error("the admin's password is refused upstream")
				}

				renew(t, c, s.LeaseID)
				if !f.SessionAlive(session) || !slices.Contains(f.Admins(), user) {
					t.Fatal("renew ended the session or the admin")
				}
				revoke(t, c, s.LeaseID)
				if got := vaultAdmins(f); len(got) != 0 {
					t.Errorf("admins left after revoke: %v", got)
				}
				rootSessionsEnd(t, f)
				if n := f.LiveSessions(); n != 0 {
					t.Errorf("%d sessions live after revoke", n)
				}
				checkClean(t, "Vault's log", v.log(), password, session)
			})
		}

		t.Run("firmware that binds no ADOM list", func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.SetADOMFirmware(fortitest.ADOMAccessIgnored)
			write(t, c, "forticloud/config/unbound", fazLocal(f))
			write(t, c, "forticloud/roles/unbound", dynamicRole("unbound", nil))
			_, err := c.Logical().Read("forticloud/creds/unbound")
			if err == nil {
				t.Fatal("creds answered an admin of every ADOM for a role of two")
			}
			if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "adom") || !strings.Contains(msg, "wider") {
				t.Errorf("creds failed without saying the admin was wider than asked in its ADOMs: %v", err)
			}
			rootSessionsEnd(t, f)
			if f.AdminsAdded() != 1 || len(vaultAdmins(f)) != 0 || f.LiveSessions() != 0 {
				t.Errorf("after the refused creds: %d admins added, %v left, %d sessions live; want 1, none, 0",
					f.AdminsAdded(), vaultAdmins(f), f.LiveSessions())
			}
			if ls := leasesUnder(t, c, "forticloud/creds/unbound/"); len(ls) != 0 {
				t.Errorf("leases of refused creds: %v", ls)
			}
		})
	})
}

// TestDynamicAdminWithoutSession: with_session=false answers username, password and url with
// no session; Vault never logs in as the admin, the application does. That is also the way
// for trusted_hosts that leave out the address Vault reaches the upstream from: with a session
// such a role's creds fail saying why, leaving no admin. A role without trusted_hosts is
// written with a warning.
//
// The root is an API key, so that every login the fake sees is one as the new admin.
func TestDynamicAdminWithoutSession(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/faz", fazAPIKey(t, f))
	write(t, c, "forticloud/roles/app", dynamicRole("faz", map[string]any{"with_session": false}))
	elsewhere := []string{"10.20.0.0/16"} // not where Vault, or this test, reaches the fake from
	write(t, c, "forticloud/roles/far", dynamicRole("faz", map[string]any{"trusted_hosts": elsewhere}))
	write(t, c, "forticloud/roles/far-app", dynamicRole("faz", map[string]any{"trusted_hosts": elsewhere, "with_session": false}))

	logins := f.Calls("jsonrpc:/sys/login/user")
	s := readCreds(t, c, "forticloud", "app")
	user, password, _ := dynCreds(t, f, s, "app", false)
	if n := f.LiveSessionsOf(user); n != 0 {
		t.Errorf("%d sessions of the admin after creds with with_session=false", n)
	}
	if n := f.Calls("jsonrpc:/sys/login/user") - logins; n != 0 {
		t.Errorf("%d logins for creds with with_session=false, want none", n)
	}
	checkAdmin(t, f, user, "read", "specify")
	if !loginAs(t, f, user, password) {
		t.Error("the application cannot log in with the creds")
	}
	renew(t, c, s.LeaseID)
	revoke(t, c, s.LeaseID)
	if got := vaultAdmins(f); len(got) != 0 {
		t.Errorf("admins left after revoke: %v", got)
	}

	// With a session, Vault's own login is refused from an address the admin does not trust.
	added := f.AdminsAdded()
	_, err := c.Logical().Read("forticloud/creds/far")
	if err == nil {
		t.Fatal("creds logged in as an admin that trusts only 10.20.0.0/16")
	}
	if msg := err.Error(); !strings.Contains(msg, "trusted_hosts") || !strings.Contains(msg, "with_session") {
		t.Errorf("creds failed without naming trusted_hosts and with_session: %v", err)
	}
	rootSessionsEnd(t, f)
	if f.AdminsAdded() != added+1 || len(vaultAdmins(f)) != 0 || f.LiveSessions() != 0 {
		t.Errorf("after the refused login: %d admins added, %v left, %d sessions live; want 1, none, 0",
			f.AdminsAdded()-added, vaultAdmins(f), f.LiveSessions())
	}

	// Without one, the admin is made, and only its trusted hosts may log in as it.
	s = readCreds(t, c, "forticloud", "far-app")
	user, password, _ = dynCreds(t, f, s, "far-app", false)
	if loginAs(t, f, user, password) {
		t.Error("the admin that trusts only 10.20.0.0/16 logged in from loopback")
	}
	revoke(t, c, s.LeaseID)
	if got := vaultAdmins(f); len(got) != 0 {
		t.Errorf("admins left after revoke: %v", got)
	}

	// No trusted_hosts: any address, said in a warning.
	w := write(t, c, "forticloud/roles/anywhere", dynamicRole("faz", map[string]any{"trusted_hosts": nil}))
	if w == nil || len(w.Warnings) == 0 {
		t.Error("a dynamic_admin role without trusted_hosts was written without a warning")
	}
	if ls := leasesUnder(t, c, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left: %v", ls)
	}
}

// TestDynamicAdminRevokePrefix: 50 dynamic admins, of a local_user root and of an api_key root,
// issued four at a time, each with its session; one revoke-prefix leaves no admin, no session
// and no lease.
func TestDynamicAdminRevokePrefix(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/faz", fazLocal(f))
	write(t, c, "forticloud/config/faz-key", fazAPIKey(t, f))
	write(t, c, "forticloud/roles/soc", dynamicRole("faz", nil))
	write(t, c, "forticloud/roles/soc-key", dynamicRole("faz-key", nil))

	issued := append(issueMany(t, c, "forticloud", "soc", 30), issueMany(t, c, "forticloud", "soc-key", 20)...)
	var users []string
	for _, s := range issued {
		users = append(users, str(t, s, "username"))
		if !f.SessionAlive(str(t, s, "session")) {
			t.Fatalf("the session of %s is not alive", s.LeaseID)
		}
	}
	slices.Sort(users)
	if got := vaultAdmins(f); !slices.Equal(got, users) || len(slices.Compact(slices.Clone(users))) != 50 {
		t.Fatalf("admins upstream %d, want the 50 distinct ones the creds name", len(got))
	}
	if n, root := f.LiveSessions(), f.LiveSessionsOf(adminUser); n-root != 50 || root > keptRootSessions {
		t.Fatalf("%d sessions live upstream, %d of them the root's: want the admins' 50, and at most %d root sessions kept",
			n, root, keptRootSessions)
	}
	if n := len(leasesUnder(t, c, "forticloud/creds/")); n != 50 {
		t.Fatalf("Vault holds %d leases, want 50", n)
	}

	if err := c.Sys().RevokePrefixWithContext(context.Background(), "forticloud/creds/"); err != nil {
		t.Fatalf("revoke-prefix: %v", err)
	}
	rootSessionsEnd(t, f)
	if got, n := vaultAdmins(f), f.LiveSessions(); len(got) != 0 || n != 0 {
		t.Errorf("after revoke-prefix: %d admins and %d sessions left upstream", len(got), n)
	}
	if f.AdminsDeleted() != 50 {
		t.Errorf("%d admins deleted, want 50", f.AdminsDeleted())
	}
	if ls := leasesUnder(t, c, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("Vault still holds %d leases", len(ls))
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
}

// TestDynamicAdminCallerLeaves: a client whose timeout is shorter than a slow admin add gives
// up; the upstream creates the admin anyway, as a real server does. The create runs to its
// answer and the admin is deleted at once: no admin, no session, no lease is left.
func TestDynamicAdminCallerLeaves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config func(*testing.T, *fortitest.Server) map[string]any
	}{
		{"local_user root", func(_ *testing.T, f *fortitest.Server) map[string]any { return fazLocal(f) }},
		{"api_key root", fazAPIKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			v := newDevServer(t, serverOpts{})
			write(t, v.client, "forticloud/config/faz", tc.config(t, f))
			write(t, v.client, "forticloud/roles/slow", dynamicRole("faz", nil))
			f.AddFault(fortitest.Fault{Path: addAdminPath, Kind: fortitest.FaultSlow, Delay: 4 * time.Second, Count: 1})

			impatient, err := v.client.Clone()
			if err != nil {
				t.Fatal(err)
			}
			impatient.SetToken(v.client.Token())
			impatient.SetClientTimeout(time.Second)
			impatient.SetMaxRetries(0)
			if _, err := impatient.Logical().ReadWithContext(context.Background(), "forticloud/creds/slow"); err == nil {
				t.Fatal("creds answered within a second although the add takes four")
			}
			if n := f.AdminsAdded(); n != 0 {
				t.Fatalf("%d admins made before the slow add answered: the fault missed the add", n)
			}
			waitFor(t, 20*time.Second, "the admin made for the client that left to be created and deleted upstream", func() bool {
				return f.AdminsAdded() == 1 && f.AdminsDeleted() == 1 && len(vaultAdmins(f)) == 0 && f.LiveSessions() == 0
			}) // the root session kept idles out within it
			if ls := leasesUnder(t, v.client, "forticloud/creds/"); len(ls) != 0 {
				t.Errorf("leases left for a client that gave up: %v", ls)
			}
			// Anything made late would show now: the fake's 4 s are long past.
			time.Sleep(time.Second)
			if got, n := vaultAdmins(f), f.LiveSessions(); len(got) != 0 || n != 0 || f.AdminsAdded() != 1 {
				t.Errorf("for a client that gave up: %d admins added, %v left, %d sessions live", f.AdminsAdded(), got, n)
			}
		})
	}
}

// TestDynamicAdminKillMidCreate kills the plugin (SIGKILL) while an admin add is in flight:
// the upstream made the admin (the fake acts at once and holds the answer), and the WAL entry,
// written before the add, names it. Vault restarts the plugin, and its rollback manager (once
// a minute, for entries older than the e2e build's 5 s) deletes the admin by name and drops
// the entry. The root session that creds opened for the add was noted in the WAL once logged
// in: the same rollback logs it out.
func TestDynamicAdminKillMidCreate(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/faz", fazLocal(f))
	write(t, c, "forticloud/roles/soc", dynamicRole("faz", nil))
	wal := walReader(t, c, "forticloud")
	f.AddFault(fortitest.Fault{Path: addAdminPath, Kind: fortitest.FaultActThenSlow, Delay: 5 * time.Second, Count: 1})

	res := credsAsync(c, "forticloud", "soc")
	var orphan string
	waitFor(t, 30*time.Second, "the add to make the admin upstream", func() bool {
		if got := vaultAdmins(f); len(got) == 1 {
			orphan = got[0]
			return true
		}
		return false
	})
	es := wal.entries()
	i := slices.IndexFunc(es, func(e walEntry) bool { return e.Kind == "dynamic_admin" && walNames(e, orphan) })
	j := slices.IndexFunc(es, func(e walEntry) bool { return e.Kind == "session" })
	if len(es) != 2 || i < 0 || j < 0 {
		t.Fatalf("while the add is in flight, %d WAL entries; want one naming the admin %s, one noting the root session", len(es), orphan)
	}
	entry := es[i]
	pid := signalPlugin(t, v, syscall.SIGKILL)
	r := awaitCreds(t, res)
	t.Logf("plugin %d killed with admin %s made and WAL entry %s (kind %s) written; the request: %s", pid, orphan, entry.ID, entry.Kind, r)
	waitFor(t, 60*time.Second, "the mount to answer after the plugin was killed", func() bool {
		_, err := c.Logical().Read("forticloud/roles/soc")
		return err == nil
	})
	// Vault may have retried the request on the new plugin: that made a lease of its own.
	leased := leasesUnder(t, c, "forticloud/creds/")
	if len(leased) != r.sessions() {
		t.Logf("leases after the kill: %v", leased)
	}

	killedAt := time.Now()
	waitFor(t, 150*time.Second, "WAL rollback to delete the orphan admin and drop its entry", func() bool {
		return !slices.Contains(f.Admins(), orphan) && !slices.ContainsFunc(wal.entries(), func(e walEntry) bool { return e.ID == entry.ID })
	})
	t.Logf("WAL rollback deleted %s %s after the kill", orphan, time.Since(killedAt).Round(time.Second))
	if r.err == nil && !f.SessionAlive(r.session) {
		t.Error("the rollback ended the session of the lease the retried request made")
	}

	if err := c.Sys().RevokePrefixWithContext(context.Background(), "forticloud/creds/"); err != nil {
		t.Fatalf("revoke-prefix: %v", err)
	}
	if got := vaultAdmins(f); len(got) != 0 {
		t.Errorf("admins left: %v", got)
	}
	// The killed request's root session was noted in the WAL as soon as it was logged in, and
	// rolled back with the admin; the new plugin's own are logged out once idle.
	rootSessionsEnd(t, f)
	if es := wal.entries(); len(es) != 0 {
		t.Errorf("WAL entries left: %+v", es)
	}
	if n := f.LiveSessions(); n != 0 {
		t.Errorf("%d sessions live: the killed plugin's root session was not rolled back", n)
	}
}

// walNames reports whether a WAL entry's data holds name as one of its values.
func walNames(e walEntry, name string) bool {
	for _, v := range e.Data {
		if v == name {
			return true
		}
	}
	return false
}

// TestDynamicAdminGoneOutOfBand: an admin deleted upstream behind Vault's back (its session
// ends with it), or whose session idled out: renew is refused, revoke succeeds at once, and no
// lease turns irrevocable.
func TestDynamicAdminGoneOutOfBand(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	write(t, c, "forticloud/config/faz", fazLocal(f))
	write(t, c, "forticloud/roles/soc", dynamicRole("faz", nil))
	write(t, c, "forticloud/roles/app", dynamicRole("faz", map[string]any{"with_session": false}))

	for _, tc := range []struct {
		name, role string
		gone       func(t *testing.T, s *api.Secret)
	}{
		{"admin deleted", "soc", func(t *testing.T, s *api.Secret) { deleteUpstream(t, f, str(t, s, "username")) }},
		{"admin deleted, no session", "app", func(t *testing.T, s *api.Secret) { deleteUpstream(t, f, str(t, s, "username")) }},
		{"session idled out", "soc", func(t *testing.T, s *api.Secret) { f.ExpireSession(str(t, s, "session")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := readCreds(t, c, "forticloud", tc.role)
			user := str(t, s, "username")
			tc.gone(t, s)
			if _, err := c.Sys().RenewWithContext(ctx, s.LeaseID, 0); err == nil {
				t.Error("renew succeeded")
			} else if msg := err.Error(); !strings.Contains(msg, "gone") && !strings.Contains(msg, "no longer") && !strings.Contains(msg, "not exist") {
				t.Errorf("renew refused without saying the admin or session is gone: %v", err)
			}
			revoke(t, c, s.LeaseID)
			if !leaseGone(c, s.LeaseID) {
				t.Error("Vault kept the lease")
			}
			if slices.Contains(f.Admins(), user) || f.LiveSessionsOf(user) != 0 {
				t.Errorf("admin %s or its session outlived the revoke", user)
			}
		})
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
	rootSessionsEnd(t, f)
	if n := f.LiveSessions(); n != 0 {
		t.Errorf("%d sessions live", n)
	}
}

// TestDynamicAdminAPIKeyRoot: a config whose root is an API key (auth_method=api_key): the key
// is never read back; a session role on it is refused saying why; dynamic admins are made,
// renewed and deleted with the key alone, without a single root login; the key appears in no
// log.
func TestDynamicAdminAPIKeyRoot(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	cfg := fazAPIKey(t, f)
	key := cfg["api_key"].(string)
	write(t, c, "forticloud/config/faz", cfg)
	read, err := c.Logical().Read("forticloud/config/faz")
	if err != nil || read == nil {
		t.Fatalf("read config: %v", err)
	}
	if _, ok := read.Data["api_key"]; ok {
		t.Error("config read returns api_key")
	}
	if read.Data["api_key_set"] != true || read.Data["auth_method"] != "api_key" {
		t.Errorf("config read: api_key_set %v, auth_method %v", read.Data["api_key_set"], read.Data["auth_method"])
	}
	if msg := writeFails(t, c, "forticloud/roles/session", map[string]any{"config": "faz"}); !strings.Contains(msg, "api_key") {
		t.Errorf("a session role on an api_key config refused without saying why: %s", msg)
	}
	write(t, c, "forticloud/roles/soc", dynamicRole("faz", nil))

	f.ResetCalls()
	s := readCreds(t, c, "forticloud", "soc")
	user, password, session := dynCreds(t, f, s, "soc", true)
	if n := f.Calls("jsonrpc:/sys/login/user"); n != 1 {
		t.Errorf("%d logins for creds with an api_key root, want 1: as the new admin", n)
	}
	checkAdmin(t, f, user, "read", "specify")
	f.ResetCalls() // checkAdmin logged in as root, outside Vault
	renew(t, c, s.LeaseID)
	revoke(t, c, s.LeaseID)
	if got := vaultAdmins(f); len(got) != 0 || f.LiveSessions() != 0 {
		t.Errorf("after revoke: admins %v, %d sessions", got, f.LiveSessions())
	}
	if n := f.Calls("jsonrpc:/sys/login/user"); n != 0 {
		t.Errorf("%d logins to renew and revoke with an api_key root", n)
	}
	checkClean(t, "Vault's log", v.log(), key, password, session)
}

// TestDynamicAdminRevokeAfterChange: revoke deletes the admin after its role was deleted, and
// after the config's root password was rotated. Revoke needs the config's root, so the config
// cannot be deleted while an admin made through it lives: the refusal names the admin and how
// to revoke its lease.
func TestDynamicAdminRevokeAfterChange(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	write(t, c, "forticloud/config/faz", fazLocal(f))
	write(t, c, "forticloud/roles/soc", dynamicRole("faz", nil))
	write(t, c, "forticloud/roles/app", dynamicRole("faz", map[string]any{"with_session": false}))
	s1 := readCreds(t, c, "forticloud", "soc")
	s2 := readCreds(t, c, "forticloud", "app")
	s3 := readCreds(t, c, "forticloud", "soc")

	// The role goes: its lease still revokes.
	if _, err := c.Logical().DeleteWithContext(ctx, "forticloud/roles/soc"); err != nil {
		t.Fatalf("delete role: %v", err)
	}
	revoke(t, c, s1.LeaseID)
	if slices.Contains(f.Admins(), str(t, s1, "username")) {
		t.Error("the admin of a deleted role outlived its revoke")
	}

	// The root's password changes: the later revokes use the new one.
	write(t, c, "forticloud/rotate-root/faz", nil)
	if loginAs(t, f, adminUser, adminPassword) {
		t.Fatal("rotate-root left the old root password working")
	}
	renew(t, c, s2.LeaseID)
	revoke(t, c, s2.LeaseID)
	if slices.Contains(f.Admins(), str(t, s2, "username")) {
		t.Error("the admin outlived its revoke after rotate-root")
	}

	// The config is kept while an admin of it lives.
	if _, err := c.Logical().DeleteWithContext(ctx, "forticloud/roles/app"); err != nil {
		t.Fatalf("delete role: %v", err)
	}
	if _, err := c.Logical().DeleteWithContext(ctx, "forticloud/config/faz"); err == nil {
		t.Error("config deleted while an admin made through it lives: nothing could delete that admin")
	} else if msg := err.Error(); !strings.Contains(msg, str(t, s3, "username")) || !strings.Contains(msg, "vault lease revoke -prefix forticloud/creds/soc") {
		t.Errorf("the refusal names neither the admin nor how to revoke its lease: %s", msg)
	}
	revoke(t, c, s3.LeaseID)
	rootSessionsEnd(t, f)
	if got := vaultAdmins(f); len(got) != 0 || f.LiveSessions() != 0 {
		t.Errorf("admins %v and %d sessions left", got, f.LiveSessions())
	}
	if _, err := c.Logical().DeleteWithContext(ctx, "forticloud/config/faz"); err != nil {
		t.Errorf("config delete once no admin lives: %v", err)
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
}

// dynLeased is a dynamic admin's lease as issueMix counts it: alive while the admin exists
// upstream and its session lives.
func dynLeased(t *testing.T, f *fortitest.Server, s *api.Secret) leased {
	t.Helper()
	user, sid := str(t, s, "username"), str(t, s, "session")
	return leased{s, func() bool { return slices.Contains(f.Admins(), user) && f.SessionAlive(sid) }}
}

// dynRoleOfMix is the role issueMix adds: a dynamic admin of ADOM root on config faz.
func dynRoleOfMix() map[string]any {
	return dynamicRole("faz", map[string]any{"adoms": []string{"root"}})
}
