package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// Revoking a dynamic admin needs a root of its FortiAnalyzer/FortiManager: the config's. A lease
// cannot hold one: root passwords rotate, and a copy in every lease would be one more place for
// a root secret to leak. So revoke, renew and WAL rollback use the config's root as it is now
// (rotation-safe), and the engine keeps this index of the admins it created, per config: a
// record written before the add is sent and removed once the admin is deleted. While a config
// has records, deleting it, or a write that moves it to another URL or to an auth method that
// cannot manage admins, is refused, naming the admins and how to revoke their leases. So
// whatever happens to roles and configs, a lease's config still reaches its admin; and a revoke
// that finds no record has nothing to delete: the create never got as far as the add, or the
// admin was deleted already.

// adminPrefix is where the index lives: admins/<config>/<admin>.
const adminPrefix = "admins/"

// adminRecord is an admin the engine created through a config and has not deleted yet.
type adminRecord struct {
	Role      string `json:"role"`
	CreatedAt int64  `json:"created_at"` // UNIX seconds
}

func adminKey(config, admin string) string { return adminPrefix + config + "/" + admin }

// recordAdmin notes, before it is created, the admin of lease l.
func (b *backend) recordAdmin(ctx context.Context, s logical.Storage, l leaseInternal) error {
	e, err := logical.StorageEntryJSON(adminKey(l.Config, l.Admin), adminRecord{Role: l.Role, CreatedAt: time.Now().Unix()})
	if err == nil {
		err = s.Put(ctx, e)
	}
	if err != nil {
		return fmt.Errorf("record admin %q: %w", l.Admin, err)
	}
	return nil
}

// adminRecorded reports whether config's admin is in the index.
func (b *backend) adminRecorded(ctx context.Context, s logical.Storage, config, admin string) (bool, error) {
	e, err := s.Get(ctx, adminKey(config, admin))
	if err != nil {
		return false, fmt.Errorf("read the record of admin %q: %w", admin, err)
	}
	return e != nil, nil
}

// forgetAdmin removes config's admin from the index, once it is gone upstream.
func (b *backend) forgetAdmin(ctx context.Context, s logical.Storage, config, admin string) error {
	if err := s.Delete(ctx, adminKey(config, admin)); err != nil {
		return fmt.Errorf("forget admin %q: %w", admin, err)
	}
	return nil
}

// recordedAdmin is one record of the index, with the admin's name.
type recordedAdmin struct {
	name string
	adminRecord
}

// recordedAdmins lists config's records.
func (b *backend) recordedAdmins(ctx context.Context, s logical.Storage, config string) ([]recordedAdmin, error) {
	names, err := s.List(ctx, adminPrefix+config+"/")
	if err != nil {
		return nil, fmt.Errorf("list the admins of config %q: %w", config, err)
	}
	out := make([]recordedAdmin, 0, len(names))
	for _, n := range names {
		e, err := s.Get(ctx, adminKey(config, n))
		if err != nil {
			return nil, fmt.Errorf("read the record of admin %q: %w", n, err)
		}
		if e == nil {
			continue
		}
		a := recordedAdmin{name: n}
		if err := e.DecodeJSON(&a.adminRecord); err != nil {
			return nil, fmt.Errorf("decode the record of admin %q: %w", n, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// adminsKeep refuses, while config name has admins in the index, to do what would take their
// root away (what: "delete the config"). Records of admins gone upstream (deleted by hand after
// their lease was force-revoked, say) are dropped first. The caller holds pauseCreds(name) and
// the config's write lock, so no creds add to them meanwhile.
func (b *backend) adminsKeep(ctx context.Context, s logical.Storage, mount, name, what string) error {
	live, err := b.recordedAdmins(ctx, s, name)
	if err != nil || len(live) == 0 {
		return err
	}
	live, checkErr := b.dropGoneAdmins(ctx, s, name, live)
	if len(live) == 0 {
		return nil
	}
	names := make([]string, 0, len(live))
	var roles []string
	for _, a := range live {
		names = append(names, a.name)
		if cmd := fmt.Sprintf("vault lease revoke -prefix %screds/%s", mount, a.Role); !slices.Contains(roles, cmd) {
			roles = append(roles, cmd)
		}
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	msg := fmt.Sprintf("config %q has %d admin(s) or api-user(s) that the engine created upstream and has not deleted yet (%s): "+
		"their leases need this config's root to delete them, so it cannot %s until they are revoked: %s",
		name, len(live), strings.Join(names, ", "), what, strings.Join(roles, "; "))
	if checkErr != nil {
		msg += fmt.Sprintf(" (whether they still exist upstream could not be checked: %s)", checkErr)
	}
	return errors.New(msg)
}

// dropGoneAdmins drops the records of config name's admins that are gone upstream, and returns
// the others. An error says why they could not be checked (all are returned then).
func (b *backend) dropGoneAdmins(ctx context.Context, s logical.Storage, name string, live []recordedAdmin) ([]recordedAdmin, error) {
	c, err := b.config(ctx, s, name)
	if err != nil || c == nil || !rootManages(c.entry) {
		return live, err
	}
	// No settling of rotations here: the caller holds the config's write lock, which settling takes.
	lookup, end, err := b.adminLookup(ctx, name, c)
	if err != nil {
		return live, err
	}
	defer end()
	var kept []recordedAdmin
	for _, a := range live {
		err := lookup(a.name)
		if errors.Is(err, client.ErrGone) {
			if err := b.forgetAdmin(ctx, s, name, a.name); err == nil {
				b.Logger().Info("forgot an admin gone upstream", "config", name, "admin", a.name)
				continue
			}
		}
		kept = append(kept, a)
	}
	return kept, nil
}

// adminLookup returns how to read one of config name's admins (c, as cached) upstream, an error
// saying what the read found (client.ErrGone: no such admin), and how to end the root auth it
// holds.
func (b *backend) adminLookup(ctx context.Context, name string, c *cachedConfig) (func(admin string) error, func(), error) {
	if fitsAPIUser(c.entry) == nil {
		return func(admin string) error {
			_, err := c.conn.APIUsers.GetAPIUser(ctx, admin)
			return err
		}, func() {}, nil
	}
	auth, end, err := b.rootAuth(ctx, name, c)
	if err != nil {
		return nil, nil, err
	}
	return func(admin string) error {
		_, err := c.conn.Admins.GetAdmin(ctx, auth, admin)
		return err
	}, end, nil
}
