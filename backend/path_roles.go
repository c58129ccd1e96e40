package backend

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/template"
	"github.com/hashicorp/vault/sdk/logical"
)

// rolePrefix is where roles live in storage: roles/<name>.
const rolePrefix = "roles/"

// The help of roles/<name> and of the role list, as path-help shows it.
const (
	pathRolesHelpSyn  = "Manage the roles that issue Fortinet credentials."
	pathRolesHelpDesc = `
A role names the config whose credentials it uses and the TTLs of the leases it issues.
Reading creds/<role> issues a new session or token under a lease of the role's ttl, renewable
up to its max_ttl, never past the upstream credential's own expiry.

credential_type says what creds issue. For fortianalyzer and fortimanager, session (the
default) is a session of the config's own admin; dynamic_admin is a new local admin per lease,
with the role's admin_profile, adoms, trusted_hosts and rpc_permit and a name from its
username_template, deleted when the lease ends. For fortigate, api_user (its only type) is a
new REST API admin per lease, with the role's admin_profile (accprofile), vdoms and
trusted_hosts, and its key. Fields of another type are refused.
`
	pathRolesListHelpSyn  = "List the roles."
	pathRolesListHelpDesc = "Lists the names of every role."
)

// roleEntry is a stored role.
type roleEntry struct {
	Config string        `json:"config"`
	TTL    time.Duration `json:"ttl,omitempty"`
	MaxTTL time.Duration `json:"max_ttl,omitempty"`
	// CredentialType is the role's credential_type; "" in roles written before there were
	// types, which have their config's default (credentialType).
	CredentialType string `json:"credential_type,omitempty"`

	// The admin each lease gets (typeFields); unset for types that make none.
	AdminProfile     string   `json:"admin_profile,omitempty"`
	ADOMs            []string `json:"adoms,omitempty"`
	VDOMs            []string `json:"vdoms,omitempty"`         // api_user
	TrustedHosts     []string `json:"trusted_hosts,omitempty"` // CIDRs, as netip.Prefix prints them
	RPCPermit        string   `json:"rpc_permit,omitempty"`
	WithSession      bool     `json:"with_session,omitempty"`
	UsernameTemplate string   `json:"username_template,omitempty"` // "" for the default

	// usernames is UsernameTemplate parsed, in a role as the cache holds it (role): parsing
	// costs more than rendering, and creds render one name each.
	usernames *template.StringTemplate
}

func pathRoles(b *backend) []*framework.Path {
	return []*framework.Path{
		{
			Pattern: rolePrefix + framework.GenericNameRegex("name"),
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "role",
			},
			Fields:          roleFields(),
			Operations:      crud(b.pathRoleWrite, b.pathRoleRead, b.pathRoleDelete, "write", roleReadFields()),
			ExistenceCheck:  b.pathRoleExists,
			HelpSynopsis:    pathRolesHelpSyn,
			HelpDescription: strings.TrimSpace(pathRolesHelpDesc),
		},
		{
			Pattern: rolePrefix + "?$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "roles",
			},
			Operations:      list(b.pathRoleList),
			HelpSynopsis:    pathRolesListHelpSyn,
			HelpDescription: pathRolesListHelpDesc,
		},
	}
}

func readRole(ctx context.Context, s logical.Storage, name string) (*roleEntry, error) {
	return readEntry[roleEntry](ctx, s, rolePrefix, name)
}

// role returns the named role, from the cache when it can.
func (b *backend) role(ctx context.Context, s logical.Storage, name string) (*roleEntry, error) {
	return cacheThrough(b, b.roles, name, func() (*roleEntry, error) {
		r, err := readRole(ctx, s, name)
		if r != nil {
			// A template that does not parse is left for creds to report.
			if t, err := parseUsernameTemplate(r.UsernameTemplate); err == nil {
				r.usernames = &t
			}
		}
		return r, err
	})
}

func (b *backend) dropRole(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.roles, name)
}

// rolesUsing lists the roles that name config.
func (b *backend) rolesUsing(ctx context.Context, s logical.Storage, config string) ([]string, error) {
	names, err := s.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	var users []string
	for _, n := range names {
		r, err := b.role(ctx, s, n)
		if err != nil {
			return nil, err
		}
		if r != nil && r.Config == config {
			users = append(users, n)
		}
	}
	sort.Strings(users)
	return users, nil
}

func (b *backend) pathRoleExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := readRole(ctx, req.Storage, d.Get("name").(string))
	return r != nil, err
}

func (b *backend) pathRoleRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := readRole(ctx, req.Storage, d.Get("name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	data := map[string]any{
		"config":  r.Config,
		"ttl":     int64(r.TTL.Seconds()),
		"max_ttl": int64(r.MaxTTL.Seconds()),
	}
	typ := r.CredentialType
	if typ == "" {
		// Written before there were types: its config's default, while the config exists.
		c, err := readConfig(ctx, req.Storage, r.Config)
		if err != nil {
			return nil, err
		}
		if c != nil {
			typ = r.credentialType(c)
		}
	}
	data["credential_type"] = typ
	if t, ok := lookupCredentialType(typ); ok {
		maps.Copy(data, typeFieldsOf(r, t))
	}
	return &logical.Response{Data: data}, nil
}

func (b *backend) pathRoleList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, rolePrefix)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return logical.ListResponse(names), nil
}

func (b *backend) pathRoleDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := req.Storage.Delete(ctx, rolePrefix+name); err != nil {
		return nil, fmt.Errorf("delete role %q: %w", name, err)
	}
	delete(b.roles, name)
	return nil, nil
}

func (b *backend) pathRoleWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	// The config must exist, and must not be deleted while this write is under way.
	old, unlock, err := b.lockRoleWrite(ctx, req.Storage, name, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := buildRole(old, d)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	c, err := readConfig(ctx, req.Storage, r.Config)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return logical.ErrorResponse("config: config %q does not exist; write config/%s first", r.Config, r.Config), nil
	}
	warnings, err := buildCredentialType(name, r, old, d, c)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	sys := b.System()
	if r.TTL > sys.MaxLeaseTTL() {
		warnings = append(warnings, fmt.Sprintf("ttl %s is above the mount's max TTL %s: leases will be capped at it", r.TTL, sys.MaxLeaseTTL()))
	}
	if r.MaxTTL > sys.MaxLeaseTTL() {
		warnings = append(warnings, fmt.Sprintf("max_ttl %s is above the mount's max TTL %s: leases will be capped at it", r.MaxTTL, sys.MaxLeaseTTL()))
	}
	entry, err := logical.StorageEntryJSON(rolePrefix+name, r)
	if err != nil {
		return nil, fmt.Errorf("encode role %q: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := req.Storage.Put(ctx, entry); err != nil {
		return nil, fmt.Errorf("store role %q: %w", name, err)
	}
	delete(b.roles, name)
	if len(warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

// buildRole merges a write into the stored role (nil at create) and checks the result.
func buildRole(old *roleEntry, d *framework.FieldData) (*roleEntry, error) {
	r := &roleEntry{}
	if old != nil {
		*r = *old
	}
	r.Config = roleConfig(old, d)
	if r.Config == "" {
		return nil, fmt.Errorf("config: required: the name of the config this role uses")
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"ttl", &r.TTL}, {"max_ttl", &r.MaxTTL}} {
		if v, ok := d.GetOk(f.name); ok {
			secs := v.(int)
			if secs < 0 {
				return nil, fmt.Errorf("%s: must not be negative", f.name)
			}
			*f.dst = time.Duration(secs) * time.Second
		}
	}
	if r.TTL > 0 && r.MaxTTL > 0 && r.TTL > r.MaxTTL {
		return nil, fmt.Errorf("ttl: %s is above max_ttl %s", r.TTL, r.MaxTTL)
	}
	return r, nil
}

// roleConfig is the config a write leaves a role on (old, the stored role; nil at create): the
// one it names, else the stored role's.
func roleConfig(old *roleEntry, d *framework.FieldData) string {
	if v, ok := d.GetOk("config"); ok {
		return strings.TrimSpace(v.(string))
	}
	if old != nil {
		return old.Config
	}
	return ""
}

func roleFields() map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{
		"name": {
			Type:        framework.TypeString,
			Description: "Name of the role.",
			Required:    true,
		},
		"config": {
			Type:        framework.TypeString,
			Description: "Name of the config whose credentials this role uses. Required.",
		},
		"ttl": {
			Type:        framework.TypeDurationSecond,
			Description: "Lease TTL of the credentials issued. Default: the mount's default TTL.",
		},
		"max_ttl": {
			Type:        framework.TypeDurationSecond,
			Description: "Longest a lease may be renewed to. Default: the mount's max TTL.",
		},
		"credential_type": {
			Type: framework.TypeString,
			Description: "What creds issue. fortianalyzer, fortimanager: session (the default: a session of the " +
				"config's own admin) or dynamic_admin (a new local admin per lease, deleted when the lease ends; " +
				"configs with auth_method local_user or api_key). fortilan, forticloud: token. fortigate: api_user (a new " +
				"REST API admin and key per lease, deleted when the lease ends).",
		},
	}
	maps.Copy(f, typeSchemas())
	return f
}

// roleReadFields is what a role read answers.
func roleReadFields() map[string]*framework.FieldSchema {
	f := roleFields()
	delete(f, "name")
	return f
}
