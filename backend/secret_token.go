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

// secretTokenType is a FortiLAN Cloud or FortiCloud access token.
const secretTokenType = "access_token"

// expiredSlack is how far past its expiry a token is surely gone upstream: revoking it would
// only spend a rate-limited call.
const expiredSlack = time.Minute

// expiryMargin is the gap kept between a lease's end and its token's expiry, for how Vault
// counts: in whole seconds (the issue time and now truncated), yet it ends the lease at the
// exact now plus the TTL it worked out, up to a second later than the whole seconds say. The
// second second absorbs the time between this answer and Vault's own reading of the clock.
const expiryMargin = 2 * time.Second

// leaseRoom is the longest TTL (at issue, start now) or max TTL (at renew, start the lease's
// issue time) that Vault can turn into a lease that ends no later than exp.
func leaseRoom(exp, start time.Time) time.Duration {
	return exp.Sub(start.Truncate(time.Second)) - expiryMargin
}

func secretToken(b *backend) *framework.Secret {
	return &framework.Secret{
		Type: secretTokenType,
		Fields: map[string]*framework.FieldSchema{
			"access_token": {Type: framework.TypeString, Description: "Access token, for Authorization: Bearer.", DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
			"expires_at":   {Type: framework.TypeString, Description: "When the token expires upstream (RFC 3339)."},
			"url":          {Type: framework.TypeString, Description: "Where to use the token (FortiLAN base URL)."},
			"token_type":   {Type: framework.TypeString, Description: "Token type (Bearer), for forticloud."},
		},
		Renew:  b.tokenRenew,
		Revoke: b.tokenRevoke,
	}
}

// tokenRenew extends the lease within max_ttl and never past the token's own expiry.
func (b *backend) tokenRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.AccessToken == "" && !l.Shared {
		return logical.ErrorResponse("lease has no token to renew"), nil
	}
	ttl, maxTTL := b.ttls(ctx, req.Storage, l)
	return renewWithin(req, l.expiresAt(), "the token", ttl, maxTTL), nil
}

// renewWithin answers the renewal of req's lease with ttl and maxTTL, never past exp (zero:
// none), when what (the credential) expires upstream; refused once it is about to.
func renewWithin(req *logical.Request, exp time.Time, what string, ttl, maxTTL time.Duration) *logical.Response {
	if !exp.IsZero() {
		if leaseRoom(exp, time.Now()) <= 0 {
			return logical.ErrorResponse("%s expires upstream at %s: read creds again", what, exp.UTC().Format(time.RFC3339))
		}
		// Vault counts MaxTTL from the lease's issue time on renew, and caps the TTL (the
		// increment asked for, if any) by it.
		limit := leaseRoom(exp, req.Secret.IssueTime)
		if maxTTL == 0 || maxTTL > limit {
			maxTTL = limit
		}
	}
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL, resp.Secret.MaxTTL = ttl, maxTTL
	return resp
}

// tokenRevoke invalidates the token, or gives up the lease's share of an API user's token.
func (b *backend) tokenRevoke(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return nil, b.revokeLease(ctx, req)
}

func (b *backend) invalidateToken(ctx context.Context, s logical.Storage, l leaseInternal) error {
	return b.endToken(ctx, s, l, l.AccessToken, l.expiresAt())
}

// endToken ends a token upstream, where the lease l says it lives: the lease's own, or the
// shared one it held. A token already gone there counts as ended, and so does one past its
// expiry (exp; zero when unknown) whatever the upstream answered: down, slow or refusing, it
// cannot keep an expired token alive. Well past expiry, the token is not even sent.
func (b *backend) endToken(ctx context.Context, s logical.Storage, l leaseInternal, token string, exp time.Time) error {
	expired := !exp.IsZero() && !time.Now().Before(exp)
	if expired && time.Since(exp) > expiredSlack {
		return nil
	}
	conn, done, err := b.conn(ctx, s, l)
	if err == nil {
		defer done()
		err = conn.Tokens.Revoke(ctx, token)
	}
	switch {
	case err == nil:
	case errors.Is(err, client.ErrGone):
		b.Logger().Debug("revoke: token already gone upstream", "config", l.Config)
	case expired:
		b.Logger().Debug("revoke: token past its expiry; the upstream's failure does not matter", "config", l.Config, "error", err)
	default:
		return err
	}
	return nil
}

// tokenData is what a token lease shows its holder.
func tokenData(l leaseInternal, tok client.Token) map[string]any {
	d := map[string]any{"access_token": tok.AccessToken}
	if !tok.ExpiresAt.IsZero() {
		d["expires_at"] = tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if l.Type == client.TypeFortiCloud {
		d["token_type"] = tok.TokenType
	} else {
		d["url"] = l.URL
	}
	return d
}

// capAtExpiry keeps a new lease's TTLs within its credential's expiry, saying so when it cut them.
func (b *backend) capAtExpiry(resp *logical.Response, exp time.Time) error {
	if exp.IsZero() {
		return nil
	}
	left := leaseRoom(exp, time.Now())
	if left <= 0 {
		return fmt.Errorf("the upstream issued a token that already expired at %s: check the clocks", exp.UTC().Format(time.RFC3339))
	}
	ttl := resp.Secret.TTL
	if ttl == 0 {
		ttl = b.System().DefaultLeaseTTL()
	}
	if ttl > left {
		resp.Secret.TTL = left
		resp.AddWarning(fmt.Sprintf("lease TTL capped at %s: the credential expires upstream at %s", left, exp.UTC().Format(time.RFC3339)))
	}
	if resp.Secret.MaxTTL == 0 || resp.Secret.MaxTTL > left {
		resp.Secret.MaxTTL = left
	}
	return nil
}

// issueToken gets a token of the config's own and answers it under a lease.
func (b *backend) issueToken(ctx context.Context, req *logical.Request, l leaseInternal, c *cachedConfig, r *roleEntry) (*logical.Response, error) {
	tok, err := c.conn.Tokens.Issue(ctx)
	if err != nil {
		return nil, upstreamError(l.Config, err)
	}
	l, resp, err := b.tokenResponse(l, r, tok)
	if err != nil {
		b.undo(ctx, req.Storage, tokenKind(), l)
		return nil, err
	}
	return b.guard(ctx, req, tokenKind(), l, resp)
}

// tokenResponse is a token's answer under a lease whose TTLs stop at the token's expiry.
func (b *backend) tokenResponse(l leaseInternal, r *roleEntry, tok client.Token) (leaseInternal, *logical.Response, error) {
	l.AccessToken = tok.AccessToken
	if !tok.ExpiresAt.IsZero() {
		l.ExpiresAt = tok.ExpiresAt.Unix()
	}
	resp := b.Secret(secretTokenType).Response(tokenData(l, tok), l.toMap())
	resp.Secret.TTL, resp.Secret.MaxTTL = r.TTL, r.MaxTTL
	return l, resp, b.capAtExpiry(resp, tok.ExpiresAt)
}

// verifyToken gets a token once and invalidates it.
func (b *backend) verifyToken(ctx context.Context, _ logical.Storage, name string, _ *configEntry, conn *client.Client) ([]string, error) {
	tok, err := conn.Tokens.Issue(ctx)
	if err != nil {
		return nil, err
	}
	if err := conn.Tokens.Revoke(context.WithoutCancel(ctx), tok.AccessToken); err != nil && !errors.Is(err, client.ErrGone) {
		b.Logger().Warn("verify_connection: token invalidation failed; the token will expire upstream", "config", name, "error", err)
	}
	return nil, nil
}
