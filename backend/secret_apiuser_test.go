package backend

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// The FortiGate's root api-user, whose key configs hold, and the fake's paths as fault paths.
const (
	fgtRoot = "vault-root"
	// fosUsers is the api-user table: creates, and as a prefix every read and delete of one.
	fosUsers = "/api/v2/cmdb/system/api-user"
	fosKey   = "/api/v2/monitor/system/api-user/generate-key"
	fosState = "/api/v2/monitor/system/status"
)

// fgt is a FortiGate config whose root is api-user fgtRoot (super_admin, trusting anywhere).
func (e *env) fgt() map[string]any {
	key := e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fgtRoot, Profile: fortitest.FortiOSSuperAdmin, VDOMs: []string{"root"}})
	return map[string]any{"type": "fortigate", "url": e.fake.URL, "api_key": key, "username": fgtRoot, "ca_cert": e.fake.CACertPEM}
}

// apiUserRole is an api_user role on config.
func apiUserRole(config string, kv ...any) map[string]any {
	return with(map[string]any{"config": config, "admin_profile": "read_only", "vdoms": "root,dmz",
		"trusted_hosts": "10.30.0.0/16,2001:db8::/48", "ttl": "30m", "max_ttl": "4h"}, kv...)
}

// fgtEnv is an env with FortiGate config c and api_user role r on it.
func fgtEnv(t *testing.T, role ...any) *env {
	t.Helper()
	e := newEnv(t)
	e.fake.AddFortiOSProfile("read_only", fortitest.FortiOSRead)
	e.fake.AddFortiOSVDOM("dmz")
	e.ok(logical.UpdateOperation, "config/c", e.fgt())
	e.ok(logical.UpdateOperation, "roles/r", apiUserRole("c", role...))
	return e
}

// apiUsersMade lists the api-users upstream but the root.
func (e *env) apiUsersMade() []string {
	return slices.DeleteFunc(e.fake.FortiOSAPIUsers(), func(n string) bool { return n == fgtRoot })
}

// noAPIUserLeft checks that no api-user the engine made, no record and no WAL entry is left.
func (e *env) noAPIUserLeft(config string) {
	e.t.Helper()
	ids, _ := framework.ListWAL(context.Background(), e.s)
	if m, r := e.apiUsersMade(), e.recorded(config); len(m) != 0 || len(r) != 0 || len(ids) != 0 {
		e.t.Fatalf("left behind: api-users %v, records %v, %d WAL entries", m, r, len(ids))
	}
}

// The whole life of an api-user, on firmware that takes a key expiry and on firmware that does
// not (refusing or ignoring it): creds make one as the role asks, whose key works; renew keeps
// it; revoke deletes it, and its key with it.
func TestAPIUserLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		ignored       bool
		expires       bool
	}{
		{"7.6, key expiry", "v7.6.0", false, true},
		{"7.4, expiry refused", "v7.4.4", false, false},
		{"7.4, expiry ignored", "v7.4.4", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fgtEnv(t)
			e.fake.SetFortiOSVersion(tc.version)
			e.fake.SetFortiOSExpiryIgnored(tc.ignored)
			start := time.Now()
			l := e.creds("r")
			name, _ := l.data["username"].(string)
			key, _ := l.data["api_key"].(string)
			if !strings.HasPrefix(name, "vault_r_") || len(name) > 35 || key == "" || l.data["url"] != e.fake.URL {
				t.Fatalf("creds answered %v", l.data)
			}
			if got := e.apiUsersMade(); !slices.Equal(got, []string{name}) {
				t.Fatalf("api-users made %v, want [%s]", got, name)
			}
			u, _ := e.fake.FortiOSAPIUser(name)
			hosts := []netip.Prefix{netip.MustParsePrefix("10.30.0.0/16"), netip.MustParsePrefix("2001:db8::/48")}
			if u.Profile != "read_only" || !slices.Equal(u.VDOMs, []string{"root", "dmz"}) || !slices.Equal(u.TrustHosts, hosts) ||
				!strings.Contains(u.Comments, "role r") {
				t.Fatalf("api-user upstream: %+v", u)
			}
			if !e.fake.FortiOSKeyValid(key) {
				t.Fatal("the answered key does not work")
			}
			// The key ends by itself just after max_ttl (4h), where the firmware can.
			if exp := u.KeyExpires; tc.expires != !exp.IsZero() ||
				tc.expires && (exp.Before(start.Add(4*time.Hour)) || exp.After(time.Now().Add(4*time.Hour+2*time.Minute))) {
				t.Fatalf("key expires at %v (issued %v), want at max_ttl: %v", exp, start, tc.expires)
			}
			if l.secret.TTL != 30*time.Minute || l.secret.MaxTTL != 4*time.Hour {
				t.Fatalf("lease TTLs %s/%s, want the role's", l.secret.TTL, l.secret.MaxTTL)
			}
			if resp, err := e.renew(l); err != nil || resp.IsError() {
				t.Fatalf("renew: %v %v", resp, err)
			}
			if err := e.revoke(l); err != nil {
				t.Fatal(err)
			}
			if e.fake.FortiOSKeyValid(key) {
				t.Fatal("the key outlived its revoke")
			}
			e.noAPIUserLeft("c")
		})
	}
}

// A lease longer than a FortiGate key may live (7 days) ends with its key.
func TestAPIUserLeaseWithinKeyExpiry(t *testing.T) {
	e := fgtEnv(t, "ttl", "240h", "max_ttl", "240h")
	resp := e.ok(logical.ReadOperation, "creds/r", nil)
	week := time.Duration(client.MaxKeyExpiry) * time.Minute
	if resp.Secret.TTL > week || resp.Secret.MaxTTL > week || len(resp.Warnings) == 0 {
		t.Fatalf("lease TTLs %s/%s, warnings %v: want within the key's %s", resp.Secret.TTL, resp.Secret.MaxTTL, resp.Warnings, week)
	}
	if err := e.revoke(lease{data: resp.Data, secret: storedSecret(t, resp.Secret)}); err != nil {
		t.Fatal(err)
	}
	e.noAPIUserLeft("c")
}

// Every upstream fault at every step of an api-user's creds fails the creds and leaves no
// api-user or record behind: deleted at once, or, where the fault keeps the delete from working
// too, by WAL rollback once the upstream is back.
func TestAPIUserFaults(t *testing.T) {
	faults := []struct {
		name string
		f    fortitest.Fault
	}{
		{"connection dropped", fortitest.Fault{Kind: fortitest.FaultDown}},
		{"5xx", fortitest.Fault{Kind: fortitest.Fault5xx}},
		{"done, then 5xx", fortitest.Fault{Kind: fortitest.FaultActThen5xx}},
		{"CLI error", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -651}},
		{"403", fortitest.Fault{Kind: fortitest.FaultCode, Status: 403}},
		{"unreadable", fortitest.Fault{Kind: fortitest.FaultBrokenJSON}},
	}
	for _, step := range []string{fosUsers, fosKey} {
		for _, fc := range faults {
			t.Run(step+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				e := fgtEnv(t)
				e.ok(logical.UpdateOperation, "config/c", map[string]any{"request_timeout": "1s"})
				f := fc.f
				f.Path = step // until cleared: retries meet it too
				e.fake.AddFault(f)
				e.fails(logical.ReadOperation, "creds/r", nil)
				e.fake.ClearFaults()
				// Where the fault's path holds the delete too, only the WAL entry covers the api-user.
				covered := step == fosUsers
				if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != map[bool]int{false: 0, true: 1}[covered] {
					t.Fatalf("%d WAL entries left, want one only where the delete met the fault too (%v)", len(ids), covered)
				}
				if !covered && len(e.apiUsersMade()) != 0 {
					t.Fatalf("api-users %v left after the failed creds", e.apiUsersMade())
				}
				rollback(t, e)
				e.noAPIUserLeft("c")
			})
		}
	}
}

// A failure once the create was sent, where the delete works, deletes the api-user before creds
// answer, and says what to check where the status tells.
func TestAPIUserUndoneAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    fortitest.Fault
		want string
	}{
		{"create refused", fortitest.Fault{Path: fosUsers, Kind: fortitest.FaultCode, Status: 403, Count: 1}, "must be allowed to manage api-users"},
		{"create done, its answer lost", fortitest.Fault{Path: fosUsers, Kind: fortitest.FaultActThen5xx, Count: 1}, ""},
		{"generate-key refused", fortitest.Fault{Path: fosKey, Kind: fortitest.FaultCode, Status: 403, Count: 1}, "must be allowed to manage api-users"},
		{"generate-key lost", fortitest.Fault{Path: fosKey, Kind: fortitest.FaultActThen5xx, Count: 1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fgtEnv(t)
			e.fake.ResetCalls()
			e.fake.AddFault(tc.f)
			e.fails(logical.ReadOperation, "creds/r", nil, tc.want)
			if e.fake.Calls(fosUsers) == 0 {
				t.Fatal("no create was sent: the test shows nothing")
			}
			e.noAPIUserLeft("c")
		})
	}
}

// A role whose profile or VDOM the FortiGate lacks: the create is refused (424), nothing is
// left, and the error says what to check.
func TestAPIUserMissingProfile(t *testing.T) {
	e := fgtEnv(t, "admin_profile", "no_such_profile")
	e.fails(logical.ReadOperation, "creds/r", nil, "admin_profile and vdoms exist")
	e.noAPIUserLeft("c")
}

// Whatever storage fails while an api-user is created, nothing is left upstream.
func TestAPIUserStorageFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		put, del string
		wal      int // entries left, for rollback
	}{
		{"WAL write fails", "wal/", "", 0},
		// The add went out beside the record: the undo deletes it by name, the name held.
		{"record write fails", adminPrefix, "", 0},
		{"WAL delete fails at hand-over", "", "wal/", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fgtEnv(t)
			fs := &faultyStorage{Storage: e.s}
			e.s = fs
			fs.failPut.Store(tc.put)
			fs.failDelete.Store(tc.del)
			e.fails(logical.ReadOperation, "creds/r", nil)
			fs.failPut.Store("")
			fs.failDelete.Store("")
			if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != tc.wal {
				t.Fatalf("%d WAL entries left, want %d", len(ids), tc.wal)
			}
			rollback(t, e)
			e.noAPIUserLeft("c")
		})
	}
}

// A caller that leaves while the api-user is created: the create runs to its answer, as a real
// FortiGate runs it, and the api-user is deleted at once; if that fails, by WAL rollback.
func TestAPIUserCallerLeavesMidCreate(t *testing.T) {
	const slow = 500 * time.Millisecond
	for _, undoFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "deleted at once", true: "delete fails"}[undoFails], func(t *testing.T) {
			e := fgtEnv(t)
			e.s = ctxStorage{e.s}
			e.fake.ResetCalls()
			e.fake.AddFault(fortitest.Fault{Path: fosUsers, Kind: fortitest.FaultSlow, Delay: slow, Count: 1})
			if undoFails {
				e.fake.AddFault(fortitest.Fault{Path: fosUsers + "/", Kind: fortitest.FaultDown})
			}
			ctx, cancel := context.WithTimeout(context.Background(), slow/5)
			defer cancel()
			resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: e.s})
			if err == nil && (resp == nil || !resp.IsError()) {
				t.Fatalf("creds succeeded for a caller that had left: %v", resp)
			}
			if e.fake.Handled(fosUsers) == 0 {
				t.Fatal("the create was not made: the test shows nothing")
			}
			if n := e.fake.Calls(fosKey); n != 0 {
				t.Fatalf("%d generate-key calls for a caller that had left", n)
			}
			wals, _ := framework.ListWAL(context.Background(), e.s)
			if undoFails {
				if len(wals) != 1 || len(e.apiUsersMade()) != 1 {
					t.Fatalf("%d WAL entries for %v, want 1 for the api-user nobody could delete", len(wals), e.apiUsersMade())
				}
				e.fake.ClearFaults()
				rollback(t, e)
			}
			e.noAPIUserLeft("c")
		})
	}
}

// A create the plugin did not live to finish, before or after its record was written beside it:
// WAL rollback deletes the api-user by the name its entry holds, with the config's key; without
// a record, only once the api-user's comments show the create's claim (an api-user of that name
// made otherwise, an operator's say, is left alone). An entry of before claims whose record was
// never written deletes nothing.
func TestAPIUserRolledBackByName(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recorded  bool
		claim     string
		createsIt bool
		comments  string // "" for the create's own
		calls     int    // to the api-user by rollback: a read, a delete
		left      bool   // the api-user is left upstream
	}{
		{"killed after the create and its record", true, "c1", true, "", 1, false},
		{"killed after the create, before its record", false, "c2", true, "", 2, false},
		{"an api-user of the name not its own", false, "c3", true, "made by hand", 1, true},
		{"an entry of before claims, never recorded", false, "", false, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fgtEnv(t)
			cc, err := e.b.config(context.Background(), e.s, "c")
			if err != nil {
				t.Fatal(err)
			}
			r, _ := e.b.role(context.Background(), e.s, "r")
			l := newLeaseInternal("c", "r", cc.entry, r)
			l.CredentialType, l.Admin, l.Claim = credAPIUser, "vault_r_crashed", tc.claim
			create := func() error {
				want, _ := r.apiUser(l.Admin, cmp.Or(tc.comments, apiUserComments("fgt/", "r", l.Claim)))
				return cc.conn.APIUsers.CreateAPIUser(context.Background(), want)
			}
			n, err := e.b.noteAdmin(context.Background(), e.s, apiUserKind(), l, e.b.holdName(l))
			switch {
			case err == nil && tc.recorded:
				err = n.create(create)
			case err == nil && tc.createsIt:
				err = create()
			}
			if err != nil {
				t.Fatal(err)
			}
			e.restart()
			e.fake.ResetCalls()
			rollback(t, e)
			if got := e.fake.Calls(fosUsers + "/" + l.Admin); got != tc.calls {
				t.Fatalf("%d calls to the api-user, want %d", got, tc.calls)
			}
			if got := e.apiUsersMade(); tc.left != slices.Contains(got, l.Admin) {
				t.Fatalf("api-users upstream %v; want %s left: %v", got, l.Admin, tc.left)
			}
			if !tc.left {
				e.noAPIUserLeft("c")
			}
		})
	}
}

// An api-user deleted outside Vault: renew refuses, saying so; revoke counts it as deleted.
func TestAPIUserDeletedOutOfBand(t *testing.T) {
	e := fgtEnv(t)
	l := e.creds("r")
	e.fake.DeleteFortiOSAPIUser(l.data["username"].(string))
	resp, err := e.renew(l)
	if err != nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), "no longer exists upstream") {
		t.Fatalf("renew of a deleted api-user: %v %v", resp, err)
	}
	if err := e.revoke(l); err != nil {
		t.Fatal(err)
	}
	e.noAPIUserLeft("c")
}

// A name taken upstream is another's: creds fail (409) and it is left alone.
func TestAPIUserNameTaken(t *testing.T) {
	e := fgtEnv(t)
	r, _ := readRole(context.Background(), e.s, "r")
	r.UsernameTemplate = "taken"
	entry, _ := logical.StorageEntryJSON(rolePrefix+"r", r)
	_ = e.s.Put(context.Background(), entry)
	e.b.dropRole("r")
	e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "taken", Profile: "read_only"})
	e.fails(logical.ReadOperation, "creds/r", nil, "left alone", "username_template")
	if !slices.Contains(e.fake.FortiOSAPIUsers(), "taken") {
		t.Fatal("the engine deleted an api-user that was not its own")
	}
	ids, _ := framework.ListWAL(context.Background(), e.s)
	if len(ids) != 0 || len(e.recorded("c")) != 0 {
		t.Fatalf("WAL entries %v, records %v left for an api-user never made", ids, e.recorded("c"))
	}
}

// Revoke works after the role is deleted and after the config's key changes (rotated by hand,
// then written); the config cannot be deleted or moved while its api-users live.
func TestAPIUserRevokeAfterChanges(t *testing.T) {
	e := fgtEnv(t)
	a, b := e.creds("r"), e.creds("r")
	e.ok(logical.DeleteOperation, "roles/r", nil)
	if err := e.revoke(a); err != nil {
		t.Fatalf("revoke after the role was deleted: %v", err)
	}
	newKey := e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fgtRoot, Profile: fortitest.FortiOSSuperAdmin, VDOMs: []string{"root"}})
	e.ok(logical.UpdateOperation, "config/c", map[string]any{"api_key": newKey})
	e.fails(logical.DeleteOperation, "config/c", nil, b.data["username"].(string), "vault lease revoke -prefix")
	e.fails(logical.UpdateOperation, "config/c", map[string]any{"url": "https://localhost:1", "api_key": newKey, "verify_connection": false}, "url:")
	if err := e.revoke(b); err != nil {
		t.Fatalf("revoke after the key changed: %v", err)
	}
	e.noAPIUserLeft("c")
	e.ok(logical.DeleteOperation, "config/c", nil)
}

// Role writes on a FortiGate config: api_user is the default and only type, its fields are
// checked naming the field, and fields of other types are refused.
func TestAPIUserRoleFields(t *testing.T) {
	e := fgtEnv(t)
	base := map[string]any{"config": "c", "admin_profile": "read_only"}
	for _, tc := range []struct {
		name string
		data map[string]any
		want []string
	}{
		{"no profile", with(base, "admin_profile", nil), []string{"admin_profile: required", "api_user"}},
		{"empty vdoms", with(base, "vdoms", ""), []string{"vdoms: none given"}},
		{"bad vdom", with(base, "vdoms", "root,a/b"), []string{"vdoms:", "a/b"}},
		{"adoms", with(base, "adoms", "root"), []string{"adoms: not used by credential_type api_user"}},
		{"rpc_permit", with(base, "rpc_permit", "read"), []string{"rpc_permit: not used"}},
		{"with_session", with(base, "with_session", false), []string{"with_session: not used"}},
		{"bad CIDR", with(base, "trusted_hosts", "10.0.0.1/8"), []string{"trusted_hosts:", "10.0.0.0/8"}},
		{"too many hosts", with(base, "trusted_hosts", manyHosts(65)), []string{"trusted_hosts: 65 given", "at most 64"}},
		{"long names", with(base, "username_template", "{{ .RoleName }}_{{ random 40 }}"), []string{"username_template", "35"}},
		{"session", with(base, "credential_type", "session"), []string{"credential_type", "api_user"}},
		{"dynamic_admin", with(base, "credential_type", "dynamic_admin"), []string{"credential_type", "fortianalyzer or fortimanager"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fails(logical.UpdateOperation, "roles/x", tc.data, tc.want...)
		})
	}
	resp := e.ok(logical.UpdateOperation, "roles/x", base)
	if len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "trusted_hosts: none given") {
		t.Fatalf("no warning of a key that works from anywhere: %v", resp)
	}
	e.ok(logical.UpdateOperation, "roles/y", with(base, "trusted_hosts", manyHosts(20)))
	got := e.ok(logical.ReadOperation, "roles/x", nil).Data
	if got["credential_type"] != credAPIUser || !slices.Equal(got["vdoms"].([]string), []string{"root"}) {
		t.Fatalf("role read: %v", got)
	}
	for _, k := range []string{"adoms", "rpc_permit", "with_session"} {
		if _, ok := got[k]; ok {
			t.Fatalf("role read shows %s, a field of another type: %v", k, got)
		}
	}
	// An api_user role on a FortiAnalyzer is refused.
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.fails(logical.UpdateOperation, "roles/z", with(base, "config", "faz", "credential_type", "api_user"), "credential_type", "fortigate")
}

// manyHosts is n distinct /32 CIDRs, comma separated.
func manyHosts(n int) string {
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = netip.AddrFrom4([4]byte{10, 1, byte(i / 256), byte(i % 256)}).String() + "/32"
	}
	return strings.Join(hosts, ",")
}

// FortiGate config writes: what is required and refused, naming the field, and what
// verify_connection refuses, saying what to fix.
func TestFortiGateConfig(t *testing.T) {
	e := newEnv(t)
	good := e.fgt()
	e.fake.AddFortiOSProfile("no_admin", fortitest.FortiOSRead)
	weak := e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "weak", Profile: "no_admin"})
	blind := e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "blind", Profile: "nothing"})
	e.fake.AddFortiOSProfile("nothing", fortitest.FortiOSNoAccess)
	far := e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "far", Profile: fortitest.FortiOSSuperAdmin,
		TrustHosts: []netip.Prefix{netip.MustParsePrefix("10.99.0.0/16")}})
	for _, tc := range []struct {
		name string
		data map[string]any
		want []string
	}{
		{"no username", with(good, "username", nil), []string{"username: required for type fortigate"}},
		{"no key", with(good, "api_key", nil), []string{"api_key: required"}},
		{"a password", with(good, "password", "x"), []string{"password: not used by auth_method api_key"}},
		{"another method", with(good, "auth_method", "local_user"), []string{"auth_method", "not supported by type fortigate"}},
		{"http", with(good, "url", "http://fw1.example.com"), []string{"url:", "https://"}},
		{"a path", with(good, "url", e.fake.URL+"/api"), []string{"url:", "has a path"}},
		{"a query", with(good, "url", e.fake.URL+"?access_token=x"), []string{"url:", "query"}},
		{"a wrong key", with(good, "api_key", "wrong-key-xyz"), []string{"verify_connection", "check api_key"}},
		{"a key from elsewhere", with(good, "api_key", far, "username", "far"), []string{"verify_connection", "trusthosts"}},
		{"a profile that may not manage api-users", with(good, "api_key", weak, "username", "weak"),
			[]string{"verify_connection", "read-write on administrators"}},
		{"a profile that may not read them", with(good, "api_key", blind, "username", "blind"),
			[]string{"verify_connection", "read-write on administrators"}},
		{"username of another", with(good, "username", "nobody"), []string{"verify_connection", `"nobody" does not exist`, "username must name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fails(logical.UpdateOperation, "config/x", tc.data, tc.want...)
		})
	}
	e.ok(logical.UpdateOperation, "config/x", with(good, "url", e.fake.URL+"/"))
	got := e.ok(logical.ReadOperation, "config/x", nil).Data
	if got["api_key_set"] != true || got["username"] != fgtRoot || got["auth_method"] != "api_key" || got["url"] != e.fake.URL {
		t.Fatalf("config read: %v", got)
	}
	if _, ok := got["api_key"]; ok {
		t.Fatal("a config read shows the key")
	}
	if got := e.ok(logical.ReadOperation, "roles/none", nil); got != nil {
		t.Fatalf("unexpected role: %v", got)
	}
	// A role that names no type gets api_user.
	e.fake.AddFortiOSProfile("read_only", fortitest.FortiOSRead)
	e.ok(logical.UpdateOperation, "roles/d", map[string]any{"config": "x", "admin_profile": "read_only", "trusted_hosts": "10.0.0.0/8"})
	if typ := e.ok(logical.ReadOperation, "roles/d", nil).Data["credential_type"]; typ != credAPIUser {
		t.Fatalf("a fortigate role's default type is %v", typ)
	}
}

// The record of an api-user deleted by hand (after a forced revoke, say) is dropped when the
// config is deleted: upstream says it is gone.
func TestAPIUserGoneRecordDropped(t *testing.T) {
	e := fgtEnv(t)
	l := e.creds("r")
	e.fake.DeleteFortiOSAPIUser(l.data["username"].(string))
	e.ok(logical.DeleteOperation, "roles/r", nil)
	e.ok(logical.DeleteOperation, "config/c", nil)
	if r := e.recorded("c"); len(r) != 0 {
		t.Fatalf("records %v left", r)
	}
}
