package client_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	adminAddURL = "jsonrpc:/cli/global/system/admin/user"
	dynPass     = "Dyn-Adm1n-Passw0rd!xyz"
	viewerUser  = "viewer"
	viewerPass  = "V1ewer-Passw0rd!xyz"
)

// prefixes parses CIDRs, failing the test on a bad one.
func prefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// dynAdmin is an admin as a dynamic_admin role asks for it: two ADOMs, loopback trusted (where
// the tests connect from).
func dynAdmin(t *testing.T, name string) client.Admin {
	return client.Admin{Name: name, Password: dynPass, Profile: "Restricted_User", ADOMs: []string{"root", "soc"},
		TrustedHosts: prefixes(t, "127.0.0.0/8", "::1/128"), RPCPermit: client.RPCReadWrite}
}

// adminSetup is setup with the ADOM soc and a session of the root admin.
func adminSetup(t *testing.T) (clients, client.Auth) {
	t.Helper()
	c := setup(t)
	c.s.AddADOM("soc")
	c.s.AddAdminProfile(viewerUser, viewerPass, fortitest.ProfileNoSystemSettings)
	return c, client.Auth{Session: loginAs(t, c, adminUser, adminPass, true)}
}

// TestAddAdminFirmware: on each kind of firmware the add goes through, with adom-access where it
// is known and without it after a -10, and the read-back tells whether the ADOM list bound.
func TestAddAdminFirmware(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fw    fortitest.ADOMFirmware
		adds  int    // add calls
		wider string // in the read-back's WiderThan; "" for none
	}{
		{"adom-access known", fortitest.ADOMAccessKnown, 1, ""},
		{"adom-access refused", fortitest.ADOMAccessRefused, 2, ""},
		{"adom-access ignored, the list unbound", fortitest.ADOMAccessIgnored, 1, "every ADOM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, root := adminSetup(t)
			c.s.SetADOMFirmware(tc.fw)
			want := dynAdmin(t, "vault_soc_1")
			if err := c.faz.AddAdmin(context.Background(), root, want); err != nil {
				t.Fatalf("AddAdmin: %v", err)
			}
			if got := c.s.Calls(adminAddURL); got != tc.adds {
				t.Errorf("%d add calls, want %d", got, tc.adds)
			}
			got, err := c.faz.GetAdmin(context.Background(), root, want.Name)
			if err != nil {
				t.Fatalf("GetAdmin: %v", err)
			}
			why := got.WiderThan(want)
			if tc.wider == "" && why != "" || !strings.Contains(why, tc.wider) {
				t.Errorf("WiderThan = %q, want %q", why, tc.wider)
			}
			if got.Password != "" {
				t.Error("GetAdmin read a password back")
			}
			// The new admin logs in, with its own session, as trusted hosts allow.
			sid, err := c.faz.LoginUser(context.Background(), want.Name, want.Password)
			if err != nil || c.s.LiveSessionsOf(want.Name) != 1 {
				t.Fatalf("login as the new admin: %v, %d sessions", err, c.s.LiveSessionsOf(want.Name))
			}
			noSecrets(t, err, sid)
		})
	}
}

// TestAddAdminReadBack: what GetAdmin reads is what AddAdmin sent, trusted hosts normalised to
// prefixes; families the role gives no host of are shut, not left open.
func TestAddAdminReadBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts []string
		adoms []string
		want  []string // trusted hosts read back
	}{
		{"both families", []string{"127.0.0.0/8", "10.20.0.0/16", "::1/128"}, []string{"root"}, []string{"127.0.0.0/8", "10.20.0.0/16", "::1/128"}},
		{"IPv4 only: IPv6 shut", []string{"127.0.0.1/32"}, []string{"root", "soc"}, []string{"127.0.0.1/32"}},
		{"host bits masked", []string{"127.1.2.3/8"}, []string{"root"}, []string{"127.0.0.0/8"}},
		{"no trusted hosts: any address", nil, []string{"root"}, []string{"0.0.0.0/0", "::/0"}},
		{"every ADOM", nil, []string{client.AllADOMs}, []string{"0.0.0.0/0", "::/0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, root := adminSetup(t)
			want := dynAdmin(t, "vault_rb")
			want.TrustedHosts, want.ADOMs, want.RPCPermit = prefixes(t, tc.hosts...), tc.adoms, client.RPCRead
			if err := c.faz.AddAdmin(context.Background(), root, want); err != nil {
				t.Fatalf("AddAdmin: %v", err)
			}
			got, err := c.faz.GetAdmin(context.Background(), root, want.Name)
			if err != nil {
				t.Fatalf("GetAdmin: %v", err)
			}
			if got.Name != want.Name || got.Profile != want.Profile || got.RPCPermit != client.RPCRead || !slices.Equal(got.ADOMs, tc.adoms) {
				t.Errorf("read back %+v, want %+v", got, want)
			}
			if !slices.Equal(got.TrustedHosts, prefixes(t, tc.want...)) {
				t.Errorf("trusted hosts %v, want %v", got.TrustedHosts, tc.want)
			}
			if why := got.WiderThan(want); why != "" {
				t.Errorf("the admin as asked reads back wider: %s", why)
			}
		})
	}
}

// TestAddAdminRefused: every refusal is an error of its kind, nothing is left behind, and no
// secret shows.
func TestAddAdminRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, c clients, root client.Auth) (client.Auth, client.Admin)
		kind    error
		says    string
		calls   int
		admins  int // in the table afterwards, the root and the viewer included
	}{
		{"exists", func(t *testing.T, c clients, root client.Auth) (client.Auth, client.Admin) {
			return root, dynAdmin(t, viewerUser)
		}, client.ErrExists, `admin "viewer" already exists`, 1, 2},
		{"unknown profile, both ways", func(t *testing.T, c clients, root client.Auth) (client.Auth, client.Admin) {
			a := dynAdmin(t, "vault_x")
			a.Profile = "Nobody"
			return root, a
		}, client.ErrRefused, "with adom-access", 2, 2},
		{"unknown ADOM, old firmware", func(t *testing.T, c clients, root client.Auth) (client.Auth, client.Admin) {
			c.s.SetADOMFirmware(fortitest.ADOMAccessRefused)
			a := dynAdmin(t, "vault_x")
			a.ADOMs = []string{"nowhere"}
			return root, a
		}, client.ErrRefused, "invalid data", 2, 2},
		{"a profile that may not manage admins", func(t *testing.T, c clients, _ client.Auth) (client.Auth, client.Admin) {
			return client.Auth{Session: loginAs(t, c, viewerUser, viewerPass, true)}, dynAdmin(t, "vault_x")
		}, client.ErrRefused, "may not manage admins", 1, 2},
		{"the root's session gone", func(t *testing.T, c clients, root client.Auth) (client.Auth, client.Admin) {
			c.s.ExpireSession(root.Session)
			return root, dynAdmin(t, "vault_x")
		}, client.ErrRefused, "session is gone", 1, 2},
		{"the key of an admin that may not manage admins", func(t *testing.T, c clients, _ client.Auth) (client.Auth, client.Admin) {
			return client.Auth{APIKey: c.s.AddAPIKey(viewerUser)}, dynAdmin(t, "vault_x")
		}, client.ErrRefused, "no permission", 1, 2},
		{"an unknown key", func(t *testing.T, c clients, _ client.Auth) (client.Auth, client.Admin) {
			return client.Auth{APIKey: "Unknown-Api-Key-0123456789"}, dynAdmin(t, "vault_x")
		}, client.ErrRefused, "HTTP 401", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, root := adminSetup(t)
			auth, a := tc.prepare(t, c, root)
			err := c.faz.AddAdmin(context.Background(), auth, a)
			wantKind(t, err, tc.kind)
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			noSecrets(t, err, a.Password, auth.Session, auth.APIKey, adminPass)
			if got := c.s.Calls(adminAddURL); got != tc.calls {
				t.Errorf("%d add calls, want %d", got, tc.calls)
			}
			if got := c.s.Admins(); len(got) != tc.admins {
				t.Errorf("admins %v after a refused add", got)
			}
		})
	}
}

func TestAddAdminBadArguments(t *testing.T) {
	c, root := adminSetup(t)
	for _, tc := range []struct {
		name  string
		auth  client.Auth
		edit  func(a *client.Admin)
		field string
	}{
		{"no auth", client.Auth{}, func(*client.Admin) {}, "auth"},
		{"both auths", client.Auth{Session: root.Session, APIKey: "k-0123456789"}, func(*client.Admin) {}, "auth"},
		{"key with a newline", client.Auth{APIKey: "k-0123\n456789"}, func(*client.Admin) {}, "auth"},
		{"no name", root, func(a *client.Admin) { a.Name = "" }, "admin name"},
		{"long name", root, func(a *client.Admin) { a.Name = strings.Repeat("a", 36) }, "admin name"},
		{"name with a dot", root, func(a *client.Admin) { a.Name = "vault.x" }, "admin name"},
		{"no password", root, func(a *client.Admin) { a.Password = "" }, "password"},
		{"no profile", root, func(a *client.Admin) { a.Profile = " " }, "profile"},
		{"no ADOM", root, func(a *client.Admin) { a.ADOMs = nil }, "adoms"},
		{"empty ADOM", root, func(a *client.Admin) { a.ADOMs = []string{"root", ""} }, "adoms"},
		{"rpc-permit none", root, func(a *client.Admin) { a.RPCPermit = "none" }, "rpc-permit"},
		{"11 IPv4 hosts", root, func(a *client.Admin) {
			a.TrustedHosts = nil
			for i := range 11 {
				a.TrustedHosts = append(a.TrustedHosts, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
			}
		}, "trusted hosts"},
		{"IPv4 as IPv6", root, func(a *client.Admin) { a.TrustedHosts = prefixes(t, "::ffff:10.0.0.0/104") }, "trusted hosts"},
		{"invalid prefix", root, func(a *client.Admin) { a.TrustedHosts = []netip.Prefix{{}} }, "trusted hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := dynAdmin(t, "vault_bad")
			tc.edit(&a)
			err := c.faz.AddAdmin(context.Background(), tc.auth, a)
			wantKind(t, err, client.ErrRefused)
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
			noSecrets(t, err, dynPass, root.Session, "k-0123456789")
		})
	}
	if got := c.s.Calls(adminAddURL); got != 0 {
		t.Errorf("%d add calls for bad arguments, want none", got)
	}
}

// TestAddAdminCallerLeaves: an add whose caller leaves once it was sent runs to its answer, and
// reports the admin created; a -10 answered after the caller left is not followed by a second
// add for nobody.
func TestAddAdminCallerLeaves(t *testing.T) {
	const slow = 400 * time.Millisecond
	for _, tc := range []struct {
		name    string
		fw      fortitest.ADOMFirmware
		fault   fortitest.FaultKind
		created bool
	}{
		{"created, answered late", fortitest.ADOMAccessKnown, fortitest.FaultActThenSlow, true},
		{"slow, then created", fortitest.ADOMAccessKnown, fortitest.FaultSlow, true},
		{"refused with -10 after the caller left", fortitest.ADOMAccessRefused, fortitest.FaultSlow, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, root := adminSetup(t)
			c.s.SetADOMFirmware(tc.fw)
			c.s.AddFault(fortitest.Fault{Path: adminAddURL, Kind: tc.fault, Delay: slow, Count: 1})
			ctx, cancel := context.WithTimeout(context.Background(), slow/8)
			defer cancel()
			a := dynAdmin(t, "vault_leaves")
			err := c.faz.AddAdmin(ctx, root, a)
			exists := slices.Contains(c.s.Admins(), a.Name)
			if tc.created && (err != nil || !exists) {
				t.Fatalf("AddAdmin: %v, admin exists %v: want it created and reported so", err, exists)
			}
			if !tc.created {
				wantKind(t, err, client.ErrRetryLater)
				if exists || c.s.Calls(adminAddURL) != 1 {
					t.Errorf("admin exists %v after %d adds, want no second add for nobody", exists, c.s.Calls(adminAddURL))
				}
			}
		})
	}
}

// TestAddAdminAnswerLost: an add whose answer is lost after it took effect is not repeated
// blindly; the caller's own retry then meets -2 on its own name, which is its admin.
func TestAddAdminAnswerLost(t *testing.T) {
	c, root := adminSetup(t)
	c.s.AddFault(fortitest.Fault{Path: adminAddURL, Kind: fortitest.FaultActThen5xx, Status: 504, Count: 1})
	a := dynAdmin(t, "vault_lost")
	wantKind(t, c.faz.AddAdmin(context.Background(), root, a), client.ErrRetryLater)
	if n := c.s.Calls(adminAddURL); n != 1 || !slices.Contains(c.s.Admins(), a.Name) {
		t.Fatalf("%d adds, admins %v: want one add that created the admin", n, c.s.Admins())
	}
	wantKind(t, c.faz.AddAdmin(context.Background(), root, a), client.ErrExists)
}

func TestGetAdmin(t *testing.T) {
	c, root := adminSetup(t)
	got, err := c.faz.GetAdmin(context.Background(), root, adminUser)
	if err != nil {
		t.Fatal(err)
	}
	// A seeded admin: every ADOM, any address.
	if got.Profile != "Super_User" || got.ADOMAccess != "all" || !slices.Equal(got.TrustedHosts, prefixes(t, "0.0.0.0/0", "::/0")) {
		t.Errorf("root read back as %+v", got)
	}
	for _, tc := range []struct {
		name string
		auth client.Auth
		user string
		kind error
	}{
		{"missing", root, "nobody", client.ErrGone},
		{"viewer's session", client.Auth{Session: loginAs(t, c, viewerUser, viewerPass, true)}, adminUser, client.ErrRefused},
		{"a name with a slash", root, "a/b", client.ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.faz.GetAdmin(context.Background(), tc.auth, tc.user)
			wantKind(t, err, tc.kind)
			noSecrets(t, err, tc.auth.Session, root.Session)
		})
	}
}

// TestGetAdminUnreadable: an answer that is not an admin, or is another admin, is ErrProtocol.
func TestGetAdminUnreadable(t *testing.T) {
	for _, tc := range []struct{ name, url, data string }{
		{"not an admin", "/cli/global/system/admin/user/admin", `"nonsense"`},
		{"another admin", "/cli/global/system/admin/user/admin", `{"userid":"other"}`},
		{"a trusted host unreadable", "/cli/global/system/admin/user/admin", `{"userid":"admin","trusthost1":"10.0.0.0 255.0.255.0"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := client.Auth{Session: "Session-0123456789"}
			faz := rpcWithAnswer(t, `{"id":1,"result":[{"status":{"code":0,"message":"OK"},"url":"`+tc.url+`","data":`+tc.data+`}]}`)
			_, err := faz.GetAdmin(context.Background(), root, adminUser)
			wantKind(t, err, client.ErrProtocol)
		})
	}
}

func TestDeleteAdmin(t *testing.T) {
	c, root := adminSetup(t)
	a := dynAdmin(t, "vault_del")
	if err := c.faz.AddAdmin(context.Background(), root, a); err != nil {
		t.Fatal(err)
	}
	key := c.s.AddAPIKey(a.Name)
	sid := loginAs(t, c, a.Name, a.Password, true)
	viewer := client.Auth{Session: loginAs(t, c, viewerUser, viewerPass, true)}
	wantKind(t, c.faz.DeleteAdmin(context.Background(), viewer, a.Name), client.ErrRefused)
	if err := c.faz.DeleteAdmin(context.Background(), root, a.Name); err != nil {
		t.Fatalf("DeleteAdmin: %v", err)
	}
	if slices.Contains(c.s.Admins(), a.Name) || c.s.SessionAlive(sid) {
		t.Errorf("after the delete: admins %v, its session alive %v", c.s.Admins(), c.s.SessionAlive(sid))
	}
	// Already gone counts as deleted for the caller; its key died with it.
	err := c.faz.DeleteAdmin(context.Background(), root, a.Name)
	wantKind(t, err, client.ErrGone)
	wantKind(t, c.faz.CheckAdminAccess(context.Background(), client.Auth{APIKey: key}), client.ErrRefused)
}

// TestAdminCallsWithKey: with the root's API key every admin call works without a session.
func TestAdminCallsWithKey(t *testing.T) {
	c, _ := adminSetup(t)
	key := client.Auth{APIKey: c.s.AddAPIKey(adminUser)}
	a := dynAdmin(t, "vault_key")
	ctx := context.Background()
	sessions := c.s.LiveSessions() // the root's, from adminSetup
	if err := c.faz.CheckAdminAccess(ctx, key); err != nil {
		t.Fatalf("CheckAdminAccess: %v", err)
	}
	if err := c.faz.AddAdmin(ctx, key, a); err != nil {
		t.Fatalf("AddAdmin: %v", err)
	}
	if got, err := c.faz.GetAdmin(ctx, key, a.Name); err != nil || got.WiderThan(a) != "" {
		t.Fatalf("GetAdmin: %+v, %v", got, err)
	}
	if err := c.faz.DeleteAdmin(ctx, key, a.Name); err != nil {
		t.Fatalf("DeleteAdmin: %v", err)
	}
	if n := c.s.LiveSessions(); n != sessions {
		t.Errorf("%d sessions open, %d before: a key opens none", n, sessions)
	}
	viewerKey := client.Auth{APIKey: c.s.AddAPIKey(viewerUser)}
	err := c.faz.CheckAdminAccess(ctx, viewerKey)
	wantKind(t, err, client.ErrRefused)
	if !strings.Contains(err.Error(), "admin profile must") {
		t.Errorf("error %q does not say what the root needs", err)
	}
	noSecrets(t, err, viewerKey.APIKey)
}

// TestLoginAsTrustedHosts: a created admin logs in only from an address it trusts, and an
// admin read-only over JSON-RPC may not change the admin table.
func TestLoginAsTrustedHosts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hosts []string
		login bool
	}{
		{"loopback trusted", []string{"127.0.0.1/32", "::1/128"}, true},
		{"elsewhere only", []string{"10.20.0.0/16"}, false},
		{"IPv6 elsewhere only", []string{"2001:db8::/32"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, root := adminSetup(t)
			a := dynAdmin(t, "vault_th")
			a.TrustedHosts = prefixes(t, tc.hosts...)
			if err := c.faz.AddAdmin(context.Background(), root, a); err != nil {
				t.Fatal(err)
			}
			sid := loginAs(t, c, a.Name, a.Password, tc.login)
			if sid != "" {
				err := c.faz.AddAdmin(context.Background(), client.Auth{Session: sid}, dynAdmin(t, "vault_th2"))
				wantKind(t, err, client.ErrRefused) // Restricted_User may not manage admins
			}
		})
	}
}

// TestAuthPrintsNoSecret: an Auth in a log line shows its kind, never its value.
func TestAuthPrintsNoSecret(t *testing.T) {
	for _, a := range []client.Auth{{Session: "Session-Secret-123"}, {APIKey: "Key-Secret-123"}} {
		for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
			if out := fmt.Sprintf(f, a); strings.Contains(out, "Secret") {
				t.Errorf("%s of an Auth prints %q", f, out)
			}
		}
	}
}

// seen is a request a stub server received.
type seen struct {
	rawURL, authorization string
	body                  map[string]any
}

// stubRPC is a JSON-RPC client of a server that answers every call with answer and records
// what it received.
func stubRPC(t *testing.T, answer string) (*client.JSONRPC, func() []seen) {
	t.Helper()
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, seen{r.URL.String(), r.Header.Get("Authorization"), body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	tr := newTransport(t, client.Options{TLS: client.TLSConfig{CACert: ca}, Timeout: 2 * time.Second, MaxAttempts: 1})
	return client.NewJSONRPC("fortianalyzer", srv.URL, tr), func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// rpcWithAnswer is stubRPC for tests that read the answer only.
func rpcWithAnswer(t *testing.T, answer string) *client.JSONRPC {
	faz, _ := stubRPC(t, answer)
	return faz
}

// TestAuthOnTheWire: a key goes as Bearer with a null session, a session in the body and no
// Authorization; neither ever in the URL.
func TestAuthOnTheWire(t *testing.T) {
	const key, sid = "Key-On-The-Wire-0123456789", "Session-On-The-Wire-0123456789"
	for _, tc := range []struct {
		auth        client.Auth
		wantBearer  string
		wantSession any
	}{
		{client.Auth{APIKey: key}, "Bearer " + key, nil},
		{client.Auth{Session: sid}, "", sid},
	} {
		t.Run(tc.auth.String(), func(t *testing.T) {
			faz, got := stubRPC(t, `{"id":1,"result":[{"status":{"code":0,"message":"OK"}}]}`)
			if err := faz.DeleteAdmin(context.Background(), tc.auth, "vault_x"); err != nil {
				t.Fatal(err)
			}
			reqs := got()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			session, present := r.body["session"]
			if r.authorization != tc.wantBearer || !present || session != tc.wantSession {
				t.Errorf("Authorization %q, session %v (present %v); want %q, %v", r.authorization, session, present, tc.wantBearer, tc.wantSession)
			}
			if strings.Contains(r.rawURL, key) || strings.Contains(r.rawURL, sid) || r.rawURL != "/jsonrpc" {
				t.Errorf("request URL %q", r.rawURL)
			}
		})
	}
}

// TestAddAdminOnTheWire: what an add sends: adom-access first, the list alone after a -10,
// every trusted-host slot filled ("none" where the role gives no host), a forced password
// change off.
func TestAddAdminOnTheWire(t *testing.T) {
	faz, got := stubRPC(t, `{"id":1,"result":[{"status":{"code":-10,"message":"invalid field"}}]}`)
	a := dynAdmin(t, "vault_wire")
	a.TrustedHosts = prefixes(t, "10.20.0.0/16", "192.0.2.7/32")
	err := faz.AddAdmin(context.Background(), client.Auth{Session: "Session-0123456789"}, a)
	wantKind(t, err, client.ErrRefused)
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("%d adds, want 2", len(reqs))
	}
	for i, r := range reqs {
		params, _ := r.body["params"].([]any)
		p, _ := params[0].(map[string]any)
		d, _ := p["data"].(map[string]any)
		if r.body["method"] != "add" || p["url"] != "/cli/global/system/admin/user" {
			t.Fatalf("add %d: %v", i, r.body)
		}
		want := map[string]any{"userid": "vault_wire", "password": dynPass, "profileid": "Restricted_User",
			"rpc-permit": "read-write", "user_type": "local", "force-password-change": "disable",
			"trusthost1": "10.20.0.0 255.255.0.0", "trusthost2": "192.0.2.7 255.255.255.255",
			"trusthost3": "255.255.255.255 255.255.255.255", "trusthost10": "255.255.255.255 255.255.255.255",
			"ipv6_trusthost1": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ipv6_trusthost10": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("add %d: %s = %v, want %v", i, k, d[k], v)
			}
		}
		if adoms, _ := json.Marshal(d["adom"]); string(adoms) != `[{"adom-name":"root"},{"adom-name":"soc"}]` {
			t.Errorf("add %d: adom %s", i, adoms)
		}
		if access, ok := d["adom-access"]; (i == 0) != ok || ok && access != "specify" {
			t.Errorf("add %d: adom-access %v (sent %v), want specify in the first add only", i, access, ok)
		}
		if len(d) != 7+20+1-i {
			t.Errorf("add %d: %d fields, want %d", i, len(d), 7+20+1-i)
		}
	}
}
