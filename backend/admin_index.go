package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// Revoking a dynamic admin needs a root of its FortiAnalyzer/FortiManager: the config's. A lease
// cannot hold one: root passwords rotate, and a copy in every lease would be one more place for
// a root secret to leak. So revoke, renew and WAL rollback use the config's root as it is now
// (rotation-safe), and the engine keeps this index of the admins it created, per config: a
// record written beside the add (creds hand over no lease before it is written) and removed once
// the admin is deleted. While a config has records, or WAL entries of creds that did not finish
// (a plugin killed mid-add may have written no record), deleting it, or a write that moves it to
// another URL or to an auth method that cannot manage admins, is refused, naming the admins and
// how to revoke their leases. So whatever happens to roles and configs, a lease's config still
// reaches its admin.
//
// Each record holds its creds' claim, random, which the lease and the WAL entry hold too: an end
// (revoke, undo, rollback) deletes only its own admin, never another lease's of the same name
// (ownAdmin).

// adminPrefix is where the index lives: admins/<config>/<admin>.
const adminPrefix = "admins/"

// adminRecord is an admin the engine created through a config and has not deleted yet.
type adminRecord struct {
	Role      string `json:"role"`
	CreatedAt int64  `json:"created_at"`      // UNIX seconds
	Claim     string `json:"claim,omitempty"` // the lease's (leaseInternal.Claim)
	// Foreign marks the record of a create refused because the name is another's upstream: it
	// holds the name for nobody, and its WAL entry, if left, deletes nothing.
	Foreign bool `json:"foreign,omitempty"`
}

func adminKey(config, admin string) string { return adminPrefix + config + "/" + admin }

// recordAdmin notes the admin of lease l, with its claim, foreign or not.
func (b *backend) recordAdmin(ctx context.Context, s logical.Storage, l leaseInternal, foreign bool) error {
	e, err := logical.StorageEntryJSON(adminKey(l.Config, l.Admin), adminRecord{Role: l.Role, CreatedAt: time.Now().Unix(), Claim: l.Claim, Foreign: foreign})
	if err == nil {
		err = s.Put(ctx, e)
	}
	if err != nil {
		return fmt.Errorf("record admin %q: %w", l.Admin, err)
	}
	return nil
}

// adminRecordOf is config's record of admin, or nil when the index has none.
func (b *backend) adminRecordOf(ctx context.Context, s logical.Storage, config, admin string) (*adminRecord, error) {
	e, err := s.Get(ctx, adminKey(config, admin))
	if err != nil {
		return nil, fmt.Errorf("read the record of admin %q: %w", admin, err)
	}
	if e == nil {
		return nil, nil
	}
	var r adminRecord
	if err := e.DecodeJSON(&r); err != nil {
		return nil, fmt.Errorf("decode the record of admin %q: %w", admin, err)
	}
	return &r, nil
}

// ownAdmin is the config that manages lease l's admin (or api-user: what, for errors), or nil
// when the lease has none left to delete, and whether a record of it is to be dropped with it.
// The admin is l's own to delete when its record holds l's claim; and, for a create that got no
// lease (not leased), when there is none (or a foreign one, of another claim) while l has a
// claim and the config still manages it: the create may have been cut short after the add,
// before its record was written (adminNote.create). A record of another claim is another
// lease's admin of the same name: l's is gone. A foreign record of l's claim marks a name that
// was another's upstream: dropped, nothing deleted. A lease handed over was recorded before:
// without a record, its admin is gone; so is that of a lease of before claims. The caller holds
// the name (holdName) until the delete and the drop are done.
func (b *backend) ownAdmin(ctx context.Context, s logical.Storage, l leaseInternal, leased bool, what string, manages func(*configEntry) error) (c *cachedConfig, recorded bool, err error) {
	rec, err := b.adminRecordOf(ctx, s, l.Config, l.Admin)
	switch {
	case err != nil:
		return nil, false, err
	case rec != nil && rec.Foreign && rec.Claim == l.Claim:
		return nil, false, b.forgetAdmin(ctx, s, l.Config, l.Admin)
	case rec != nil && rec.Foreign:
		rec = nil // another create's mark, which stays: the admin may be l's, cut short
	}
	switch {
	case rec != nil && rec.Claim != l.Claim, rec == nil && (leased || l.Claim == ""):
		return nil, false, nil
	case rec != nil:
		c, err := b.managingConfig(ctx, s, l, what, manages)
		return c, true, err
	}
	if c, err = b.config(ctx, s, l.Config); err != nil || c == nil || !l.managedBy(c.entry, manages) {
		// No record, and no config: the admin was deleted and forgotten before the config went
		// (config writes refuse while a WAL entry may hold one unrecorded).
		return nil, false, err
	}
	return c, false, nil
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

// unrecordedAdmins lists the admins of config name that WAL entries hold and the index does
// not: of creds cut short between the add and its record (noteAdmin), until rollback ends them.
func (b *backend) unrecordedAdmins(ctx context.Context, s logical.Storage, name string, recorded []recordedAdmin) ([]recordedAdmin, error) {
	ids, err := framework.ListWAL(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("list WAL entries: %w", err)
	}
	var out []recordedAdmin
	for _, id := range ids {
		e, err := framework.GetWAL(ctx, s, id)
		if err != nil {
			return nil, fmt.Errorf("read WAL entry: %w", err)
		}
		if e == nil {
			continue
		}
		l, err := decodeLease(e.Data)
		if err != nil || l.Config != name || l.Admin == "" || slices.ContainsFunc(recorded, func(a recordedAdmin) bool {
			// A record holds the name, or marks the entry's own create as refused (ownAdmin).
			return a.name == l.Admin && (!a.Foreign || a.Claim == l.Claim)
		}) || slices.ContainsFunc(out, func(a recordedAdmin) bool { return a.name == l.Admin }) {
			continue
		}
		out = append(out, recordedAdmin{name: l.Admin, adminRecord: adminRecord{Role: l.Role, CreatedAt: l.IssuedAt, Claim: l.Claim}})
	}
	return out, nil
}

// adminsKeep refuses, while config name has admins in the index or in WAL entries, to do what
// would take their root away (what: "delete the config"). Those gone upstream (deleted by hand
// after their lease was force-revoked, say, or never created) are dropped first. The caller
// holds pauseCreds(name) and the config's write lock, so no creds add to them meanwhile.
func (b *backend) adminsKeep(ctx context.Context, s logical.Storage, mount, name, what string) error {
	live, err := b.recordedAdmins(ctx, s, name)
	if err != nil {
		return err
	}
	unrecorded, err := b.unrecordedAdmins(ctx, s, name, live)
	live = slices.DeleteFunc(live, func(a recordedAdmin) bool { return a.Foreign }) // names another's upstream
	if live = append(live, unrecorded...); err != nil || len(live) == 0 {
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
	if n := countFunc(live, func(a recordedAdmin) bool { return slices.Contains(unrecorded, a) }); n > 0 {
		msg += fmt.Sprintf(" (%d of them from creds cut short, with no lease: WAL rollback deletes them, from %s after their creds)", n, walMinAge())
	}
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

// countFunc counts the elements of s that f reports.
func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}
