package client

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The admin table of FortiAnalyzer/FortiManager, for a local admin per lease (dynamic_admin
// roles) [docs/upstream.md §1, fortinet-apis §5]. Every call carries the root's Auth: its
// session or its API key.

const (
	// AllADOMs is the ADOM that stands for every ADOM, as roles spell it. Upstream spellings
	// ("ALL ADOMS", ...) read back as the same (see isAllADOMs).
	AllADOMs = "all_adoms"
	// MaxAdminName is the longest admin name FAZ/FMG take, in characters [docs/upstream.md §1:
	// inferred from the GUI, med].
	MaxAdminName = 35
	// MaxTrustedHosts is how many trusted hosts of each family an admin holds: trusthost1..10
	// and ipv6_trusthost1..10.
	MaxTrustedHosts = 10
	// RPCRead and RPCReadWrite are the rpc-permit values a new admin may have.
	RPCRead      = "read"
	RPCReadWrite = "read-write"
)

// adminTableURL is the admin table itself, where admins are added.
const adminTableURL = "/cli/global/system/admin/user"

// codeExists is the JSON-RPC code of an object that exists already [docs/upstream.md §1].
const codeExists = -2

// Admin is a local FAZ/FMG admin: what AddAdmin creates, and what GetAdmin reads back.
type Admin struct {
	// Name is the userid: at most MaxAdminName characters of A-Za-z0-9_-.
	Name string
	// Password is sent by AddAdmin and never read back.
	Password string
	// Profile is the admin profile (profileid), e.g. "Restricted_User".
	Profile string
	// ADOMs are the ADOMs the admin may use; AllADOMs for every one.
	ADOMs []string
	// ADOMAccess is what GetAdmin reads of adom-access: "specify", "all", "exclude", ... or ""
	// where the firmware has no such field. AddAdmin ignores it: it picks the binding itself.
	ADOMAccess string
	// TrustedHosts are where the admin may connect from; none for any address. GetAdmin keeps
	// Fortinet's "any" values (0.0.0.0/0, ::/0) and drops its "none" values.
	TrustedHosts []netip.Prefix
	// RPCPermit is the admin's JSON-RPC access: RPCRead or RPCReadWrite ("none" read back
	// refuses JSON-RPC).
	RPCPermit string
}

// adomBinding is how an add binds the admin's ADOM list, which differs by firmware
// [docs/upstream.md §1, fortinet-apis §5]: newer releases restrict an admin to its list only
// with adom-access, older ones refuse that field with -10 and bind the list alone.
type adomBinding int

const (
	// bindADOMAccess sends adom-access (specify; all for AllADOMs) with the list.
	bindADOMAccess adomBinding = iota + 1
	// bindADOMList sends the list alone.
	bindADOMList
)

// adomBindings is the order AddAdmin tries them in (see AddAdmin for why).
func adomBindings() [2]adomBinding { return [2]adomBinding{bindADOMAccess, bindADOMList} }

// AddAdmin creates the local admin a with `add` on /cli/global/system/admin/user, carrying auth
// (the root's session or API key): userid, password, profileid, the adom list, rpc-permit,
// user_type local and force-password-change disable [docs/upstream.md §1]. With a.TrustedHosts
// set it fills every trusthostN and ipv6_trusthostN: the prefixes asked first, Fortinet's
// "none" value in the other slots, so that a family the role gives no host of is shut rather
// than left at its default, which trusts any address.
//
// ADOMs bind differently by firmware [fortinet-apis §5, med]: newer releases restrict an admin
// to its list only with adom-access specify; older ones do not know the field and refuse the
// add with -10. So the add goes with adom-access first and, only after a -10, once more
// without it. This order, not the reverse, because:
//   - on newer firmware an add without adom-access makes an admin of every ADOM: the reverse
//     order would create, then have to delete, a wider admin every time;
//   - a -10 created nothing, so the second add cannot meet the first one's admin;
//   - where the list binds neither way, only a read-back shows it: the caller must GetAdmin the
//     new admin and check it with WiderThan before handing it out.
//
// An add is a call that creates (see request.creates): once sent, it runs to its answer
// whatever ctx does, and nil means the admin exists, even if ctx ended meanwhile. It is never
// repeated once the upstream may have seen it.
//
// Errors:
//   - ErrExists (-2): an admin of that name exists. Names are unique per lease, so if the
//     caller made this add before and lost its answer (ErrRetryLater), -2 on its own name means
//     that add went through: the admin is the caller's, to read back or delete. Without such an
//     earlier try it is someone else's: leave it alone.
//   - ErrRetryLater or ErrProtocol: the answer was lost or not understood, and the admin may
//     or may not exist: delete it by name (DeleteAdmin; ErrGone says it never came to be).
//   - ErrRefused: nothing was created: a bad argument (named), -11 (the root's session is gone,
//     its key is refused, or its profile may not manage admins), -10 both ways (a profile, ADOM
//     or trusted host the upstream does not take, or a password its policy refuses), or any
//     other code.
//
// No password, session or key ever appears in an error.
func (c *JSONRPC) AddAdmin(ctx context.Context, auth Auth, a Admin) error {
	const op = "add admin"
	if err := firstErr(auth.check(), a.check()); err != nil {
		return &Error{Op: c.product + ": " + op, Kind: ErrRefused, Message: err.Error()}
	}
	order := adomBindings()
	res, err := c.addAdmin(ctx, auth, a, order[0])
	if err != nil {
		return err
	}
	if res.Code != codeDataInvalid {
		return c.addAdminError(op, a.Name, res, nil)
	}
	first := res
	if res, err = c.addAdmin(ctx, auth, a, order[1]); err != nil {
		return err
	}
	return c.addAdminError(op, a.Name, res, first)
}

// addAdmin sends one add of a, binding its ADOMs as b.
func (c *JSONRPC) addAdmin(ctx context.Context, auth Auth, a Admin, b adomBinding) (*RPCResult, error) {
	return c.do(ctx, rpcCall{op: "add admin", method: "add", url: adminTableURL, data: a.addData(b), auth: auth,
		creates: true, secrets: []string{a.Password}})
}

// firstErr is the first of errs that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// addAdminError reads an add's answer: nil for success, else the error AddAdmin documents.
// first is the answer of a first add refused with -10, when a second one followed.
func (c *JSONRPC) addAdminError(op, name string, res, first *RPCResult) error {
	if res.Code == codeOK {
		return nil
	}
	e := c.adminError(op, res)
	switch res.Code {
	case codeExists:
		e.Kind = ErrExists
		e.Message = fmt.Sprintf("admin %q already exists", name)
	case codeDataInvalid:
		e.Message = fmt.Sprintf("admin %q was refused as invalid data (a profile, ADOM or trusted host the upstream does not take, or a password its policy refuses)", name)
		if first != nil {
			e.Message += fmt.Sprintf(" with adom-access (%s) and without it (%s)", first.Message, res.Message)
		} else if res.Message != "" {
			e.Message += ": " + res.Message
		}
	}
	return e
}

// adminError is the error of an admin table call answered with res's non-zero code: -11 says
// what it may mean, -1 is ErrRetryLater, any other code ErrRefused with the upstream's words.
func (c *JSONRPC) adminError(op string, res *RPCResult) *Error {
	e := &Error{Op: c.product + ": " + op, Kind: ErrRefused, Code: res.Code, Message: res.Message}
	switch res.Code {
	case codeGone:
		e.Message = "no permission: the root's session is gone, its api key is refused, or its admin profile may not manage admins"
	case codeInternal:
		e.Kind = ErrRetryLater
	}
	return e
}

// GetAdmin reads the local admin name back with `get` on /cli/global/system/admin/user/<name>,
// carrying auth [docs/upstream.md §1], as ParseAdmin reads it: profile, ADOMs, adom-access,
// trusted hosts as prefixes and rpc-permit; never a password.
//
// Errors: ErrGone (-3) when there is no such admin; ErrRefused for -11 (as AddAdmin says) or
// any other code; ErrProtocol for an answer that is not an admin, or is another admin.
func (c *JSONRPC) GetAdmin(ctx context.Context, auth Auth, name string) (*Admin, error) {
	const op = "get admin"
	if err := firstErr(auth.check(), checkAdminName(name)); err != nil {
		return nil, &Error{Op: c.product + ": " + op, Kind: ErrRefused, Message: err.Error()}
	}
	res, err := c.do(ctx, rpcCall{op: op, method: "get", url: adminUserURL + name, auth: auth})
	if err != nil {
		return nil, err
	}
	if res.Code != codeOK {
		return nil, c.goneAdminError(op, name, res)
	}
	a, err := ParseAdmin(res.Data)
	if err != nil {
		return nil, &Error{Op: c.product + ": " + op, Kind: ErrProtocol, Message: fmt.Sprintf("admin %q: %v", name, err)}
	}
	if a.Name != name {
		return nil, &Error{Op: c.product + ": " + op, Kind: ErrProtocol, Message: fmt.Sprintf("asked for admin %q, the answer is another admin", name)}
	}
	return a, nil
}

// DeleteAdmin deletes the local admin name with `delete` on
// /cli/global/system/admin/user/<name>, carrying auth [docs/upstream.md §1]. Whether its open
// sessions end with it is not documented: a caller that holds one logs it out first.
//
// Errors: ErrGone (-3) when there is no such admin, which for a revoke means the work is done;
// ErrRefused for -11 (as AddAdmin says) or any other code; ErrRetryLater for -1 or a transient
// failure. A delete repeated after it took effect answers -3, so it is retried as a read is.
func (c *JSONRPC) DeleteAdmin(ctx context.Context, auth Auth, name string) error {
	const op = "delete admin"
	if err := firstErr(auth.check(), checkAdminName(name)); err != nil {
		return &Error{Op: c.product + ": " + op, Kind: ErrRefused, Message: err.Error()}
	}
	res, err := c.do(ctx, rpcCall{op: op, method: "delete", url: adminUserURL + name, auth: auth})
	if err != nil {
		return err
	}
	if res.Code != codeOK {
		return c.goneAdminError(op, name, res)
	}
	return nil
}

// goneAdminError is adminError for a call on one admin, where -3 says it does not exist.
func (c *JSONRPC) goneAdminError(op, name string, res *RPCResult) error {
	e := c.adminError(op, res)
	if rpcGone(endObject, res.Code) {
		e.Kind = ErrGone
		e.Message = fmt.Sprintf("admin %q does not exist", name)
	}
	return e
}

// CheckAdminAccess reports whether auth may use the admin table, with a harmless read of it:
// `get` on /cli/global/system/admin/user asking for the userid field alone. A profile may
// allow the read and still refuse changes, so nil proves less than that adds will work; -11
// proves they will not. Errors: ErrRefused for -11 (saying what the root needs) or any other
// code, ErrRetryLater for -1 or a transient failure.
func (c *JSONRPC) CheckAdminAccess(ctx context.Context, auth Auth) error {
	const op = "read the admin table"
	if err := auth.check(); err != nil {
		return &Error{Op: c.product + ": " + op, Kind: ErrRefused, Message: err.Error()}
	}
	res, err := c.do(ctx, rpcCall{op: op, method: "get", url: adminTableURL, auth: auth, fields: []string{"userid"}})
	if err != nil {
		return err
	}
	if res.Code == codeOK {
		return nil
	}
	e := c.adminError(op, res)
	if res.Code == codeGone {
		e.Message = "no permission to read the admin table: the root's admin profile must have read-write access to System Settings (admins), or its session is gone or its api key refused"
	}
	return e
}

// check refuses what AddAdmin cannot send, naming the field.
func (a Admin) check() error {
	if err := checkNewAdminName(a.Name); err != nil {
		return err
	}
	switch {
	case a.Password == "":
		return errors.New("password is empty")
	case strings.TrimSpace(a.Profile) == "":
		return errors.New("admin profile is empty")
	case a.RPCPermit != RPCRead && a.RPCPermit != RPCReadWrite:
		return fmt.Errorf("rpc-permit %q: want %s or %s", a.RPCPermit, RPCRead, RPCReadWrite)
	case len(a.ADOMs) == 0:
		return fmt.Errorf("adoms: none given (%s gives every ADOM)", AllADOMs)
	}
	for _, d := range a.ADOMs {
		if strings.TrimSpace(d) == "" || strings.ContainsFunc(d, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("adoms: %q is not an ADOM name", d)
		}
	}
	return checkTrustedHosts(a.TrustedHosts)
}

// checkNewAdminName refuses a name a new admin cannot have: at most MaxAdminName characters of
// A-Za-z0-9_-.
func checkNewAdminName(name string) error {
	if name == "" {
		return errors.New("admin name is empty")
	}
	if len(name) > MaxAdminName {
		return fmt.Errorf("admin name %q is longer than %d characters", name, MaxAdminName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("admin name %q: only A-Z, a-z, 0-9, _ and - are allowed", name)
		}
	}
	return nil
}

// checkTrustedHosts refuses prefixes an admin cannot hold: invalid ones, IPv4 written as IPv6
// (::ffff:a.b.c.d), and more than MaxTrustedHosts of one family.
func checkTrustedHosts(hosts []netip.Prefix) error {
	var v4, v6 int
	for _, p := range hosts {
		switch {
		case !p.IsValid():
			return errors.New("trusted hosts: an invalid prefix")
		case p.Addr().Is4In6():
			return fmt.Errorf("trusted hosts: %s is IPv4 written as IPv6; give it as IPv4", p)
		case p.Addr().Is4():
			v4++
		default:
			v6++
		}
	}
	if v4 > MaxTrustedHosts || v6 > MaxTrustedHosts {
		return fmt.Errorf("trusted hosts: %d IPv4 and %d IPv6 prefixes, at most %d of each", v4, v6, MaxTrustedHosts)
	}
	return nil
}

// addData is the add's data for binding b.
func (a Admin) addData(b adomBinding) map[string]any {
	all := slices.ContainsFunc(a.ADOMs, isAllADOMs)
	adoms := make([]map[string]string, 0, len(a.ADOMs))
	if all {
		adoms = append(adoms, map[string]string{"adom-name": AllADOMs})
	} else {
		for _, d := range a.ADOMs {
			adoms = append(adoms, map[string]string{"adom-name": d})
		}
	}
	data := map[string]any{
		"userid":                a.Name,
		"password":              a.Password,
		"profileid":             a.Profile,
		"adom":                  adoms,
		"rpc-permit":            a.RPCPermit,
		"user_type":             "local",
		"force-password-change": "disable",
	}
	if b == bindADOMAccess {
		data["adom-access"] = "specify"
		if all {
			data["adom-access"] = "all"
		}
	}
	if len(a.TrustedHosts) > 0 {
		for k, v := range trustHostSlots(a.TrustedHosts) {
			data[k] = v
		}
	}
	return data
}
