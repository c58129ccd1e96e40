package backend

import (
	"context"
	"slices"

	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// Every upstream fault at every step of a dynamic admin's creds fails the creds and leaves no
// admin, session or record behind: the admin is deleted at once, or, where the fault keeps the
// delete from working too, by WAL rollback once the upstream is back.
func TestDynamicAdminFaults(t *testing.T) {
	steps := []struct {
		name   string
		config func(*env) map[string]any
		path   string
	}{
		{"root login", (*env).fazLocal, "jsonrpc:/sys/login/user"},
		{"add", (*env).fazLocal, adminTable},
		{"read back", (*env).fazLocal, oneAdmin},
		{"add by key", (*env).fazKey, adminTable},
		{"read back by key", (*env).fazKey, oneAdmin},
		// By key, the only login is the one as the new admin.
		{"login as the admin", (*env).fazKey, "jsonrpc:/sys/login/user"},
	}
	faults := []struct {
		name string
		f    fortitest.Fault
	}{
		{"connection dropped", fortitest.Fault{Kind: fortitest.FaultDown}},
		{"5xx", fortitest.Fault{Kind: fortitest.Fault5xx}},
		{"done, then 5xx", fortitest.Fault{Kind: fortitest.FaultActThen5xx}},
		{"internal error", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -1}},
		{"no permission", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -11}},
		{"unreadable", fortitest.Fault{Kind: fortitest.FaultBrokenJSON}},
	}
	for _, st := range steps {
		for _, fc := range faults {
			t.Run(st.name+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				e := dynamicEnv(t, st.config)
				e.ok(logical.UpdateOperation, "config/c", with(st.config(e), "request_timeout", "1s"))
				f := fc.f
				f.Path = st.path // until cleared: retries meet it too
				e.fake.AddFault(f)
				e.fails(logical.ReadOperation, "creds/r", nil)
				e.fake.ClearFaults()
				// Where the fault's path holds the delete too, only the WAL entry covers the admin;
				// elsewhere it was deleted at once, or never made.
				covered := st.path == adminTable || st.path == oneAdmin
				if ids, _ := e.adminWAL(); len(ids) != map[bool]int{false: 0, true: 1}[covered] {
					t.Fatalf("%d WAL entries left, want one only where the delete met the fault too (%v)", len(ids), covered)
				}
				if !covered && len(e.made()) != 0 {
					t.Fatalf("admins %v left after the failed creds", e.made())
				}
				rollback(t, e)
				if st.path == "jsonrpc:/sys/login/user" && st.name == "root login" && f.Kind == fortitest.FaultActThen5xx {
					// A root session whose id never came back: nothing can log it out, it idles
					// out upstream. No admin was made.
					if n := e.fake.LiveSessions(); n != e.fake.LiveSessionsOf(adminUser) {
						t.Fatalf("%d sessions live, not all the root's", n)
					}
					e.fake.ExpireAll()
				}
				e.nothingLeft("c")
			})
		}
	}
}

// Whatever storage fails while a dynamic admin is created, nothing is left upstream.
func TestDynamicAdminStorageFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		put, del string
		wal      int // entries left, for rollback
	}{
		{"WAL write fails", "wal/", "", 0},
		// The add went out beside the record: the undo deletes it by name, the name held.
		{"record write fails", adminPrefix, "", 0},
		{"WAL delete fails at hand-over", "", "wal/", 1}, // undone at once; the entry finds nothing
		{"WAL and record deletes fail", "", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazLocal)
			fs := &faultyStorage{Storage: e.s}
			e.s = fs
			fs.failPut.Store(tc.put)
			fs.failDelete.Store(tc.del)
			if tc.put == "" && tc.del == "" {
				// The admin cannot be handed over nor its record dropped: the WAL entry stays, and
				// so does the record, which rollback finds deleted upstream and drops.
				fs.failDelete.Store("wal/")
				e.fake.AddFault(fortitest.Fault{Kind: fortitest.FaultDown, Path: oneAdmin})
			}
			e.fails(logical.ReadOperation, "creds/r", nil)
			fs.failPut.Store("")
			fs.failDelete.Store("")
			e.fake.ClearFaults()
			if ids, _ := e.adminWAL(); len(ids) != tc.wal {
				t.Fatalf("%d WAL entries left, want %d", len(ids), tc.wal)
			}
			rollback(t, e)
			e.nothingLeft("c")
		})
	}
}

// A caller that leaves while the admin is being added: the add runs to its answer, as a real
// server runs it, and the admin is deleted at once; if that fails, by WAL rollback.
func TestDynamicAdminCallerLeavesMidAdd(t *testing.T) {
	const slow = 500 * time.Millisecond
	for _, tc := range []struct {
		name      string
		config    func(*env) map[string]any
		undoFails bool
	}{
		{"local user root", (*env).fazLocal, false},
		{"api key root", (*env).fazKey, false},
		{"local user root, delete fails", (*env).fazLocal, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := dynamicEnv(t, tc.config)
			e.s = ctxStorage{e.s}
			e.fake.ResetCalls()
			e.fake.AddFault(fortitest.Fault{Path: adminTable, Kind: fortitest.FaultSlow, Delay: slow, Count: 1})
			if tc.undoFails {
				e.fake.AddFault(fortitest.Fault{Path: oneAdmin, Kind: fortitest.FaultDown})
			}
			ctx, cancel := context.WithTimeout(context.Background(), slow/5)
			defer cancel()
			resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: e.s})
			if err == nil && (resp == nil || !resp.IsError()) {
				t.Fatalf("creds succeeded for a caller that had left: %v", resp)
			}
			if e.fake.Handled(adminTable) != 1 {
				t.Fatal("the add was not made: the test shows nothing")
			}
			wals, _ := e.adminWAL()
			if tc.undoFails {
				if len(wals) != 1 || len(e.made()) != 1 {
					t.Fatalf("%d WAL entries for %v, want 1 for the admin nobody could delete", len(wals), e.made())
				}
				e.fake.ClearFaults()
				rollback(t, e)
			} else if len(wals) != 0 {
				t.Fatalf("%d WAL entries left after the admin was deleted", len(wals))
			}
			e.nothingLeft("c")
		})
	}
}

// A create the plugin did not live to finish: WAL rollback deletes the admin by the name its
// entry holds, with the config's root, whether or not its record was written beside the add.
func TestDynamicAdminRolledBackByName(t *testing.T) {
	for _, config := range []func(*env) map[string]any{(*env).fazLocal, (*env).fazKey} {
		for _, tc := range []struct {
			name            string
			added, recorded bool
			claim           string
			deletes         int // delete calls rollback makes
		}{
			{"killed after the add and its record", true, true, "c1", 1},
			{"killed after the add, before its record", true, false, "c2", 1},
			{"killed before the add", false, false, "c3", 1}, // answered gone
			{"an entry of before claims, never recorded", false, false, "", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := dynamicEnv(t, config)
				l, r := e.dynamicLease("c", "r", "vault_r_crashed", tc.claim)
				conn, auth := e.rootOf("c")
				add := func() error {
					want, _ := r.admin(l.Admin, "Crash3d-Passw0rd!")
					return conn.Admins.AddAdmin(context.Background(), auth, want)
				}
				// As issueAdmin leaves it when the plugin dies at that point.
				n, err := e.b.noteAdmin(context.Background(), e.s, dynamicAdminKind(), l, e.b.holdName(l))
				switch {
				case err == nil && tc.recorded:
					err = n.create(add)
				case err == nil && tc.added:
					err = add()
				}
				if err != nil {
					t.Fatal(err)
				}
				e.b.Cleanup(context.Background())
				e.restart()
				e.fake.ResetCalls()
				rollback(t, e)
				if got := e.fake.Calls(oneAdmin + l.Admin); got != tc.deletes {
					t.Fatalf("%d calls to delete the admin, want %d", got, tc.deletes)
				}
				e.nothingLeft("c")
			})
		}
	}
}

// dynamicLease is the lease data creds of role on config would note for an admin called admin,
// with claim, and the role.
func (e *env) dynamicLease(config, role, admin, claim string) (leaseInternal, *roleEntry) {
	e.t.Helper()
	cc, err := e.b.config(context.Background(), e.s, config)
	if err != nil || cc == nil {
		e.t.Fatalf("config %s: %v", config, err)
	}
	r, _ := e.b.role(context.Background(), e.s, role)
	l := newLeaseInternal(config, role, cc.entry, r)
	l.CredentialType, l.Admin, l.Claim = credDynamicAdmin, admin, claim
	return l, r
}

// The WAL entry of a create that found its name held by another lease, left by a plugin killed
// before it dropped it, deletes nothing: the holder's record is of another claim. The holder's
// revoke still deletes its admin.
func TestDynamicAdminRollbackLeavesTheHolder(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	held := e.creds("r")
	name := held.data["username"].(string)
	l, _ := e.dynamicLease("c", "r", name, "another")
	if _, err := framework.PutWAL(context.Background(), e.s, dynamicAdminKind().name, l.toMap()); err != nil {
		t.Fatal(err)
	}
	e.restart()
	rollback(t, e)
	if !slices.Contains(e.made(), name) || len(e.recorded("c")) != 1 {
		t.Fatalf("rollback of another claim's entry deleted the holder's admin %q: admins %v, records %v", name, e.made(), e.recorded("c"))
	}
	if err := e.revoke(held); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft("c")
}

// A failure once the add was sent, where the delete works, deletes the admin before creds
// answer: no WAL entry is left for rollback.
func TestDynamicAdminUndoneAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    fortitest.Fault
	}{
		{"add refused", fortitest.Fault{Path: adminTable, Kind: fortitest.FaultCode, RPCCode: -11, Count: 1}},
		// The add is never repeated once sent: its answer lost, the admin exists all the same.
		{"add done, its answer lost", fortitest.Fault{Path: adminTable, Kind: fortitest.FaultActThen5xx, Count: 1}},
		{"read back refused", fortitest.Fault{Path: oneAdmin, Kind: fortitest.FaultCode, RPCCode: -11, Count: 1}},
		{"login as the admin refused", fortitest.Fault{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultCode, RPCCode: -22, Count: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazKey)
			e.fake.ResetCalls()
			e.fake.AddFault(tc.f)
			e.fails(logical.ReadOperation, "creds/r", nil)
			if e.fake.Handled(adminTable) == 0 && tc.f.Kind == fortitest.FaultActThen5xx {
				t.Fatal("the add was not made: the test shows nothing")
			}
			if ids, _ := e.adminWAL(); len(ids) != 0 {
				t.Fatalf("%d WAL entries left: the admin was not deleted at once", len(ids))
			}
			e.nothingLeft("c")
		})
	}
}
