package backend

import (
	"context"
	"slices"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// lockWrites takes the write locks of keys (the storage keys of configs and roles) together,
// in locksutil's order, so that two writes never each hold a lock the other waits for. Keys
// share stripes: a collision makes two admin writes wait for each other, at worst across a
// config write's verify_connection.
func (b *backend) lockWrites(keys ...string) (unlock func()) {
	locks := locksutil.LocksForKeys(b.writeLocks, keys)
	for _, l := range locks {
		l.Lock()
	}
	return func() {
		for _, l := range slices.Backward(locks) {
			l.Unlock()
		}
	}
}

// lockRoleWrite takes the write locks of role name and of the config the write leaves it on,
// so that the config cannot go while the role is written, and returns the stored role, read
// under them. That config is the write's, or else the stored role's: read first without the
// locks, it is read again under them, and should a write in between have moved the role, the
// locks are taken anew.
func (b *backend) lockRoleWrite(ctx context.Context, s logical.Storage, name string, d *framework.FieldData) (*roleEntry, func(), error) {
	peek, err := readRole(ctx, s, name)
	for err == nil {
		config := roleConfig(peek, d)
		unlock := b.lockWrites(rolePrefix+name, configPrefix+config)
		var old *roleEntry
		if old, err = readRole(ctx, s, name); err == nil && roleConfig(old, d) == config {
			return old, unlock, nil
		}
		unlock()
		peek = old
	}
	return nil, nil, err
}
