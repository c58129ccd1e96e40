package backend

import (
	"context"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// credentialKind is one kind of credential the engine leases. The config's product and auth
// method pick it (kindFor), and each path dispatches on it once: creds issues it, a config
// write verifies it, and it is ended wherever it is held: by a lease (revoke), by a request
// that could not hand it over (undo), by a WAL entry (rollback). Adding a kind is a row here,
// an issuer in client/ and a secret type.
type credentialKind struct {
	// name names the kind in WAL entries, so it never changes once released.
	name string
	// issue makes a new credential for the role and answers it under a lease.
	issue func(b *backend, ctx context.Context, req *logical.Request, l leaseInternal, c *cachedConfig, r *roleEntry) (*logical.Response, error)
	// verify checks a config's credentials at write; warnings say what it could not check.
	verify func(b *backend, ctx context.Context, s logical.Storage, name string, c *configEntry, conn *client.Client) (warnings []string, err error)
	// end ends a credential that no lease holds yet (undo, WAL rollback).
	end func(b *backend, ctx context.Context, s logical.Storage, l leaseInternal) error
	// revoke ends the credential of a lease; nil when that is end.
	revoke func(b *backend, ctx context.Context, s logical.Storage, l leaseInternal) error
}

// Every end and revoke counts a credential already gone upstream as ended: an error means it
// may still live, and the lease or WAL entry stays for a retry.

func sessionKind() credentialKind {
	return credentialKind{name: "session", issue: (*backend).issueSession, verify: (*backend).verifySession, end: (*backend).logout}
}

func tokenKind() credentialKind {
	return credentialKind{name: "token", issue: (*backend).issueToken, verify: (*backend).verifyToken, end: (*backend).invalidateToken}
}

// shareKind is a share of an API user's one live token. A WAL entry gives back a take that was
// counted but never settled; a lease gives up its share, the last one revoking the token.
func shareKind() credentialKind {
	return credentialKind{name: "share", issue: (*backend).issueShared, verify: (*backend).verifyShared,
		end: (*backend).releaseTake, revoke: (*backend).releaseShare}
}

// oauthLeftoverKind is an OAuth token a FortiAnalyzer Cloud login minted and could not revoke
// after its session exchange. Only WAL entries hold it.
func oauthLeftoverKind() credentialKind {
	return credentialKind{name: "oauth", end: (*backend).revokeOAuth}
}

// kindFor picks the kind a role of credential type credType ("" for its config's default) on a
// config of product typ with auth method method leases; a lease's own snapshot of the three
// picks the kind that ends it, and a config write verifies the kind of the default ("").
func kindFor(typ, method, credType string) credentialKind {
	p, _ := client.LookupProduct(typ)
	switch {
	case credType == credAPIUser, p.Family == client.FamilyAPIUser:
		return apiUserKind()
	case credType == credDynamicAdmin, p.Family == client.FamilySession && method == client.AuthAPIKey:
		// A key opens no session: its configs serve dynamic admins alone.
		return dynamicAdminKind()
	case p.Family == client.FamilySession:
		return sessionKind()
	case client.Settings{Type: typ, AuthMethod: method}.SharesToken():
		return shareKind()
	}
	return tokenKind()
}

// kindNamed finds the kind a WAL entry names.
func kindNamed(name string) (credentialKind, bool) {
	for _, k := range []credentialKind{sessionKind(), tokenKind(), shareKind(), oauthLeftoverKind(), dynamicAdminKind(), apiUserKind()} {
		if k.name == name {
			return k, true
		}
	}
	return credentialKind{}, false
}

// revoker is what ends the credential of a lease of this kind.
func (k credentialKind) revoker() func(*backend, context.Context, logical.Storage, leaseInternal) error {
	if k.revoke != nil {
		return k.revoke
	}
	return k.end
}

// revokeLease ends the credential of the lease req names: the secret types' Revoke. A lease
// that names no credential never will: retrying cannot help, so it is dropped with a warning.
func (b *backend) revokeLease(ctx context.Context, req *logical.Request) error {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Session == "" && l.AccessToken == "" && !l.Shared && l.Admin == "" {
		b.Logger().Warn("revoke: lease holds no credential; nothing to end", "config", l.Config)
		return nil
	}
	if err := kindFor(l.Type, l.AuthMethod, l.CredentialType).revoker()(b, ctx, req.Storage, l); err != nil {
		return err
	}
	b.metrics.leaseRevoked(l.Config, l.Instance)
	return nil
}
