package backend

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"
)

// checkDependents refuses a write of config name, from old to c, that would strand what
// depends on it: roles whose credential_type c cannot serve, and admins (FortiGate api-users
// too) the engine created through it (admin_index.go), when the write moves it to another URL or
// to an auth method that cannot manage admins. The caller holds pauseCreds(name) and the config's write lock.
func (b *backend) checkDependents(ctx context.Context, s logical.Storage, mount, name string, old, c *configEntry) error {
	if old == nil {
		return nil
	}
	users, err := b.rolesUsing(ctx, s, name)
	if err != nil {
		return err
	}
	var stranded []string
	var why error
	for _, n := range users {
		r, err := b.role(ctx, s, n)
		if err != nil || r == nil {
			return err
		}
		t, ok := lookupCredentialType(r.credentialType(c))
		if !ok {
			continue
		}
		if err := t.fits(c); err != nil {
			stranded, why = append(stranded, fmt.Sprintf("%s (%s)", n, t.name)), err
		}
	}
	if len(stranded) > 0 {
		return fmt.Errorf("auth_method: roles %s cannot use config %q as written (%s): point them at another config or delete them first",
			strings.Join(stranded, ", "), name, why)
	}
	switch {
	case old.URL != c.URL:
		return prefixed("url", b.adminsKeep(ctx, s, mount, name, "move to another url"))
	case !rootManages(c):
		return prefixed("auth_method", b.adminsKeep(ctx, s, mount, name, "change to auth_method "+c.AuthMethod))
	}
	return nil
}

// prefixed is err naming field; nil for nil.
func prefixed(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", field, err)
}
