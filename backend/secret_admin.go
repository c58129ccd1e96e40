package backend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// secretAdminType is a FortiAnalyzer or FortiManager local admin made for one lease, with a
// session of it unless its role says with_session=false (dynamic_admin roles).
const secretAdminType = "dynamic_admin"

func secretAdmin(b *backend) *framework.Secret {
	session := secretSession(b).Fields
	return &framework.Secret{
		Type: secretAdminType,
		Fields: map[string]*framework.FieldSchema{
			"username": {Type: framework.TypeString, Description: "dynamic_admin, api_user: the admin (for api_user, the REST API admin) " +
				"made for this lease, deleted when it ends."},
			"password": {Type: framework.TypeString, Description: "dynamic_admin: the admin's password, from the config's password_policy.",
				DisplayAttrs: &framework.DisplayAttributes{Sensitive: true}},
			"session": session["session"],
			"url":     session["url"],
		},
		Renew:  b.adminRenew,
		Revoke: b.sessionRevoke,
	}
}

// dynamicAdminKind is a local admin made for one lease: named, and noted in a WAL entry and the
// admin index, before it is created; ended by deleting it, its session logged out first.
func dynamicAdminKind() credentialKind {
	return credentialKind{name: credDynamicAdmin, issue: (*backend).issueAdmin, verify: (*backend).verifyAdminRoot,
		end: (*backend).endAdmin, revoke: (*backend).revokeAdmin}
}

// issueAdmin creates the admin role r asks for, reads it back, logs in as it unless
// with_session=false, and answers it under a lease. Whatever fails once the add may have been
// sent, and a caller that leaves meanwhile (the add runs to its answer), ends with the admin
// deleted: at once, or by WAL rollback. The caller holds credsDuringRotation(l.Config).
func (b *backend) issueAdmin(ctx context.Context, req *logical.Request, l leaseInternal, c *cachedConfig, r *roleEntry) (*logical.Response, error) {
	k := dynamicAdminKind()
	name, err := renderUsername(r, l.Role, req.DisplayName)
	if err != nil {
		return logical.ErrorResponse("username_template of role %q %s: fix the role's username_template", l.Role, err), nil
	}
	pass, err := b.newPassword(ctx, c.entry.PasswordPolicy)
	if err != nil {
		return nil, fmt.Errorf("config %q: %w", l.Config, err)
	}
	want, err := r.admin(name, pass)
	if err != nil {
		return nil, fmt.Errorf("role %q: %w", l.Role, err)
	}
	// The probe verify_connection learnt is the root's; this admin's profile is the role's.
	l.CredentialType, l.Admin, l.Claim, l.RenewProbe = credDynamicAdmin, name, rand.Text(), ""
	release := b.holdName(l)
	defer release()
	var id string
	err = b.withRoot(ctx, req.Storage, l.Config, c, func(root *cachedConfig, auth client.Auth) error {
		c = root // as a settled rotation left it
		n, err := b.noteAdmin(ctx, req.Storage, k, l, release)
		if err != nil {
			return err
		}
		id = n.id
		return n.create(func() error { return b.createAdmin(ctx, c, auth, want) })
	})
	switch {
	case errors.Is(err, client.ErrExists):
		// Never this engine's: each add is sent once, under a name of its own.
		return nil, logical.CodedError(http.StatusConflict, fmt.Sprintf("%s: it is not the engine's, and was left alone; "+
			"role %q's username_template must give each lease a new name", err, l.Role))
	case err != nil:
		if id != "" {
			b.undoThenDropWAL(ctx, req.Storage, k, l, id)
		}
		return nil, adminError(l.Config, err)
	}
	if r.WithSession {
		if l.Session, err = c.conn.Sessions.LoginAs(ctx, name, pass); err != nil {
			b.undoThenDropWAL(ctx, req.Storage, k, l, id)
			return nil, loginAsError(l, r, err)
		}
	}
	data := map[string]any{"username": name, "password": pass, "url": l.URL}
	if l.Session != "" {
		data["session"] = l.Session
	}
	resp := b.Secret(secretAdminType).Response(data, l.toMap())
	resp.Secret.TTL, resp.Secret.MaxTTL = r.TTL, r.MaxTTL
	return b.handOver(ctx, req, k, l, resp, id)
}

// noteAdmin begins the create of lease l's admin (or api-user), l.Claim set, its name held
// (holdName; release lets go of it): it writes the WAL entry that deletes the admin by name
// unless the lease takes it over, and returns it for the create (adminNote.create), which lets
// go of the name once the add has answered. A name another lease holds, or that an earlier
// creds found taken upstream, is refused, nothing left written. A caller gone already gets
// nothing created.
func (b *backend) noteAdmin(ctx context.Context, s logical.Storage, k credentialKind, l leaseInternal, release func()) (*adminNote, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("request ended before admin %q was created: %w", l.Admin, err)
	}
	ctx = context.WithoutCancel(ctx)
	// The check and the entry go to storage side by side: creds wait one round trip, not two. An
	// entry left by a plugin killed before it was dropped finds the holder's record, of another
	// claim, and deletes nothing (ownAdmin).
	var held *adminRecord
	var heldErr error
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		held, heldErr = b.adminRecordOf(ctx, s, l.Config, l.Admin)
	}()
	id, err := framework.PutWAL(ctx, s, k.name, l.toMap())
	<-checked
	held = heldBy(held)
	if err == nil && (heldErr != nil || held != nil) {
		b.dropEntry(ctx, s, l, id)
	}
	switch {
	case err != nil:
		err = fmt.Errorf("write WAL: %w", err)
	case heldErr != nil:
		err = heldErr
	case held != nil && held.Foreign:
		err = logical.CodedError(http.StatusConflict, fmt.Sprintf("admin name %q of config %q is taken upstream by an admin "+
			"that is not the engine's, as an earlier creds found: the role's username_template must give each lease a new name", l.Admin, l.Config))
	case held != nil:
		err = logical.CodedError(http.StatusConflict, fmt.Sprintf("admin name %q is held by another lease of config %q: "+
			"the role's username_template makes too few distinct names; add {{random 8}} or more", l.Admin, l.Config))
	}
	if err != nil {
		return nil, err
	}
	return &adminNote{b: b, ctx: ctx, s: s, l: l, id: id, unlock: release}, nil
}

// heldBy is rec when it holds its name against new creds: a lease's record, or the foreign mark
// of a create whose WAL entry may still be rolled back (for at most walGiveUp); else nil.
func heldBy(rec *adminRecord) *adminRecord {
	if rec != nil && rec.Foreign && time.Since(time.Unix(rec.CreatedAt, 0)) > walGiveUp {
		return nil
	}
	return rec
}

// holdName takes lease l's admin name: creds, ends and rollbacks of one name run one at a time.
// It is taken before any root session (withRoot), never while holding one, so that all take the
// two in one order. The release it returns may be called more than once.
func (b *backend) holdName(l leaseInternal) (release func()) {
	return sync.OnceFunc(b.admins.Lock(adminKey(l.Config, l.Admin)))
}

// adminNote is an admin's create under way: its WAL entry (id), written, and its name, held
// until the create has answered.
type adminNote struct {
	b      *backend
	ctx    context.Context
	s      logical.Storage
	l      leaseInternal
	id     string
	unlock func()
}

// create runs add beside the admin's record in the index, the lease's claim on its name: the
// record does not wait for the add, nor the add for the record. It answers add's error, or else
// the record's; either way the WAL entry covers the admin. The name stays held until add has
// answered, so that no other end or create sees the claim of a create not yet decided. An add
// refused because the name is taken upstream (client.ErrExists) leaves nothing: that admin is
// not the engine's (dropForeign).
func (n *adminNote) create(add func() error) error {
	defer n.unlock()
	recorded := make(chan error, 1)
	go func() { recorded <- n.b.recordAdmin(n.ctx, n.s, n.l, false) }()
	err := add()
	recErr := <-recorded
	if errors.Is(err, client.ErrExists) {
		n.dropForeign()
		return err
	}
	if err == nil {
		err = recErr
	}
	return err
}

// dropForeign drops the WAL entry and the record of a create whose name is another's upstream.
// The record is marked foreign first: should the entry outlive this (a failed delete), its
// rollback finds the mark and deletes nothing (ownAdmin).
func (n *adminNote) dropForeign() {
	b, l := n.b, n.l
	if err := b.recordAdmin(n.ctx, n.s, l, true); err != nil {
		b.Logger().Warn("could not mark the record of an admin name taken upstream", "config", l.Config, "error", err)
	}
	if err := framework.DeleteWAL(n.ctx, n.s, n.id); err != nil {
		// A delete that answered an error may have taken effect all the same.
		if e, gerr := framework.GetWAL(n.ctx, n.s, n.id); gerr != nil || e != nil {
			b.Logger().Warn("could not drop the WAL entry of an admin name taken upstream; its rollback finds the record's mark", "config", l.Config, "error", err)
			return
		}
	}
	if err := b.forgetAdmin(n.ctx, n.s, l.Config, l.Admin); err != nil {
		b.Logger().Warn("could not drop the record of an admin name taken upstream; it holds nothing", "config", l.Config, "error", err)
	}
}

// dropEntry drops the WAL entry id of an admin that was never created.
func (b *backend) dropEntry(ctx context.Context, s logical.Storage, l leaseInternal, id string) {
	if err := framework.DeleteWAL(context.WithoutCancel(ctx), s, id); err != nil {
		b.Logger().Warn("could not drop the WAL entry of an admin never created; rollback will find nothing to do", "config", l.Config, "error", err)
	}
}

// createAdmin adds want as root auth, and reads it back: upstream must show no more than was
// asked (firmware differs in how it binds an ADOM list [fortinet-apis §5]).
func (b *backend) createAdmin(ctx context.Context, c *cachedConfig, auth client.Auth, want client.Admin) error {
	if err := c.conn.Admins.AddAdmin(ctx, auth, want); err != nil {
		return fmt.Errorf("create admin %q: %w", want.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("request ended while admin %q was created: %w", want.Name, err)
	}
	got, err := c.conn.Admins.GetAdmin(ctx, auth, want.Name)
	if err != nil {
		return fmt.Errorf("read admin %q back: %w", want.Name, err)
	}
	if why := got.WiderThan(want); why != "" {
		return &widerError{name: want.Name, why: why}
	}
	return nil
}

// widerError is an admin upstream made wider than asked.
type widerError struct{ name, why string }

func (e *widerError) Error() string {
	return fmt.Sprintf("admin %q, as upstream made it, is wider than the role asks (%s); it was deleted: this firmware "+
		"does not bind what the role asks as the engine sends it (firmware differs in how an admin's ADOM list binds): "+
		"check the role's admin_profile, adoms and trusted_hosts against what the firmware shows for a new admin", e.name, e.why)
}

// adminError is what creds answer for err, a failure to create an admin of config, saying what
// to check where the upstream's code tells.
func adminError(config string, err error) error {
	var wider *widerError
	var ce *client.Error
	switch {
	case errors.As(err, &wider):
		return logical.CodedError(http.StatusBadGateway, err.Error())
	case !errors.Is(err, client.ErrRefused) || !errors.As(err, &ce):
		return upstreamError(config, err)
	case ce.Code == codeNoPermission:
		return logical.CodedError(http.StatusBadGateway, fmt.Sprintf("%s: config/%s's root must be allowed to manage admins "+
			"(read-write System Settings, as Super_User)", err, config))
	case ce.Code == codeInvalidData:
		return logical.CodedError(http.StatusBadGateway, fmt.Sprintf("%s: check that the role's admin_profile and adoms exist upstream", err))
	}
	return logical.CodedError(http.StatusBadGateway, err.Error())
}

// JSON-RPC codes that say what to check [fortinet-apis §1]: the root's rights, or the data sent.
const (
	codeNoPermission = -11
	codeInvalidData  = -10
)

// loginAsError is what creds answer for a login as the new admin that failed; the admin was
// deleted. A refused one most likely came from an address the role does not trust.
func loginAsError(l leaseInternal, r *roleEntry, err error) error {
	if !errors.Is(err, client.ErrRefused) || len(r.TrustedHosts) == 0 {
		return upstreamError(l.Config, fmt.Errorf("log in as admin %q (it was deleted): %w", l.Admin, err))
	}
	return logical.CodedError(http.StatusBadGateway, fmt.Sprintf("log in as admin %q: %s; it was deleted. Role %q's trusted_hosts (%s) "+
		"probably leave out the address Vault reaches %s from: add it, or set with_session=false for creds that answer the "+
		"admin's password without a session", l.Admin, err, l.Role, strings.Join(r.TrustedHosts, ", "), l.URL))
}

// revokeAdmin is the revoke of a dynamic admin's lease.
func (b *backend) revokeAdmin(ctx context.Context, s logical.Storage, l leaseInternal) error {
	release := b.credsDuringRotation(l.Config)
	defer release()
	return b.dropAdmin(ctx, s, l, true)
}

// endAdmin ends the admin of a create that got no lease (undo, WAL rollback). The caller holds
// credsDuringRotation(l.Config).
func (b *backend) endAdmin(ctx context.Context, s logical.Storage, l leaseInternal) error {
	return b.dropAdmin(ctx, s, l, false)
}

// dropAdmin logs the lease's session out, if any, and deletes its admin, when it is the lease's
// own (ownAdmin; leased: handed over, so recorded before), with its config's root as it is now;
// one gone upstream counts as deleted. The name is held from the check to the record's drop.
// The caller holds credsDuringRotation(l.Config).
func (b *backend) dropAdmin(ctx context.Context, s logical.Storage, l leaseInternal, leased bool) error {
	if l.Session != "" {
		if err := b.logout(ctx, s, l); err != nil {
			return err
		}
	}
	release := b.holdName(l)
	defer release()
	c, recorded, err := b.ownAdmin(ctx, s, l, leased, "admin", managesAdmins)
	if err != nil || c == nil {
		return err
	}
	err = b.withRoot(ctx, s, l.Config, c, func(c *cachedConfig, auth client.Auth) error {
		return c.conn.Admins.DeleteAdmin(ctx, auth, l.Admin)
	})
	if errors.Is(err, client.ErrGone) {
		b.Logger().Debug("admin already gone upstream", "config", l.Config, "admin", l.Admin)
	} else if err != nil {
		return err
	}
	if !recorded {
		return nil
	}
	return b.forgetAdmin(ctx, s, l.Config, l.Admin)
}

// adminConfig is the config that manages l's admin: its own, which config writes keep at the
// admin's URL while it is in the index.
func (b *backend) adminConfig(ctx context.Context, s logical.Storage, l leaseInternal) (*cachedConfig, error) {
	return b.managingConfig(ctx, s, l, "admin", managesAdmins)
}

// managingConfig is the config that manages l's admin or api-user (what, for the message),
// while it still does (manages answers nil).
func (b *backend) managingConfig(ctx context.Context, s logical.Storage, l leaseInternal, what string, manages func(*configEntry) error) (*cachedConfig, error) {
	c, err := b.config(ctx, s, l.Config)
	if err != nil {
		return nil, err
	}
	if c == nil || !l.managedBy(c.entry, manages) {
		return nil, fmt.Errorf("config %q is gone or no longer manages the %ss of %s, where %s %q lives: "+
			"delete that %s there by hand", l.Config, what, l.URL, what, l.Admin, what)
	}
	return c, nil
}

// managedBy reports whether config c still manages l's admin or api-user: where it lives, by
// a root that may (manages answers nil).
func (l leaseInternal) managedBy(c *configEntry, manages func(*configEntry) error) bool {
	return c.Type == l.Type && c.URL == l.URL && manages(c) == nil
}

// adminRenew extends the lease while its admin exists upstream and, with a session, while that
// session is alive.
func (b *backend) adminRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	l, err := decodeLease(req.Secret.InternalData)
	if err != nil || l.Admin == "" {
		return logical.ErrorResponse("lease has no admin to renew"), nil
	}
	release := b.credsDuringRotation(l.Config)
	defer release()
	c, err := b.adminConfig(ctx, req.Storage, l)
	if err != nil {
		return nil, err
	}
	err = b.withRoot(ctx, req.Storage, l.Config, c, func(c *cachedConfig, auth client.Auth) error {
		_, err := c.conn.Admins.GetAdmin(ctx, auth, l.Admin)
		return err
	})
	switch {
	case errors.Is(err, client.ErrGone):
		return logical.ErrorResponse("admin %q no longer exists upstream (deleted outside Vault): read creds again", l.Admin), nil
	case err != nil:
		return nil, upstreamError(l.Config, err)
	}
	if l.Session != "" {
		if refused, err := b.checkSession(ctx, req.Storage, l); refused != nil || err != nil {
			return refused, err
		}
	}
	ttl, maxTTL := b.ttls(ctx, req.Storage, l)
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL, resp.Secret.MaxTTL = ttl, maxTTL
	return resp, nil
}

// verifyAdminRoot checks, for a config whose root only manages admins (an API key), that it
// may: a harmless read of the admin table.
func (b *backend) verifyAdminRoot(ctx context.Context, _ logical.Storage, _ string, _ *configEntry, conn *client.Client) ([]string, error) {
	auth, err := conn.Admins.RootAuth(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Admins.EndRootAuth(context.WithoutCancel(ctx), auth)
	err = conn.Admins.CheckAdminAccess(ctx, auth)
	var ce *client.Error
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &ce) && ce.Status == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: the key was refused: check it, and that its admin trusts the address Vault connects from", err)
	case errors.Is(err, client.ErrRefused):
		return nil, fmt.Errorf("%w: dynamic_admin roles, which this config serves, need it", err)
	}
	return nil, err
}

// adminAccessWarning warns, after a root login, when the root may not manage admins: the
// config's dynamic_admin roles would fail.
func adminAccessWarning(ctx context.Context, conn *client.Client, sid string) []string {
	err := conn.Admins.CheckAdminAccess(ctx, client.Auth{Session: sid})
	if err == nil {
		return nil
	}
	return []string{fmt.Sprintf("verify_connection: this admin may not manage admins (%s): dynamic_admin roles on this config will fail; "+
		"session roles are not affected", err)}
}
