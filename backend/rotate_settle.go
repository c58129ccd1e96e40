package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// settleRotation makes upstream and Vault agree after a password change whose end nobody saw
// (the plugin died mid-rotation, or its outcome stayed unknown): whichever password upstream
// takes ends up stored. Callers hold pauseCreds or credsDuringRotation for w.Config.
func (b *backend) settleRotation(ctx context.Context, s logical.Storage, w rotationWAL) error {
	unlock := b.lockWrites(configPrefix + w.Config)
	defer unlock()
	r, err := b.rotationConn(w)
	if err != nil {
		return err
	}
	defer r.t.Close()
	has, err := b.workingPassword(ctx, r)
	if err != nil {
		return err
	}
	b.logoutQuietly(ctx, r, w.Session)
	c, err := readConfig(ctx, s, w.Config)
	switch {
	case err != nil:
		return err
	case has == w.OldPassword:
		return nil // the change never took
	case c == nil:
		// The config went since: give the admin back the password whoever deleted it knew.
		if err := b.setPassword(ctx, r, w.NewPassword, w.OldPassword); err != nil {
			return fmt.Errorf("rotate-root: config %q is gone: restore the old password upstream: %w", w.Config, err)
		}
		return nil
	case c.Password == w.NewPassword:
		return nil // stored already
	case c.Password != w.OldPassword || c.Username != w.Username || !c.endpoint().sameTarget(w.endpoint):
		// A config write since the change is the newer word: the operator gave the password.
		b.Logger().Warn("rotate-root: settling a password change: the config was rewritten since; keeping what was written",
			"config", w.Config)
		return nil
	}
	now := time.Now()
	c.Password, c.LastRotated = w.NewPassword, now.Unix()
	c.scheduleNext(now)
	return b.storeConfig(ctx, s, w.Config, c)
}

// rollbackRotation is WAL rollback of a password change.
func (b *backend) rollbackRotation(ctx context.Context, s logical.Storage, data any) error {
	w, err := decodeRotationWAL(data)
	if err != nil {
		b.Logger().Warn("WAL rollback: dropping a rotation entry that cannot be read", "error", err)
		return nil
	}
	if time.Since(time.Unix(w.StartedAt, 0)) > walGiveUp {
		b.Logger().Error("WAL rollback: giving up settling a root password change after a day; if Vault's stored password "+
			"no longer logs in, follow the break-glass procedure in the guide", "config", w.Config, "admin", w.Username)
		return nil
	}
	release := b.pauseCreds(w.Config)
	defer release()
	if err := b.settleRotation(ctx, s, w); err != nil {
		b.Logger().Warn("WAL rollback: could not settle a root password change; will retry", "config", w.Config, "error", err)
		return err
	}
	b.Logger().Info("WAL rollback settled a root password change", "config", w.Config)
	return nil
}

// settlePendingRotations settles the rotations of config name that the plugin did not live
// to finish, and reports whether it settled any: a login it refused may work now. The caller
// holds credsDuringRotation for name, so no rotation of it is under way.
func (b *backend) settlePendingRotations(ctx context.Context, s logical.Storage, name string) bool {
	ids, err := framework.ListWAL(ctx, s)
	if err != nil {
		return false
	}
	settled := false
	for _, id := range ids {
		e, err := framework.GetWAL(ctx, s, id)
		if err != nil || e == nil || e.Kind != rotationWALKind {
			continue
		}
		w, err := decodeRotationWAL(e.Data)
		if err != nil || w.Config != name {
			continue
		}
		if err := b.settleRotation(ctx, s, w); err != nil {
			b.Logger().Warn("creds: could not settle an unfinished root password change", "config", name, "error", err)
			continue
		}
		if err := framework.DeleteWAL(ctx, s, id); err != nil && !errors.Is(err, context.Canceled) {
			b.Logger().Warn("creds: settled a root password change but could not delete its WAL entry", "config", name, "error", err)
		}
		b.Logger().Info("creds: settled a root password change the plugin did not live to finish", "config", name)
		settled = true
	}
	return settled
}
