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
// (the plugin died mid-rotation, or its outcome stayed unknown): whichever of the change's two
// passwords upstream takes ends up stored. Callers hold pauseCreds or credsDuringRotation for
// w.Config.
func (b *backend) settleRotation(ctx context.Context, s logical.Storage, w rotationWAL) error {
	unlock := b.lockWrites(configPrefix + w.Config)
	defer unlock()
	c, err := readConfig(ctx, s, w.Config)
	if err != nil {
		return err
	}
	ours := c != nil && c.Username == w.Username && c.endpoint().sameTarget(w.endpoint)
	if ours && c.Password != w.OldPassword && c.Password != w.NewPassword {
		// A config write since gave a password of its own, checked or not: the newer word. No
		// login is tried, as each refused one brings the admin closer to a lockout.
		b.Logger().Warn("rotate-root: settling a password change: the config was rewritten since; keeping what was written",
			"config", w.Config)
		return nil
	}
	r, err := b.rotationConn(w)
	if err != nil {
		return err
	}
	defer r.t.Close()
	// The new password first: an entry left behind most likely covers a change that was sent,
	// and creds come here because the old one was just refused.
	has, err := b.workingPassword(ctx, r, w.NewPassword)
	if err != nil {
		return err
	}
	b.logoutQuietly(ctx, r, w.Session)
	switch {
	case !ours && has == w.NewPassword:
		// The config went, or is another admin's now: give this admin back the password
		// whoever wrote the config knew, since only this entry knows the new one.
		if err := b.setPassword(ctx, r, w.NewPassword, w.OldPassword); err != nil {
			return fmt.Errorf("rotate-root: config %q no longer holds admin %q: restore its old password upstream: %w", w.Config, w.Username, err)
		}
		return nil
	case !ours || has == c.Password:
		return nil
	}
	c.Password = has
	if has == w.NewPassword {
		now := time.Now()
		c.LastRotated = now.Unix()
		c.scheduleNext(now)
	} else {
		c.LastRotated = w.LastRotated // the change never took: as it was before
	}
	return storing(ctx, func(ctx context.Context) error { return b.storeConfig(ctx, s, w.Config, c) })
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
