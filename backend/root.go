package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// rootSessionsPerConfig is how many root sessions of one config are live at once, lent to admin
// calls, kept between them, or being logged out. Each counts against the root admin's login-max
// (20 to 32 upstream), which its session leases and its human users share: a revoke of 50
// leases at once must not fill it.
const rootSessionsPerConfig = 4

// rootSessionIdle is how long a local_user root's session is kept between admin calls
// (client.Settings.RootSessionIdle): client.DefaultRootSessionIdle unless the e2e build sets
// "-X github.com/forticloud/vault-plugin-secrets-forticloud/backend.rootSessionIdle=1s", so
// that its tests can wait for the sessions to end.
var rootSessionIdle = ""

// rootIdle is rootSessionIdle parsed; 0 (the client's default) when unset or not a duration.
// The client logs a kept session out at its max age however long its idle.
func rootIdle() time.Duration {
	d, _ := time.ParseDuration(rootSessionIdle)
	return max(d, 0)
}

// rootMaxAge is how long a root session is kept at most: well within the WAL rollback's minimum
// age, so that rollback only ever logs out the kept sessions of a plugin that died.
func rootMaxAge() time.Duration {
	return min(client.DefaultRootSessionMaxAge, walMinAge()/2)
}

// rootNotes notes config name's kept root sessions (client.RootSessionNotes) in storage s as
// WAL entries of the session kind, so that rollback logs out those a killed plugin kept.
type rootNotes struct {
	b *backend
	s logical.Storage
	l leaseInternal
}

// rootNotes is the notes of config name (c) in s: for local_user roots, which keep sessions.
func (b *backend) rootNotes(s logical.Storage, name string, c *configEntry) client.RootSessionNotes {
	if c.AuthMethod != client.AuthLocalUser || managesAdmins(c) != nil {
		return nil
	}
	return rootNotes{b: b, s: s, l: leaseInternal{Config: name, endpoint: c.endpoint(), CredentialType: credSession}}
}

func (n rootNotes) Note(ctx context.Context, session string) (string, error) {
	l := n.l
	l.Session, l.IssuedAt = session, time.Now().Unix()
	id, err := framework.PutWAL(ctx, n.s, sessionKind().name, l.toMap())
	if err != nil {
		n.b.Logger().Warn("could not note a root session in the WAL; it is logged out after its call instead of kept",
			"config", l.Config, "error", err)
		return "", fmt.Errorf("write WAL: %w", err)
	}
	return id, nil
}

func (n rootNotes) Drop(ctx context.Context, id string) {
	if err := framework.DeleteWAL(ctx, n.s, id); err != nil {
		n.b.Logger().Warn("could not drop the WAL entry of a root session logged out; rollback will find it gone",
			"config", n.l.Config, "error", err)
	}
}

// withRoot runs fn as config name's root (c, as cached): with its API key, or in a root session
// lent by c's client (client.AdminTable.RootAuth) and given back after, which keeps it for the
// next caller while it is idle for less than rootSessionIdle. A root login refused may be a
// rotation the plugin did not live to finish, which left the old password stored: it is settled,
// and fn runs with the config it leaves. Callers hold credsDuringRotation(name).
func (b *backend) withRoot(ctx context.Context, s logical.Storage, name string, c *cachedConfig, fn func(*cachedConfig, client.Auth) error) error {
	var auth client.Auth
	var end func()
	c, err := b.settling(ctx, s, name, c, func(c *cachedConfig) (err error) {
		auth, end, err = b.rootAuth(ctx, name, c)
		return err
	})
	if err != nil {
		return err
	}
	defer end()
	return fn(c, auth)
}

// rootAuth authenticates as config name's root, c, and returns how to end it (which gives a
// root session back to c's client, which bounds them: rootSlotsOf).
func (b *backend) rootAuth(ctx context.Context, name string, c *cachedConfig) (client.Auth, func(), error) {
	auth, err := c.conn.Admins.RootAuth(ctx)
	end := func() {
		// Also when the caller left: the session exists all the same.
		if err := c.conn.Admins.EndRootAuth(context.WithoutCancel(ctx), auth); err != nil {
			b.Logger().Warn("root logout failed; the session will idle out upstream", "config", name, "error", err)
		}
	}
	if err != nil {
		if auth.Session != "" {
			end()
		}
		return client.Auth{}, nil, err
	}
	return auth, end, nil
}

// settling runs try with config name (c, as cached). Upstream refusing it may be a rotation the
// plugin did not live to finish, which left the old password stored: that is settled, and try
// runs once more with the config it leaves (returned). The caller holds
// credsDuringRotation(name), so no rotation of it is under way.
func (b *backend) settling(ctx context.Context, s logical.Storage, name string, c *cachedConfig, try func(*cachedConfig) error) (*cachedConfig, error) {
	err := try(c)
	if !errors.Is(err, client.ErrRefused) || rotatable(c.entry) != nil || !b.settlePendingRotations(ctx, s, name) {
		return c, err
	}
	fresh, ferr := b.config(ctx, s, name)
	if ferr != nil || fresh == nil {
		return c, err
	}
	return fresh, try(fresh)
}

// rootSlotsOf is the slots of config name's live root sessions (client.Settings.RootSessionSlots):
// rootSessionsPerConfig, shared by the clients of its every version, so that the sessions a
// dropped client is still logging out count against its successor's.
func (b *backend) rootSlotsOf(name string) chan struct{} {
	return firstUse(&b.rootSlotsMu, b.rootSlots, name, func() chan struct{} {
		return make(chan struct{}, rootSessionsPerConfig)
	})
}
