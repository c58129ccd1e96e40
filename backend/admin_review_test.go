package backend

import (
	"context"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// A name another live lease holds is refused, nothing of the refused creds left: its record stays,
// and its revoke still deletes its admin. (A template this poor is refused at role write;
// it is put in storage here as a careless writer's would be.)
func TestDynamicAdminNameHeldByAnotherLease(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	e.sameNameRole()
	first := e.creds("r")
	e.fails(logical.ReadOperation, "creds/r", nil, `"same" is held by another lease`, "username_template")
	if ids, _ := e.adminWAL(); len(ids) != 0 {
		t.Fatalf("%d WAL entries left by the refused creds, whose rollback would look for the name", len(ids))
	}
	if err := e.revoke(first); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft("c")
}

// Templates with few random characters repeat within a role write's renders: refused.
func TestUsernameTemplateTooFewNames(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal)
	e.fails(logical.UpdateOperation, "roles/r", map[string]any{"username_template": "v_{{ random 1 }}"}, "username_template", "twice")
}

// deleteCommitsThenFails deletes and still answers an error for keys under prefix, running
// hook first, as a storage timeout after the delete committed does.
type deleteCommitsThenFails struct {
	logical.Storage
	prefix string
	hook   func()
}

func (d *deleteCommitsThenFails) Delete(ctx context.Context, key string) error {
	if err := d.Storage.Delete(ctx, key); err != nil || !strings.HasPrefix(key, d.prefix) {
		return err
	}
	if d.hook != nil {
		d.hook()
		d.hook = nil
		return errInjected
	}
	return nil
}

// The hand-over's WAL delete commits and answers an error, and the undo's upstream delete
// fails too: the WAL entry is written again, and rollback deletes the admin.
func TestUndoAfterWALDeleteCommittedThenFailed(t *testing.T) {
	for _, kind := range []string{"dynamic_admin", "api_user"} {
		t.Run(kind, func(t *testing.T) {
			e, path, left := dynamicEnv(t, (*env).fazLocal), oneAdmin, (*env).nothingLeft
			if kind == "api_user" {
				e, path, left = fgtEnv(t), fosUsers+"/", (*env).noAPIUserLeft
			}
			ds := &deleteCommitsThenFails{Storage: e.s, prefix: framework.WALPrefix}
			ds.hook = func() { e.fake.AddFault(fortitest.Fault{Kind: fortitest.FaultDown, Path: path}) }
			e.s = ds
			if _, err := e.do(logical.ReadOperation, "creds/r", nil); err == nil {
				t.Fatal("creds succeeded though the WAL delete failed")
			}
			e.fake.ClearFaults()
			if ids, _ := e.adminWAL(); len(ids) == 0 {
				t.Fatal("no WAL entry covers the credential the undo could not end")
			}
			rollback(t, e)
			left(e, "c")
		})
	}
}
