package client_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

// heard records what an Observer hears: "operation outcome" lines.
type heard struct {
	mu  sync.Mutex
	ops []string
}

func (h *heard) observe(_, op, outcome string, _ time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op+" "+outcome)
}

func (h *heard) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ops)
}

// TestAdminTableOfAConfig: a FAZ config's client manages admins as its root, by session
// (local_user) or key (api_key), and logs in as the admins it makes; the observer hears of it.
func TestAdminTableOfAConfig(t *testing.T) {
	for _, method := range []string{client.AuthLocalUser, client.AuthAPIKey} {
		t.Run(method, func(t *testing.T) {
			s := newFake(t)
			s.AddADOM("soc")
			var h heard
			conn, err := client.New(client.Settings{Type: client.TypeFortiAnalyzer, AuthMethod: method, URL: s.URL,
				Username: adminUser, Password: adminPass, APIKey: s.AddAPIKey(adminUser),
				TLS: client.TLSConfig{CACert: s.CACertPEM}, Timeout: 2 * time.Second, Observer: h.observe})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := context.Background()
			root, err := conn.Admins.RootAuth(ctx)
			if err != nil {
				t.Fatalf("RootAuth: %v", err)
			}
			if (root.Session != "") != (method == client.AuthLocalUser) || (root.APIKey != "") != (method == client.AuthAPIKey) {
				t.Fatalf("RootAuth for %s is a %s", method, root)
			}
			a := dynAdmin(t, "vault_cfg")
			if err := conn.Admins.CheckAdminAccess(ctx, root); err != nil {
				t.Fatalf("CheckAdminAccess: %v", err)
			}
			if err := conn.Admins.AddAdmin(ctx, root, a); err != nil {
				t.Fatalf("AddAdmin: %v", err)
			}
			if got, err := conn.Admins.GetAdmin(ctx, root, a.Name); err != nil || got.WiderThan(a) != "" {
				t.Fatalf("GetAdmin: %+v, %v", got, err)
			}
			sid, err := conn.Sessions.LoginAs(ctx, a.Name, a.Password)
			if err != nil || s.LiveSessionsOf(a.Name) != 1 {
				t.Fatalf("LoginAs: %v, %d sessions", err, s.LiveSessionsOf(a.Name))
			}
			if err := conn.Sessions.Logout(ctx, sid); err != nil {
				t.Fatal(err)
			}
			if err := conn.Admins.DeleteAdmin(ctx, root, a.Name); err != nil {
				t.Fatalf("DeleteAdmin: %v", err)
			}
			// The root's session is kept for the next caller, once however often it is given
			// back, and logged out when the client closes.
			kept := 0
			if method == client.AuthLocalUser {
				kept = 1
			}
			for range 2 {
				if err := conn.Admins.EndRootAuth(ctx, root); err != nil {
					t.Fatalf("EndRootAuth: %v", err)
				}
				if n := s.LiveSessions(); n != kept || len(s.Admins()) != 1 {
					t.Errorf("%d sessions (want the %d kept) and admins %v left", n, kept, s.Admins())
				}
			}
			conn.Close()
			if n := s.LiveSessions(); n != 0 {
				t.Errorf("%d sessions left after Close", n)
			}
			// A session not lent by RootAuth is logged out; one gone already counts as ended.
			if method == client.AuthLocalUser {
				if err := conn.Admins.EndRootAuth(ctx, client.Auth{Session: root.Session}); err != nil {
					t.Errorf("EndRootAuth of a session gone: %v", err)
				}
			}
			want := []string{"get_admin ok", "add_admin ok", "get_admin ok", "login ok", "logout ok", "delete_admin ok"}
			if method == client.AuthLocalUser {
				want = append(append([]string{"login ok"}, want...), "logout ok", "logout gone")
			}
			if got := h.list(); !slices.Equal(got, want) {
				t.Errorf("heard %v, want %v", got, want)
			}
		})
	}
}

// TestAPIKeyConfigOpensNoSession: an api_key config's Login is refused saying why, and a root
// that cannot manage admins is refused by RootAuth, both without a call.
func TestAPIKeyConfigOpensNoSession(t *testing.T) {
	s := newFake(t)
	key := s.AddAPIKey(adminUser)
	dial := func(method, key string) *client.Client {
		conn, err := client.New(client.Settings{Type: client.TypeFortiManager, AuthMethod: method, URL: s.URL,
			APIKey: key, Token: cloudToken, TLS: client.TLSConfig{CACert: s.CACertPEM}, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Close)
		return conn
	}
	_, err := dial(client.AuthAPIKey, key).Sessions.Login(context.Background())
	wantKind(t, err, client.ErrRefused)
	if !strings.Contains(err.Error(), "api_key opens no session") {
		t.Errorf("error %q does not say why", err)
	}
	noSecrets(t, err, key)
	for _, tc := range []struct{ method, key, says string }{
		{client.AuthForticloudToken, "", "cannot manage admins"},
		{client.AuthAPIKey, "", "api_key is empty"},
	} {
		_, err := dial(tc.method, tc.key).Admins.RootAuth(context.Background())
		wantKind(t, err, client.ErrRefused)
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: error %q does not say %q", tc.method, err, tc.says)
		}
		noSecrets(t, err, cloudToken)
	}
	if n := s.Calls("/jsonrpc"); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}
