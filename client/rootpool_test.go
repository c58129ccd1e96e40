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

// TestRootSessionNoRights: -11 to a new session is the root's rights, answered at once. -11 to a
// kept one is told apart by its logout: alive, the answer stands too, with no new login, and the
// session is not kept.
func TestRootSessionNoRights(t *testing.T) {
	for _, tc := range []struct {
		name         string
		kept         bool
		live, logout int
	}{
		{"new session", false, 1, 0},
		{"kept session", true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t)
			s.AddADOM("soc")
			conn := rootClient(t, s, 0)
			ctx := context.Background()
			if tc.kept {
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
			if n := s.Handled(rootLogin); n != 1 {
				t.Errorf("%d root logins, want 1", n)
			}
			if n, out := s.LiveSessions(), s.Handled("jsonrpc:/sys/logout"); n != tc.live || out != tc.logout || s.AdminsAdded() != 0 {
				t.Errorf("%d sessions live, %d logouts, %d admins added; want %d, %d, 0", n, out, s.AdminsAdded(), tc.live, tc.logout)
			}
		})
	}
}

// TestRootSessionsAllGone: when every kept session has ended upstream (a reboot), a call goes
// through them, logging each out, to a new session: done once, with one login.
func TestRootSessionsAllGone(t *testing.T) {
	s := newFake(t)
	s.AddADOM("soc")
	conn := rootClient(t, s, 0)
	ctx := context.Background()
	var sids []string
	var wg sync.WaitGroup
	held := make(chan struct{})
	var mu sync.Mutex
	for range 2 {
		wg.Go(func() {
			_ = asRoot(t, conn, func(auth client.Auth) error {
				mu.Lock()
				sids = append(sids, auth.Session)
				mu.Unlock()
				<-held
				return nil
			})
		})
	}
	for s.Handled(rootLogin) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(held)
	wg.Wait()
	for _, sid := range sids {
		s.ExpireSession(sid)
	}
	a := dynAdmin(t, "vault_after_reboot")
	if err := asRoot(t, conn, func(auth client.Auth) error { return conn.Admins.AddAdmin(ctx, auth, a) }); err != nil {
		t.Fatalf("AddAdmin after every kept session ended: %v", err)
	}
	if n, live := s.Handled(rootLogin), s.LiveSessions(); n != 3 || live != 1 || s.AdminsAdded() != 1 {
		t.Errorf("%d root logins, %d live, %d admins added; want 3, 1 (kept), 1", n, live, s.AdminsAdded())
	}
}

// TestRootSessionSlots: the clients given one RootSessionSlots never hold more root sessions
// live than it has slots, kept ones included: a caller waits for one given back (and is lent
// it), or for a slot another client frees by closing; while ctx lasts.
func TestRootSessionSlots(t *testing.T) {
	s := newFake(t)
	ctx := context.Background()
	slots := make(chan struct{}, 1)
	a := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionSlots = slots })
	b := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionSlots = slots })
	held, err := a.Admins.RootAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan client.Auth)
	go func() {
		auth, err := a.Admins.RootAuth(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- auth
	}()
	time.Sleep(20 * time.Millisecond) // the second caller waits; were it to log in, it would by now
	if n := s.Handled(rootLogin); n != 1 {
		t.Fatalf("%d root logins with one slot held, want 1", n)
	}
	_ = a.Admins.EndRootAuth(ctx, held)
	second := <-got
	if second.Session != held.Session || s.Handled(rootLogin) != 1 {
		t.Fatalf("the waiting caller was not lent the session given back (%d logins)", s.Handled(rootLogin))
	}
	_ = a.Admins.EndRootAuth(ctx, second) // kept by a: the slot stays taken
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.Admins.RootAuth(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("another client of the same slots, while a keeps the only session: %v, want to wait until its deadline", err)
	}
	a.Close()
	auth, err := b.Admins.RootAuth(ctx)
	if err != nil || s.LiveSessions() != 1 {
		t.Fatalf("once a closed: %v, %d live; want b's own session alone", err, s.LiveSessions())
	}
	_ = b.Admins.EndRootAuth(ctx, auth)
}

// TestRootSessionsClosedAtOnce: Close logs every kept session out at the same time, so that an
// upstream slow to answer delays it by one logout, not one per session.
func TestRootSessionsClosedAtOnce(t *testing.T) {
	s := newFake(t)
	conn := rootClient(t, s, 0)
	var wg sync.WaitGroup
	held := make(chan struct{})
	for range 4 {
		wg.Go(func() { _ = asRoot(t, conn, func(client.Auth) error { <-held; return nil }) })
	}
	for s.Handled(rootLogin) < 4 {
		time.Sleep(time.Millisecond)
	}
	close(held)
	wg.Wait()
	s.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.FaultSlow, Delay: 2 * time.Second})
	closed := make(chan struct{})
	go func() { conn.Close(); close(closed) }()
	// One after another, the fourth logout would arrive once three had their answers.
	for s.Calls("jsonrpc:/sys/logout") < 4 {
		select {
		case <-closed:
			t.Fatalf("Close returned after %d logouts of 4", s.Calls("jsonrpc:/sys/logout"))
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if n := s.Handled("jsonrpc:/sys/logout"); n != 0 {
		t.Errorf("the fourth logout arrived after %d had been answered: Close logs out one after another", n)
	}
	<-closed
	if n := s.LiveSessions(); n != 0 {
		t.Errorf("%d sessions live after Close", n)
	}
}

// TestRootSessionMaxAge: a session past its max age is logged out, not lent again, however
// short its idle.
func TestRootSessionMaxAge(t *testing.T) {
	s := newFake(t)
	conn := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionIdle, st.RootSessionMaxAge = time.Hour, 100*time.Millisecond })
	check := func(auth client.Auth) error { return conn.Admins.CheckAdminAccess(context.Background(), auth) }
	if err := asRoot(t, conn, check); err != nil {
		t.Fatal(err)
	}
	first := s.Handled(rootLogin)
	time.Sleep(150 * time.Millisecond)
	if err := asRoot(t, conn, check); err != nil {
		t.Fatal(err)
	}
	if n := s.Handled(rootLogin) - first; n != 1 {
		t.Errorf("%d new root logins after the max age, want 1: the old session was lent again", n)
	}
	waitLive(t, s, 0) // the old one is logged out; the new one within its max age
}

// waitLive waits for s to have n sessions live.
func waitLive(t *testing.T, s *fortitest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.LiveSessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions live, want %d", s.LiveSessions(), n)
		}
		time.Sleep(5 * time.Millisecond)
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
	t.Run("idle", func(t *testing.T) {
		s := newFake(t)
		var n notes
		conn := rootClientWith(t, s, func(st *client.Settings) { st.RootSessionNotes, st.RootSessionIdle = &n, 20*time.Millisecond })
		if err := asRoot(t, conn, check(conn)); err != nil {
			t.Fatal(err)
		}
		waitLive(t, s, 0)
		// The note is dropped once the logout's answer is in, after the fake counts it out.
		deadline := time.Now().Add(5 * time.Second)
		for len(n.sessions()) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("a session logged out once idle: %d notes left, want none", len(n.sessions()))
			}
			time.Sleep(5 * time.Millisecond)
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
