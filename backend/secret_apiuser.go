package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// secretAPIUserType is a FortiGate REST API admin (api-user) made for one lease, with its key
// (api_user roles).
const secretAPIUserType = "api_user"

func secretAPIUser(b *backend) *framework.Secret {
	return &framework.Secret{
		Type: secretAPIUserType,
		Fields: map[string]*framework.FieldSchema{
			"username": secretAdmin(b).Fields["username"],
			"api_key": {Type: framework.TypeString, Description: "api_user: the REST API admin's key, for Authorization: Bearer " +
				"at url; it stops working when the lease ends.", DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
			"url": secretSession(b).Fields["url"],
		},
		Renew:  b.apiUserRenew,
		Revoke: b.sessionRevoke,
	}
}

// apiUserKind is a FortiGate REST API admin made for one lease: named, and noted in a WAL entry
// and the admin index (admin_index.go), before it is created; ended by deleting it, which ends
// its key with it.
func apiUserKind() credentialKind {
	return credentialKind{name: credAPIUser, issue: (*backend).issueAPIUser, verify: (*backend).verifyAPIUserRoot,
		end: (*backend).endAPIUser, revoke: (*backend).revokeAPIUser}
}

// issueAPIUser creates the api-user role r asks for, generates its key, and answers both under
// a lease. The key is asked to expire by itself at the lease's max_ttl (firmware 7.6+; older
// firmware makes one that does not), so that even a revoke that never comes ends it. Whatever
// fails once the create may have been sent, and a caller that leaves meanwhile (the create and
// generate-key run to their answers), ends with the api-user deleted: at once, or by WAL
// rollback. The caller holds credsDuringRotation(l.Config).
func (b *backend) issueAPIUser(ctx context.Context, req *logical.Request, l leaseInternal, c *cachedConfig, r *roleEntry) (*logical.Response, error) {
	k := apiUserKind()
	name, err := renderUsername(r, l.Role, req.DisplayName)
	if err != nil {
		return logical.ErrorResponse("username_template of role %q %s: fix the role's username_template", l.Role, err), nil
	}
	l.Claim = rand.Text()
	want, err := r.apiUser(name, apiUserComments(req.MountPoint, l.Role, l.Claim))
	if err != nil {
		return nil, fmt.Errorf("role %q: %w", l.Role, err)
	}
	maxTTL := r.MaxTTL
	if maxTTL <= 0 {
		maxTTL = b.System().MaxLeaseTTL()
	}
	expiry := keyExpiryMinutes(maxTTL)
	// Set before the key is made, so no later than the key's own expiry, where it has one.
	l.ExpiresAt = time.Now().Add(time.Duration(expiry) * time.Minute).Unix()
	l.CredentialType, l.Admin, l.RenewProbe = credAPIUser, name, ""
	release := b.holdName(l)
	defer release()
	n, err := b.noteAdmin(ctx, req.Storage, k, l, release)
	if err != nil {
		return nil, err
	}
	id := n.id
	err = n.create(func() (err error) {
		c, err = b.settling(ctx, req.Storage, l.Config, c, func(c *cachedConfig) error {
			return c.conn.APIUsers.CreateAPIUser(ctx, want)
		})
		return err
	})
	if errors.Is(err, client.ErrExists) {
		// Never this engine's: each create is sent under a name of its own.
		return nil, logical.CodedError(http.StatusConflict, fmt.Sprintf("%s: it is not the engine's, and was left alone; "+
			"role %q's username_template must give each lease a new name", err, l.Role))
	}
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("request ended while api-user %q was created: %w", name, ctx.Err())
	}
	var key string
	if err == nil {
		key, err = c.conn.APIUsers.GenerateKey(ctx, name, expiry)
	}
	if err != nil {
		b.undoThenDropWAL(ctx, req.Storage, k, l, id)
		return nil, apiUserError(l.Config, name, err)
	}
	data := map[string]any{"username": name, "api_key": key, "url": l.URL}
	resp := b.Secret(secretAPIUserType).Response(data, l.toMap())
	resp.Secret.TTL, resp.Secret.MaxTTL = r.TTL, r.MaxTTL
	if err := b.capAtExpiry(resp, l.expiresAt()); err != nil {
		b.undoThenDropWAL(ctx, req.Storage, k, l, id)
		return nil, err
	}
	return b.handOver(ctx, req, k, l, resp, id)
}

// claimMark is how a create's claim shows in what it writes upstream.
func claimMark(claim string) string { return "claim " + claim }

// keyExpiryMinutes is the expiry generate-key is asked for a lease of at most maxTTL: maxTTL in
// whole minutes, rounded up and a minute more, so that the key outlives the lease however Vault
// rounds its times, within the 1 to client.MaxKeyExpiry minutes FortiOS takes [fortinet-apis §6].
// A longer lease is cut to the key's.
func keyExpiryMinutes(maxTTL time.Duration) int {
	m := int((maxTTL+time.Minute-1)/time.Minute) + 1
	return max(1, min(m, client.MaxKeyExpiry))
}

// apiUserComments is the comment an api-user is created with: who made it and for what, as an
// administrator looking at the FortiGate sees it, and the create's claim first, never cut, which
// a rollback checks before it deletes by name an api-user it has no record of (dropAPIUser).
// Role names are path segments, so nothing here can hold a control character.
func apiUserComments(mount, role, claim string) string {
	s := fmt.Sprintf("%s; Vault lease of role %s on mount %s; deleted when the lease ends", claimMark(claim), role, mount)
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

// apiUserError is what creds answer for err, a failure to create api-user name through config
// or to make its key (it was deleted), saying what to check where the status tells.
func apiUserError(config, name string, err error) error {
	var ce *client.Error
	if !errors.Is(err, client.ErrRefused) || !errors.As(err, &ce) {
		return upstreamError(config, err)
	}
	switch ce.Status {
	case http.StatusForbidden:
		return logical.CodedError(http.StatusBadGateway, fmt.Sprintf("%s: config/%s's api-user (username) must be allowed to manage "+
			"api-users (an access profile with read-write on administrators) and trust the address Vault connects from", err, config))
	case http.StatusFailedDependency:
		return logical.CodedError(http.StatusBadGateway, fmt.Sprintf("%s: check that the role's admin_profile and vdoms exist on the FortiGate", err))
	case http.StatusUnauthorized:
		return upstreamError(config, err)
	}
	return logical.CodedError(http.StatusBadGateway, fmt.Sprintf("%s (api-user %q was deleted)", err, name))
}

// revokeAPIUser is the revoke of an api-user's lease.
func (b *backend) revokeAPIUser(ctx context.Context, s logical.Storage, l leaseInternal) error {
	release := b.credsDuringRotation(l.Config)
	defer release()
	return b.dropAPIUser(ctx, s, l, true)
}

// endAPIUser ends the api-user of a create that got no lease (undo, WAL rollback). The caller
// holds credsDuringRotation(l.Config).
func (b *backend) endAPIUser(ctx context.Context, s logical.Storage, l leaseInternal) error {
	return b.dropAPIUser(ctx, s, l, false)
}

// dropAPIUser deletes the lease's api-user, and its key with it, when it is the lease's own
// (ownAdmin; leased: handed over, so recorded before), with its config's root key as it is now;
// one gone upstream counts as deleted. The name is held from the check to the record's drop.
// The caller holds credsDuringRotation(l.Config).
func (b *backend) dropAPIUser(ctx context.Context, s logical.Storage, l leaseInternal, leased bool) error {
	release := b.holdName(l)
	defer release()
	c, recorded, err := b.ownAdmin(ctx, s, l, leased, "api-user", fitsAPIUser)
	if err != nil || c == nil {
		return err
	}
	if !recorded {
		// Deleted by name with no record: only if upstream shows it is this create's.
		switch u, err := c.conn.APIUsers.GetAPIUser(ctx, l.Admin); {
		case errors.Is(err, client.ErrGone):
			return nil
		case err != nil:
			return err
		case !strings.Contains(u.Comments, claimMark(l.Claim)):
			b.Logger().Warn("an api-user of the name of a create cut short is not its own (its comments lack the claim); left alone",
				"config", l.Config, "api_user", l.Admin)
			return nil
		}
	}
	_, err = b.settling(ctx, s, l.Config, c, func(c *cachedConfig) error {
		return c.conn.APIUsers.DeleteAPIUser(ctx, l.Admin)
	})
	if errors.Is(err, client.ErrGone) {
		b.Logger().Debug("api-user already gone upstream", "config", l.Config, "api_user", l.Admin)
	} else if err != nil {
		return err
	}
	if !recorded {
		return nil
	}
	return b.forgetAdmin(ctx, s, l.Config, l.Admin)
}

// apiUserConfig is the config that manages l's api-user: its own, which config writes keep at
// the api-user's URL while it is in the index.
func (b *backend) apiUserConfig(ctx context.Context, s logical.Storage, l leaseInternal) (*cachedConfig, error) {
	return b.managingConfig(ctx, s, l, "api-user", fitsAPIUser)
}

// apiUserRenew extends the lease while its api-user exists upstream, within max_ttl and never
// past the key's own expiry.
func (b *backend) apiUserRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Admin == "" {
		return logical.ErrorResponse("lease has no api-user to renew"), nil
	}
	release := b.credsDuringRotation(l.Config)
	defer release()
	c, err := b.apiUserConfig(ctx, req.Storage, l)
	if err != nil {
		return nil, err
	}
	_, err = b.settling(ctx, req.Storage, l.Config, c, func(c *cachedConfig) error {
		_, err := c.conn.APIUsers.GetAPIUser(ctx, l.Admin)
		return err
	})
	switch {
	case errors.Is(err, client.ErrGone):
		return logical.ErrorResponse("api-user %q no longer exists upstream (deleted outside Vault): read creds again", l.Admin), nil
	case err != nil:
		return nil, upstreamError(l.Config, err)
	}
	ttl, maxTTL := b.ttls(ctx, req.Storage, l)
	return renewWithin(req, l.expiresAt(), "the api-user's key", ttl, maxTTL), nil
}

// verifyAPIUserRoot checks a FortiGate config's key with a status call, then that its api-user
// (username) may manage api-users, saying what to fix when not.
func (b *backend) verifyAPIUserRoot(ctx context.Context, _ logical.Storage, _ string, c *configEntry, conn *client.Client) ([]string, error) {
	var ce *client.Error
	if _, err := conn.APIUsers.Status(ctx); err != nil {
		switch {
		case errors.As(err, &ce) && ce.Status == http.StatusUnauthorized:
			return nil, fmt.Errorf("%w: check api_key (a key of the api-user named by username)", err)
		case errors.As(err, &ce) && ce.Status == http.StatusForbidden:
			return nil, fmt.Errorf("%w: the api-user's trusthosts must include the address Vault connects from", err)
		}
		return nil, err
	}
	err := conn.APIUsers.MayManageAPIUsers(ctx, c.Username)
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &ce) && ce.Status == http.StatusForbidden:
		return nil, fmt.Errorf("%w: api-user %q's access profile must have read-write on administrators, for api_user roles", err, c.Username)
	case errors.Is(err, client.ErrRefused):
		return nil, fmt.Errorf("%w: username must name the api-user that owns api_key, and its access profile needs read-write "+
			"on administrators for api_user roles", err)
	}
	return nil, err
}
