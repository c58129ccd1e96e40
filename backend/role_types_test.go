package backend

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

// Role writes of each credential type: what is refused names the field and says why; what is
// taken reads back as stored, with the type's defaults.
func TestRoleCredentialTypes(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "config/key", e.fazKey())
	e.ok(logical.UpdateOperation, "config/cloud", e.fazCloud())
	e.ok(logical.UpdateOperation, "config/lan", e.lanEmail())
	many := func(format string, n int) string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf(format, i))
		}
		return strings.Join(out, ",")
	}
	rejects := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"unknown type", dynamicRole("faz", "credential_type", "admin"), []string{"credential_type:", `unknown type "admin"`, "session, dynamic_admin"}},
		{"session on a key", map[string]any{"config": "key"}, []string{"credential_type: session (the default for fortianalyzer)", "opens no session", "credential_type=dynamic_admin"}},
		{"dynamic on a cloud token", dynamicRole("cloud"), []string{"credential_type: dynamic_admin", "local_user or api_key", "forticloud_token"}},
		{"dynamic on fortilan", dynamicRole("lan"), []string{"credential_type: dynamic_admin", "fortianalyzer or fortimanager"}},
		{"session on fortilan", map[string]any{"config": "lan", "credential_type": "session"}, []string{"credential_type: session", "serve credential_type token"}},
		{"field of another type", map[string]any{"config": "faz", "adoms": "root"}, []string{"adoms: not used by credential_type session"}},
		{"false is given too", map[string]any{"config": "faz", "with_session": false}, []string{"with_session: not used by credential_type session"}},
		{"no profile", with(dynamicRole("faz"), "admin_profile", nil), []string{"admin_profile: required"}},
		{"empty profile", dynamicRole("faz", "admin_profile", " "), []string{"admin_profile: empty"}},
		{"no adoms", with(dynamicRole("faz"), "adoms", nil), []string{"adoms: required", "all_adoms"}},
		{"empty adoms", dynamicRole("faz", "adoms", ""), []string{"adoms: none given"}},
		{"empty adom", dynamicRole("faz", "adoms", []string{"root", " "}), []string{"adoms: an empty ADOM name"}},
		{"all_adoms and more", dynamicRole("faz", "adoms", "root,all_adoms"), []string{"adoms: all_adoms gives every ADOM: give it alone"}},
		{"not a CIDR", dynamicRole("faz", "trusted_hosts", "10.0.0.0/33"), []string{"trusted_hosts:", `"10.0.0.0/33" is not a CIDR`}},
		{"a name", dynamicRole("faz", "trusted_hosts", "vault.example.com"), []string{"trusted_hosts:", "is not a CIDR"}},
		{"host bits", dynamicRole("faz", "trusted_hosts", "10.20.1.0/16"), []string{"trusted_hosts:", "bits set past /16", "did you mean 10.20.0.0/16"}},
		{"IPv4 as IPv6", dynamicRole("faz", "trusted_hosts", "::ffff:10.0.0.1"), []string{"trusted_hosts:", "IPv4 written as IPv6"}},
		{"zone", dynamicRole("faz", "trusted_hosts", "fe80::1%eth0"), []string{"trusted_hosts:", "zone"}},
		{"11 IPv4", dynamicRole("faz", "trusted_hosts", many("10.0.%d.0/24", 11)), []string{"trusted_hosts: 11 IPv4 and 0 IPv6", "at most 10"}},
		{"11 IPv6", dynamicRole("faz", "trusted_hosts", many("2001:db8:%d::/48", 11)), []string{"trusted_hosts: 0 IPv4 and 11 IPv6"}},
		{"rpc_permit", dynamicRole("faz", "rpc_permit", "none"), []string{"rpc_permit:", `"none"`, "read or read-write"}},
		{"with_session of the wrong type", dynamicRole("faz", "with_session", "maybe"), []string{"with_session"}},
		{"ttl of the wrong type", dynamicRole("faz", "ttl", "soon"), []string{"ttl"}},
		{"template that does not parse", dynamicRole("faz", "username_template", "{{ .RoleName "), []string{"username_template:"}},
		{"template of one name", dynamicRole("faz", "username_template", "{{ .RoleName }}_admin"), []string{"username_template:", `renders "r_admin" twice`, "random"}},
		{"template too long", dynamicRole("faz", "username_template", "{{ random 36 }}"), []string{"username_template:", "36 characters", "at most 35"}},
		{"template with a dot", dynamicRole("faz", "username_template", "{{ random 8 }}.x"), []string{"username_template:", `holds '.'`}},
		{"template with the display name", dynamicRole("faz", "username_template", "{{ .DisplayName }}@{{ random 8 }}"), []string{"username_template:", `holds '@'`}},
		{"template function unknown", dynamicRole("faz", "username_template", "{{ nope }}"), []string{"username_template:", "nope"}},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.fails(logical.UpdateOperation, "roles/r", tc.data, tc.want...)
			if resp := e.ok(logical.ReadOperation, "roles/r", nil); resp != nil {
				t.Fatalf("refused write stored a role: %v", resp.Data)
			}
		})
	}
	e.t = t

	// Defaults, and a read that shows the type's fields and no other.
	resp := e.ok(logical.UpdateOperation, "roles/d", dynamicRole("faz", "trusted_hosts", "10.20.0.0/16, 2001:db8::/48,192.0.2.7"))
	if resp != nil && len(resp.Warnings) != 0 {
		t.Fatalf("warnings for a role with trusted hosts: %v", resp.Warnings)
	}
	got := e.ok(logical.ReadOperation, "roles/d", nil).Data
	want := map[string]any{"credential_type": "dynamic_admin", "admin_profile": "Restricted_User", "rpc_permit": "read-write",
		"with_session": true, "username_template": defaultUsernameTemplate}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("read %s = %v, want %v", k, got[k], v)
		}
	}
	if a, h := got["adoms"].([]string), got["trusted_hosts"].([]string); !slices.Equal(a, []string{"root", "soc"}) ||
		!slices.Equal(h, []string{"10.20.0.0/16", "2001:db8::/48", "192.0.2.7/32"}) {
		t.Errorf("read adoms %v, trusted_hosts %v", a, h)
	}
	// An update keeps what it does not name.
	e.ok(logical.UpdateOperation, "roles/d", map[string]any{"rpc_permit": "read", "with_session": false})
	got = e.ok(logical.ReadOperation, "roles/d", nil).Data
	if got["rpc_permit"] != "read" || got["with_session"] != false || got["admin_profile"] != "Restricted_User" {
		t.Fatalf("after update: %v", got)
	}
	// No trusted hosts: a warning.
	resp = e.ok(logical.UpdateOperation, "roles/d", map[string]any{"trusted_hosts": ""})
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "trusted_hosts: none given") {
		t.Fatalf("no warning for a role without trusted hosts: %v", resp)
	}
	// Back to session: the admin's fields go, and a read shows none of them.
	e.ok(logical.UpdateOperation, "roles/d", map[string]any{"credential_type": "session"})
	got = e.ok(logical.ReadOperation, "roles/d", nil).Data
	if got["credential_type"] != "session" || len(got) != 4 {
		t.Fatalf("session role reads %v", got)
	}
	// And to dynamic_admin again: from its defaults, so its required fields are asked for anew.
	e.fails(logical.UpdateOperation, "roles/d", map[string]any{"credential_type": "dynamic_admin"}, "admin_profile: required")

	// A role of before credential types reads as its config's default, and creds as one.
	e.ok(logical.UpdateOperation, "roles/old", map[string]any{"config": "lan"})
	old, _ := readRole(t.Context(), e.s, "old")
	old.CredentialType = ""
	entry, _ := logical.StorageEntryJSON(rolePrefix+"old", old)
	_ = e.s.Put(t.Context(), entry)
	if got := e.ok(logical.ReadOperation, "roles/old", nil).Data["credential_type"]; got != "token" {
		t.Fatalf("a role without a type reads credential_type %v", got)
	}
	e.revokeAllNoneLive(t, e.creds("old"))
}

// A username template renders, at creds, names of the role and the reader's token, checked
// again: a display name that makes a name upstream would refuse fails before anything is made.
func TestUsernameTemplateAtCreds(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal, "username_template", `{{ .DisplayName | truncate 10 }}_{{ random 6 }}`)
	resp, err := e.b.HandleRequest(t.Context(), &logical.Request{Operation: logical.ReadOperation, Path: "creds/r",
		Storage: e.s, DisplayName: "ldap-bob"})
	if err != nil || resp.IsError() {
		t.Fatalf("creds: %v %v", resp, err)
	}
	if name := resp.Data["username"].(string); !strings.HasPrefix(name, "ldap-bob_") || len(name) != len("ldap-bob_")+6 {
		t.Fatalf("username %q", name)
	}
	resp, err = e.b.HandleRequest(t.Context(), &logical.Request{Operation: logical.ReadOperation, Path: "creds/r",
		Storage: e.s, DisplayName: "oidc-a.b"})
	if err != nil || !resp.IsError() || !strings.Contains(resp.Error().Error(), `holds '.'`) {
		t.Fatalf("creds for a display name an admin name cannot hold: %v %v", resp, err)
	}
	if len(e.made()) != 1 {
		t.Fatalf("admins %v", e.made())
	}
}

// The default template: the role's name, cut and cleaned, and enough randomness, within 35.
func TestDefaultUsernameTemplate(t *testing.T) {
	seen := map[string]bool{}
	for _, role := range []string{"r", "soc-reader", "a.b.c", strings.Repeat("x", 100)} {
		for range 50 {
			name, err := renderUsername(&roleEntry{}, role, "token")
			if err != nil {
				t.Fatalf("role %q: %v", role, err)
			}
			if seen[name] || !strings.HasPrefix(name, "vault_") || len(name) > 31 {
				t.Fatalf("role %q: name %q (seen before: %v)", role, name, seen[name])
			}
			seen[name] = true
		}
	}
	if !strings.HasPrefix(mustRender(t, "a.b.c"), "vault_a-b-c_") {
		t.Fatal("dots are not made dashes")
	}
}

func mustRender(t *testing.T, role string) string {
	t.Helper()
	name, err := renderUsername(&roleEntry{}, role, "token")
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// The template is parsed once per cached role: a role write drops it with the role, so the
// next creds render the new template, not the one parsed before.
func TestUsernameTemplateRewritten(t *testing.T) {
	e := dynamicEnv(t, (*env).fazLocal, "username_template", `first_{{ random 6 }}`)
	for _, want := range []string{"first_", "second_"} {
		if want == "second_" {
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"username_template": `second_{{ random 6 }}`})
		}
		l := e.creds("r")
		if name := l.data["username"].(string); !strings.HasPrefix(name, want) {
			t.Fatalf("username %q, want it to begin %q", name, want)
		}
		if r, _ := e.b.role(t.Context(), e.s, "r"); r.usernames == nil {
			t.Fatal("the cached role holds no parsed template: each creds parses it again")
		}
		if err := e.revoke(l); err != nil {
			t.Fatal(err)
		}
	}
	e.nothingLeft("c")
}
