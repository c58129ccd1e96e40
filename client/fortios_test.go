package client_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	fosRoot     = "vault-root"
	fosLease    = "vault_ci_x1y2"
	fosReadOnly = "read_only"
	// Paths of the fake FortiGate, for faults and counters.
	fosStatusPath   = "/api/v2/monitor/system/status"
	fosUsersPath    = "/api/v2/cmdb/system/api-user"
	fosGenKeyPath   = "/api/v2/monitor/system/api-user/generate-key"
	fosNotPermitted = "not permitted (profile or trusthost)"
)

// fosFake is a fake FortiGate with a root api-user (super_admin), a read_only profile for the
// leases' api-users, and a client that holds the root's key.
type fosFake struct {
	s    *fortitest.Server
	c    *client.FortiOS
	tr   *client.Transport
	root string // the root's key
}

func newFOS(t *testing.T) fosFake {
	t.Helper()
	s := fortitest.NewServerT(t)
	s.AddFortiOSProfile(fosReadOnly, fortitest.FortiOSNoAccess)
	key := s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fosRoot, Profile: fortitest.FortiOSSuperAdmin, VDOMs: []string{"root"}})
	tr := newTransport(t, fastOptions(s))
	return fosFake{s: s, c: client.NewFortiOS(s.URL, key, tr), tr: tr, root: key}
}

// leaseUser is the api-user a lease asks for.
func leaseUser() client.APIUser {
	return client.APIUser{Name: fosLease, AccessProfile: fosReadOnly, VDOMs: []string{"root"},
		TrustedHosts: []string{"10.30.0.0/16", "2001:db8::/32"}, Comments: "vault lease of role ci-readonly"}
}

// create creates the lease's api-user, failing the test if that fails.
func (f fosFake) create(t *testing.T) {
	t.Helper()
	if err := f.c.CreateAPIUser(context.Background(), leaseUser()); err != nil {
		t.Fatalf("CreateAPIUser: %v", err)
	}
}

// wantMessage fails unless err's text holds want.
func wantMessage(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
}

func TestFortiOSStatus(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f fosFake) *client.FortiOS // the client to ask with; nil: f.c
		fault *fortitest.Fault
		kind  error // nil: success
		msg   string
		calls int
	}{
		{name: "ok", calls: 1},
		{name: "a wrong key", setup: func(f fosFake) *client.FortiOS { return client.NewFortiOS(f.s.URL, "Not-The-Key-0123456789", f.tr) },
			kind: client.ErrRefused, msg: "the API key is wrong, expired or missing", calls: 1},
		{name: "a key used outside its trusthosts", setup: func(f fosFake) *client.FortiOS {
			key := f.s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "remote", Profile: fortitest.FortiOSSuperAdmin,
				TrustHosts: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
			return client.NewFortiOS(f.s.URL, key, f.tr)
		}, kind: client.ErrRefused, msg: fosNotPermitted, calls: 1},
		{name: "a key of a deleted api-user", setup: func(f fosFake) *client.FortiOS {
			f.s.DeleteFortiOSAPIUser(fosRoot)
			return f.c
		}, kind: client.ErrRefused, msg: "wrong, expired or missing", calls: 1},
		{name: "503, then the answer", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.Fault5xx, Count: 1}, calls: 2},
		{name: "429 with Retry-After, then the answer", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.Fault429, RetryAfter: time.Second, Count: 1}, calls: 2},
		{name: "500 without a CLI error: retried", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultCode, Status: 500, Count: 1}, calls: 2},
		{name: "500 with a CLI error: the answer", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultCode, Status: 500, RPCCode: -651},
			kind: client.ErrRefused, calls: 1},
		{name: "an error said in a 200", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultCode, Status: 200, RPCCode: -651},
			kind: client.ErrRefused, calls: 1},
		{name: "an error said in a 200 without a CLI error", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultCode, Status: 200},
			kind: client.ErrRetryLater, calls: 1},
		{name: "424", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultCode, Status: 424},
			kind: client.ErrRefused, msg: "a dependency failed", calls: 1},
		{name: "an HTML page", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultHTML}, kind: client.ErrProtocol, calls: 1},
		{name: "broken JSON", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultBrokenJSON}, kind: client.ErrProtocol, calls: 1},
		{name: "an answer too large", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultHuge}, kind: client.ErrProtocol, calls: 1},
		{name: "a redirect is not followed", fault: &fortitest.Fault{Path: fosStatusPath, Kind: fortitest.FaultRedirect}, kind: client.ErrRefused, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFOS(t)
			c := f.c
			if tc.setup != nil {
				c = tc.setup(f)
			}
			if tc.fault != nil {
				f.s.AddFault(*tc.fault)
			}
			info, err := c.Status(context.Background())
			noSecrets(t, err, f.root)
			if got := f.s.Calls(fosStatusPath); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if f.s.Calls(fortitest.RedirectTarget) != 0 {
				t.Error("a redirect was followed")
			}
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
				if tc.msg != "" {
					wantMessage(t, err, tc.msg)
				}
				return
			}
			want := client.StatusInfo{Version: fortitest.DefaultFortiOSVersion, Build: 2662, Serial: fortitest.FortiOSSerial, Hostname: fortitest.FortiOSHostname}
			if err != nil || info != want {
				t.Errorf("Status = %+v, %v; want %+v", info, err, want)
			}
		})
	}
}

// TestFortiOSKeyNeverInURL: a base URL that would carry a secret, or send the key in clear, is
// refused before anything is sent.
func TestFortiOSKeyNeverInURL(t *testing.T) {
	f := newFOS(t)
	host := strings.TrimPrefix(f.s.URL, "https://")
	for _, tc := range []struct{ name, base string }{
		{"the key as access_token", f.s.URL + "/?access_token=" + f.root},
		{"any query", f.s.URL + "?vdom=root"},
		{"the key in the path", f.s.URL + "/" + f.root},
		{"the key as user info", "https://" + f.root + "@" + host},
		{"user info", "https://user:pass@" + host},
		{"a fragment", f.s.URL + "/#frag"},
		{"http", "http://" + host},
		{"not a URL", "https://" + host + "/%zz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.NewFortiOS(tc.base, f.root, f.tr).Status(context.Background())
			wantKind(t, err, client.ErrRefused)
			noSecrets(t, err, f.root, "pass")
		})
	}
	if n := f.s.Calls(fosStatusPath); n != 0 {
		t.Errorf("%d calls sent", n)
	}
	if _, err := client.NewFortiOS(f.s.URL, "", f.tr).Status(context.Background()); !errors.Is(err, client.ErrRefused) {
		t.Errorf("a call without a key: %v, want it refused before it is sent", err)
	}
	// The whole life of an api-user, and not one key in a URL.
	f.create(t)
	key, err := f.c.GenerateKey(context.Background(), fosLease, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CheckKey(context.Background(), key); err != nil && !errors.Is(err, client.ErrRefused) {
		t.Fatal(err)
	}
	if err := f.c.DeleteAPIUser(context.Background(), fosLease); err != nil {
		t.Fatal(err)
	}
	if n := f.s.FortiOSKeysInURL(); n != 0 {
		t.Errorf("%d requests carried a key in their URL", n)
	}
}

func TestFortiOSCreateAPIUser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(u *client.APIUser)
		setup  func(f fosFake)
		fault  *fortitest.Fault
		kind   error // nil: success
		exists bool  // the error carries ErrExists
		msg    string
		calls  int
		made   bool // the api-user exists afterwards
	}{
		{name: "ok", calls: 1, made: true},
		{name: "no trusthosts", edit: func(u *client.APIUser) { u.TrustedHosts = nil }, calls: 1, made: true},
		{name: "a name taken", setup: func(f fosFake) { _ = f.createNoT() }, kind: client.ErrExists, exists: true, msg: "duplicate", calls: 2, made: true},
		{name: "a profile that does not exist", edit: func(u *client.APIUser) { u.AccessProfile = "nope" }, kind: client.ErrRefused, msg: "a dependency failed", calls: 1},
		{name: "a VDOM that does not exist", edit: func(u *client.APIUser) { u.VDOMs = []string{"root", "nope"} }, kind: client.ErrRefused, msg: "a dependency failed", calls: 1},
		{name: "a root that may only read admins", setup: func(f fosFake) { f.s.AddFortiOSProfile(fortitest.FortiOSSuperAdmin, fortitest.FortiOSRead) },
			kind: client.ErrRefused, msg: fosNotPermitted, calls: 1},
		{name: "name too long", edit: func(u *client.APIUser) { u.Name = strings.Repeat("a", 36) }, kind: client.ErrRefused, msg: "name"},
		{name: "name with a dot", edit: func(u *client.APIUser) { u.Name = "a.b" }, kind: client.ErrRefused, msg: "name"},
		{name: "no profile", edit: func(u *client.APIUser) { u.AccessProfile = "" }, kind: client.ErrRefused, msg: "accprofile"},
		{name: "no VDOM", edit: func(u *client.APIUser) { u.VDOMs = nil }, kind: client.ErrRefused, msg: "vdom"},
		{name: "a VDOM with a slash", edit: func(u *client.APIUser) { u.VDOMs = []string{"a/b"} }, kind: client.ErrRefused, msg: "vdom"},
		{name: "not a CIDR", edit: func(u *client.APIUser) { u.TrustedHosts = []string{"10.0.0.0"} }, kind: client.ErrRefused, msg: "trusthost"},
		{name: "host bits", edit: func(u *client.APIUser) { u.TrustedHosts = []string{"10.0.0.1/8"} }, kind: client.ErrRefused, msg: "10.0.0.0/8?"},
		{name: "IPv4 in IPv6", edit: func(u *client.APIUser) { u.TrustedHosts = []string{"::ffff:10.0.0.0/104"} }, kind: client.ErrRefused, msg: "trusthost"},
		{name: "comments too long", edit: func(u *client.APIUser) { u.Comments = strings.Repeat("c", 256) }, kind: client.ErrRefused, msg: "comments"},
		{name: "503: surely not made, sent again", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.Fault5xx, Count: 1}, calls: 2, made: true},
		{name: "429: surely not made, sent again", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.Fault429, Count: 1}, calls: 2, made: true},
		{name: "made, then a gateway's 504: never sent again", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.FaultActThen5xx, Count: 1},
			kind: client.ErrRetryLater, calls: 1, made: true},
		{name: "500 without a CLI error: never sent again", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.FaultCode, Status: 500, Count: 1},
			kind: client.ErrRetryLater, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFOS(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			if tc.fault != nil {
				f.s.AddFault(*tc.fault)
			}
			u := leaseUser()
			if tc.edit != nil {
				tc.edit(&u)
			}
			err := f.c.CreateAPIUser(context.Background(), u)
			noSecrets(t, err, f.root)
			if got := f.s.Calls(fosUsersPath); got != tc.calls {
				t.Errorf("%d creates sent, want %d", got, tc.calls)
			}
			if _, made := f.s.FortiOSAPIUser(fosLease); made != tc.made {
				t.Errorf("the api-user exists: %v, want %v", made, tc.made)
			}
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("CreateAPIUser: %v", err)
				}
				got, ok := f.s.FortiOSAPIUser(u.Name)
				if !ok || got.Profile != u.AccessProfile || !slices.Equal(got.VDOMs, u.VDOMs) || got.Comments != u.Comments || len(got.TrustHosts) != len(u.TrustedHosts) {
					t.Errorf("the fake holds %+v, want %+v", got, u)
				}
				if f.s.FortiOSKey(u.Name) != "" {
					t.Error("the api-user was made with a key")
				}
				return
			}
			wantKind(t, err, tc.kind)
			if got := errors.Is(err, client.ErrExists); got != tc.exists {
				t.Errorf("errors.Is(err, ErrExists) = %v, want %v (%v)", got, tc.exists, err)
			}
			if tc.msg != "" {
				wantMessage(t, err, tc.msg)
			}
		})
	}
}

// createNoT is create for setups, which have no *testing.T: what it did shows in the test's
// counters.
func (f fosFake) createNoT() error { return f.c.CreateAPIUser(context.Background(), leaseUser()) }

func TestFortiOSGetAPIUser(t *testing.T) {
	f := newFOS(t)
	f.create(t)
	got, err := f.c.GetAPIUser(context.Background(), fosLease)
	if err != nil {
		t.Fatalf("GetAPIUser: %v", err)
	}
	if want := leaseUser(); got.Name != want.Name || got.AccessProfile != want.AccessProfile || got.Comments != want.Comments ||
		!slices.Equal(got.VDOMs, want.VDOMs) || !slices.Equal(got.TrustedHosts, want.TrustedHosts) {
		t.Errorf("read back %+v, want %+v", got, want)
	}
	// Any address, as FortiOS spells it in its table, reads as the widest CIDR.
	f.s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "wide", Profile: fosReadOnly,
		TrustHosts: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}})
	if got, err := f.c.GetAPIUser(context.Background(), "wide"); err != nil || !slices.Equal(got.TrustedHosts, []string{"0.0.0.0/0", "::/0"}) {
		t.Errorf("read back %+v, %v; want both any-address entries", got, err)
	}
	_, err = f.c.GetAPIUser(context.Background(), "nobody")
	wantKind(t, err, client.ErrGone)
	_, err = client.NewFortiOS(f.s.URL, "Not-The-Key-0123456789", f.tr).GetAPIUser(context.Background(), fosLease)
	wantKind(t, err, client.ErrRefused)
	f.s.AddFortiOSProfile(fortitest.FortiOSSuperAdmin, fortitest.FortiOSNoAccess)
	_, err = f.c.GetAPIUser(context.Background(), fosLease)
	wantKind(t, err, client.ErrRefused)
	wantMessage(t, err, fosNotPermitted)
	for _, name := range []string{"", "..", "a/b", "a\nb"} {
		if _, err := f.c.GetAPIUser(context.Background(), name); !errors.Is(err, client.ErrRefused) {
			t.Errorf("GetAPIUser(%q): %v, want it refused", name, err)
		}
	}
}

func TestFortiOSDeleteAPIUser(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f fosFake) *client.FortiOS // the client to delete with; nil: f.c
		fault *fortitest.Fault
		kind  error // nil: success
		calls int
		gone  bool // the api-user is gone afterwards
	}{
		{name: "ok", calls: 1, gone: true},
		{name: "already gone", setup: func(f fosFake) *client.FortiOS { f.s.DeleteFortiOSAPIUser(fosLease); return nil },
			kind: client.ErrGone, calls: 1, gone: true},
		{name: "a wrong root key is not gone", setup: func(f fosFake) *client.FortiOS {
			return client.NewFortiOS(f.s.URL, "Not-The-Key-0123456789", f.tr)
		}, kind: client.ErrRefused, calls: 1},
		{name: "the lease's own key, deleted, is not the root's", setup: func(f fosFake) *client.FortiOS {
			key, _ := f.c.GenerateKey(context.Background(), fosLease, 0)
			return client.NewFortiOS(f.s.URL, key, f.tr)
		}, kind: client.ErrRefused, calls: 1},
		{name: "a root that may only read admins", setup: func(f fosFake) *client.FortiOS {
			f.s.AddFortiOSProfile(fortitest.FortiOSSuperAdmin, fortitest.FortiOSRead)
			return nil
		}, kind: client.ErrRefused, calls: 1},
		{name: "a 404 that is not FortiOS's is not gone", setup: func(f fosFake) *client.FortiOS {
			return client.NewFortiOS(f.s.URL+"/not-a-fortigate", f.root, f.tr)
		}, kind: client.ErrRefused, calls: 0},
		{name: "-3 on a 500 is gone", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.FaultCode, Status: 500, RPCCode: -3},
			kind: client.ErrGone, calls: 1},
		{name: "503, then deleted", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.Fault5xx, Count: 1}, calls: 2, gone: true},
		{name: "deleted, the answer lost, then gone", fault: &fortitest.Fault{Path: fosUsersPath, Kind: fortitest.FaultActThen5xx, Count: 1},
			kind: client.ErrGone, calls: 2, gone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFOS(t)
			f.create(t)
			c := f.c
			if tc.setup != nil {
				if alt := tc.setup(f); alt != nil {
					c = alt
				}
			}
			if tc.fault != nil {
				f.s.AddFault(*tc.fault)
			}
			leaseKey := f.s.FortiOSKey(fosLease)
			err := c.DeleteAPIUser(context.Background(), fosLease)
			noSecrets(t, err, f.root, leaseKey)
			if got := f.s.Calls(fosUsersPath + "/" + fosLease); got != tc.calls {
				t.Errorf("%d deletes sent, want %d", got, tc.calls)
			}
			if _, exists := f.s.FortiOSAPIUser(fosLease); exists == tc.gone {
				t.Errorf("the api-user exists: %v, want %v", exists, !tc.gone)
			}
			if tc.gone && leaseKey != "" && f.s.FortiOSKeyValid(leaseKey) {
				t.Error("the deleted api-user's key still works")
			}
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("DeleteAPIUser: %v", err)
				}
				return
			}
			wantKind(t, err, tc.kind)
		})
	}
}

func TestFortiOSMayManageAPIUsers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		access fortitest.FortiOSAccess
		root   string // the name asked about
		ok     bool
		msg    string
	}{
		{"super_admin", fortitest.FortiOSReadWrite, fosRoot, true, ""},
		{"read only on admins", fortitest.FortiOSRead, fosRoot, false, "may not manage api-users"},
		{"no access to admins", fortitest.FortiOSNoAccess, fosRoot, false, fosNotPermitted},
		{"a name that is not the root's", fortitest.FortiOSReadWrite, "nobody", false, `"nobody" does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFOS(t)
			// A custom profile, as operators give the engine's root: not super_admin.
			f.s.AddFortiOSProfile("vault_admin", tc.access)
			key := f.s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fosRoot, Profile: "vault_admin", VDOMs: []string{"root"}})
			err := client.NewFortiOS(f.s.URL, key, f.tr).MayManageAPIUsers(context.Background(), tc.root)
			if tc.ok {
				if err != nil {
					t.Fatalf("MayManageAPIUsers: %v", err)
				}
				return
			}
			wantKind(t, err, client.ErrRefused)
			wantMessage(t, err, tc.msg)
		})
	}
	f := newFOS(t)
	if err := f.c.MayManageAPIUsers(context.Background(), fosRoot); err != nil {
		t.Errorf("the super_admin root: %v", err)
	}
}

// TestFortiGateClient: a fortigate config's client leases api-users, through an issuer that
// reports every operation.
func TestFortiGateClient(t *testing.T) {
	f := newFOS(t)
	p, ok := client.LookupProduct(client.TypeFortiGate)
	if !ok || p.Family != client.FamilyAPIUser || p.DefaultAuthMethod != client.AuthAPIKey || !p.UsesURL {
		t.Fatalf("product row %+v", p)
	}
	var ops []string
	conn, err := client.New(client.Settings{Type: client.TypeFortiGate, AuthMethod: client.AuthAPIKey, URL: f.s.URL, APIKey: f.root,
		TLS: client.TLSConfig{CACert: f.s.CACertPEM}, Timeout: 2 * time.Second,
		Observer: func(product, op, outcome string, _ time.Duration) { ops = append(ops, product+" "+op+" "+outcome) }})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.APIUsers == nil || conn.Sessions != nil || conn.Tokens != nil {
		t.Fatalf("issuers: api users %v, sessions %v, tokens %v", conn.APIUsers, conn.Sessions, conn.Tokens)
	}
	ctx := context.Background()
	if _, err := conn.APIUsers.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.APIUsers.CreateAPIUser(ctx, leaseUser()); err != nil {
		t.Fatal(err)
	}
	key, err := conn.APIUsers.GenerateKey(ctx, fosLease, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.APIUsers.CheckKey(ctx, key) // from 127.0.0.1, outside the lease's trusthosts
	wantKind(t, err, client.ErrRefused)
	if err := conn.APIUsers.DeleteAPIUser(ctx, fosLease); err != nil {
		t.Fatal(err)
	}
	want := []string{"fortigate status ok", "fortigate issue ok", "fortigate issue ok", "fortigate status refused", "fortigate revoke ok"}
	if !slices.Equal(ops, want) {
		t.Errorf("observed %q, want %q", ops, want)
	}
	if names := f.s.FortiOSAPIUsers(); !slices.Equal(names, []string{fosRoot}) {
		t.Errorf("api-users left: %q", names)
	}
}

func TestFortiOSGenerateKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(f fosFake)
		target  string // the api-user; "" for the lease's
		expiry  int
		fault   *fortitest.Fault
		kind    error // nil: success
		msg     string
		calls   int
		expires time.Duration // the key's lifetime upstream; 0: none
		// replaced says whether the previous key was replaced: with kind set, whether the call
		// made a key all the same.
		replaced bool
	}{
		{name: "no expiry", calls: 1, replaced: true},
		{name: "the key under api_key", setup: func(f fosFake) { f.s.SetFortiOSKeyField("api_key") }, calls: 1, replaced: true},
		{name: "7.6 takes the expiry", setup: func(f fosFake) { f.s.SetFortiOSVersion("v7.6.0") }, expiry: 30, calls: 1, expires: 30 * time.Minute, replaced: true},
		{name: "before 7.6, refused: once more without", expiry: 30, calls: 2, replaced: true},
		{name: "before 7.6, ignored", setup: func(f fosFake) { f.s.SetFortiOSExpiryIgnored(true) }, expiry: 30, calls: 1, replaced: true},
		{name: "input refused with 400: once more without", expiry: 30, calls: 2, replaced: true,
			setup: func(f fosFake) { f.s.SetFortiOSVersion("v7.6.1") },
			fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.FaultCode, Status: 400, RPCCode: -651, Count: 1}},
		{name: "no fallback without an expiry", fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.FaultCode, Status: 400, RPCCode: -651, Count: 1},
			kind: client.ErrRefused, calls: 1},
		{name: "no fallback after a 403", expiry: 30, fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.FaultCode, Status: 403, Count: 1},
			kind: client.ErrRefused, calls: 1},
		{name: "no fallback after -3", expiry: 30, fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.FaultCode, Status: 500, RPCCode: -3, Count: 1},
			kind: client.ErrGone, calls: 1},
		{name: "made, the answer lost: never sent again", expiry: 30, setup: func(f fosFake) { f.s.SetFortiOSVersion("v7.6.0") },
			fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.FaultActThen5xx, Count: 1},
			kind:  client.ErrRetryLater, calls: 1, replaced: true},
		{name: "made, the answer broken", fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.FaultBrokenJSON, Count: 1},
			kind: client.ErrProtocol, msg: "a key may have been made", calls: 1},
		{name: "503: surely not made, sent again", fault: &fortitest.Fault{Path: fosGenKeyPath, Kind: fortitest.Fault5xx, Count: 1}, calls: 2, replaced: true},
		{name: "an api-user that does not exist", target: "nobody", kind: client.ErrGone, calls: 1},
		{name: "the root's own key", target: fosRoot, calls: 1, replaced: true},
		{name: "the root's own key, refused", target: fosRoot, setup: func(f fosFake) { f.s.SetFortiOSOwnKeyRefused(true) },
			kind: client.ErrRefused, msg: fosNotPermitted, calls: 1},
		{name: "an expiry too long", expiry: client.MaxKeyExpiry + 1, kind: client.ErrRefused, msg: "expiry"},
		{name: "a negative expiry", expiry: -1, kind: client.ErrRefused, msg: "expiry"},
		{name: "a name with a slash", target: "a/b", kind: client.ErrRefused, msg: "api-user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFOS(t)
			f.create(t)
			target := cmpOr(tc.target, fosLease)
			first, err := f.c.GenerateKey(context.Background(), fosLease, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.s.ResetCalls()
			if tc.setup != nil {
				tc.setup(f)
			}
			if tc.fault != nil {
				f.s.AddFault(*tc.fault)
			}
			before := f.s.FortiOSKey(target)
			key, err := f.c.GenerateKey(context.Background(), target, tc.expiry)
			noSecrets(t, err, f.root, first, before, f.s.FortiOSKey(target))
			if got := f.s.Calls(fosGenKeyPath); got != tc.calls {
				t.Errorf("%d generate-key sent, want %d", got, tc.calls)
			}
			if got := f.s.FortiOSKey(target) != before; got != tc.replaced {
				t.Errorf("the key replaced upstream: %v, want %v", got, tc.replaced)
			}
			if tc.kind != nil {
				wantKind(t, err, tc.kind)
				if key != "" {
					t.Errorf("a key with an error")
				}
				if tc.msg != "" {
					wantMessage(t, err, tc.msg)
				}
				if !tc.replaced && before != "" && !f.s.FortiOSKeyValid(before) {
					t.Error("the previous key stopped working, though no key was made")
				}
				return
			}
			if err != nil {
				t.Fatalf("GenerateKey: %v", err)
			}
			if key == "" || key != f.s.FortiOSKey(target) || !f.s.FortiOSKeyValid(key) {
				t.Fatalf("the key answered is not the api-user's live key")
			}
			if f.s.FortiOSKeyValid(before) {
				t.Error("the previous key still works")
			}
			u, _ := f.s.FortiOSAPIUser(target)
			if got := !u.KeyExpires.IsZero(); got != (tc.expires > 0) {
				t.Fatalf("the key expires: %v, want %v", got, tc.expires > 0)
			}
			if tc.expires > 0 {
				// On the fake's clock: alive a minute before, dead a minute after.
				f.s.Advance(tc.expires - time.Minute)
				if !f.s.FortiOSKeyValid(key) {
					t.Error("the key died before its expiry")
				}
				f.s.Advance(2 * time.Minute)
				if f.s.FortiOSKeyValid(key) {
					t.Error("the key outlived its expiry")
				}
			}
		})
	}
}

// TestFortiOSCreatingCallsOutliveTheCaller: a create or a key generation, once sent, runs to its
// answer even when its caller gives up, and what it made is answered so that it can be ended.
func TestFortiOSCreatingCallsOutliveTheCaller(t *testing.T) {
	const slow = 400 * time.Millisecond
	for name, kind := range map[string]fortitest.FaultKind{"slow": fortitest.FaultSlow, "act then slow": fortitest.FaultActThenSlow} {
		t.Run(name+"/create", func(t *testing.T) {
			f := newFOS(t)
			f.s.AddFault(fortitest.Fault{Path: fosUsersPath, Kind: kind, Delay: slow})
			ctx, cancel := context.WithTimeout(context.Background(), slow/8)
			defer cancel()
			if err := f.c.CreateAPIUser(ctx, leaseUser()); err != nil {
				t.Fatalf("the create gave up with its caller: %v (the api-user exists upstream)", err)
			}
			if _, ok := f.s.FortiOSAPIUser(fosLease); !ok {
				t.Fatal("the create answered nil, and no api-user exists")
			}
		})
		t.Run(name+"/generate-key", func(t *testing.T) {
			f := newFOS(t)
			f.create(t)
			f.s.AddFault(fortitest.Fault{Path: fosGenKeyPath, Kind: kind, Delay: slow})
			ctx, cancel := context.WithTimeout(context.Background(), slow/8)
			defer cancel()
			key, err := f.c.GenerateKey(ctx, fosLease, 0)
			if err != nil || !f.s.FortiOSKeyValid(key) {
				t.Fatalf("the key generation gave up with its caller: %v (a key exists upstream)", err)
			}
		})
	}
	// A caller already gone sends nothing.
	f := newFOS(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f.c.CreateAPIUser(ctx, leaseUser())
	wantKind(t, err, client.ErrRetryLater)
	if n := f.s.Calls(fosUsersPath); n != 0 {
		t.Errorf("%d creates sent for a caller that had left", n)
	}
}

// cmpOr is v, or def when v is empty.
func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Firmware that refused an expiry once is asked none again by the same client: one call per
// key, not two.
func TestFortiOSGenerateKeyLearnsNoExpiry(t *testing.T) {
	f := newFOS(t)
	f.create(t)
	for i, want := range []int{2, 1, 1} {
		f.s.ResetCalls()
		if _, err := f.c.GenerateKey(context.Background(), fosLease, 30); err != nil {
			t.Fatal(err)
		}
		if got := f.s.Calls(fosGenKeyPath); got != want {
			t.Errorf("key %d: %d generate-key sent, want %d", i+1, got, want)
		}
	}
}
