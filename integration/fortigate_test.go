package integration_test

import (
	"context"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// type=fortigate end to end: a REST API admin (api-user) and its key per lease, made with the
// role's profile, VDOMs and trusthosts, deleted when the lease ends, whatever happens in between.

const (
	fgtRoot    = "vault-root"   // the root api-user whose key the config holds
	fgtProfile = "ci_read_only" // the accprofile of the api-users Vault makes
	fgtVDOM    = "dmz"          // a VDOM besides root
	// fgtCreatePath is the fake's create path; as a fault path it also matches the gets and
	// deletes of single api-users under it, so faults on it are counted to hit the create.
	fgtCreatePath = "/api/v2/cmdb/system/api-user"
	fgtStatusPath = "/api/v2/monitor/system/status"
)

// fgtTrusted are the trusted hosts of fgtRole: loopback of both families (where Vault and this
// test reach the fake from), and a network of neither.
var fgtTrusted = []string{"127.0.0.0/8", "10.30.0.0/16", "::1/128"}

// fgtName is what the contract allows an api-user's name to be.
var fgtName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,35}$`)

// newFortiGate is newFake with a FortiGate: the root api-user fgtRoot (profile super_admin,
// VDOM root, trusting loopback only), fgtProfile and fgtVDOM. It returns the fake and the
// root's key.
func newFortiGate(t *testing.T) (*fortitest.Server, string) {
	t.Helper()
	f := newFake(t)
	f.AddFortiOSProfile(fgtProfile, fortitest.FortiOSNoAccess)
	f.AddFortiOSVDOM(fgtVDOM)
	key := f.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fgtRoot, Profile: fortitest.FortiOSSuperAdmin,
		VDOMs: []string{"root"}, TrustHosts: prefixList(t, "127.0.0.0/8", "::1/128")})
	return f, key
}

// fgtConfig is a fortigate config of f with the root key.
func fgtConfig(f *fortitest.Server, key string) map[string]any {
	return map[string]any{"type": "fortigate", "url": f.URL, "api_key": key, "username": fgtRoot, "ca_cert": f.CACertPEM}
}

// fgtRole is an api_user role of config: fgtProfile, VDOMs root and fgtVDOM, fgtTrusted, ttl
// 10m, max_ttl 1h; more overrides or adds fields (nil removes one).
func fgtRole(config string, more map[string]any) map[string]any {
	r := map[string]any{"config": config, "admin_profile": fgtProfile, "vdoms": []string{"root", fgtVDOM},
		"trusted_hosts": fgtTrusted, "ttl": "10m", "max_ttl": "1h"}
	for k, v := range more {
		if v == nil {
			delete(r, k)
		} else {
			r[k] = v
		}
	}
	return r
}

func prefixList(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// fgtUsers are the api-users upstream other than the root: those Vault made.
func fgtUsers(f *fortitest.Server) []string {
	return slices.DeleteFunc(f.FortiOSAPIUsers(), func(n string) bool { return n == fgtRoot })
}

// fgtCreated is how many api-user creates the fake carried out.
func fgtCreated(f *fortitest.Server) int { return f.Handled(fgtCreatePath) }

// fgtFigures logs the api-users created, deleted (created less those left) and left.
func fgtFigures(t *testing.T, f *fortitest.Server) {
	t.Helper()
	created, left := fgtCreated(f), len(fgtUsers(f))
	t.Logf("api-users: %d created, %d deleted, %d left", created, created-left, left)
	if left != 0 {
		t.Errorf("%d api-users left upstream: %v", left, fgtUsers(f))
	}
}

// keyWorks reports whether key answers the fake's status call, as an application would use it.
func keyWorks(t *testing.T, f *fortitest.Server, key string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.URL+fgtStatusPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := f.Client().Do(req)
	if err != nil {
		t.Fatalf("status call: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// fgtCreds checks an api_user lease's creds (username naming the role, api_key, url) and that
// the api-user exists upstream with exactly the role's rights; it returns username and key.
func fgtCreds(t *testing.T, f *fortitest.Server, s *api.Secret, role string) (user, key string) {
	t.Helper()
	user, key = str(t, s, "username"), str(t, s, "api_key")
	if !fgtName.MatchString(user) {
		t.Errorf("username %q: want at most 35 characters of A-Za-z0-9_-", user)
	}
	if !strings.Contains(user, role[:min(len(role), 8)]) {
		t.Errorf("username %q does not name the role %q", user, role)
	}
	if u := str(t, s, "url"); u != f.URL {
		t.Errorf("url %q, want %q", u, f.URL)
	}
	if _, ok := s.Data["password"]; ok {
		t.Error("api_user creds hold a password")
	}
	u, ok := f.FortiOSAPIUser(user)
	if !ok {
		t.Fatalf("api-user %s does not exist upstream", user)
	}
	hosts := slices.Clone(u.TrustHosts)
	slices.SortFunc(hosts, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	switch {
	case u.Profile != fgtProfile:
		t.Errorf("api-user %s: accprofile %q, want %q", user, u.Profile, fgtProfile)
	case !slices.Equal(slices.Sorted(slices.Values(u.VDOMs)), []string{fgtVDOM, "root"}):
		t.Errorf("api-user %s: VDOMs %v, want [root %s]", user, u.VDOMs, fgtVDOM)
	case !slices.Equal(hosts, prefixList(t, fgtTrusted...)):
		t.Errorf("api-user %s: trusthosts %v, want %v", user, hosts, fgtTrusted)
	case !strings.Contains(u.Comments, role):
		t.Errorf("api-user %s: comments %q do not name the role %s", user, u.Comments, role)
	}
	if f.FortiOSKey(user) != key || !keyWorks(t, f, key) {
		t.Errorf("the key of %s is not its current one or does not answer the status call", user)
	}
	return user, key
}

// TestFortiGate: creds make an api-user with the role's accprofile, VDOMs, trusthosts and a
// comment naming the role, and a key that works; renew keeps it; revoke deletes it and the key
// stops working. The root key and the leased key appear in no log; no key ever rides in a URL.
// On 7.6+ the key expires by itself at the lease's max_ttl; older firmware, which refuses or
// ignores an expiry, still gets its key.
func TestFortiGate(t *testing.T) {
	t.Parallel()
	v := newDevServer(t, serverOpts{})
	c := v.client
	t.Run("group", func(t *testing.T) {
		for _, tc := range []struct {
			name, version  string
			expiryIgnored  bool
			keyField       string
			wantKeyExpires bool
		}{
			{"7.4 refuses expiry", "v7.4.4", false, "access_token", false},
			{"7.4 ignores expiry", "v7.4.4", true, "access_token", false},
			{"7.6 key expires", "v7.6.1", false, "access_token", true},
			{"key field api_key", "v7.6.1", false, "api_key", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				f, root := newFortiGate(t)
				f.SetFortiOSVersion(tc.version)
				f.SetFortiOSExpiryIgnored(tc.expiryIgnored)
				f.SetFortiOSKeyField(tc.keyField)
				name := strings.NewReplacer(" ", "-", ".", "").Replace(tc.name)
				write(t, c, "forticloud/config/"+name, fgtConfig(f, root))
				cfg, err := c.Logical().Read("forticloud/config/" + name)
				if err != nil || cfg == nil {
					t.Fatalf("read config: %v", err)
				}
				if _, ok := cfg.Data["api_key"]; ok || cfg.Data["api_key_set"] != true || cfg.Data["auth_method"] != "api_key" {
					t.Errorf("config read: api_key present %v, api_key_set %v, auth_method %v", ok, cfg.Data["api_key_set"], cfg.Data["auth_method"])
				}
				if w := write(t, c, "forticloud/roles/"+name, fgtRole(name, nil)); w != nil && len(w.Warnings) > 0 {
					t.Errorf("role write with trusted_hosts warned: %v", w.Warnings)
				}
				role, err := c.Logical().Read("forticloud/roles/" + name)
				if err != nil || role == nil {
					t.Fatalf("read role: %v", err)
				}
				if role.Data["credential_type"] != "api_user" || role.Data["admin_profile"] != fgtProfile {
					t.Errorf("role reads credential_type %v, admin_profile %v", role.Data["credential_type"], role.Data["admin_profile"])
				}

				s := readCreds(t, c, "forticloud", name)
				user, key := fgtCreds(t, f, s, name)
				u, _ := f.FortiOSAPIUser(user)
				if got := !u.KeyExpires.IsZero(); got != tc.wantKeyExpires {
					t.Errorf("key expires %v (at %v), want %v", got, u.KeyExpires, tc.wantKeyExpires)
				}
				if tc.wantKeyExpires && u.KeyExpires.After(time.Now().Add(time.Hour+time.Minute)) {
					t.Errorf("key expires at %v, past the role's max_ttl of 1h", u.KeyExpires)
				}

				renew(t, c, s.LeaseID)
				if !keyWorks(t, f, key) {
					t.Fatal("renew ended the key")
				}
				revoke(t, c, s.LeaseID)
				if _, ok := f.FortiOSAPIUser(user); ok {
					t.Errorf("api-user %s outlived its revoke", user)
				}
				if keyWorks(t, f, key) {
					t.Error("the leased key still works after revoke")
				}
				if !keyWorks(t, f, root) {
					t.Error("the root key stopped working")
				}
				if n := f.FortiOSKeysInURL(); n != 0 {
					t.Errorf("%d requests carried a key in the URL", n)
				}
				checkClean(t, "Vault's log", v.log(), root, key)
				fgtFigures(t, f)
			})
		}
	})
}

// TestFortiGateRoles: a role without trusted_hosts is written with a warning; role fields of
// other types, a bad CIDR, and a dynamic_admin type on a fortigate config are refused naming
// the field; a config with an http url is refused.
func TestFortiGateRoles(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/fgt", fgtConfig(f, root))
	if w := write(t, c, "forticloud/roles/anywhere", fgtRole("fgt", map[string]any{"trusted_hosts": nil})); w == nil || len(w.Warnings) == 0 {
		t.Error("an api_user role without trusted_hosts was written without a warning")
	}
	for field, more := range map[string]map[string]any{
		"adoms":           {"adoms": []string{"root"}},
		"rpc_permit":      {"rpc_permit": "read"},
		"trusted_hosts":   {"trusted_hosts": []string{"10.0.0.0/33"}},
		"credential_type": {"credential_type": "dynamic_admin"},
		"admin_profile":   {"admin_profile": nil},
	} {
		if msg := writeFails(t, c, "forticloud/roles/bad", fgtRole("fgt", more)); !strings.Contains(msg, field) {
			t.Errorf("role with a bad %s refused without naming it: %s", field, msg)
		}
	}
	bad := fgtConfig(f, root)
	bad["url"] = strings.Replace(f.URL, "https://", "http://", 1)
	if msg := writeFails(t, c, "forticloud/config/plain", bad); !strings.Contains(msg, "url") {
		t.Errorf("an http url refused without naming url: %s", msg)
	}
	// A key that may not manage api-users is refused when the connection is verified.
	weak := f.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "weak", Profile: fgtProfile})
	if msg := writeFails(t, c, "forticloud/config/weak", fgtConfig(f, weak)); !strings.Contains(strings.ToLower(msg), "api-user") &&
		!strings.Contains(strings.ToLower(msg), "permi") {
		t.Errorf("a root that may not manage api-users refused without saying so: %s", msg)
	}
}

// TestFortiGateRevokePrefix: 50 api-users issued four at a time; one revoke-prefix leaves none
// upstream and no lease.
func TestFortiGateRevokePrefix(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, c, "forticloud/roles/ci", fgtRole("fgt", nil))

	issued := issueMany(t, c, "forticloud", "ci", 50)
	var users []string
	for _, s := range issued {
		users = append(users, str(t, s, "username"))
	}
	slices.Sort(users)
	if got := fgtUsers(f); !slices.Equal(got, users) || len(slices.Compact(slices.Clone(users))) != 50 {
		t.Fatalf("api-users upstream %d, want the 50 distinct ones the creds name", len(got))
	}
	if err := c.Sys().RevokePrefixWithContext(context.Background(), "forticloud/creds/"); err != nil {
		t.Fatalf("revoke-prefix: %v", err)
	}
	if ls := leasesUnder(t, c, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("Vault still holds %d leases", len(ls))
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
	if fgtCreated(f) != 50 {
		t.Errorf("%d api-users created, want 50", fgtCreated(f))
	}
	fgtFigures(t, f)
}

// TestFortiGateCallerLeaves: a client whose timeout is shorter than a slow api-user create gives
// up; the FortiGate creates the api-user anyway. It is deleted at once: no api-user, no lease.
func TestFortiGateCallerLeaves(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	write(t, v.client, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, v.client, "forticloud/roles/slow", fgtRole("fgt", nil))
	f.AddFault(fortitest.Fault{Path: fgtCreatePath, Kind: fortitest.FaultSlow, Delay: 4 * time.Second, Count: 1})

	impatient, err := v.client.Clone()
	if err != nil {
		t.Fatal(err)
	}
	impatient.SetToken(v.client.Token())
	impatient.SetClientTimeout(time.Second)
	impatient.SetMaxRetries(0)
	if _, err := impatient.Logical().ReadWithContext(context.Background(), "forticloud/creds/slow"); err == nil {
		t.Fatal("creds answered within a second although the create takes four")
	}
	if n := fgtCreated(f); n != 0 {
		t.Fatalf("%d api-users made before the slow create answered: the fault missed the create", n)
	}
	waitFor(t, 20*time.Second, "the api-user made for the client that left to be created and deleted", func() bool {
		return fgtCreated(f) == 1 && len(fgtUsers(f)) == 0
	})
	if ls := leasesUnder(t, v.client, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left for a client that gave up: %v", ls)
	}
	time.Sleep(time.Second) // anything made late would show now: the fake's 4 s are long past
	if fgtCreated(f) != 1 {
		t.Errorf("%d api-users created for one request", fgtCreated(f))
	}
	fgtFigures(t, f)
}

// TestFortiGateKillMidCreate kills the plugin (SIGKILL) while an api-user create is in flight:
// the FortiGate made it (the fake acts at once and holds the answer) and the WAL entry, written
// before the create, names it. Vault restarts the plugin, and its rollback manager (the e2e
// build's WAL minimum age is 5 s) deletes the api-user and drops the entry.
func TestFortiGateKillMidCreate(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, c, "forticloud/roles/ci", fgtRole("fgt", nil))
	wal := walReader(t, c, "forticloud")
	f.AddFault(fortitest.Fault{Path: fgtCreatePath, Kind: fortitest.FaultActThenSlow, Delay: 5 * time.Second, Count: 1})

	res := credsAsync(c, "forticloud", "ci")
	var orphan string
	waitFor(t, 30*time.Second, "the create to make the api-user upstream", func() bool {
		if got := fgtUsers(f); len(got) == 1 {
			orphan = got[0]
			return true
		}
		return false
	})
	if n := len(wal.entries()); n != 1 {
		t.Fatalf("while the create is in flight, %d WAL entries; want one", n)
	}
	pid := signalPlugin(t, v, syscall.SIGKILL)
	r := awaitCreds(t, res)
	t.Logf("plugin %d killed with api-user %s made; the request: %s", pid, orphan, r)
	waitFor(t, 60*time.Second, "the mount to answer after the plugin was killed", func() bool {
		_, err := c.Logical().Read("forticloud/roles/ci")
		return err == nil
	})
	killedAt := time.Now()
	waitFor(t, 150*time.Second, "WAL rollback to delete the orphan api-user", func() bool {
		_, ok := f.FortiOSAPIUser(orphan)
		return !ok
	})
	t.Logf("WAL rollback deleted %s %s after the kill", orphan, time.Since(killedAt).Round(time.Second))

	// Vault may have retried the request on the new plugin: its lease revokes like any other.
	if err := c.Sys().RevokePrefixWithContext(context.Background(), "forticloud/creds/"); err != nil {
		t.Fatalf("revoke-prefix: %v", err)
	}
	waitFor(t, 30*time.Second, "the WAL entries to be dropped", func() bool { return len(wal.entries()) == 0 })
	fgtFigures(t, f)
}

// TestFortiGateGoneOutOfBand: an api-user deleted upstream behind Vault's back: renew is
// refused saying so, revoke succeeds, no lease turns irrevocable.
func TestFortiGateGoneOutOfBand(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, c, "forticloud/roles/ci", fgtRole("fgt", nil))
	s := readCreds(t, c, "forticloud", "ci")
	user := str(t, s, "username")
	f.DeleteFortiOSAPIUser(user)
	if _, err := c.Sys().RenewWithContext(context.Background(), s.LeaseID, 0); err == nil {
		t.Error("renew of a deleted api-user succeeded")
	} else if msg := err.Error(); !strings.Contains(msg, "gone") && !strings.Contains(msg, "no longer") && !strings.Contains(msg, "not exist") {
		t.Errorf("renew refused without saying the api-user is gone: %v", err)
	}
	revoke(t, c, s.LeaseID)
	if !leaseGone(c, s.LeaseID) {
		t.Error("Vault kept the lease")
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
	fgtFigures(t, f)
}

// TestFortiGateRotateRoot: rotate-root regenerates the root's own key: the old key stops
// working, creds and the leases from before keep working. Where the firmware refuses (403 to
// generate-key for the caller's own api-user), a clear error, and the stored key is untouched
// and still works. Revoke works after the role was deleted.
func TestFortiGateRotateRoot(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	write(t, c, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, c, "forticloud/roles/ci", fgtRole("fgt", nil))
	before := readCreds(t, c, "forticloud", "ci")

	// The firmware refuses: nothing changes.
	f.SetFortiOSOwnKeyRefused(true)
	msg := writeFails(t, c, "forticloud/rotate-root/fgt", nil)
	if low := strings.ToLower(msg); !strings.Contains(low, "403") && !strings.Contains(low, "refuse") && !strings.Contains(low, "firmware") {
		t.Errorf("a refused rotation failed without saying the FortiGate refused: %s", msg)
	}
	if !keyWorks(t, f, root) || f.FortiOSKey(fgtRoot) != root {
		t.Fatal("a refused rotation changed the root key")
	}
	s := readCreds(t, c, "forticloud", "ci") // the stored key still works
	revoke(t, c, s.LeaseID)

	// The firmware consents: only Vault knows the new key.
	f.SetFortiOSOwnKeyRefused(false)
	r := write(t, c, "forticloud/rotate-root/fgt", nil)
	if r == nil || r.Data["last_rotated"] == "" || r.Data["api_key_set"] != true {
		t.Fatalf("rotate-root answered %v: want the config with last_rotated", r)
	}
	if _, ok := r.Data["api_key"]; ok {
		t.Fatal("rotate-root answered the key")
	}
	if keyWorks(t, f, root) {
		t.Fatal("the old root key still works after rotate-root")
	}
	if !keyWorks(t, f, f.FortiOSKey(fgtRoot)) {
		t.Fatal("the root's new key does not work")
	}
	after := readCreds(t, c, "forticloud", "ci")
	fgtCreds(t, f, after, "ci")
	renew(t, c, before.LeaseID)
	if _, err := c.Logical().DeleteWithContext(context.Background(), "forticloud/roles/ci"); err != nil {
		t.Fatalf("delete role: %v", err)
	}
	revoke(t, c, before.LeaseID)
	revoke(t, c, after.LeaseID)
	checkClean(t, "Vault's log", v.log(), root, f.FortiOSKey(fgtRoot))
	fgtFigures(t, f)
}

// TestFortiGateHA: a fortigate config and role in the 3-node cluster of scripts/ha-cluster.sh:
// written and issued through a standby; after the active node is killed, the leases renew and
// revoke on the new one, and no api-user is left.
func TestFortiGateHA(t *testing.T) {
	t.Parallel()
	f, root := newFortiGate(t)
	cl := startHACluster(t)
	active, standbys := cl.roles(t)
	sb := standbys[0]
	write(t, sb.client, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, sb.client, "forticloud/roles/ci", fgtRole("fgt", nil))
	var ss []*api.Secret
	for range 3 {
		ss = append(ss, readCreds(t, sb.client, "forticloud", "ci"))
	}
	if n := len(fgtUsers(f)); n != 3 {
		t.Fatalf("%d api-users upstream, want 3", n)
	}

	next, other := cl.failover(t, active, standbys)
	waitFor(t, 60*time.Second, next.name+" to answer for the leases", func() bool {
		_, err := next.client.Sys().LookupWithContext(context.Background(), ss[0].LeaseID)
		return err == nil
	})
	for _, s := range ss {
		if !keyWorks(t, f, str(t, s, "api_key")) {
			t.Fatalf("the failover ended the key of %s", s.LeaseID)
		}
		renew(t, next.client, s.LeaseID)
		revoke(t, next.client, s.LeaseID)
	}
	s := readCreds(t, other.client, "forticloud", "ci")
	revoke(t, other.client, s.LeaseID)
	if ls := leasesUnder(t, next.client, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left: %v", ls)
	}
	fgtFigures(t, f)
}
