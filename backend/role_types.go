package backend

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
)

// Credential types, as a role's credential_type names them. Roles and leases store them, so
// they never change once released.
const (
	credSession      = "session"
	credToken        = "token"
	credDynamicAdmin = "dynamic_admin"
	credAPIUser      = "api_user"
)

// credentialType is one value of a role's credential_type: the configs that can serve it and
// the role fields it takes. Adding a type is a row here, a credential kind (kind.go) and, for
// fields no type had, a row in typeFields.
type credentialType struct {
	name string
	// fits says why config c cannot serve roles of this type; nil when it can.
	fits func(c *configEntry) error
	// fields are the typeFields this type takes, besides config, ttl and max_ttl.
	fields []string
	// defaults sets what a role that takes this type starts with; nil for nothing.
	defaults func(r *roleEntry)
	// check checks a role of this type (named name) once the write's fields are set, and says
	// what the write should warn of; nil when there is nothing to check.
	check func(name string, r *roleEntry) (warnings []string, err error)
}

func credentialTypes() []credentialType {
	return []credentialType{
		{name: credSession, fits: fitsSession},
		{name: credToken, fits: fitsToken},
		{name: credDynamicAdmin, fits: managesAdmins,
			fields:   []string{"admin_profile", "adoms", "trusted_hosts", "rpc_permit", "with_session", "username_template"},
			defaults: func(r *roleEntry) { r.RPCPermit, r.WithSession = client.RPCReadWrite, true },
			check:    checkDynamicAdmin},
		{name: credAPIUser, fits: fitsAPIUser,
			fields:   []string{"admin_profile", "vdoms", "trusted_hosts", "username_template"},
			defaults: func(r *roleEntry) { r.VDOMs = []string{defaultVDOM} },
			check:    checkAPIUser},
	}
}

// lookupCredentialType finds a type by name.
func lookupCredentialType(name string) (credentialType, bool) {
	i := slices.IndexFunc(credentialTypes(), func(t credentialType) bool { return t.name == name })
	if i < 0 {
		return credentialType{}, false
	}
	return credentialTypes()[i], true
}

// defaultCredentialType is the type of a role on c that names none, as roles written before
// there were types do: what the product leased then.
func defaultCredentialType(c *configEntry) string {
	p, _ := client.LookupProduct(c.Type)
	switch p.Family {
	case client.FamilySession:
		return credSession
	case client.FamilyToken:
		return credToken
	case client.FamilyAPIUser:
		return credAPIUser
	}
	return ""
}

// credentialType is the type r has on config c.
func (r *roleEntry) credentialType(c *configEntry) string {
	return cmp.Or(r.CredentialType, defaultCredentialType(c))
}

// fitsSession: a session is a login, which an API key does not make.
func fitsSession(c *configEntry) error {
	p, _ := client.LookupProduct(c.Type)
	switch {
	case p.Family != client.FamilySession:
		return fmt.Errorf("type %s configs serve credential_type %s", c.Type, cmp.Or(defaultCredentialType(c), "of their own"))
	case c.AuthMethod == client.AuthAPIKey:
		return fmt.Errorf("auth_method %s opens no session to lease (the key goes with every call); give credential_type=%s", c.AuthMethod, credDynamicAdmin)
	}
	return nil
}

func fitsToken(c *configEntry) error {
	if p, _ := client.LookupProduct(c.Type); p.Family != client.FamilyToken {
		return fmt.Errorf("type %s configs do not lease tokens", c.Type)
	}
	return nil
}

// managesAdmins says why c's root cannot create and delete FortiAnalyzer/FortiManager admins;
// nil when it can: a local admin's session, or an API key.
func managesAdmins(c *configEntry) error {
	p, _ := client.LookupProduct(c.Type)
	switch {
	case p.Family != client.FamilySession:
		return fmt.Errorf("it needs a fortianalyzer or fortimanager config (this one is %s)", c.Type)
	case c.AuthMethod != client.AuthLocalUser && c.AuthMethod != client.AuthAPIKey:
		return fmt.Errorf("it needs auth_method %s or %s, a root that can manage admins (this config has %s)",
			client.AuthLocalUser, client.AuthAPIKey, c.AuthMethod)
	}
	return nil
}

// fitsAPIUser: api-users are FortiGate's, made with its config's key.
func fitsAPIUser(c *configEntry) error {
	if p, _ := client.LookupProduct(c.Type); p.Family != client.FamilyAPIUser {
		return fmt.Errorf("it needs a %s config (this one is %s)", client.TypeFortiGate, c.Type)
	}
	return nil
}

// rootManages reports whether c's root creates and deletes admins for its roles' leases
// (dynamic_admin, api_user), which then need it, as it is, to be revoked.
func rootManages(c *configEntry) bool {
	return managesAdmins(c) == nil || fitsAPIUser(c) == nil
}

// typeField is a role field that only some credential types take: its schema, how a write
// sets it, and what a read shows. Types that take the same field share its checks.
type typeField struct {
	schema *framework.FieldSchema
	set    func(r *roleEntry, v any) error
	get    func(r *roleEntry) any
}

// buildCredentialType sets on r, as buildRole left it from old (nil at create) and d, the
// write's credential type for config c and the fields of that type, and checks them. The type
// is the one given, else the stored role's, else c's default, and must be one c can serve. A
// field of another type is refused, naming it. A role that takes a type afresh starts from its
// defaults, dropping the fields of its old one.
func buildCredentialType(name string, r, old *roleEntry, d *framework.FieldData, c *configEntry) ([]string, error) {
	t, err := pickCredentialType(old, d, c)
	if err != nil {
		return nil, err
	}
	if old == nil || old.credentialType(c) != t.name {
		*r = roleEntry{Config: r.Config, TTL: r.TTL, MaxTTL: r.MaxTTL}
		if t.defaults != nil {
			t.defaults(r)
		}
	}
	r.CredentialType = t.name
	fields := typeFields()
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		v, ok := d.GetOk(k)
		if !ok {
			continue
		}
		if !slices.Contains(t.fields, k) {
			return nil, fmt.Errorf("%s: not used by credential_type %s", k, t.name)
		}
		if err := fields[k].set(r, v); err != nil {
			return nil, err
		}
	}
	if t.check == nil {
		return nil, nil
	}
	return t.check(name, r)
}

// pickCredentialType is the type a write leaves a role with, if c can serve it.
func pickCredentialType(old *roleEntry, d *framework.FieldData, c *configEntry) (credentialType, error) {
	var name string
	if v, ok := d.GetOk("credential_type"); ok {
		name = strings.TrimSpace(v.(string))
	} else if old != nil {
		name = old.CredentialType
	}
	name = cmp.Or(name, defaultCredentialType(c))
	t, ok := lookupCredentialType(name)
	if !ok {
		names := make([]string, 0, len(credentialTypes()))
		for _, t := range credentialTypes() {
			if t.fits(c) == nil {
				names = append(names, t.name)
			}
		}
		return t, fmt.Errorf("credential_type: unknown type %q; config %q serves %s", name, c.Type, strings.Join(names, ", "))
	}
	if err := t.fits(c); err != nil {
		what := t.name
		if name == defaultCredentialType(c) {
			what += fmt.Sprintf(" (the default for %s)", c.Type)
		}
		return t, fmt.Errorf("credential_type: %s cannot be served by this config: %w", what, err)
	}
	return t, nil
}

// typeFieldsOf is what a read shows of r's type fields, type t.
func typeFieldsOf(r *roleEntry, t credentialType) map[string]any {
	fields := typeFields()
	out := make(map[string]any, len(t.fields))
	for _, k := range t.fields {
		out[k] = fields[k].get(r)
	}
	return out
}
