package backend

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// faultyStorage fails the operations a test picks, on keys with a given prefix.
type faultyStorage struct {
	logical.Storage
	failPut    atomic.Value // key prefix, or ""
	failDelete atomic.Value
	onPut      atomic.Value // func(key string), run before each Put
}

var errInjected = errors.New("injected storage fault")

func (f *faultyStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	if fn, _ := f.onPut.Load().(func(string)); fn != nil {
		fn(e.Key)
	}
	if p, _ := f.failPut.Load().(string); p != "" && strings.HasPrefix(e.Key, p) {
		return errInjected
	}
	return f.Storage.Put(ctx, e)
}

// commitThenFail stores a Put under the prefix and still answers an error, as a storage
// timeout after the write committed does.
type commitThenFail struct {
	logical.Storage
	prefix string
}

func (f *commitThenFail) Put(ctx context.Context, e *logical.StorageEntry) error {
	if err := f.Storage.Put(ctx, e); err != nil {
		return err
	}
	if f.prefix != "" && strings.HasPrefix(e.Key, f.prefix) {
		return errInjected
	}
	return nil
}

func (f *faultyStorage) Delete(ctx context.Context, key string) error {
	if p, _ := f.failDelete.Load().(string); p != "" && strings.HasPrefix(key, p) {
		return errInjected
	}
	return f.Storage.Delete(ctx, key)
}

// Whatever fails between the upstream login and Vault holding the lease, nothing stays live.
func TestNoLeakOnStorageFaults(t *testing.T) {
	kinds := []struct {
		name   string
		config func(*env) map[string]any
		live   func(*env) int
	}{
		{"session", (*env).fazLocal, func(e *env) int { return e.fake.LiveSessions() }},
		{"token", (*env).lanEmail, func(e *env) int { return e.fake.LiveLANTokens() }},
		{"shared", (*env).lanAPIUser, func(e *env) int { return e.fake.LiveOAuthTokens() }},
	}
	faults := []struct {
		name          string
		put, del      string
		upstreamDown  bool // the immediate undo fails too, leaving it to rollback
		leftForWAL    int
		cancelContext bool
	}{
		{name: "WAL write fails", put: "wal/"},
		{name: "WAL delete fails", del: "wal/", leftForWAL: 1}, // undone at once; the entry finds it gone
		{name: "WAL delete fails and upstream down", del: "wal/", upstreamDown: true, leftForWAL: 1},
		{name: "request cancelled", cancelContext: true},
	}
	for _, k := range kinds {
		for _, f := range faults {
			t.Run(k.name+"/"+f.name, func(t *testing.T) {
				e := newEnv(t)
				fs := &faultyStorage{Storage: e.s}
				e.s = fs
				e.ok(logical.UpdateOperation, "config/c", with(k.config(e), "request_timeout", "1s"))
				e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
				fs.failPut.Store(f.put)
				fs.failDelete.Store(f.del)
				if f.upstreamDown {
					// Logins succeed; logouts and invalidations fail.
					e.fake.AddFault(faultForUndo(k.name))
				}
				ctx, cancel := context.WithCancel(context.Background())
				req := &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: e.s}
				if f.cancelContext {
					// The caller goes away once the upstream answered, as the WAL is written.
					fs.onPut.Store(func(key string) {
						if strings.HasPrefix(key, "wal/") {
							cancel()
						}
					})
				}
				resp, err := e.b.HandleRequest(ctx, req)
				cancel()
				if err == nil && (resp == nil || !resp.IsError()) {
					t.Fatalf("creds succeeded despite the fault: %v", resp)
				}
				fs.failPut.Store("")
				fs.failDelete.Store("")
				e.fake.ClearFaults()
				fs.onPut.Store(func(string) {})

				wals, _ := framework.ListWAL(context.Background(), e.s)
				if len(wals) != f.leftForWAL {
					t.Fatalf("%d WAL entries left, want %d", len(wals), f.leftForWAL)
				}
				if f.upstreamDown {
					if n := k.live(e); n == 0 {
						t.Fatal("nothing live before rollback: the test shows nothing")
					}
				} else if n := k.live(e); n != 0 {
					t.Fatalf("%d credentials live upstream right after the failed creds", n)
				}
				rollback(t, e)
				if n := k.live(e); n != 0 {
					t.Fatalf("%d credentials live upstream without a lease", n)
				}
			})
		}
	}
}

func faultForUndo(kind string) fortitest.Fault {
	switch kind {
	case "session":
		return fortitest.Fault{Kind: fortitest.FaultDown, Path: "jsonrpc:/sys/logout"}
	case "token":
		return fortitest.Fault{Kind: fortitest.FaultDown, Path: "/api/v1/auth/invalidate_token"}
	}
	return fortitest.Fault{Kind: fortitest.FaultDown, Path: "/api/v1/oauth/revoke_token/"}
}

// rollback runs the WAL rollback as Vault's rollback manager does, for every entry.
func rollback(t *testing.T, e *env) {
	t.Helper()
	ids, err := framework.ListWAL(context.Background(), e.s)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		w, err := framework.GetWAL(context.Background(), e.s, id)
		if err != nil || w == nil {
			t.Fatal(err)
		}
		if err := e.b.walRollback(context.Background(), &logical.Request{Storage: e.s}, w.Kind, w.Data); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if err := framework.DeleteWAL(context.Background(), e.s, id); err != nil {
			t.Fatal(err)
		}
	}
}

// The real rollback path: Vault calls the backend's rollback operation, which acts only on
// entries older than the minimum age.
func TestWALRollbackOperation(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	conn, err := e.b.config(context.Background(), e.s, "faz")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := conn.conn.Sessions.Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := newLeaseInternal("faz", "", conn.entry, nil)
	l.Session = sid
	if _, err := framework.PutWAL(context.Background(), e.s, sessionKind().name, l.toMap()); err != nil {
		t.Fatal(err)
	}
	req := &logical.Request{Operation: logical.RollbackOperation, Path: "", Storage: e.s,
		Data: map[string]any{"immediate": true}}
	if _, err := e.b.HandleRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if e.fake.SessionAlive(sid) {
		t.Fatal("rollback left the session live")
	}
	if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != 0 {
		t.Fatalf("%d WAL entries left after a successful rollback", len(ids))
	}

	// An entry whose credential cannot be ended stays, for the next round; one too old to
	// matter is dropped.
	sid, _ = conn.conn.Sessions.Login(context.Background())
	l.Session = sid
	e.fake.AddFault(fortitest.Fault{Kind: fortitest.FaultDown})
	framework.PutWAL(context.Background(), e.s, sessionKind().name, l.toMap())
	e.b.HandleRequest(context.Background(), req)
	if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != 1 {
		t.Fatalf("%d WAL entries after a failed rollback, want 1", len(ids))
	}
	ids, _ := framework.ListWAL(context.Background(), e.s)
	framework.DeleteWAL(context.Background(), e.s, ids[0])
	l.IssuedAt = time.Now().Add(-25 * time.Hour).Unix()
	framework.PutWAL(context.Background(), e.s, sessionKind().name, l.toMap())
	e.b.HandleRequest(context.Background(), req)
	if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != 0 {
		t.Fatalf("an entry past %s was kept", walGiveUp)
	}
}

// A FAZ Cloud login whose OAuth token could not be revoked after the exchange still hands out
// its session, and leaves a WAL entry whose rollback revokes the token.
func TestLeftoverOAuthTokenRolledBack(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", with(e.fazAPIUser(), "request_timeout", "1s"))
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	e.fake.AddFault(fortitest.Fault{Path: "/api/v1/oauth/revoke_token", Kind: fortitest.FaultDown})
	l := e.creds("r")
	e.fake.ClearFaults()
	if !e.fake.SessionAlive(l.data["session"].(string)) {
		t.Fatal("the session is not live")
	}
	if n := e.fake.LiveOAuthTokens(); n != 1 {
		t.Fatalf("%d OAuth tokens live, want the 1 left over", n)
	}
	ids, _ := framework.ListWAL(context.Background(), e.s)
	if len(ids) != 1 {
		t.Fatalf("%d WAL entries, want 1 for the left-over token", len(ids))
	}
	rollback(t, e)
	if n := e.fake.LiveOAuthTokens(); n != 0 {
		t.Fatalf("%d OAuth tokens live after rollback", n)
	}
	if !e.fake.SessionAlive(l.data["session"].(string)) {
		t.Fatal("rollback ended the leased session")
	}
	if m, want := e.metrics(), `forticloud_upstream_requests_total{product="fortianalyzer",operation="revoke",outcome="ok"} 1`; !strings.Contains(m, want+"\n") {
		t.Errorf("the rollback's revoke is not in the metrics: want %s in\n%s", want, m)
	}
	if strings.Contains(e.logs.String(), "do-not-leak") {
		t.Fatal("a secret in the logs")
	}
}

// A FAZ Cloud login whose exchange fails after IAM minted the OAuth token, and whose revoke of
// that token fails too, still leaves a WAL entry whose rollback revokes it.
func TestFailedExchangeOAuthTokenRolledBack(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", with(e.fazAPIUser(), "request_timeout", "1s"))
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	e.fake.AddFault(fortitest.Fault{Path: "/p/forticloud_jsonrpc_login", Kind: fortitest.FaultCode, Status: 400})
	e.fake.AddFault(fortitest.Fault{Path: "/api/v1/oauth/revoke_token", Kind: fortitest.FaultDown})
	if _, err := e.do(logical.ReadOperation, "creds/r", nil); err == nil {
		t.Fatal("creds succeeded though the exchange failed")
	}
	e.fake.ClearFaults()
	if n := e.fake.LiveOAuthTokens(); n != 1 {
		t.Fatalf("%d OAuth tokens live, want the 1 left over", n)
	}
	if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != 1 {
		t.Fatalf("%d WAL entries, want 1 for the left-over token", len(ids))
	}
	rollback(t, e)
	if n := e.fake.LiveOAuthTokens(); n != 0 {
		t.Fatalf("%d OAuth tokens live after rollback", n)
	}
}

// A take of a shared token is given back exactly once: when the WAL entry cannot be deleted,
// undo gives it back at once and a later rollback of the same entry does nothing, so the token
// other leases hold lives on. And a crash between the count and the hand-over (the entry left,
// nothing undone) is given back by rollback.
func TestShareTakeGivenBackOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(fs *faultyStorage)
	}{
		{"WAL delete fails", func(fs *faultyStorage) { fs.failDelete.Store("wal/") }},
		{"share write fails", func(fs *faultyStorage) { fs.failPut.Store(sharePrefix) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			fs := &faultyStorage{Storage: e.s}
			e.s = fs
			l1, tok := e.sharedLease(t)
			tc.setup(fs)
			if _, err := e.do(logical.ReadOperation, "creds/r", nil); err == nil {
				t.Fatal("creds succeeded through the storage fault")
			}
			fs.failDelete.Store("")
			fs.failPut.Store("")
			rollback(t, e)
			e.lastRevokeEndsToken(t, l1, tok)
		})
	}
}

// A crash after the share counted a take, before the hand-over: rollback of the WAL entry gives
// the take back, so the last real lease still revokes the token.
func TestShareTakeRolledBackAfterCrash(t *testing.T) {
	e := newEnv(t)
	l1, tok := e.sharedLease(t)
	c, err := e.b.config(context.Background(), e.s, "c")
	if err != nil {
		t.Fatal(err)
	}
	// What issueShared does up to the crash: the WAL entry, then the count.
	l := newLeaseInternal("c", "r", c.entry, nil)
	l.Shared, l.Take = true, "crashed-take"
	if _, err := framework.PutWAL(context.Background(), e.s, shareKind().name, l.toMap()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.takeShare(context.Background(), e.s, l, c); err != nil {
		t.Fatal(err)
	}
	rollback(t, e)
	e.lastRevokeEndsToken(t, l1, tok)
}

// A share write that failed yet committed leaves the take counted: giving it back must follow,
// or the last real lease never revokes the token.
func TestShareTakeWriteCommittedThenFailed(t *testing.T) {
	e := newEnv(t)
	cs := &commitThenFail{Storage: e.s}
	e.s = cs
	l1, tok := e.sharedLease(t)
	cs.prefix = sharePrefix
	if _, err := e.do(logical.ReadOperation, "creds/r", nil); err == nil {
		t.Fatal("creds succeeded though the share write failed")
	}
	cs.prefix = ""
	rollback(t, e)
	e.lastRevokeEndsToken(t, l1, tok)
}

// A share WAL entry written before takes were named (the take counted first, the entry after,
// holding the token) still gives its take back.
func TestShareLegacyWALEntry(t *testing.T) {
	e := newEnv(t)
	l1, tok := e.sharedLease(t)
	c, err := e.b.config(context.Background(), e.s, "c")
	if err != nil {
		t.Fatal(err)
	}
	l := newLeaseInternal("c", "r", c.entry, nil)
	l.Shared, l.AccessToken = true, tok
	key := l.shareKey()
	sh, err := readShare(context.Background(), e.s, key)
	if err != nil || sh == nil {
		t.Fatal(sh, err)
	}
	sh.Leases++
	if err := writeShare(context.Background(), e.s, key, sh); err != nil {
		t.Fatal(err)
	}
	if _, err := framework.PutWAL(context.Background(), e.s, shareKind().name, l.toMap()); err != nil {
		t.Fatal(err)
	}
	rollback(t, e)
	e.lastRevokeEndsToken(t, l1, tok)
}

// sharedLease writes config/c (a FortiLAN API user) and roles/r, and issues one lease of the
// API user's shared token.
func (e *env) sharedLease(t *testing.T) (lease, string) {
	t.Helper()
	e.ok(logical.UpdateOperation, "config/c", e.lanAPIUser())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
	l := e.creds("r")
	e.b.settles.Wait() // its take settled, before a test injects faults
	return l, l.data["access_token"].(string)
}

// ctxStorage fails every operation whose context has ended, as Vault's storage over gRPC does.
type ctxStorage struct{ logical.Storage }

func (c ctxStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Storage.Get(ctx, key)
}

func (c ctxStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.Storage.Put(ctx, e)
}

func (c ctxStorage) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.Storage.Delete(ctx, key)
}

func (c ctxStorage) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Storage.List(ctx, prefix)
}

// A caller that leaves while the upstream is still creating its credential: the upstream
// creates it anyway, as a real server does; the engine waits for it and ends it at once, and
// if that fails, the WAL rollback does.
func TestNoLeakWhenCallerLeavesMidLogin(t *testing.T) {
	const slow = 500 * time.Millisecond
	kinds := []struct {
		name   string
		config func(*env) map[string]any
		path   string // the creating call made slow
		undo   string // the kind of faultForUndo
		live   func(*env) int
	}{
		{"local user login", (*env).fazLocal, "jsonrpc:/sys/login/user", "session", (*env).liveSessions},
		{"forticloud token login", (*env).fazCloud, "jsonrpc:/sys/login/cloud", "session", (*env).liveSessions},
		// The caller left before the exchange: none is made, and the token minted is revoked.
		{"API user token mint", (*env).fazAPIUser, "/api/v1/oauth/token", "shared", (*env).liveAll},
		{"API user session exchange", (*env).fazAPIUser, "/p/forticloud_jsonrpc_login", "session", (*env).liveAll},
		{"FortiLAN email user login", (*env).lanEmail, "/api/v1/auth", "token", (*env).liveAll},
		{"FortiLAN IAM user login", (*env).lanIAM, "/api/v1/auth", "token", (*env).liveAll},
		{"shared token mint", (*env).lanAPIUser, "/api/v1/oauth/token", "shared", (*env).liveAll},
	}
	for _, k := range kinds {
		for _, undoFails := range []bool{false, true} {
			name := k.name
			if undoFails {
				name += "/undo fails"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.s = ctxStorage{e.s}
				e.ok(logical.UpdateOperation, "config/c", k.config(e))
				e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
				e.fake.ResetCalls() // the config write's verify logged in too
				e.fake.AddFault(fortitest.Fault{Path: k.path, Kind: fortitest.FaultSlow, Delay: slow, Count: 1})
				if undoFails {
					e.fake.AddFault(faultForUndo(k.undo))
				}
				ctx, cancel := context.WithTimeout(context.Background(), slow/5)
				defer cancel()
				resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: e.s})
				if err == nil && (resp == nil || !resp.IsError()) {
					t.Fatalf("creds succeeded for a caller that had left: %v", resp)
				}
				// The fake finishes the slow login whatever the engine does: count once it has.
				waitHandled(t, e.fake, k.path)
				e.fake.ClearFaults()
				wals, _ := framework.ListWAL(context.Background(), e.s)
				if undoFails {
					if len(wals) != 1 {
						t.Fatalf("%d WAL entries cover the credential nobody could end, want 1", len(wals))
					}
					rollback(t, e)
				} else if len(wals) != 0 {
					t.Fatalf("%d WAL entries left after the credential was ended", len(wals))
				}
				if n := k.live(e); n != 0 {
					t.Fatalf("%d credentials live upstream for a caller that left mid-login", n)
				}
			})
		}
	}
}

// waitHandled waits until the fake has done the work of a request to path (a fault's path: a
// prefix of the URL path, or jsonrpc:<url>).
func waitHandled(t *testing.T, f *fortitest.Server, path string) {
	t.Helper()
	key := path
	switch path {
	case "/api/v1/oauth/token", "/p/forticloud_jsonrpc_login":
		key = path + "/"
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.Handled(key) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the fake never finished the request to %s", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) liveSessions() int { return e.fake.LiveSessions() }

// liveAll counts every kind of credential the fake holds.
func (e *env) liveAll() int {
	return e.fake.LiveSessions() + e.fake.LiveLANTokens() + e.fake.LiveOAuthTokens()
}
