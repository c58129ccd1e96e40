package backend

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
)

// credentialFields are, per auth method, the credential fields it needs.
var credentialFields = map[string][]string{
	client.AuthForticloudToken: {"token"},
	client.AuthAPIUser:         {"api_id", "password"},
	client.AuthLocalUser:       {"username", "password"},
	client.AuthEmailUser:       {"account_id", "username", "password"},
	client.AuthIAMUser:         {"account_id", "username", "password"},
	client.AuthAPIKey:          {"api_key"},
}

// optionalFields are, per auth method, the credential fields it takes but does not need: the
// name of the admin that owns an API key.
var optionalFields = map[string][]string{
	client.AuthAPIKey: {"username"},
}

// apiUserOnly are the fields only forticloud_api_user uses.
var apiUserOnly = []string{"client_id", "auth_url"}

// givenFields are the string fields of a config write, which it gives trimmed.
var givenFields = []string{"type", "url", "auth_method", "token", "api_id", "client_id", "auth_url", "username",
	"password", "account_id", "ca_cert", "tls_server_name", "password_policy", "api_key"}

// configWrite is one write to a config, as its validators see it.
type configWrite struct {
	old   *configEntry // the stored config; nil at create
	d     *framework.FieldData
	given map[string]string // the string fields the write gives, trimmed
	p     client.Product    // the config's product, from checkType on
}

func newConfigWrite(old *configEntry, d *framework.FieldData) *configWrite {
	w := &configWrite{old: old, d: d, given: map[string]string{}}
	for _, k := range givenFields {
		if v, ok := d.GetOk(k); ok {
			w.given[k] = strings.TrimSpace(v.(string))
		}
	}
	return w
}

// gives reports whether the write gives the string field k.
func (w *configWrite) gives(k string) bool {
	_, ok := w.given[k]
	return ok
}

// buildConfig merges a write into the stored config (nil at create) and checks the result: each
// validator in turn checks or fills in its own fields, and the first error, which names the
// field and says what was wrong, refuses the write.
func buildConfig(old *configEntry, d *framework.FieldData) (*configEntry, []string, error) {
	w := newConfigWrite(old, d)
	c := &configEntry{}
	if old != nil {
		*c = *old
	}
	for _, check := range []func(*configEntry) error{
		w.checkType, w.checkAuthMethod, w.checkCredentials, w.checkURL, w.checkIAM, w.checkRedirect,
		w.checkCredentialsSet, w.checkTLS, w.checkRequestTimeout, w.checkRateLimits, w.checkPasswordPolicy, w.forgetProbe, w.checkRotation,
		w.checkAPIKey,
	} {
		if err := check(c); err != nil {
			return nil, nil, err
		}
	}
	return c, configWarnings(c), nil
}

// configWarnings are what a write that went through is told of the config it stored.
func configWarnings(c *configEntry) []string {
	if c.TLSSkipVerify {
		return []string{"tls_skip_verify is set: the upstream's certificate is not checked, so anyone on the path can read the credentials; give ca_cert instead"}
	}
	return nil
}

// checkType sets the product: given at create, never changed after.
func (w *configWrite) checkType(c *configEntry) error {
	typ, set := w.given["type"]
	switch {
	case w.old == nil && !set:
		return fmt.Errorf("type: required; one of %s", strings.Join(client.ProductTypes(), ", "))
	case w.old != nil && set && typ != w.old.Type:
		return fmt.Errorf("type: cannot change from %q to %q; delete the config and write it again", w.old.Type, typ)
	case set:
		c.Type = typ
	}
	p, ok := client.LookupProduct(c.Type)
	if !ok {
		return fmt.Errorf("type: unknown type %q; one of %s", c.Type, strings.Join(client.ProductTypes(), ", "))
	}
	w.p = p
	return nil
}

// checkAuthMethod sets the auth method: given, kept, the product's default, or read from the
// credentials given.
func (w *configWrite) checkAuthMethod(c *configEntry) error {
	p := w.p
	if m, ok := w.given["auth_method"]; ok {
		c.AuthMethod = m
	} else if w.old == nil {
		switch {
		case p.DefaultAuthMethod != "":
			c.AuthMethod = p.DefaultAuthMethod
		case w.gives("token") && p.Supports(client.AuthForticloudToken):
			c.AuthMethod = client.AuthForticloudToken
		case w.gives("api_id") && p.Supports(client.AuthAPIUser):
			c.AuthMethod = client.AuthAPIUser
		case w.gives("api_key") && p.Supports(client.AuthAPIKey):
			c.AuthMethod = client.AuthAPIKey
		case w.gives("username") && p.Supports(client.AuthLocalUser):
			c.AuthMethod = client.AuthLocalUser
		default:
			return fmt.Errorf("auth_method: required for type %s; one of %s", p.Type, strings.Join(p.AuthMethods, ", "))
		}
	}
	if !p.Supports(c.AuthMethod) {
		return fmt.Errorf("auth_method: %q is not supported by type %s; one of %s", c.AuthMethod, p.Type, strings.Join(p.AuthMethods, ", "))
	}
	return nil
}

// methodFields lists the credential fields an auth method uses.
func methodFields(method string) []string {
	if method == client.AuthAPIUser {
		return append(slices.Clone(credentialFields[method]), apiUserOnly...)
	}
	return credentialFields[method]
}

// credential is one credential field of a config: its name and where c keeps it.
type credential struct {
	name string
	v    *string
}

// credentials are c's credential fields, in the order a write's are checked.
func credentials(c *configEntry) []credential {
	return []credential{
		{"token", &c.Token}, {"api_id", &c.APIID}, {"username", &c.Username}, {"password", &c.Password},
		{"account_id", &c.AccountID}, {"client_id", &c.ClientID}, {"auth_url", &c.AuthURL}, {"api_key", &c.APIKey},
	}
}

// usedFields lists the credential fields an auth method takes, needed or not.
func usedFields(method string) []string {
	return append(slices.Clone(methodFields(method)), optionalFields[method]...)
}

// checkCredentials sets the credential fields given. A field the method does not use is an
// error when given, and dropped when left over from another method.
func (w *configWrite) checkCredentials(c *configEntry) error {
	uses := usedFields(c.AuthMethod)
	for _, f := range credentials(c) {
		v, ok := w.given[f.name]
		switch {
		case ok && !slices.Contains(uses, f.name) && v != "":
			return fmt.Errorf("%s: not used by auth_method %s", f.name, c.AuthMethod)
		case !slices.Contains(uses, f.name):
			*f.v = ""
		case ok:
			*f.v = v
		}
	}
	switch {
	case c.AuthMethod != client.AuthForticloudToken:
		c.TokenStoredAt = 0
	case w.gives("token"):
		c.TokenStoredAt = time.Now().Unix()
	}
	return nil
}

// checkURL sets the product's base URL: https only, the product's default when it has one.
func (w *configWrite) checkURL(c *configEntry) error {
	p := w.p
	if v, ok := w.given["url"]; ok {
		if !p.UsesURL && v != "" {
			return fmt.Errorf("url: not used by type %s", p.Type)
		}
		c.URL = v
	}
	if !p.UsesURL {
		return nil
	}
	c.URL = cmp.Or(c.URL, p.DefaultURL)
	if c.URL == "" {
		return fmt.Errorf("url: required for type %s (for example https://%s.example.com)", p.Type, shortName(p.Type))
	}
	u, err := checkHTTPS(c.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if p.Family == client.FamilyAPIUser && strings.Count(u, "/") > 2 {
		// The REST API is at /api/v2/ of the FortiGate's own address.
		return fmt.Errorf("url: %q has a path; give https://host[:port] alone", u)
	}
	c.URL = u
	return nil
}

// checkIAM sets where an API user logs in: auth_url (https only) and client_id, each with its
// default.
func (w *configWrite) checkIAM(c *configEntry) error {
	if c.AuthMethod != client.AuthAPIUser {
		return nil
	}
	u, err := checkHTTPS(cmp.Or(c.AuthURL, client.DefaultAuthURL))
	if err != nil {
		return fmt.Errorf("auth_url: %w", err)
	}
	c.AuthURL = u
	c.ClientID = cmp.Or(c.ClientID, w.p.DefaultClientID)
	if c.ClientID == "" {
		return fmt.Errorf("client_id: required for type %s (for example fortigatecloud or assetmanagement)", w.p.Type)
	}
	return nil
}

// checkRedirect refuses to send a stored secret to another place unless the write gives it
// again.
func (w *configWrite) checkRedirect(c *configEntry) error {
	old := w.old
	if old == nil {
		return nil
	}
	secret := secretField(c.AuthMethod)
	given := w.gives(secret)
	switch {
	case c.AuthMethod != old.AuthMethod && !given:
		// Another method sends the secret elsewhere (auth_url rather than url, say).
		return fmt.Errorf("auth_method: changing the auth method of an existing config needs its %s given again in the same write", secret)
	case c.URL != old.URL && !given:
		return fmt.Errorf("url: changing the URL of an existing config needs its %s given again in the same write", secret)
	case c.AuthURL != old.AuthURL && old.AuthURL != "" && !given:
		return fmt.Errorf("auth_url: changing the auth URL of an existing config needs its %s given again in the same write", secret)
	}
	return nil
}

// checkCredentialsSet requires every credential field the auth method uses.
func (w *configWrite) checkCredentialsSet(c *configEntry) error {
	set := map[string]string{}
	for _, f := range credentials(c) {
		set[f.name] = *f.v
	}
	for _, k := range methodFields(c.AuthMethod) {
		if set[k] == "" {
			return fmt.Errorf("%s: required for auth_method %s", k, c.AuthMethod)
		}
	}
	if w.p.Family == client.FamilyAPIUser {
		return checkKeyOwner(c.Username)
	}
	return nil
}

// checkKeyOwner requires the name of the FortiGate api-user that owns a config's key: creds
// check that it may manage api-users, and rotate-root makes it a new key.
func checkKeyOwner(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("username: required for type %s: the name of the api-user (REST API admin) that owns api_key", client.TypeFortiGate)
	case hasControl(name) || strings.ContainsAny(name, "/\\") || name == "." || name == "..":
		return fmt.Errorf("username: %q is not an api-user name", name)
	}
	return nil
}

// checkTLS sets the TLS settings given: a CA bundle that parses, a host name.
func (w *configWrite) checkTLS(c *configEntry) error {
	if v, ok := w.given["ca_cert"]; ok {
		if v != "" {
			if _, err := client.ParseCACert(v); err != nil {
				return fmt.Errorf("ca_cert: %w", err)
			}
		}
		c.CACert = v
	}
	if v, ok := w.given["tls_server_name"]; ok {
		if v != "" && !validHostname(v) {
			return fmt.Errorf("tls_server_name: %q is not a host name", v)
		}
		c.TLSServerName = v
	}
	if v, ok := w.d.GetOk("tls_skip_verify"); ok {
		c.TLSSkipVerify = v.(bool)
	}
	return nil
}

// checkRequestTimeout sets request_timeout: from 1s to maxRequestTimeout, the client's default
// at create.
func (w *configWrite) checkRequestTimeout(c *configEntry) error {
	if v, ok := w.d.GetOk("request_timeout"); ok {
		t := time.Duration(v.(int)) * time.Second
		if t < time.Second || t > maxRequestTimeout {
			return fmt.Errorf("request_timeout: must be between 1s and %ds", int(maxRequestTimeout/time.Second))
		}
		c.RequestTimeout = t
	} else if w.old == nil {
		c.RequestTimeout = client.DefaultTimeout
	}
	return nil
}

const (
	// maxRequestTimeout is the longest request_timeout: the most a call with its retries may
	// take (client).
	maxRequestTimeout = 60 * time.Second
	// maxRateLimit is the most calls a minute login_rate_limit and call_rate_limit may allow.
	maxRateLimit = 600
)

// checkRateLimits sets login_rate_limit and call_rate_limit, which pace the engine's own calls
// to FortiLAN: FortiLAN's defaults for email and IAM users, and none for an API user, who logs
// in and revokes at IAM, which is not paced.
func (w *configWrite) checkRateLimits(c *configEntry) error {
	paced := pacedAtFortiLAN(w.p.Type, c.AuthMethod)
	for _, f := range []struct {
		field, unit, apiUser string
		def                  int
		v                    *int
	}{
		{"login_rate_limit", "logins", "API users log in at auth_url", client.DefaultFortiLANLoginsPerMinute, &c.LoginRateLimit},
		{"call_rate_limit", "calls", "API users' tokens are revoked at auth_url", client.DefaultFortiLANCallsPerMinute, &c.CallRateLimit},
	} {
		if raw, ok := w.d.Raw[f.field].(string); ok && strings.TrimSpace(raw) == "" {
			// The framework reads "" as 0, which would turn the pacing off unasked.
			return fmt.Errorf("%s: empty; give a number of %s a minute, 0 for no limit", f.field, f.unit)
		}
		if v, ok := w.d.GetOk(f.field); ok {
			n := v.(int)
			switch {
			case w.p.Type != client.TypeFortiLAN:
				return fmt.Errorf("%s: only used by type fortilan", f.field)
			case !paced && n != 0: // 0, no limit, is what an API user has
				return fmt.Errorf("%s: only used by auth_method email_user and iam_user (%s)", f.field, f.apiUser)
			case n < 0 || n > maxRateLimit:
				return fmt.Errorf("%s: must be between 0 (no limit) and %d %s a minute", f.field, maxRateLimit, f.unit)
			}
			*f.v = n
		} else if paced && (w.old == nil || w.old.AuthMethod == client.AuthAPIUser) {
			*f.v = f.def
		}
		if !paced {
			*f.v = 0
		}
	}
	return nil
}

// checkPasswordPolicy sets password_policy, for the passwords the engine makes: rotate-root's
// and, later, dynamic admins'. Only FortiAnalyzer and FortiManager get such passwords. Whether
// Vault knows the policy is checked by the write, which can ask it.
func (w *configWrite) checkPasswordPolicy(c *configEntry) error {
	v, ok := w.given["password_policy"]
	switch {
	case !ok:
		return nil
	case v != "" && w.p.Family != client.FamilySession:
		return fmt.Errorf("password_policy: only used by types fortianalyzer and fortimanager, where the engine makes admin passwords")
	case strings.ContainsAny(v, " \t/"):
		return fmt.Errorf("password_policy: %q is not a policy name", v)
	}
	c.PasswordPolicy = v
	return nil
}

// forgetProbe drops the renew probe learnt of another admin: verify_connection learns it again.
func (w *configWrite) forgetProbe(c *configEntry) error {
	if w.old != nil && !sameAdmin(w.old, c) {
		c.RenewProbe = ""
	}
	return nil
}

// checkAPIKey refuses an API key that cannot travel as a header's value: it goes as
// Authorization: Bearer with every call.
func (w *configWrite) checkAPIKey(c *configEntry) error {
	if strings.ContainsFunc(c.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("api_key: holds white space or control characters")
	}
	return nil
}
