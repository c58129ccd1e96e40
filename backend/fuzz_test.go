package backend

import (
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
)

var configFieldNames = []string{"type", "url", "auth_method", "token", "api_id", "client_id", "auth_url",
	"username", "password", "account_id", "ca_cert", "tls_server_name", "tls_skip_verify", "request_timeout",
	"login_rate_limit", "call_rate_limit", "verify_connection", "password_policy", "api_key",
	"rotation_period", "rotation_schedule", "rotation_window", "disable_automated_rotation", "rotation_policy"}

// startsWithField reports whether an error message opens with a field name, as every config
// and role error must.
func startsWithField(msg string, fields []string) bool {
	for _, f := range fields {
		if strings.HasPrefix(msg, f+":") {
			return true
		}
	}
	return false
}

// FuzzBuildConfig: any write, on a new or an existing config, either builds a config that
// holds together or fails naming the field; it never panics.
func FuzzBuildConfig(f *testing.F) {
	f.Add("fortianalyzer", "https://faz.example.com", "local_user", "", "admin", "pw", "", "", "30s", false)
	f.Add("fortilan", "", "", "", "ops@example.com", "pw", "acct@example.com", "", "10", true)
	f.Add("forticloud", "", "forticloud_api_user", "", "", "pw", "", "fortigatecloud", "1m", false)
	f.Add("fortimanager", "http://x", "forticloud_token", "tok", "", "", "", "", "-1", false)
	f.Add("fortianalyzer", "https://u:p@h/?q#f", "forticloud_api_user", "", "", "pw", "", "", "0", true)
	f.Add("fortilan", "https://[::1]:443/base/", "iam_user", "", "u", "p", "a", "", "5m", false)
	f.Add("fortimanager", "https://fmg.example.com", "api_key", "", "owner", "", "", "", "", true)
	f.Fuzz(func(t *testing.T, typ, url, method, token, user, password, account, clientID, timeout string, existing bool) {
		raw := map[string]any{"type": typ, "url": url, "auth_method": method, "token": token, "username": user,
			"password": password, "account_id": account, "client_id": clientID, "request_timeout": timeout}
		for k, v := range raw {
			if v == "" {
				delete(raw, k)
			}
		}
		d := &framework.FieldData{Raw: raw, Schema: configFields()}
		if err := d.Validate(); err != nil {
			return // Vault refuses it before the handler runs
		}
		var old *configEntry
		if existing {
			old = &configEntry{Type: "fortianalyzer", URL: "https://faz.example.com", AuthMethod: "local_user", Username: "a", Password: "b"}
		}
		c, _, err := buildConfig(old, d)
		if err != nil {
			if !startsWithField(err.Error(), configFieldNames) {
				t.Fatalf("error does not name a field: %q", err)
			}
			return
		}
		if c.Type == "" || c.AuthMethod == "" {
			t.Fatalf("built a config without type or method: %+v", c)
		}
		if c.URL != "" && !strings.HasPrefix(c.URL, "https://") {
			t.Fatalf("accepted url %q", c.URL)
		}
		for _, k := range credentialFields[c.AuthMethod] {
			if v := map[string]string{"token": c.Token, "api_id": c.APIID, "username": c.Username, "password": c.Password, "account_id": c.AccountID, "api_key": c.APIKey}[k]; v == "" {
				t.Fatalf("accepted %s without %s", c.AuthMethod, k)
			}
		}
		if _, err := client.New(c.settings()); err != nil {
			t.Fatalf("a config that passed the checks cannot connect: %v", err)
		}
	})
}

// FuzzBuildRole: any role write builds a role with ttl <= max_ttl, or fails naming the field.
func FuzzBuildRole(f *testing.F) {
	f.Add("faz", "15m", "8h", true)
	f.Add("", "1h", "1m", false)
	f.Add("x", "-5", "", true)
	f.Add(" ", "9999999999999", "1s", false)
	f.Fuzz(func(t *testing.T, config, ttl, maxTTL string, existing bool) {
		raw := map[string]any{"config": config, "ttl": ttl, "max_ttl": maxTTL}
		for k, v := range raw {
			if v == "" {
				delete(raw, k)
			}
		}
		d := &framework.FieldData{Raw: raw, Schema: pathRoles(&backend{})[0].Fields}
		if err := d.Validate(); err != nil {
			return
		}
		var old *roleEntry
		if existing {
			old = &roleEntry{Config: "faz", TTL: 3600e9}
		}
		r, err := buildRole(old, d)
		if err != nil {
			if !startsWithField(err.Error(), []string{"config", "ttl", "max_ttl"}) {
				t.Fatalf("error does not name a field: %q", err)
			}
			return
		}
		if r.Config == "" || r.TTL < 0 || r.MaxTTL < 0 || (r.TTL > 0 && r.MaxTTL > 0 && r.TTL > r.MaxTTL) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// roleFieldNames are the fields a role error may open with.
var roleFieldNames = []string{"config", "ttl", "max_ttl", "credential_type", "admin_profile", "adoms", "trusted_hosts",
	"rpc_permit", "with_session", "username_template"}

// FuzzBuildRoleType: any write of a role's credential type and its fields, on a FortiAnalyzer
// config, builds a role whose admin a creds could ask for, or fails naming the field; it never
// panics.
func FuzzBuildRoleType(f *testing.F) {
	f.Add("dynamic_admin", "Restricted_User", "root,soc", "10.0.0.0/8,2001:db8::/32", "read", "", "local_user", false)
	f.Add("", "", "", "", "", "", "api_key", true)
	f.Add("dynamic_admin", " p ", "all_adoms", "1.2.3.4", "read-write", "{{ .RoleName }}_{{ random 9 }}", "local_user", true)
	f.Add("session", "x", "root", "::ffff:1.2.3.4/128", "none", "{{ uuid }}", "forticloud_token", false)
	f.Add("dynamic_admin", "x", "root,ALL_ADOMS", "10.0.0.1/8", "read", "{{ random 40 }}", "local_user", false)
	f.Fuzz(func(t *testing.T, typ, profile, adoms, hosts, permit, tmpl, method string, existing bool) {
		raw := map[string]any{"config": "faz", "credential_type": typ, "admin_profile": profile, "adoms": adoms,
			"trusted_hosts": hosts, "rpc_permit": permit, "username_template": tmpl}
		for k, v := range raw {
			if v == "" {
				delete(raw, k)
			}
		}
		d := &framework.FieldData{Raw: raw, Schema: pathRoles(&backend{})[0].Fields}
		if err := d.Validate(); err != nil {
			return
		}
		c := &configEntry{Type: "fortianalyzer", URL: "https://faz.example.com", AuthMethod: method}
		var old *roleEntry
		if existing {
			old = &roleEntry{Config: "faz", CredentialType: credDynamicAdmin, AdminProfile: "Standard_User",
				ADOMs: []string{"root"}, RPCPermit: "read", WithSession: true}
		}
		r, err := buildRole(old, d)
		if err != nil {
			t.Fatalf("buildRole: %v", err)
		}
		if _, err := buildCredentialType("fuzz", r, old, d, c); err != nil {
			if !startsWithField(err.Error(), roleFieldNames) {
				t.Fatalf("error does not name a field: %q", err)
			}
			return
		}
		if t2, ok := lookupCredentialType(r.CredentialType); !ok || t2.fits(c) != nil {
			t.Fatalf("built a role of type %q that config %+v cannot serve", r.CredentialType, c)
		}
		if r.CredentialType != credDynamicAdmin {
			return
		}
		name, err := renderUsername(r, "fuzz", usernameSample)
		if err != nil {
			t.Fatalf("accepted a template that renders no admin name: %v", err)
		}
		a, err := r.admin(name, "Passw0rd!")
		if err != nil {
			t.Fatalf("accepted a role whose admin cannot be asked for: %v", err)
		}
		if a.Profile == "" || len(a.ADOMs) == 0 || (a.RPCPermit != "read" && a.RPCPermit != "read-write") {
			t.Fatalf("accepted %+v", a)
		}
	})
}
