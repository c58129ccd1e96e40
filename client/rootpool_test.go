package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const rootLogin = "jsonrpc:/sys/login/user"

// rootClient is a FAZ client of s whose root is a local user, keeping its sessions idle for idle
// (0: the default).
func rootClient(t *testing.T, s *fortitest.Server, idle time.Duration) *client.Client {
	t.Helper()
	return rootClientWith(t, s, func(st *client.Settings) { st.RootSessionIdle = idle })
}

// rootClientWith is rootClient with settings changed by set.
func rootClientWith(t *testing.T, s *fortitest.Server, set func(*client.Settings)) *client.Client {
	t.Helper()
	st := client.Settings{Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthLocalUser, URL: s.URL,
		Username: adminUser, Password: adminPass, TLS: client.TLSConfig{CACert: s.CACertPEM}, Timeout: 2 * time.Second}
	set(&st)
	conn, err := client.New(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// notes is a RootSessionNotes that keeps its notes in memory, and fails while fail is set.
type notes struct {
	mu   sync.Mutex
	live map[string]string // id → session
	n    int
	fail bool
}

func (n *notes) Note(_ context.Context, sid string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return "", errors.New("storage is down")
	}
	if n.live == nil {
		n.live = map[string]string{}
	}
	n.n++
	id := fmt.Sprint("note", n.n)
	n.live[id] = sid
	return id, nil
}

func (n *notes) Drop(_ context.Context, id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.live, id)
}

// sessions lists the sessions of the notes not dropped.
func (n *notes) sessions() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, sid := range n.live {
		out = append(out, sid)
	}
	return out
}

// asRoot runs fn in a root session lent by conn, given back after.
func asRoot(t *testing.T, conn *client.Client, fn func(client.Auth) error) error {
	t.Helper()
	ctx := context.Background()
	auth, err := conn.Admins.RootAuth(ctx)
	if err != nil {
		t.Fatalf("RootAuth: %v", err)
	}
	defer func() {
		if err := conn.Admins.EndRootAuth(ctx, auth); err != nil {
			t.Errorf("EndRootAuth: %v", err)
		}
	}()
	return fn(auth)
}

// TestRootSessionKept: callers one after another share one root login; callers at once each get
// a session, and those are kept for the next ones at once; Close logs every one out.
func TestRootSessionKept(t *testing.T) {
	s := newFake(t)
	s.AddADOM("soc")
	conn := rootClient(t, s, 0)
	ctx := context.Background()
	for i := range 5 {
		a := dynAdmin(t, "vault_kept_"+string(rune('a'+i)))
		err := asRoot(t, conn, func(auth client.Auth) error {
			if err := conn.Admins.AddAdmin(ctx, auth, a); err != nil {
				return err
			}
			if _, err := conn.Admins.GetAdmin(ctx, auth, a.Name); err != nil {
				return err
			}
			return conn.Admins.DeleteAdmin(ctx, auth, a.Name)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, live := s.Handled(rootLogin), s.LiveSessions(); n != 1 || live != 1 {
		t.Fatalf("5 callers in turn: %d root logins, %d sessions live; want 1 and 1", n, live)
	}
	for round := range 2 {
		var wg sync.WaitGroup
		held := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				_ = asRoot(t, conn, func(auth client.Auth) error {
					<-held // all four hold a session at once
					return conn.Admins.CheckAdminAccess(ctx, auth)
				})
			})
		}
		for s.Calls(rootLogin) < 4 && round == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond) // a fifth login, were one made, would be here by now
		close(held)
		wg.Wait()
		if n, live := s.Handled(rootLogin), s.LiveSessions(); n != 4 || live != 4 {
			t.Fatalf("round %d, 4 callers at once: %d root logins, %d sessions live; want 4 and 4", round, n, live)
		}
	}
	conn.Close()
	if live := s.LiveSessions(); live != 0 {
		t.Errorf("%d sessions live after Close", live)
	}
}

// TestRootSessionEndedUpstream: a kept session that upstream ended meanwhile answers the next
// call -11; the call is made once more in a new session, and does its work once. The old
// session is logged out (it may be alive, when -11 meant something else), the new one kept.
func TestRootSessionEndedUpstream(t *testing.T) {
	ends := []struct {
		name string
		end  func(s *fortitest.Server, sid string)
	}{
		{"ended", func(s *fortitest.Server, sid string) { s.ExpireSession(sid) }},
		{"idled out", func(s *fortitest.Server, _ string) { s.SetSessionIdle(time.Minute); s.Advance(2 * time.Minute) }},
	}
	calls := []struct {
		name string
		call func(context.Context, *client.Client, client.Auth, client.Admin) error
		made int // admins left, of the one the call names
	}{
		{"add", func(ctx context.Context, c *client.Client, auth client.Auth, a client.Admin) error {
			return c.Admins.AddAdmin(ctx, auth, a)
		}, 1},
		{"get", func(ctx context.Context, c *client.Client, auth client.Auth, a client.Admin) error {
			_, err := c.Admins.GetAdmin(ctx, auth, a.Name)
			return err
		}, 1},
		{"delete", func(ctx context.Context, c *client.Client, auth client.Auth, a client.Admin) error {
			return c.Admins.DeleteAdmin(ctx, auth, a.Name)
		}, 0},
		{"check access", func(ctx context.Context, c *client.Client, auth client.Auth, _ client.Admin) error {
			return c.Admins.CheckAdminAccess(ctx, auth)
		}, 1},
	}
	for _, e := range ends {
		for _, tc := range calls {
			t.Run(e.name+"/"+tc.name, func(t *testing.T) {
				s := newFake(t)
				s.AddADOM("soc")
				conn := rootClient(t, s, 0)
				ctx := context.Background()
				a := dynAdmin(t, "vault_gone_root")
				var first string
				if err := asRoot(t, conn, func(auth client.Auth) error {
					first = auth.Session
					if tc.name == "add" {
						return nil
					}
					return conn.Admins.AddAdmin(ctx, auth, a)
				}); err != nil {
					t.Fatal(err)
				}
				e.end(s, first)
				if err := asRoot(t, conn, func(auth client.Auth) error { return tc.call(ctx, conn, auth, a) }); err != nil {
					t.Fatalf("%s in a kept session upstream ended: %v", tc.name, err)
				}
				if n := s.Handled(rootLogin); n != 2 {
					t.Errorf("%d root logins, want 2", n)
				}
				if got := len(s.Admins()) - 1; got != tc.made || s.AdminsAdded() != 1 {
					t.Errorf("%d of the admin made (added %d times), want %d (added once)", got, s.AdminsAdded(), tc.made)
				}
				if s.SessionAlive(first) || s.LiveSessions() != 1 {
					t.Errorf("old session alive %v, %d live; want only the new one, kept", s.SessionAlive(first), s.LiveSessions())
				}
			})
		}
	}
}

// TestRootSessionNoRights: -11 in a new session is the root's rights, answered at once; in a kept
// one it is tried once more in a new session, which answers the same: never a third login.
func TestRootSessionNoRights(t *testing.T) {
	for _, kept := range []bool{false, true} {
		name := map[bool]string{false: "new session", true: "kept session"}[kept]
		t.Run(name, func(t *testing.T) {
			s := newFake(t)
			s.AddADOM("soc")
			conn := rootClient(t, s, 0)
			ctx := context.Background()
			if kept {
				if err := asRoot(t, conn, func(client.Auth) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			s.AddAdminProfile(adminUser, adminPass, fortitest.ProfileNoSystemSettings)
			err := asRoot(t, conn, func(auth client.Auth) error { return conn.Admins.AddAdmin(ctx, auth, dynAdmin(t, "vault_norights")) })
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Code != -11 || !errors.Is(err, client.ErrRefused) {
				t.Fatalf("AddAdmin by a root without rights: %v, want -11 refused", err)
			}
			wantLogins := map[bool]int{false: 1, true: 2}[kept]
			if n := s.Handled(rootLogin); n != wantLogins {
				t.Errorf("%d root logins, want %d", n, wantLogins)
			}
			if n := s.LiveSessions(); n != 1 || s.AdminsAdded() != 0 {
				t.Errorf("%d sessions live (want 1, kept), %d admins added", n, s.AdminsAdded())
			}
		})
	}
}

// TestRootSessionIdle: a session kept unused for RootSessionIdle is logged out; the next caller
// logs in anew. One given back after Close is logged out at once.
func TestRootSessionIdle(t *testing.T) {
	s := newFake(t)
	conn := rootClient(t, s, 20*time.Millisecond)
	ctx := context.Background()
	check := func(auth client.Auth) error { return conn.Admins.CheckAdminAccess(ctx, auth) }
	if err := asRoot(t, conn, check); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.LiveSessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the idle root session is still live")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s.Handled("jsonrpc:/sys/logout") != 1 {
		t.Errorf("%d logouts, want 1", s.Handled("jsonrpc:/sys/logout"))
	}
	auth, err := conn.Admins.RootAuth(ctx)
	if err != nil || check(auth) != nil {
		t.Fatalf("RootAuth after the idle logout: %v", err)
	}
	if n := s.Handled(rootLogin); n != 2 {
		t.Errorf("%d root logins, want 2", n)
	}
	conn.Close()
	if err := conn.Admins.EndRootAuth(ctx, auth); err != nil {
		t.Fatal(err)
	}
	if n := s.LiveSessions(); n != 0 {
		t.Errorf("a session given back after Close: %d live, want 0", n)
	}
}

// TestRootSessionNoted: every root session kept is noted before use and its note dropped once it
// is logged out: when it idles, when a kept one found gone is replaced, on Close. One whose note
// fails, or past its max age, is not kept; a failed logout keeps its note.
func TestRootSessionNoted(t *testing.T) {
	ctx := context.Background()
	check := func(conn *client.Client) func(client.Auth) error {
		return func(auth client.Auth) error { return conn.Admins.CheckAdminAccess(ctx, auth) }
	}
	t.Run("kept, replaced, closed", func(t *testing.T) {
		s := newFake(t)
		var n notes
		conn := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionNotes = &n })
		var first string
		if err := asRoot(t, conn, func(auth client.Auth) error { first = auth.Session; return check(conn)(auth) }); err != nil {
			t.Fatal(err)
		}
		if got := n.sessions(); !slices.Equal(got, []string{first}) {
			t.Fatalf("noted %d sessions, want the kept one", len(got))
		}
		s.ExpireSession(first)
		if err := asRoot(t, conn, check(conn)); err != nil {
			t.Fatal(err)
		}
		if got := n.sessions(); len(got) != 1 || got[0] == first || !s.SessionAlive(got[0]) {
			t.Fatalf("after the kept session was found gone: notes %d, the old one's dropped %v", len(got), !slices.Contains(got, first))
		}
		conn.Close()
		if got := n.sessions(); len(got) != 0 || s.LiveSessions() != 0 {
			t.Errorf("after Close: %d notes, %d sessions live; want none", len(got), s.LiveSessions())
		}
	})
	t.Run("note fails", func(t *testing.T) {
		s := newFake(t)
		n := notes{fail: true}
		conn := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionNotes = &n })
		for range 2 {
			if err := asRoot(t, conn, check(conn)); err != nil {
				t.Fatal(err)
			}
			if live := s.LiveSessions(); live != 0 {
				t.Fatalf("a session not noted was kept: %d live", live)
			}
		}
		if logins := s.Handled(rootLogin); logins != 2 {
			t.Errorf("%d logins, want 2: one per caller", logins)
		}
	})
	t.Run("max age", func(t *testing.T) {
		s := newFake(t)
		var n notes
		conn := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionNotes, st.RootSessionMaxAge = &n, time.Nanosecond })
		if err := asRoot(t, conn, check(conn)); err != nil {
			t.Fatal(err)
		}
		if live, left := s.LiveSessions(), n.sessions(); live != 0 || len(left) != 0 {
			t.Errorf("a session past its max age: %d live, %d notes; want none", live, len(left))
		}
	})
	t.Run("logout fails", func(t *testing.T) {
		s := newFake(t)
		var n notes
		conn := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionNotes = &n })
		if err := asRoot(t, conn, check(conn)); err != nil {
			t.Fatal(err)
		}
		s.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.Fault5xx})
		conn.Close()
		if left := n.sessions(); len(left) != 1 || !s.SessionAlive(left[0]) {
			t.Errorf("a session whose logout failed: %d notes; want its note kept", len(left))
		}
	})
}
