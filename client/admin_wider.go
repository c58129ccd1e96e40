package client

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// WiderThan says what in a, an admin as GetAdmin read it back, gives more than want, the admin
// asked for (as AddAdmin was given it): "" when nothing does, else the reasons, joined by "; ".
// The caller deletes an admin with a reason and fails with it: firmware differs in how an ADOM
// list binds, and only the read-back shows what the upstream made of the add [fortinet-apis §5].
//
// What counts, each as the upstream shows it:
//   - another profile or another rpc-permit, wider or not: the lease would not be what the role
//     says;
//   - every ADOM (adom-access all, or an ADOM spelled all_adoms or "ALL ADOMS"), unless asked;
//     adom-access other than specify, all or absent (exclude, per-adom-profile: not the list
//     asked); an ADOM not asked; no ADOM at all, whose scope the firmware does not say;
//   - when want has trusted hosts: a trusted host of a's that no prefix of want's family holds,
//     Fortinet's "any" values above all, in either family (a family want gives no host must
//     have none).
//
// Reasons name fields and values the role set or the upstream showed; none is a secret.
func (a Admin) WiderThan(want Admin) string {
	var why []string
	if a.Profile != want.Profile {
		why = append(why, fmt.Sprintf("profile %q, asked %q", a.Profile, want.Profile))
	}
	if a.RPCPermit != want.RPCPermit {
		why = append(why, fmt.Sprintf("rpc-permit %q, asked %q", a.RPCPermit, want.RPCPermit))
	}
	why = append(why, a.widerADOMs(want.ADOMs)...)
	why = append(why, a.widerHosts(want.TrustedHosts)...)
	return strings.Join(why, "; ")
}

// widerADOMs is what in a's ADOM scope is wider than the ADOMs asked.
func (a Admin) widerADOMs(want []string) []string {
	if slices.ContainsFunc(want, isAllADOMs) {
		return nil
	}
	asked := strings.Join(want, ", ")
	switch a.ADOMAccess {
	case "", "specify":
	case "all":
		return []string{fmt.Sprintf("adom-access all gives every ADOM, asked %s", asked)}
	default:
		return []string{fmt.Sprintf("adom-access %q does not restrict to the ADOMs asked (%s)", a.ADOMAccess, asked)}
	}
	if slices.ContainsFunc(a.ADOMs, isAllADOMs) {
		return []string{fmt.Sprintf("every ADOM, asked %s", asked)}
	}
	if len(a.ADOMs) == 0 {
		return []string{fmt.Sprintf("no ADOM list read back, so its scope is unknown; asked %s", asked)}
	}
	var extra []string
	for _, d := range a.ADOMs {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, d) }) {
			extra = append(extra, d)
		}
	}
	if len(extra) > 0 {
		return []string{fmt.Sprintf("ADOMs %s not asked (asked %s)", strings.Join(extra, ", "), asked)}
	}
	return nil
}

// widerHosts is what in a's trusted hosts is wider than the ones asked; nothing when none
// were asked (any address).
func (a Admin) widerHosts(want []netip.Prefix) []string {
	if len(want) == 0 {
		return nil
	}
	var extra []string
	for _, p := range a.TrustedHosts {
		if !slices.ContainsFunc(want, func(w netip.Prefix) bool { return holds(w, p) }) {
			extra = append(extra, describeHost(p))
		}
	}
	if len(extra) == 0 {
		return nil
	}
	asked := make([]string, len(want))
	for i, w := range want {
		asked[i] = w.Masked().String()
	}
	return []string{fmt.Sprintf("trusted hosts %s not asked (asked %s)", strings.Join(extra, ", "), strings.Join(asked, ", "))}
}

// holds reports whether prefix w holds all of p: same family, no longer, and p's start within w.
func holds(w, p netip.Prefix) bool {
	w, p = w.Masked(), p.Masked()
	return w.Addr().Is4() == p.Addr().Is4() && w.Bits() <= p.Bits() && w.Contains(p.Addr())
}

// describeHost names a prefix, saying so for the "any" values.
func describeHost(p netip.Prefix) string {
	switch p.Masked() {
	case anyHost4:
		return "0.0.0.0/0 (any IPv4 address)"
	case anyHost6:
		return "::/0 (any IPv6 address)"
	}
	return p.Masked().String()
}
