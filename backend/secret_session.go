package backend

import (
	"context"
	"errors"
	"fmt"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// secretSessionType is a FortiAnalyzer or FortiManager JSON-RPC session.
const secretSessionType = "jsonrpc_session"

func secretSession(b *backend) *framework.Secret {
	return &framework.Secret{
		Type: secretSessionType,
		Fields: map[string]*framework.FieldSchema{
			"session": {Type: framework.TypeString, Description: "JSON-RPC session id, for the \"session\" member of every request.", DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
			"url":     {Type: framework.TypeString, Description: "Where to use the session: the product's base URL (JSON-RPC at <url>/jsonrpc)."},
		},
		Renew:  b.sessionRenew,
		Revoke: b.sessionRevoke,
	}
}

// sessionRenew extends the lease only while the session is alive upstream; the status call
// that shows it alive also resets the session's idle timer. A session whose admin may make no
// status call cannot be shown alive, so its lease is not renewed: it ends at its TTL.
func (b *backend) sessionRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Session == "" {
		return logical.ErrorResponse("lease has no session to renew"), nil
	}
	if client.Probe(l.RenewProbe) == client.ProbeNone {
		// -11 would not tell a live session from a gone one, and renew extends only what it
		// has seen alive.
		return logical.ErrorResponse("cannot renew: the admin of config %q may ask neither /sys/status nor "+
			"/cli/global/system/status (renew_probe is none), so whether the session is alive cannot be checked; "+
			"read creds again before the lease ends, or give the admin's profile read access to System Settings "+
			"and write the config again", l.Config), nil
	}
	if refused, err := b.checkSession(ctx, req.Storage, l); refused != nil || err != nil {
		return refused, err
	}
	ttl, maxTTL := b.ttls(ctx, req.Storage, l)
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL, resp.Secret.MaxTTL = ttl, maxTTL
	return resp, nil
}

// checkSession asks upstream whether the lease's session is alive, with the probe learnt for
// its admin first. A session gone is a refusal, to answer as the renew's.
func (b *backend) checkSession(ctx context.Context, s logical.Storage, l leaseInternal) (*logical.Response, error) {
	conn, done, err := b.conn(ctx, s, l)
	if err != nil {
		return nil, err
	}
	defer done()
	err = conn.Sessions.Status(ctx, l.Session, client.Probe(l.RenewProbe))
	if !errors.Is(err, client.ErrGone) {
		return nil, err
	}
	msg := "the session is no longer alive upstream (it idled out or was logged out): read creds again"
	if client.Probe(l.RenewProbe) == client.ProbeUnknown {
		// Nothing learnt: the admin may be one that no status call answers.
		msg += fmt.Sprintf("; if renew refuses every fresh session too, the admin may ask neither /sys/status nor "+
			"/cli/global/system/status: write config/%s again with verify_connection=true to find out", l.Config)
	}
	return logical.ErrorResponse("%s", msg), nil
}

// sessionRevoke logs the session out. A session already gone counts as revoked; any other
// failure is an error, so that Vault keeps the lease and tries again.
func (b *backend) sessionRevoke(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return nil, b.revokeLease(ctx, req)
}

func (b *backend) logout(ctx context.Context, s logical.Storage, l leaseInternal) error {
	conn, done, err := b.conn(ctx, s, l)
	if err != nil {
		return err
	}
	defer done()
	err = conn.Sessions.Logout(ctx, l.Session)
	if errors.Is(err, client.ErrGone) {
		b.Logger().Debug("revoke: session already gone upstream", "config", l.Config)
		return nil
	}
	return err
}

// issueSession logs in and answers the new session under a lease.
func (b *backend) issueSession(ctx context.Context, req *logical.Request, l leaseInternal, c *cachedConfig, r *roleEntry) (*logical.Response, error) {
	sid, c, err := b.loginSettlingRotation(ctx, req.Storage, l.Config, c)
	if err != nil {
		if c.entry.AuthMethod == client.AuthForticloudToken && errors.Is(err, client.ErrRefused) {
			return nil, tokenRefused(req.MountPoint, l.Config, c.entry, err)
		}
		return nil, upstreamError(l.Config, err)
	}
	l.Session = sid
	resp := b.Secret(secretSessionType).Response(map[string]any{"session": sid, "url": l.URL}, l.toMap())
	resp.Secret.TTL, resp.Secret.MaxTTL = r.TTL, r.MaxTTL
	return b.guard(ctx, req, sessionKind(), l, resp)
}

// loginSettlingRotation logs in with config name (c, as cached). A login refused may be a
// rotation the plugin did not live to finish, which left the old password stored: it is
// settled, and the login tried once more with the config it leaves (returned).
func (b *backend) loginSettlingRotation(ctx context.Context, s logical.Storage, name string, c *cachedConfig) (string, *cachedConfig, error) {
	var sid string
	c, err := b.settling(ctx, s, name, c, func(c *cachedConfig) (err error) {
		sid, err = b.login(ctx, s, c.entry, c.conn)
		return err
	})
	return sid, c, err
}

// verifySession logs in once, learns how renew can check this admin's sessions, checks that a
// local admin may manage admins (for dynamic_admin roles), and logs out.
func (b *backend) verifySession(ctx context.Context, s logical.Storage, name string, c *configEntry, conn *client.Client) ([]string, error) {
	sid, err := b.login(ctx, s, c, conn)
	if err != nil {
		return nil, err
	}
	var warnings []string
	if w := b.learnProbe(ctx, name, c, conn, sid); w != "" {
		warnings = append(warnings, w)
	}
	if c.AuthMethod == client.AuthLocalUser {
		warnings = append(warnings, adminAccessWarning(ctx, conn, sid)...)
	}
	if err := conn.Sessions.Logout(context.WithoutCancel(ctx), sid); err != nil && !errors.Is(err, client.ErrGone) {
		b.Logger().Warn("verify_connection: logout failed; the session will idle out upstream", "config", name, "error", err)
	}
	return warnings, nil
}

// learnProbe finds, with sid fresh from a login and so alive, which status call renew can ask
// about this admin's sessions, and records it in c. A warning says when renew cannot check
// them, or when nothing was learnt (c keeps what it had).
func (b *backend) learnProbe(ctx context.Context, name string, c *configEntry, conn *client.Client, sid string) string {
	p, err := conn.Sessions.LearnProbe(ctx, sid)
	if err != nil {
		b.Logger().Warn("verify_connection: could not find a status call for renew", "config", name, "error", err)
		return fmt.Sprintf("verify_connection: logged in, but could not find out how renew can check this admin's sessions (%s): "+
			"renew will ask /sys/status, then /cli/global/system/status; write the config again to retry", err)
	}
	c.RenewProbe = string(p)
	if p == client.ProbeNone {
		return "verify_connection: this admin may ask neither /sys/status nor /cli/global/system/status, so renew cannot tell " +
			"its live sessions from gone ones: its leases cannot be renewed and end at their ttl (keep it below the " +
			"session idle timeout). Give the admin's profile read access to System Settings, then write the config again"
	}
	return ""
}

// login opens a session. An API user's logins are serialised: each one mints an OAuth token,
// and a new token kills the one another login may be about to exchange, and any token shared
// by that user's leases.
func (b *backend) login(ctx context.Context, s logical.Storage, c *configEntry, conn *client.Client) (string, error) {
	if c.AuthMethod != client.AuthAPIUser {
		return conn.Sessions.Login(ctx)
	}
	unlock := b.apiUsers.Lock(apiUserKey(c.AuthURL, c.APIID))
	defer unlock()
	sid, err := conn.Sessions.Login(ctx)
	if client.TokenMayBeMinted(err) {
		// Recorded even if the caller left: the mint happened all the same.
		b.markShareStale(context.WithoutCancel(ctx), s, c.AuthURL, c.APIID)
	}
	var left *client.UnrevokedToken
	if errors.As(err, &left) {
		b.leftover(ctx, s, c, left)
		if sid != "" {
			return sid, nil
		}
	}
	return sid, err
}

// leftover sees to an OAuth token a login minted and could not revoke: a WAL entry whose
// rollback revokes it. Nothing else holds it, and the API user's next token may be hours away.
func (b *backend) leftover(ctx context.Context, s logical.Storage, c *configEntry, left *client.UnrevokedToken) {
	l := newLeaseInternal("", "", c, nil)
	l.ClientID, l.AccessToken = left.ClientID, left.Token
	if _, err := framework.PutWAL(context.WithoutCancel(ctx), s, oauthLeftoverKind().name, l.toMap()); err != nil {
		b.Logger().Warn("an OAuth token could not be revoked after the session exchange, nor recorded for rollback; it ends with the API user's next token",
			"error", err)
		return
	}
	b.Logger().Warn("an OAuth token could not be revoked after the session exchange; WAL rollback will revoke it", "error", left.Err)
}
