package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// APIUser is a FortiOS REST API admin (config system api-user) as the engine creates and reads
// it [docs/upstream.md §6]. Its key is never part of it.
type APIUser struct {
	Name          string
	AccessProfile string   // accprofile
	VDOMs         []string // the VDOMs it may use
	// TrustedHosts are the networks it may connect from, as CIDRs ("10.0.0.0/8",
	// "2001:db8::/32"); none: any address. Read back, an entry FortiOS keeps in a form that is
	// no CIDR (a mask with holes) is given as FortiOS spells it.
	TrustedHosts []string
	Comments     string
}

// Limits on what the engine sends [docs/upstream.md §6: 35 characters inferred from the GUI
// and the contract's admin names; 255 for comments, FortiOS's usual var-string].
const (
	maxAPIUserName = 35
	maxComments    = 255
	// MaxKeyExpiry is the longest key expiry generate-key takes, in minutes (7 days), on the
	// firmware that takes one (7.6+) [docs/upstream.md §6, med].
	MaxKeyExpiry = 10080
)

var apiUserName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckAPIUserName refuses a name the engine does not give api-users: 1 to 35 characters of
// A-Za-z0-9_-.
func CheckAPIUserName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > maxAPIUserName:
		return fmt.Errorf("name %q is longer than %d characters", name, maxAPIUserName)
	case !apiUserName.MatchString(name):
		return fmt.Errorf("name %q holds characters other than A-Za-z0-9_-", name)
	}
	return nil
}

// fosAPIUser is an api-user as FortiOS's JSON spells it in a create.
type fosAPIUser struct {
	Name       string         `json:"name"`
	AccProfile string         `json:"accprofile"`
	VDOM       []fosName      `json:"vdom"`
	TrustHost  []fosTrustHost `json:"trusthost"`
	Comments   string         `json:"comments,omitempty"`
}

type fosName struct {
	Name string `json:"name"`
}

// fosTrustHost is one entry of an api-user's trusthost table: "<ip> <mask>" for IPv4,
// "<ip6>/<len>" for IPv6.
type fosTrustHost struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
	IPv4 string `json:"ipv4-trusthost,omitempty"`
	IPv6 string `json:"ipv6-trusthost,omitempty"`
}

// Types of trusthost entries.
const (
	trustIPv4 = "ipv4-trusthost"
	trustIPv6 = "ipv6-trusthost"
)

// body is u as the create call sends it, or an error naming the field that cannot be sent.
func (u APIUser) body() (fosAPIUser, error) {
	b := fosAPIUser{Name: u.Name, AccProfile: u.AccessProfile, Comments: u.Comments, TrustHost: []fosTrustHost{}}
	if err := CheckAPIUserName(u.Name); err != nil {
		return b, err
	}
	if err := checkObjectName(u.AccessProfile); err != nil {
		return b, fmt.Errorf("accprofile: %w", err)
	}
	if len(u.VDOMs) == 0 {
		return b, errors.New("vdom: none given")
	}
	for _, v := range u.VDOMs {
		if err := checkObjectName(v); err != nil {
			return b, fmt.Errorf("vdom: %w", err)
		}
		b.VDOM = append(b.VDOM, fosName{Name: v})
	}
	for i, c := range u.TrustedHosts {
		th, err := trustHost(i+1, c)
		if err != nil {
			return b, fmt.Errorf("trusthost: %w", err)
		}
		b.TrustHost = append(b.TrustHost, th)
	}
	if len(u.Comments) > maxComments || strings.ContainsFunc(u.Comments, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return b, fmt.Errorf("comments: longer than %d characters or with control characters", maxComments)
	}
	return b, nil
}

// trustHost is entry id of a trusthost table for cidr, which must be a network address.
func trustHost(id int, cidr string) (fosTrustHost, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	switch {
	case err != nil:
		return fosTrustHost{}, fmt.Errorf("%q is not a CIDR", cidr)
	case p.Addr().Is4In6():
		return fosTrustHost{}, fmt.Errorf("%q: give an IPv4 network in its IPv4 form", cidr)
	case p != p.Masked():
		return fosTrustHost{}, fmt.Errorf("%q is not a network address (%s?)", cidr, p.Masked())
	case p.Addr().Is4():
		mask := net.IP(net.CIDRMask(p.Bits(), 32)).String()
		return fosTrustHost{ID: id, Type: trustIPv4, IPv4: p.Addr().String() + " " + mask}, nil
	}
	return fosTrustHost{ID: id, Type: trustIPv6, IPv6: p.String()}, nil
}

// cidr reads a trusthost entry back as a CIDR, or as FortiOS spells it when it is none.
func (th fosTrustHost) cidr() string {
	if th.Type == trustIPv6 || th.Type == "" && th.IPv4 == "" {
		if p, err := netip.ParsePrefix(th.IPv6); err == nil {
			return p.String()
		}
		return th.IPv6
	}
	ip, mask, ok := strings.Cut(strings.TrimSpace(th.IPv4), " ")
	a, aerr := netip.ParseAddr(ip)
	m, merr := netip.ParseAddr(strings.TrimSpace(mask))
	if !ok || aerr != nil || merr != nil || !a.Is4() || !m.Is4() {
		return th.IPv4
	}
	mb := m.As4()
	ones, bits := net.IPMask(mb[:]).Size()
	if bits == 0 {
		return th.IPv4 // a mask with holes
	}
	return netip.PrefixFrom(a, ones).String()
}

// apiUserOp is the op of an api-user call, for errors.
func apiUserOp(verb string) string { return verb + " api-user" }

// CreateAPIUser creates the REST API admin u (POST /api/v2/cmdb/system/api-user), without a
// key: GenerateKey makes one. The call creates: once sent it runs to its answer whatever ctx
// does, and it is sent again only when the FortiGate surely did not act on it (see
// request.creates); a caller that left finds the api-user created if the call answered nil.
//
// Errors: ErrRefused naming the field for u that cannot be sent (nothing is sent); ErrExists when an api-user of that name exists (FortiOS -5, on a 500 or any other
// status [docs/upstream.md §6, inferred]): it may be anyone's, so the caller never adopts it,
// and no other was made; ErrRefused for 401, 403, 424 (an access profile or VDOM that does not
// exist) and other CLI errors, which made nothing; ErrRetryLater or ErrProtocol when the answer
// was lost or not understood, and the api-user may exist.
func (c *FortiOS) CreateAPIUser(ctx context.Context, u APIUser) error {
	op := apiUserOp("create")
	b, err := u.body()
	if err != nil {
		return &Error{Op: "fortigate: " + op, Kind: ErrRefused, Message: err.Error()}
	}
	_, err = c.do(ctx, fosCall{op: op, method: http.MethodPost, path: fosAPIUserPath, body: b, key: c.key, creates: true})
	return err
}

// GetAPIUser reads the api-user name (GET /api/v2/cmdb/system/api-user/<name>): ErrGone when it
// does not exist (a FortiOS 404), else the errors of every call (see FortiOS).
func (c *FortiOS) GetAPIUser(ctx context.Context, name string) (*APIUser, error) {
	op := apiUserOp("read")
	if err := checkObjectName(name); err != nil {
		return nil, &Error{Op: "fortigate: " + op, Kind: ErrRefused, Message: err.Error()}
	}
	a, err := c.do(ctx, fosCall{op: op, method: http.MethodGet, path: fosAPIUserPath + "/" + url.PathEscape(name), key: c.key, object: true})
	if err != nil {
		return nil, err
	}
	u, err := readAPIUser(a.Results)
	if err == nil && u.Name != name {
		err = fmt.Errorf("the answer is about api-user %q", u.Name)
	}
	if err != nil {
		return nil, &Error{Op: "fortigate: " + op, Kind: ErrProtocol, Message: err.Error()}
	}
	return u, nil
}

// readAPIUser reads the api-user a cmdb read's results hold, each field a string where FortiOS
// sends one. Its errors hold nothing of the answer.
func readAPIUser(results json.RawMessage) (*APIUser, error) {
	raw, ok := resultRaw(results)
	if !ok {
		return nil, errors.New("an answer without the api-user")
	}
	var v struct {
		Name       json.RawMessage `json:"name"`
		AccProfile json.RawMessage `json:"accprofile"`
		Comments   json.RawMessage `json:"comments"`
		VDOM       []struct {
			Name json.RawMessage `json:"name"`
		} `json:"vdom"`
		TrustHost []struct {
			Type json.RawMessage `json:"type"`
			IPv4 json.RawMessage `json:"ipv4-trusthost"`
			IPv6 json.RawMessage `json:"ipv6-trusthost"`
		} `json:"trusthost"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil, errors.New("an api-user in an unexpected shape")
	}
	u := &APIUser{Name: rawString(v.Name), AccessProfile: rawString(v.AccProfile), Comments: rawString(v.Comments)}
	for _, d := range v.VDOM {
		u.VDOMs = append(u.VDOMs, rawString(d.Name))
	}
	for _, th := range v.TrustHost {
		e := fosTrustHost{Type: rawString(th.Type), IPv4: rawString(th.IPv4), IPv6: rawString(th.IPv6)}
		u.TrustedHosts = append(u.TrustedHosts, e.cidr())
	}
	return u, nil
}

// DeleteAPIUser deletes the api-user name (DELETE /api/v2/cmdb/system/api-user/<name>), and with
// it its key. ErrGone when it was already gone (a FortiOS 404 [docs/upstream.md §6,
// inferred-high], or -3): for a revoke, the work is done. A 401 or 403 is the client's own key
// failing, never the api-user gone. A delete is retried as any call: repeated after it took
// effect, it answers ErrGone.
func (c *FortiOS) DeleteAPIUser(ctx context.Context, name string) error {
	op := apiUserOp("delete")
	if err := checkObjectName(name); err != nil {
		return &Error{Op: "fortigate: " + op, Kind: ErrRefused, Message: err.Error()}
	}
	_, err := c.do(ctx, fosCall{op: op, method: http.MethodDelete, path: fosAPIUserPath + "/" + url.PathEscape(name), key: c.key, object: true})
	return err
}

// MayManageAPIUsers reports (nil) whether the api-user name, normally the client's own, may
// create and delete api-users: its access profile grants read-write on administrators (sysgrp
// read-write, or custom with sysgrp-permission admin read-write) [docs/upstream.md §6, ftnt
// schema, med]. ErrRefused says why not, a 403 included (the key may not even read them), and an
// api-user that does not exist.
func (c *FortiOS) MayManageAPIUsers(ctx context.Context, name string) error {
	op := "check admin rights"
	u, err := c.GetAPIUser(ctx, name)
	if errors.Is(err, ErrGone) {
		return &Error{Op: "fortigate: " + op, Kind: ErrRefused, Message: fmt.Sprintf("api-user %q does not exist", name)}
	}
	if err != nil {
		return err
	}
	a, err := c.do(ctx, fosCall{op: "read accprofile", method: http.MethodGet, path: fosAccProfilePath + "/" + url.PathEscape(u.AccessProfile), key: c.key})
	if err != nil {
		return err
	}
	m, _ := resultObject(a.Results)
	sysgrp := rawString(m["sysgrp"])
	var perm struct {
		Admin string `json:"admin"`
	}
	_ = json.Unmarshal(m["sysgrp-permission"], &perm)
	if sysgrp == "read-write" || sysgrp == "custom" && perm.Admin == "read-write" {
		return nil
	}
	return &Error{Op: "fortigate: " + op, Kind: ErrRefused, Message: fmt.Sprintf(
		"api-user %q has profile %q, which may not manage api-users: it needs read-write on administrators (sysgrp)", name, u.AccessProfile)}
}
