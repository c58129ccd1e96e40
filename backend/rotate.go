package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// rotationWALKind names the WAL entries of a root password change in flight. It never changes
// once released.
const rotationWALKind = "rotation"

// rotationWAL is what settles a root password change whose end nobody saw: whose password,
// where, both passwords, and the root session the change was made in. It is written before
// the change is sent and deleted once upstream and Vault agree.
type rotationWAL struct {
	Config string `json:"config"`
	endpoint
	Username    string `json:"username"`
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
	Session     string `json:"session,omitempty"`
	StartedAt   int64  `json:"started_at"` // UNIX seconds
	// LastRotated is the config's before the change, to put back with the old password.
	LastRotated int64 `json:"last_rotated,omitempty"`
}

// passwordChange is a password change under way: its WAL entry and the connection it uses.
type passwordChange struct {
	w   rotationWAL
	id  string // of the WAL entry
	rpc *client.JSONRPC
	t   *client.Transport
}

// rotatable says why rotate-root cannot rotate c's root credential, and what to do instead;
// nil when it can.
func rotatable(c *configEntry) error {
	switch c.AuthMethod {
	case client.AuthLocalUser:
		return nil
	case client.AuthForticloudToken:
		return errors.New("auth_method forticloud_token cannot be rotated: FortiCloud mints tokens, the engine cannot; write a new token to the config instead")
	case client.AuthAPIUser:
		return errors.New("auth_method forticloud_api_user cannot be rotated: FortiCloud IAM API user passwords change only in the FortiCloud portal; download new credentials there and write them to the config")
	case client.AuthAPIKey:
		if c.Type == client.TypeFortiGate {
			return nil
		}
		return errors.New("auth_method api_key cannot be rotated on fortianalyzer or fortimanager: their API keys are made only in the GUI or CLI; make a new key there and write it to the config")
	case client.AuthEmailUser, client.AuthIAMUser:
		return fmt.Errorf("auth_method %s cannot be rotated: FortiLAN Cloud has no API to change a user's password; change it in the portal and write it to the config", c.AuthMethod)
	}
	return fmt.Errorf("auth_method %s cannot be rotated: write a new credential to the config instead", c.AuthMethod)
}

// rotateRoot replaces the root password (or, on FortiGate, key: rotateKey) of config name
// upstream with a new one only Vault knows, checks it with a fresh login, and stores it. The answer is the stored config after
// the rotation. Errors meant for the operator are logical.CodedError (400, 404, 502...).
//
// Once the change may have been sent, the rotation runs to its end whatever the caller does,
// and whatever fails, upstream and Vault agree afterwards: the new password stored, or the old
// one kept or put back. Where that cannot be known at once, the WAL entry settles it later
// (settleRotation), and the next creds of the config settle it at once.
func (b *backend) rotateRoot(ctx context.Context, s logical.Storage, name string) (*configEntry, error) {
	release := b.pauseCreds(name)
	defer release()
	// The root sessions kept for creds go first: they would hold login-max slots through the
	// rotation, and outlive the password they were opened with.
	b.closeConfig(name)
	// A rotation the plugin did not live to finish left the stored password behind: settled
	// first, or this one would log in with a password upstream no longer takes.
	b.settlePendingRotations(ctx, s, name)
	unlock := b.lockWrites(configPrefix + name)
	defer unlock()
	c, err := readConfig(ctx, s, name)
	switch {
	case err != nil:
		return nil, err
	case c == nil:
		return nil, logical.CodedError(http.StatusNotFound, fmt.Sprintf("config %q does not exist", name))
	}
	if err := rotatable(c); err != nil {
		return nil, logical.CodedError(http.StatusBadRequest, fmt.Sprintf("config %q: %s", name, err))
	}
	if c.AuthMethod == client.AuthAPIKey {
		return b.rotateKey(ctx, s, name, c)
	}
	pass, err := b.newPassword(ctx, c.PasswordPolicy)
	if err != nil {
		return nil, logical.CodedError(http.StatusBadRequest, fmt.Sprintf("config %q: %s", name, err))
	}
	r, err := b.beginRotation(ctx, s, name, c, pass)
	if err != nil {
		return nil, err
	}
	defer r.t.Close()
	if err := ctx.Err(); err != nil {
		// The caller left before the change was sent: nothing to finish.
		b.endRotation(ctx, s, r)
		return nil, fmt.Errorf("rotate-root: request ended before the password change was sent: %w", err)
	}
	// A late answer beats a password that Vault and the upstream disagree on.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rotationBudget(c))
	defer cancel()
	return b.completeRotation(ctx, s, c, r)
}

// rotationBudget bounds the upstream calls of a rotation past its WAL entry: a change, two
// logins, a logout, and perhaps a change back.
func rotationBudget(c *configEntry) time.Duration {
	return 6 * c.timeout()
}

// storageTimeout bounds each storage call of a rotation past its WAL entry. Storage has its own
// time, apart from the upstream calls': a write cut short by an upstream budget spent may still
// commit, and must not be taken for one that did not.
const storageTimeout = 30 * time.Second

// storing runs fn on its own context of storageTimeout, cut loose from ctx's end.
func storing(ctx context.Context, fn func(context.Context) error) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storageTimeout)
	defer cancel()
	return fn(sctx)
}

// beginRotation logs in as the root admin and writes the WAL entry that covers the change.
func (b *backend) beginRotation(ctx context.Context, s logical.Storage, name string, c *configEntry, pass string) (*passwordChange, error) {
	w := rotationWAL{Config: name, endpoint: c.endpoint(), Username: c.Username,
		OldPassword: c.Password, NewPassword: pass, StartedAt: time.Now().Unix(), LastRotated: c.LastRotated}
	r, err := b.rotationConn(w)
	if err != nil {
		return nil, err
	}
	if r.w.Session, err = r.rpc.LoginUser(ctx, c.Username, c.Password); err != nil {
		r.t.Close()
		return nil, upstreamError(name, fmt.Errorf("rotate-root: log in: %w", err))
	}
	err = storing(ctx, func(ctx context.Context) (err error) {
		r.id, err = framework.PutWAL(ctx, s, rotationWALKind, r.w)
		return err
	})
	if err != nil {
		b.logoutQuietly(ctx, r, r.w.Session)
		r.t.Close()
		return nil, fmt.Errorf("rotate-root: write WAL: %w", err)
	}
	return r, nil
}

// rotationConn is a connection to the upstream of w, apart from the config's cached one,
// which keeps the old password.
func (b *backend) rotationConn(w rotationWAL) (*passwordChange, error) {
	conn, err := client.New(w.endpoint.settings())
	if err != nil {
		return nil, fmt.Errorf("rotate-root: config %q: %w", w.Config, err)
	}
	return &passwordChange{w: w, rpc: client.NewJSONRPC(w.Type, w.URL, conn.Transport), t: conn.Transport}, nil
}

// completeRotation sends the change, checks which password upstream now takes, and stores the
// new one, or leaves things as they were.
func (b *backend) completeRotation(ctx context.Context, s logical.Storage, c *configEntry, r *passwordChange) (*configEntry, error) {
	w := r.w
	setErr := r.rpc.SetAdminPassword(ctx, w.Session, w.Username, w.NewPassword, w.OldPassword)
	// Whatever the change answered, a login says what upstream now takes: the check the
	// contract asks for after a success, and the only proof after a lost answer or even a
	// refusal. The likelier password first: no failed login in the usual case (admins lock out).
	likely := w.NewPassword
	if setErr != nil {
		likely = w.OldPassword
	}
	has, err := b.workingPassword(ctx, r, likely)
	if err != nil {
		b.Logger().Warn("rotate-root: cannot tell which password upstream takes; the WAL entry will settle it", "config", w.Config, "error", err)
		return nil, fmt.Errorf("rotate-root: config %q: the password change's outcome is unknown (%s: %w): it is settled on the next creds or by WAL rollback", w.Config, errText(setErr), err)
	}
	if has == w.OldPassword {
		b.endRotation(ctx, s, r)
		return nil, upstreamError(w.Config, fmt.Errorf("rotate-root: %s; upstream still takes the old password: nothing changed", errText(setErr)))
	}
	next := *c
	next.Password, next.LastRotated = w.NewPassword, time.Now().Unix()
	next.scheduleNext(time.Unix(next.LastRotated, 0))
	err = storing(ctx, func(ctx context.Context) error { return b.storeConfig(ctx, s, w.Config, &next) })
	if err != nil {
		return b.afterFailedStore(ctx, s, r, &next, err)
	}
	b.endRotation(ctx, s, r)
	return &next, nil
}

// afterFailedStore sees to a store of the new password that answered an error: one may have
// committed all the same (a timeout after the write). Read back, a committed one stands; one
// surely not made is undone upstream; and when even the read fails, the WAL entry settles it.
func (b *backend) afterFailedStore(ctx context.Context, s logical.Storage, r *passwordChange, next *configEntry, cause error) (*configEntry, error) {
	var stored *configEntry
	err := storing(ctx, func(ctx context.Context) (err error) {
		stored, err = readConfig(ctx, s, r.w.Config)
		return err
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("rotate-root: store config %q: %w; whether it was stored is unknown: it is settled on the next creds or by WAL rollback", r.w.Config, cause)
	case stored != nil && stored.Password == r.w.NewPassword:
		b.dropConfig(r.w.Config)
		b.endRotation(ctx, s, r)
		return next, nil
	}
	return nil, b.putBack(ctx, s, r, cause)
}

// errText is err's message, or that the change answered OK.
func errText(err error) string {
	if err == nil {
		return "the change answered OK"
	}
	return err.Error()
}

// workingPassword logs in with first, then, if upstream refuses it, the other of the change's
// two passwords, and answers the one that worked (logged out again at once). An error means
// neither login answered clearly, or upstream refused both: nothing can be known yet.
func (b *backend) workingPassword(ctx context.Context, r *passwordChange, first string) (string, error) {
	second := r.w.OldPassword
	if first == r.w.OldPassword {
		second = r.w.NewPassword
	}
	var errs []error
	for _, p := range []string{first, second} {
		sid, err := r.rpc.LoginUser(ctx, r.w.Username, p)
		if err == nil {
			b.logoutQuietly(ctx, r, sid)
			return p, nil
		}
		if !errors.Is(err, client.ErrRefused) {
			return "", err
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("upstream refused both the new and the old password: %w", errors.Join(errs...))
}

// putBack restores the old password upstream after Vault could not store the new one.
func (b *backend) putBack(ctx context.Context, s logical.Storage, r *passwordChange, cause error) error {
	if err := b.setPassword(ctx, r, r.w.NewPassword, r.w.OldPassword); err != nil {
		b.Logger().Error("rotate-root: could not store the new password nor restore the old one upstream; the WAL entry will settle it",
			"config", r.w.Config, "store_error", cause, "restore_error", err)
		return fmt.Errorf("rotate-root: store config %q: %w; restoring the old password upstream failed too (%s): it is settled on the next creds or by WAL rollback", r.w.Config, cause, err)
	}
	b.endRotation(ctx, s, r)
	return fmt.Errorf("rotate-root: store config %q: %w; the old password was restored upstream: nothing changed", r.w.Config, cause)
}

// setPassword changes the admin's password from one to another, in a session of its own: the
// change that is being undone may have ended the rotation's.
func (b *backend) setPassword(ctx context.Context, r *passwordChange, from, to string) error {
	sid, err := r.rpc.LoginUser(ctx, r.w.Username, from)
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	defer b.logoutQuietly(ctx, r, sid)
	return r.rpc.SetAdminPassword(ctx, sid, r.w.Username, to, from)
}

// endRotation logs the rotation's root session out and drops its WAL entry: upstream and Vault
// agree. An entry that cannot be dropped is settled again later, harmlessly.
func (b *backend) endRotation(ctx context.Context, s logical.Storage, r *passwordChange) {
	b.logoutQuietly(ctx, r, r.w.Session)
	if r.id == "" {
		return
	}
	if err := framework.DeleteWAL(context.WithoutCancel(ctx), s, r.id); err != nil {
		b.Logger().Warn("rotate-root: could not delete the WAL entry; rollback will find nothing to do", "config", r.w.Config, "error", err)
	}
}

// logoutQuietly ends sid, which may be gone already (a password change may end the admin's
// sessions); a failure only leaves it to idle out.
func (b *backend) logoutQuietly(ctx context.Context, r *passwordChange, sid string) {
	if sid == "" {
		return
	}
	err := r.rpc.Logout(context.WithoutCancel(ctx), sid)
	if err != nil && !errors.Is(err, client.ErrGone) {
		b.Logger().Warn("rotate-root: logout failed; the session will idle out upstream", "config", r.w.Config, "error", err)
	}
}

// pauseCreds holds back creds of config name (which take it shared, credsDuringRotation) while
// its password changes, so that none logs in with a password being replaced. Take it before
// the config's write lock, everywhere.
func (b *backend) pauseCreds(name string) (release func()) {
	l := locksutil.LockForKey(b.rotationLocks, name)
	l.Lock()
	return l.Unlock
}

// credsDuringRotation is pauseCreds' shared side, taken by creds of configs that can rotate.
func (b *backend) credsDuringRotation(name string) (release func()) {
	l := locksutil.LockForKey(b.rotationLocks, name)
	l.RLock()
	return l.RUnlock
}

func decodeRotationWAL(data any) (rotationWAL, error) {
	var w rotationWAL
	raw, err := json.Marshal(data)
	if err == nil {
		err = json.Unmarshal(raw, &w)
	}
	if err == nil && (w.Config == "" || w.Username == "" || w.NewPassword == "") {
		err = errors.New("entry names no config, admin or password")
	}
	if err != nil {
		return w, fmt.Errorf("decode rotation WAL entry: %w", err)
	}
	return w, nil
}
