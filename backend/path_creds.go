package backend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// The help of creds/<role>, as path-help shows it.
const (
	pathCredsHelpSyn  = "Issue a short-lived Fortinet credential under a lease."
	pathCredsHelpDesc = `
Reading (or writing) creds/<role> logs in with the role's config and returns the new
credential under a lease: a JSON-RPC session for fortianalyzer and fortimanager, an access
token for fortilan and forticloud. Revoking the lease logs the session out or invalidates the
token upstream. Leases of a FortiCloud API user's token share the one live token, which is
revoked when the last of them ends.

A dynamic_admin role creates a local admin per lease instead (username, password, and a
session of it unless with_session=false), checked against the role after creation; revoking
the lease logs its session out and deletes it.

An api_user role (fortigate) creates a REST API admin per lease and answers its username and
key (api_key); revoking the lease deletes it, and its key with it.
`
)

func pathCreds(b *backend) []*framework.Path {
	// The answer is a session's, a token's, a dynamic admin's or an api-user's data, by the role's type.
	data := map[string]*framework.FieldSchema{}
	for _, s := range []*framework.Secret{secretSession(b), secretToken(b), secretAdmin(b), secretAPIUser(b)} {
		maps.Copy(data, s.Fields)
	}
	op := func(suffix string) *framework.PathOperation {
		o := answers(operation(b.pathCredsRead, "generate", true), http.StatusOK, data)
		o.DisplayAttrs.OperationSuffix = suffix
		return o
	}
	return []*framework.Path{{
		Pattern: "creds/" + framework.GenericNameRegex("name"),
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "credentials",
		},
		Fields: map[string]*framework.FieldSchema{
			"name": {
				Type:        framework.TypeString,
				Description: "Name of the role.",
				Required:    true,
			},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   op("credentials"),
			logical.UpdateOperation: op("credentials-with-parameters"),
		},
		HelpSynopsis:    pathCredsHelpSyn,
		HelpDescription: strings.TrimSpace(pathCredsHelpDesc),
	}}
}

func (b *backend) pathCredsRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("role %q does not exist", name), nil
	}
	c, err := b.config(ctx, req.Storage, r.Config)
	if err == nil && c != nil && (rotatable(c.entry) == nil || rootManages(c.entry)) {
		// Its password may be changing: wait, and use the config as the rotation left it. A
		// config that makes admins is not changed or deleted meanwhile (admin_index.go).
		release := b.credsDuringRotation(r.Config)
		defer release()
		c, err = b.config(ctx, req.Storage, r.Config)
	}
	if err != nil {
		return nil, err
	}
	if c == nil {
		return logical.ErrorResponse("role %q names config %q, which does not exist", name, r.Config), nil
	}
	typ := r.credentialType(c.entry)
	if t, ok := lookupCredentialType(typ); !ok || t.fits(c.entry) != nil {
		return logical.ErrorResponse("role %q has credential_type %q, which config %q cannot serve: write the role again", name, typ, r.Config), nil
	}
	l := newLeaseInternal(r.Config, name, c.entry, r)
	l.Instance = b.metrics.instance
	return kindFor(c.entry.Type, c.entry.AuthMethod, typ).issue(b, ctx, req, l, c, r)
}

// guard covers the gap between the upstream login and Vault holding the lease: a WAL entry
// that rolls the credential back unless this request gets to hand it over. If anything fails
// here, the credential is undone at once.
func (b *backend) guard(ctx context.Context, req *logical.Request, k credentialKind, l leaseInternal, resp *logical.Response) (*logical.Response, error) {
	// The entry holds the lease's internal data, encoded once for both (its extra secret_type
	// key is ignored by rollback). It is written even when the caller has left: the credential
	// lives upstream all the same, and the entry covers it while it is ended.
	id, err := framework.PutWAL(context.WithoutCancel(ctx), req.Storage, k.name, resp.Secret.InternalData)
	if err != nil {
		b.undo(ctx, req.Storage, k, l)
		return nil, fmt.Errorf("write WAL: %w", err)
	}
	return b.handOver(ctx, req, k, l, resp, id)
}

// handOver gives resp to Vault, which stores the lease, once the WAL entry id is gone; if
// that cannot be done, the credential is undone.
func (b *backend) handOver(ctx context.Context, req *logical.Request, k credentialKind, l leaseInternal, resp *logical.Response, id string) (*logical.Response, error) {
	if err := ctx.Err(); err != nil {
		// Whoever asked is gone: nobody will hold the lease.
		b.undoThenDropWAL(ctx, req.Storage, k, l, id)
		return nil, fmt.Errorf("request ended before the credential was handed over: %w", err)
	}
	if err := framework.DeleteWAL(ctx, req.Storage, id); err != nil {
		// A WAL entry left behind would roll back a credential that has a lease.
		b.undoThenDropWAL(ctx, req.Storage, k, l, id)
		return nil, fmt.Errorf("delete WAL: %w", err)
	}
	b.metrics.leaseIssued(l.Config)
	return resp, nil
}

// undoThenDropWAL undoes a credential whose WAL entry exists, and drops the entry once done.
func (b *backend) undoThenDropWAL(ctx context.Context, s logical.Storage, k credentialKind, l leaseInternal, id string) {
	if b.undo(ctx, s, k, l) {
		_ = framework.DeleteWAL(context.WithoutCancel(ctx), s, id)
	}
}

// undo ends a credential that will get no lease. It reports whether that worked; when it did
// not, the WAL entry (if any) rolls it back later.
func (b *backend) undo(ctx context.Context, s logical.Storage, k credentialKind, l leaseInternal) bool {
	if err := k.end(b, context.WithoutCancel(ctx), s, l); err != nil {
		b.Logger().Warn("could not end a credential that got no lease; WAL rollback will retry", "config", l.Config, "error", err)
		return false
	}
	return true
}

// tokenRefused explains a refused FortiCloud token: most likely it expired, as they do within
// hours, and the config needs a new one.
func tokenRefused(mount, config string, c *configEntry, err error) error {
	age := ""
	if c.TokenStoredAt != 0 {
		age = fmt.Sprintf(" (stored %s ago)", time.Since(time.Unix(c.TokenStoredAt, 0)).Round(time.Minute))
	}
	return logical.CodedError(http.StatusBadGateway, fmt.Sprintf(
		"%s: the FortiCloud token of config/%s was refused; FortiCloud tokens expire within hours%s, so it must be replaced: "+
			"vault write %sconfig/%s token=<new token> (roles and leases are kept), or use auth_method=forticloud_api_user, which mints tokens itself",
		err, config, age, mount, config))
}

// upstreamError turns a client error into what Vault answers: the upstream's failure with the
// HTTP status that fits it and what the operator can do.
func upstreamError(config string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, client.ErrLoginLimit):
		return logical.CodedError(http.StatusServiceUnavailable, msg+
			": the admin holds its maximum number of sessions (login-max); revoke unused leases, shorten the role's ttl, or raise login-max upstream")
	case errors.Is(err, client.ErrRefused):
		return logical.CodedError(http.StatusBadGateway, msg+fmt.Sprintf(": check the credentials and TLS settings of config/%s", config))
	case errors.Is(err, client.ErrRetryLater):
		if client.RateLimited(err) {
			return logical.CodedError(http.StatusTooManyRequests, msg)
		}
		return logical.CodedError(http.StatusServiceUnavailable, msg)
	case errors.Is(err, client.ErrProtocol):
		return logical.CodedError(http.StatusBadGateway, msg)
	}
	return err
}
