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
// status call cannot be checked: its lease is extended all the same, with a warning.
func (b *backend) sessionRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Session == "" {
		return logical.ErrorResponse("lease has no session to renew"), nil
	}
	resp := &logical.Response{Secret: req.Secret}
	if client.Probe(l.RenewProbe) == client.ProbeNone {
		// -11 would not tell a live session from a gone one: refusing would refuse them all.
		resp.AddWarning(fmt.Sprintf("the session was not checked: the admin of config %q may ask neither /sys/status nor "+
			"/cli/global/system/status (renew_probe is none), so the lease was extended without knowing whether the "+
			"session is alive, and the session's idle timer was not reset", l.Config))
	} else if refused, err := b.checkSession(ctx, req.Storage, l); refused != nil || err != nil {
		return refused, err
	}
	ttl, maxTTL := b.ttls(ctx, req.Storage, l)
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
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Session == "" {
		// Nothing here names a session, and nothing ever will: retrying cannot help.
		b.Logger().Warn("revoke: lease holds no session; nothing to log out", "config", l.Config)
		return nil, nil
	}
	if err := b.logout(ctx, req.Storage, l); err != nil {
		return nil, err
	}
	b.metrics.leaseRevoked(l.Config, l.Instance)
	return nil, nil
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
