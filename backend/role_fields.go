package backend

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
)

// typeFields are the role fields of the credential types that create an admin upstream.
// dynamic_admin takes them all; a type that creates another kind of admin shares those it needs
// (admin_profile, trusted_hosts, username_template), and their checks with them.
func typeFields() map[string]typeField {
	return map[string]typeField{
		"admin_profile": {
			schema: &framework.FieldSchema{Type: framework.TypeString, Description: "dynamic_admin: the admin profile " +
				"(profileid upstream) of the admin made per lease, e.g. Restricted_User; api_user: the access profile " +
				"(accprofile) of the REST API admin made per lease, e.g. read_only. Required."},
			set: setAdminProfile,
			get: func(r *roleEntry) any { return r.AdminProfile },
		},
		"adoms": {
			schema: &framework.FieldSchema{Type: framework.TypeCommaStringSlice, Description: "dynamic_admin: the ADOMs " +
				"the admin may use, as a list or comma separated; " + client.AllADOMs + " (alone) for every ADOM. Required."},
			set: setADOMs,
			get: func(r *roleEntry) any { return r.ADOMs },
		},
		"vdoms": {
			schema: &framework.FieldSchema{Type: framework.TypeCommaStringSlice, Description: "api_user: the VDOMs the " +
				"REST API admin may use, as a list or comma separated. Default " + defaultVDOM + "."},
			set: setVDOMs,
			get: func(r *roleEntry) any { return r.VDOMs },
		},
		"trusted_hosts": {
			schema: &framework.FieldSchema{Type: framework.TypeCommaStringSlice, Description: fmt.Sprintf("dynamic_admin, "+
				"api_user: where the admin may connect from, as CIDRs (a bare address is one host); dynamic_admin: at most %d "+
				"IPv4 and %d IPv6, and with with_session, Vault's own address must be among them; api_user: at most %d in all "+
				"(the api-user's trusthost table). None: any address, and the write warns.",
				client.MaxTrustedHosts, client.MaxTrustedHosts, maxAPIUserTrustedHosts)},
			set: setTrustedHosts,
			get: func(r *roleEntry) any { return r.TrustedHosts },
		},
		"rpc_permit": {
			schema: &framework.FieldSchema{Type: framework.TypeString, Description: "dynamic_admin: the admin's JSON-RPC " +
				"access, read or read-write. Default read-write."},
			set: setRPCPermit,
			get: func(r *roleEntry) any { return r.RPCPermit },
		},
		"with_session": {
			schema: &framework.FieldSchema{Type: framework.TypeBool, Description: "dynamic_admin: log in as the new admin " +
				"and answer its session with its password. false: no login by Vault (applications that log in " +
				"themselves, trusted_hosts that leave out Vault's address). Default true."},
			set: func(r *roleEntry, v any) error { r.WithSession = v.(bool); return nil },
			get: func(r *roleEntry) any { return r.WithSession },
		},
		"username_template": {
			schema: &framework.FieldSchema{Type: framework.TypeString, Description: "dynamic_admin, api_user: Vault username " +
				"template (.RoleName, .DisplayName; random, truncate, replace...) of the admin's name, which must " +
				"render at most 35 characters of A-Za-z0-9_- and differ per lease. Default: " + defaultUsernameTemplate +
				" (\"\" goes back to it)."},
			set: setUsernameTemplate,
			get: func(r *roleEntry) any { return cmp.Or(r.UsernameTemplate, defaultUsernameTemplate) },
		},
	}
}

// typeSchemas are the schemas of typeFields, for the role path.
func typeSchemas() map[string]*framework.FieldSchema {
	out := map[string]*framework.FieldSchema{}
	for k, f := range typeFields() {
		out[k] = f.schema
	}
	return out
}

// checkDynamicAdmin requires what a dynamic_admin role cannot do without, checks its template,
// and warns of an admin that may connect from anywhere.
func checkDynamicAdmin(name string, r *roleEntry) ([]string, error) {
	switch {
	case r.AdminProfile == "":
		return nil, fmt.Errorf("admin_profile: required for credential_type %s: the admin profile each lease's admin gets (e.g. Restricted_User)", credDynamicAdmin)
	case len(r.ADOMs) == 0:
		return nil, fmt.Errorf("adoms: required for credential_type %s: the ADOMs each lease's admin may use (%s for every one)", credDynamicAdmin, client.AllADOMs)
	}
	if n4, n6 := countFamilies(r.TrustedHosts); n4 > client.MaxTrustedHosts || n6 > client.MaxTrustedHosts {
		return nil, fmt.Errorf("trusted_hosts: %d IPv4 and %d IPv6 given; an admin holds at most %d of each", n4, n6, client.MaxTrustedHosts)
	}
	if err := checkUsernameTemplate(name, r.UsernameTemplate); err != nil {
		return nil, err
	}
	return trustedHostsWarning(r, "(and, with with_session, Vault) "), nil
}

// defaultVDOM is the VDOM every FortiGate has, and an api_user role's default.
const defaultVDOM = "root"

// maxAPIUserTrustedHosts is the most trusted hosts an api_user role takes. FortiOS documents no
// limit on an api-user's trusthost table [fortinet-apis §6]; more than this is most likely a
// list that wider CIDRs say better, and a create the FortiGate may refuse.
const maxAPIUserTrustedHosts = 64

// checkAPIUser requires what an api_user role cannot do without, checks its template, and warns
// of a REST API admin whose key works from anywhere.
func checkAPIUser(name string, r *roleEntry) ([]string, error) {
	switch {
	case r.AdminProfile == "":
		return nil, fmt.Errorf("admin_profile: required for credential_type %s: the access profile (accprofile) each lease's REST API admin gets (e.g. read_only)", credAPIUser)
	case len(r.VDOMs) == 0:
		return nil, fmt.Errorf("vdoms: required for credential_type %s: the VDOMs each lease's REST API admin may use (default %s)", credAPIUser, defaultVDOM)
	case len(r.TrustedHosts) > maxAPIUserTrustedHosts:
		return nil, fmt.Errorf("trusted_hosts: %d given; an api_user role takes at most %d: give wider CIDRs", len(r.TrustedHosts), maxAPIUserTrustedHosts)
	}
	if err := checkUsernameTemplate(name, r.UsernameTemplate); err != nil {
		return nil, err
	}
	warnings := trustedHostsWarning(r, "")
	if r.MaxTTL > client.MaxKeyExpiry*time.Minute {
		warnings = append(warnings, fmt.Sprintf("max_ttl: %s is above the %s a FortiGate key may live (7.6+, which ends it by itself): "+
			"leases end with their key", r.MaxTTL, client.MaxKeyExpiry*time.Minute))
	}
	return warnings, nil
}

// countFamilies counts the IPv4 and IPv6 CIDRs among hosts, as setTrustedHosts stores them.
func countFamilies(hosts []string) (n4, n6 int) {
	for _, h := range hosts {
		if p, err := netip.ParsePrefix(h); err == nil && p.Addr().Is4() {
			n4++
		} else {
			n6++
		}
	}
	return n4, n6
}

// trustedHostsWarning warns of a role whose admins may connect from any address; also names
// who else must be among the hosts, when someone must.
func trustedHostsWarning(r *roleEntry, also string) []string {
	if len(r.TrustedHosts) > 0 {
		return nil
	}
	return []string{"trusted_hosts: none given, so each lease's admin may connect from any address; give the CIDRs its applications " + also + "connect from"}
}

func setAdminProfile(r *roleEntry, v any) error {
	p := strings.TrimSpace(v.(string))
	switch {
	case p == "":
		return fmt.Errorf("admin_profile: empty; give the admin profile each lease's admin gets (e.g. Restricted_User)")
	case hasControl(p):
		return fmt.Errorf("admin_profile: %q holds control characters", p)
	}
	r.AdminProfile = p
	return nil
}

// setADOMs takes a list of ADOM names, each once; all_adoms stands alone, so that a role never
// reads narrower than the admin it makes.
func setADOMs(r *roleEntry, v any) error {
	var adoms []string
	for _, d := range v.([]string) {
		d = strings.TrimSpace(d)
		switch {
		case d == "":
			return fmt.Errorf("adoms: an empty ADOM name")
		case hasControl(d):
			return fmt.Errorf("adoms: %q holds control characters", d)
		case slices.ContainsFunc(adoms, func(a string) bool { return strings.EqualFold(a, d) }):
			continue
		}
		adoms = append(adoms, d)
	}
	switch {
	case len(adoms) == 0:
		return fmt.Errorf("adoms: none given; give the ADOMs each lease's admin may use (%s for every one)", client.AllADOMs)
	case len(adoms) > 1 && slices.ContainsFunc(adoms, isAllADOMs):
		return fmt.Errorf("adoms: %s gives every ADOM: give it alone", client.AllADOMs)
	}
	r.ADOMs = adoms
	return nil
}

func isAllADOMs(d string) bool { return strings.EqualFold(d, client.AllADOMs) }

func setTrustedHosts(r *roleEntry, v any) error {
	var hosts []string
	for _, h := range v.([]string) {
		p, err := parseTrustedHost(strings.TrimSpace(h))
		if err != nil {
			return fmt.Errorf("trusted_hosts: %w", err)
		}
		if s := p.String(); !slices.Contains(hosts, s) {
			hosts = append(hosts, s)
		}
	}
	// How many the admin holds is its type's to check.
	r.TrustedHosts = hosts
	return nil
}

// parseTrustedHost reads a CIDR, or a bare address as the one host. Bits set past the prefix
// length are refused rather than cleared: in a list of who may connect, a typo must not pass
// as some other network.
func parseTrustedHost(h string) (netip.Prefix, error) {
	var p netip.Prefix
	var err error
	if strings.Contains(h, "/") {
		p, err = netip.ParsePrefix(h)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(h); err == nil && a.Zone() != "" {
			return p, fmt.Errorf("%q has a zone, which a trusted host cannot", h)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	switch {
	case err != nil:
		return p, fmt.Errorf("%q is not a CIDR (such as 10.20.0.0/16 or 2001:db8::/48) or an address", h)
	case p.Addr().Is4In6():
		return p, fmt.Errorf("%q is IPv4 written as IPv6; give it as IPv4", h)
	case p.Masked() != p:
		return p, fmt.Errorf("%q has bits set past /%d; did you mean %s?", h, p.Bits(), p.Masked())
	}
	return p, nil
}

// setVDOMs takes a list of VDOM names, each once.
func setVDOMs(r *roleEntry, v any) error {
	var vdoms []string
	for _, d := range v.([]string) {
		d = strings.TrimSpace(d)
		switch {
		case d == "":
			return fmt.Errorf("vdoms: an empty VDOM name")
		case hasControl(d) || strings.ContainsAny(d, "/\\"):
			return fmt.Errorf("vdoms: %q is not a VDOM name", d)
		case slices.Contains(vdoms, d):
			continue
		}
		vdoms = append(vdoms, d)
	}
	if len(vdoms) == 0 {
		return fmt.Errorf("vdoms: none given; give the VDOMs each lease's REST API admin may use (default %s)", defaultVDOM)
	}
	r.VDOMs = vdoms
	return nil
}

func setRPCPermit(r *roleEntry, v any) error {
	p := strings.TrimSpace(v.(string))
	if p != client.RPCRead && p != client.RPCReadWrite {
		return fmt.Errorf("rpc_permit: %q; want %s or %s", p, client.RPCRead, client.RPCReadWrite)
	}
	r.RPCPermit = p
	return nil
}

func setUsernameTemplate(r *roleEntry, v any) error {
	t := strings.TrimSpace(v.(string))
	if _, err := parseUsernameTemplate(t); err != nil {
		return fmt.Errorf("username_template: %w", err)
	}
	r.UsernameTemplate = t
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// admin is the admin r asks for, named name with password.
func (r *roleEntry) admin(name, password string) (client.Admin, error) {
	hosts := make([]netip.Prefix, len(r.TrustedHosts))
	for i, h := range r.TrustedHosts {
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return client.Admin{}, fmt.Errorf("trusted_hosts: stored %q: %w", h, err)
		}
		hosts[i] = p
	}
	return client.Admin{Name: name, Password: password, Profile: r.AdminProfile, ADOMs: r.ADOMs,
		TrustedHosts: hosts, RPCPermit: r.RPCPermit}, nil
}

// apiUser is the FortiGate api-user r asks for, named name, with comments.
func (r *roleEntry) apiUser(name, comments string) (client.APIUser, error) {
	for _, h := range r.TrustedHosts {
		if _, err := netip.ParsePrefix(h); err != nil {
			return client.APIUser{}, fmt.Errorf("trusted_hosts: stored %q: %w", h, err)
		}
	}
	return client.APIUser{Name: name, AccessProfile: r.AdminProfile, VDOMs: slices.Clone(r.VDOMs),
		TrustedHosts: slices.Clone(r.TrustedHosts), Comments: comments}, nil
}
