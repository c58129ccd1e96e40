package backend

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// Two creds of one name, a rollback and a refused add, interleaved: no admin is left without a
// lease or WAL entry to end it, and none that is not the engine's is deleted. The role's
// template gives one name to all ("same"), as a role stored before templates were checked would.

// sameNameRole stores role r of e with a template of one name, as a careless writer would.
func (e *env) sameNameRole() {
	e.t.Helper()
	r, _ := readRole(context.Background(), e.s, "r")
	r.UsernameTemplate = "same"
	entry, _ := logical.StorageEntryJSON(rolePrefix+"r", r)
	if err := e.s.Put(context.Background(), entry); err != nil {
		e.t.Fatal(err)
	}
	e.b.dropRole("r")
}

// credsAsync reads creds/r in the background, answering its lease (nil secret if it failed).
func (e *env) credsAsync() chan lease {
	out := make(chan lease, 1)
	go func() {
		resp, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: e.s})
		if err != nil || resp == nil || resp.IsError() || resp.Secret == nil {
			out <- lease{}
			return
		}
		out <- lease{data: resp.Data, secret: storedSecret(e.t, resp.Secret)}
	}()
	return out
}

// endLeases revokes the leases given, skipping failed creds, then checks nothing is left.
func (e *env) endLeases(ls ...lease) {
	e.t.Helper()
	for _, l := range ls {
		if l.secret == nil {
			continue
		}
		if err := e.revoke(l); err != nil {
			e.t.Fatal(err)
		}
	}
	e.nothingLeft("c")
}

// failFirstRecord fails the first write of an admin record, and closes hit then.
type failFirstRecord struct {
	logical.Storage
	once sync.Once
	hit  chan struct{}
}

func (f *failFirstRecord) Put(ctx context.Context, e *logical.StorageEntry) error {
	failed := false
	if strings.HasPrefix(e.Key, adminPrefix) {
		f.once.Do(func() { failed = true; close(f.hit) })
	}
	if failed {
		return errInjected
	}
	return f.Storage.Put(ctx, e)
}

// A plugin killed between an add and its record; after the restart, a creds of the same name
// writes its record while its add is under way (and refused: the name's admin exists). The
// killed create's rollback waits for that add's answer, then deletes the admin by name.
func TestClaimRollbackWhileSameNameCreds(t *testing.T) {
	ctx := context.Background()
	e := dynamicEnv(t, (*env).fazLocal)
	e.sameNameRole()
	l, r := e.dynamicLease("c", "r", "same", "killed")
	if _, err := e.b.noteAdmin(ctx, e.s, dynamicAdminKind(), l, e.b.holdName(l)); err != nil {
		t.Fatal(err)
	}
	e.addByHand(r, "same")
	e.restart()
	ids, _ := e.adminWAL()
	if len(ids) != 1 {
		t.Fatalf("%d WAL entries, want the killed create's", len(ids))
	}
	killed, _ := framework.GetWAL(ctx, e.s, ids[0])
	e.fake.AddFault(fortitest.Fault{Path: adminTable, Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 1})
	second := e.credsAsync()
	for rec, _ := e.b.adminRecordOf(ctx, e.s, "c", "same"); rec == nil; rec, _ = e.b.adminRecordOf(ctx, e.s, "c", "same") {
		time.Sleep(time.Millisecond)
	}
	if err := e.b.walRollback(ctx, &logical.Request{Storage: e.s}, killed.Kind, killed.Data); err != nil {
		t.Fatal(err)
	}
	_ = framework.DeleteWAL(ctx, e.s, ids[0]) // as Vault does when rollback answers nil
	e.endLeases(<-second)
}

// A creds whose record cannot be written, while a creds of the same name comes: whichever gets
// the name first, the first's admin is deleted (by its undo) and the second's is its lease's.
func TestClaimRecordFailsThenSameNameCreds(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	e.sameNameRole()
	fs := &failFirstRecord{Storage: e.s, hit: make(chan struct{})}
	e.s = fs
	e.fake.AddFault(fortitest.Fault{Path: adminTable, Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 1})
	e.fake.AddFault(fortitest.Fault{Path: adminTable, Kind: fortitest.FaultSlow, Delay: time.Second, Count: 1})
	first := e.credsAsync()
	<-fs.hit
	for e.fake.Calls(adminTable) == 0 {
		time.Sleep(time.Millisecond) // the first's add is under way
	}
	second := e.credsAsync()
	if l := <-first; l.secret != nil {
		t.Fatal("creds succeeded without the admin's record")
	}
	e.endLeases(<-second)
}

// An admin of the name exists upstream, not the engine's: creds are refused (409) and it is left
// alone, also when the refused create's WAL entry cannot be dropped (its record marked foreign):
// the rollback deletes nothing and drops the mark, whether the config was deleted and written
// again meanwhile (the mark holds nothing back), or the caller retried the 409 (refused at the
// mark, which stays).
func TestClaimRollbackLeavesForeignAdmin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(e *env)
	}{
		{"config deleted and written again", func(e *env) {
			e.ok(logical.DeleteOperation, "roles/r", nil)
			e.ok(logical.DeleteOperation, "config/c", nil)
			e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
		}},
		{"creds retried", func(e *env) { e.fails(logical.ReadOperation, "creds/r", nil, "taken upstream") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dynamicEnv(t, (*env).fazLocal)
			e.sameNameRole()
			_, r := e.dynamicLease("c", "r", "same", "")
			e.addByHand(r, "same")
			fs := &faultyStorage{Storage: e.s}
			e.s = fs
			fs.failDelete.Store("wal/")
			e.fails(logical.ReadOperation, "creds/r", nil, "not the engine's")
			fs.failDelete.Store("")
			if ids, _ := e.adminWAL(); len(ids) != 1 {
				t.Fatalf("%d WAL entries, want the one that could not be dropped", len(ids))
			}
			tc.after(e)
			rollback(t, e)
			if !slices.Contains(e.made(), "same") {
				t.Fatal("rollback deleted an admin that is not the engine's")
			}
			if r := e.recorded("c"); len(r) != 0 {
				t.Fatalf("records %v left", r)
			}
		})
	}
}

// addByHand adds admin name upstream as role r would have it, with the root, not through the
// engine (a create the plugin did not live to record, or an operator's own admin).
func (e *env) addByHand(r *roleEntry, name string) {
	e.t.Helper()
	conn, auth := e.rootOf("c")
	defer func() { _ = conn.Admins.EndRootAuth(context.Background(), auth) }()
	want, _ := r.admin(name, "H4nd-Made-Passw0rd!")
	if err := conn.Admins.AddAdmin(context.Background(), auth, want); err != nil {
		e.t.Fatal(err)
	}
}

// A lease revoked twice at once (a slow revoke and another): the second, finding the admin gone
// and forgotten, deletes nothing of the next lease of the same name.
func TestClaimRevokedTwiceSparesNextHolder(t *testing.T) {
	e := dynamicEnv(t, (*env).fazKey)
	e.sameNameRole()
	a := e.creds("r")
	base := e.fake.Calls(oneAdmin + "same")
	e.fake.AddFault(fortitest.Fault{Path: oneAdmin + "same", Kind: fortitest.FaultSlow, Delay: 500 * time.Millisecond, Count: 1})
	slow := make(chan error, 1)
	go func() { slow <- e.revoke(a) }()
	for e.fake.Calls(oneAdmin+"same") == base {
		time.Sleep(time.Millisecond) // its delete is under way, held
	}
	if err := e.revoke(a); err != nil {
		t.Fatal(err)
	}
	next := e.creds("r")
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if m, r := e.made(), e.recorded("c"); !slices.Contains(m, "same") || len(r) != 1 {
		t.Fatalf("a second revoke of one lease deleted the next lease's admin: admins %v, records %v", m, r)
	}
	e.endLeases(next)
}

// Creds of one name, more than a config's root slots, while the first's kept root session has
// ended upstream (its add is made again in a new session): the name is taken before a root
// session, so the others wait for it holding no slot, and all finish.
func TestClaimSameNameCredsDoNotHoardRootSlots(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	e.sameNameRole()
	if err := e.revoke(e.creds("r")); err != nil {
		t.Fatal(err)
	}
	e.fake.ExpireAll() // the kept root session ends upstream
	base := e.fake.Calls(adminTable)
	e.fake.AddFault(fortitest.Fault{Path: adminTable, Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	async := func() chan error {
		out := make(chan error, 1)
		go func() {
			_, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: e.s})
			out <- err
		}()
		return out
	}
	all := []chan error{async()}
	for e.fake.Calls(adminTable) == base {
		time.Sleep(time.Millisecond)
	}
	for range rootSessionsPerConfig {
		all = append(all, async())
	}
	done := make(chan struct{})
	go func() {
		for _, c := range all {
			<-c
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		held := len(e.b.rootSlotsOf("c"))
		cancel() // let them go, to end the test
		<-done
		t.Fatalf("creds of one name stalled: %d of %d root slots held by creds waiting for the name, while its holder waits for one", held, rootSessionsPerConfig)
	}
}
