package backend

import (
	"context"
	"errors"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// walGiveUp: past this age an entry is dropped. FAZ sessions idle out and tokens expire long
// before, so nothing can still be live.
const walGiveUp = 24 * time.Hour

// walRollback ends a credential that was issued but never handed over to a lease, or settles
// a root password change.
func (b *backend) walRollback(ctx context.Context, req *logical.Request, kind string, data any) error {
	if kind == rotationWALKind {
		return b.rollbackRotation(ctx, req.Storage, data)
	}
	l, err := decodeLease(data)
	if err != nil {
		b.Logger().Warn("WAL rollback: dropping an entry that cannot be read", "kind", kind, "error", err)
		return nil
	}
	if l.IssuedAt != 0 && time.Since(time.Unix(l.IssuedAt, 0)) > walGiveUp {
		if l.Admin != "" {
			// Admins do not idle out: say which one may be left, and where.
			b.Logger().Error("WAL rollback: giving up deleting an admin after a day; if it still exists upstream, delete it there",
				"config", l.Config, "admin", l.Admin, "url", l.URL)
			return nil
		}
		b.Logger().Warn("WAL rollback: dropping an entry too old to matter", "kind", kind, "config", l.Config)
		return nil
	}
	k, ok := kindNamed(kind)
	if !ok {
		b.Logger().Warn("WAL rollback: dropping an entry of unknown kind", "kind", kind)
		return nil
	}
	// An end may need the config's root (a dynamic admin's): not while its password changes.
	release := b.credsDuringRotation(l.Config)
	defer release()
	if err := k.end(b, ctx, req.Storage, l); err != nil {
		b.Logger().Warn("WAL rollback failed; will retry", "kind", kind, "config", l.Config, "error", err)
		return err
	}
	b.Logger().Info("WAL rollback ended a credential that had no lease", "kind", kind, "config", l.Config)
	return nil
}

// revokeOAuth revokes an API user's OAuth token; IAM answers alike whether it lived or not,
// and an answer that says it is gone counts as revoked.
func (b *backend) revokeOAuth(ctx context.Context, s logical.Storage, l leaseInternal) error {
	conn, done, err := b.conn(ctx, s, l)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	err = conn.OAuth.Revoke(ctx, l.ClientID, l.AccessToken)
	b.metrics.observe(l.Type, "revoke", client.Outcome(err), time.Since(start))
	if errors.Is(err, client.ErrGone) {
		return nil
	}
	return err
}
