package backend

import (
	"cmp"
	"fmt"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/helper/template"
)

// defaultUsernameTemplate names the role and is unique: vault_, the role's name cut to 12
// characters (its dots, which admin names cannot hold, made dashes), _ and 12 random letters and
// digits (71 bits): 31 characters at most.
const defaultUsernameTemplate = `{{ printf "vault_%s_%s" (.RoleName | replace "." "-" | truncate 12) (random 12) }}`

// usernameSample is the display name a role write renders its template with: a token's, as
// Vault makes them (<auth mount>-<user>).
const usernameSample = "userpass-alice"

// usernameData is what a username template may use, as Vault's database engine names it.
type usernameData struct {
	DisplayName string // of the token that reads creds
	RoleName    string
}

// parseUsernameTemplate parses tmpl ("" for the default) with Vault's template functions
// (sdk/helper/template: random, truncate, replace, lowercase, uuid, unix_time...).
func parseUsernameTemplate(tmpl string) (template.StringTemplate, error) {
	return template.NewTemplate(template.Template(cmp.Or(tmpl, defaultUsernameTemplate)))
}

// renderUsername is the admin name r's username template gives for role and the token's
// displayName: at most client.MaxAdminName characters of A-Za-z0-9_-, or an error that says
// what it rendered.
func renderUsername(r *roleEntry, role, displayName string) (string, error) {
	t := r.usernames
	if t == nil {
		parsed, err := parseUsernameTemplate(r.UsernameTemplate)
		if err != nil {
			return "", err
		}
		t = &parsed
	}
	name, err := t.Generate(usernameData{DisplayName: displayName, RoleName: role})
	if err != nil {
		return "", err
	}
	if err := checkAdminName(name); err != nil {
		return "", fmt.Errorf("renders %q, %w", name, err)
	}
	return name, nil
}

// checkUsernameTemplate renders tmpl for role twice, as creds will: each name must be one
// upstream takes, and the two must differ. Names are unique per lease because a name taken
// already upstream is another's admin, which the engine must never delete, while the WAL entry
// of a create cut short deletes by name.
func checkUsernameTemplate(role, tmpl string) error {
	seen := map[string]bool{}
	for range usernameRenders {
		name, err := renderUsername(&roleEntry{UsernameTemplate: tmpl}, role, usernameSample)
		if err != nil {
			return fmt.Errorf("username_template: %w", err)
		}
		if seen[name] {
			return fmt.Errorf("username_template: renders %q twice in %d tries: each lease needs a name of its own; add {{random 8}} or more", name, usernameRenders)
		}
		seen[name] = true
	}
	return nil
}

// usernameRenders is how many names a template must render, all different, at a role write:
// a template with a few random characters repeats soon enough to show here.
const usernameRenders = 32

// checkAdminName refuses a name FortiAnalyzer/FortiManager would not take for an admin.
func checkAdminName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("an empty name")
	case len(name) > client.MaxAdminName:
		return fmt.Errorf("%d characters: an admin name has at most %d", len(name), client.MaxAdminName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("which holds %q: an admin name holds only A-Z, a-z, 0-9, _ and -", r)
		}
	}
	return nil
}
