package backend

import (
	"context"
	"testing"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// movingStorage moves role r to config b right after the first read of it, as a write in
// between would.
type movingStorage struct {
	logical.Storage
	moved bool
}

func (m *movingStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	e, err := m.Storage.Get(ctx, key)
	if key == rolePrefix+"r" && !m.moved {
		m.moved = true
		moved, _ := logical.StorageEntryJSON(key, roleEntry{Config: "b"})
		if err := m.Storage.Put(ctx, moved); err != nil {
			return nil, err
		}
	}
	return e, err
}

// A role write holds the lock of the config it leaves the role on, even when another write
// moved the role after a first look.
func TestLockRoleWrite(t *testing.T) {
	ctx := t.Context()
	b := newBackend()
	keys := []string{rolePrefix + "r", configPrefix + "a", configPrefix + "b", configPrefix + "c"}
	seen := map[uint8]string{}
	for _, k := range keys {
		if other, ok := seen[locksutil.LockIndexForKey(k)]; ok {
			t.Fatalf("%s and %s share a stripe: pick other names", k, other)
		}
		seen[locksutil.LockIndexForKey(k)] = k
	}
	held := func(key string) bool {
		l := locksutil.LockForKey(b.writeLocks, key)
		if l.TryLock() {
			l.Unlock()
			return false
		}
		return true
	}
	for _, tc := range []struct {
		name   string
		raw    map[string]any
		config string // the config whose lock the write holds
	}{
		{"config kept", map[string]any{"ttl": 60}, "b"},
		{"config named", map[string]any{"config": " c "}, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &movingStorage{Storage: &logical.InmemStorage{}}
			first, _ := logical.StorageEntryJSON(rolePrefix+"r", roleEntry{Config: "a"})
			if err := s.Storage.Put(ctx, first); err != nil {
				t.Fatal(err)
			}
			d := &framework.FieldData{Raw: tc.raw, Schema: roleFields()}
			old, unlock, err := b.lockRoleWrite(ctx, s, "r", d)
			if err != nil {
				t.Fatal(err)
			}
			if old == nil || old.Config != "b" {
				t.Errorf("stored role %+v, want the one moved to config b", old)
			}
			for _, k := range keys {
				if want := k == rolePrefix+"r" || k == configPrefix+tc.config; held(k) != want {
					t.Errorf("lock of %s held: %v, want %v", k, !want, want)
				}
			}
			unlock()
			for _, k := range keys {
				if held(k) {
					t.Errorf("lock of %s held after unlock", k)
				}
			}
		})
	}
}

// Two keys on one stripe take it once.
func TestLockWritesSharedStripe(t *testing.T) {
	b := newBackend()
	first := configPrefix + "a"
	other := ""
	for i := 0; other == ""; i++ {
		if k := rolePrefix + string(rune('a'+i%26)) + string(rune('a'+i/26)); locksutil.LockIndexForKey(k) == locksutil.LockIndexForKey(first) {
			other = k
		}
	}
	b.lockWrites(first, other)() // would never return if the stripe were locked twice
	b.lockWrites(first)()
}
