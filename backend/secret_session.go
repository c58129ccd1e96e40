package backend

import (
	"context"
	"errors"

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

// sessionRenew extends the lease only while the session is alive upstream; the /sys/status
// probe also resets the session's idle timer.
func (b *backend) sessionRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Session == "" {
		return logical.ErrorResponse("lease has no session to renew"), nil
	}
	conn, done, err := b.conn(ctx, req.Storage, l)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := conn.Sessions.Status(ctx, l.Session); err != nil {
		if errors.Is(err, client.ErrGone) {
			return logical.ErrorResponse("the session is no longer alive upstream (it idled out or was logged out): read creds again"), nil
		}
		return nil, err
	}
	ttl, maxTTL := b.ttls(ctx, req.Storage, l)
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL, resp.Secret.MaxTTL = ttl, maxTTL
	return resp, nil
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
