package client

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// adminUserURL is where FortiAnalyzer/FortiManager keep local admins [docs/upstream.md §1].
const adminUserURL = "/cli/global/system/admin/user/"

// SetAdminPassword changes the password of the local admin user to newPassword, with a JSON-RPC
// `set` on /cli/global/system/admin/user/<user> carrying session (the root admin's own, also
// when user is that admin).
//
// Firmware differs [docs/upstream.md §1, med]: FMG 7.2.11, 7.4.7+ and 7.6.3+ list an
// `old-password` field that may be required, while older firmware may refuse a field it does
// not know with -10 (data invalid, docs/upstream.md §1). The call is therefore sent without
// `old-password` first, and only if that answers -10 and oldPassword is given, once more with
// it. This order, not the reverse, because:
//   - where the first call succeeds (old firmware, or new firmware that does not insist), the old
//     password never travels, and one call does it;
//   - a call that names `old-password` is not idempotent: repeated after it took effect, the
//     old password no longer matches and it is refused. It follows only a -10, which changed
//     nothing.
//
// Neither call is repeated once the upstream may have seen it (request.once). Even the first,
// which sets the same password again, is refused when repeated after it took effect on firmware
// that ends the admin's sessions on a change (-11: the session it carries is gone), and that
// refusal would read as "nothing changed". A lost answer is reported as such instead.
//
// Errors: ErrRefused when the upstream refused, which left the password unchanged: -3 (no such
// admin: a rotation must not pass for done), -11 (the session is gone or its profile may not
// manage admins), -10 both ways, or any other code. ErrRetryLater or ErrProtocol when the
// answer was lost or not understood: the password may or may not have changed, and the caller
// must find out (a login with the new password) before it trusts either. A password change may
// also end the admin's open sessions, session included: that is undocumented, and the caller
// must expect both. No password or session ever appears in an error.
func (c *JSONRPC) SetAdminPassword(ctx context.Context, session, user, newPassword, oldPassword string) error {
	const op = "set admin password"
	if err := checkSetAdminPassword(session, user, newPassword); err != nil {
		return &Error{Op: c.product + ": " + op, Kind: ErrRefused, Message: err.Error()}
	}
	u := adminUserURL + user
	secrets := []string{newPassword, oldPassword}
	res, err := c.callOnce(ctx, true, op, "set", u, map[string]string{"password": newPassword}, session, secrets...)
	if err != nil {
		return err
	}
	if res.Code != codeDataInvalid || oldPassword == "" {
		return c.setAdminError(op, user, res, "")
	}
	first := res.Message
	data := map[string]string{"password": newPassword, "old-password": oldPassword}
	res, err = c.callOnce(ctx, true, op, "set", u, data, session, secrets...)
	if err != nil {
		return err
	}
	return c.setAdminError(op, user, res, first)
}

// checkSetAdminPassword refuses what SetAdminPassword cannot send, naming the argument.
func checkSetAdminPassword(session, user, newPassword string) error {
	switch {
	case session == "":
		return fmt.Errorf("session is empty")
	case user == "":
		return fmt.Errorf("user is empty")
	case checkAdminName(user) != nil:
		return fmt.Errorf("user %q is not an admin name", user)
	case newPassword == "":
		return fmt.Errorf("new password is empty")
	}
	return nil
}

// checkAdminName refuses a name that cannot end an admin's url: one holding a slash or anything
// a path would escape.
func checkAdminName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || url.PathEscape(name) != name {
		return fmt.Errorf("admin name %q is empty or holds a slash or characters a url escapes", name)
	}
	return nil
}

// setAdminError reads a password change's answer: nil for success, else ErrRefused (or
// ErrRetryLater for -1) naming the admin. first is the message of a first call refused with -10,
// when a second one followed.
func (c *JSONRPC) setAdminError(op, user string, res *RPCResult, first string) error {
	e := &Error{Op: c.product + ": " + op, Kind: ErrRefused, Code: res.Code, Message: res.Message}
	switch res.Code {
	case codeOK:
		return nil
	case codeNoObject:
		e.Message = fmt.Sprintf("admin %q does not exist", user)
	case codeGone:
		e.Message = fmt.Sprintf("no permission to change admin %q's password: the session is gone or its admin profile may not manage admins", user)
	case codeDataInvalid:
		e.Message = fmt.Sprintf("the password change of admin %q was refused as invalid data (a password the firmware's policy refuses, or old-password missing or wrong)", user)
		if first != "" {
			e.Message += fmt.Sprintf(" without old-password (%s) and with it (%s)", first, res.Message)
		} else if res.Message != "" {
			e.Message += ": " + res.Message
		}
	case codeInternal:
		e.Kind = ErrRetryLater
	}
	return e
}
