package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/automatedrotationutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/rotation"
)

// The help of config/<name> and of the config list, as path-help shows it.
const (
	pathConfigHelpSyn  = "Configure the root credentials of one Fortinet product."
	pathConfigHelpDesc = `
A config holds the root credentials for one FortiAnalyzer, FortiManager, FortiGate, FortiLAN
Cloud region or FortiCloud API, and how to reach it. Several named configs may live side by side. Roles name
the config whose credentials they use.

Secrets (token, password, api_key) are never returned on read. Changing url, auth_url or auth_method of
an existing config needs the secret given again in the same write. By default the write logs in once and out
again, and is refused if that fails (verify_connection=false skips this). For fortianalyzer and
fortimanager it also finds which status call tells the admin's live sessions from gone ones on
renew (renew_probe on read), and warns when none does. For fortigate it asks the status with the
key, then checks that its api-user (username) may manage api-users.

A local_user config can rotate its password on a schedule (rotation_period or
rotation_schedule): Vault Enterprise's rotation manager runs it, or, where Vault has none, the
engine itself (rotation_scheduler on read).
`
	pathConfigListHelpSyn  = "List the configured Fortinet products."
	pathConfigListHelpDesc = "Lists the names of every config."
)

func pathConfig(b *backend) []*framework.Path {
	return []*framework.Path{
		{
			Pattern: configPrefix + framework.GenericNameRegex("name"),
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "config",
			},
			Fields:          configFields(),
			Operations:      crud(b.pathConfigWrite, b.pathConfigRead, b.pathConfigDelete, "configure", configReadFields()),
			ExistenceCheck:  b.pathConfigExists,
			HelpSynopsis:    pathConfigHelpSyn,
			HelpDescription: strings.TrimSpace(pathConfigHelpDesc),
		},
		{
			Pattern: configPrefix + "?$",
			DisplayAttrs: &framework.DisplayAttributes{
				OperationPrefix: operationPrefix,
				OperationSuffix: "configs",
			},
			Operations:      list(b.pathConfigList),
			HelpSynopsis:    pathConfigListHelpSyn,
			HelpDescription: pathConfigListHelpDesc,
		},
	}
}

// configReadFields is what a config read answers: the fields but the secrets and the write's
// own switch, and whether the secrets are set.
func configReadFields() map[string]*framework.FieldSchema {
	f := configFields()
	for _, k := range []string{"name", "token", "password", "api_key", "verify_connection"} {
		delete(f, k)
	}
	f["token_set"] = &framework.FieldSchema{Type: framework.TypeBool, Description: "Whether a token is stored (forticloud_token)."}
	f["token_stored_at"] = &framework.FieldSchema{Type: framework.TypeString, Description: "When the token was written (RFC 3339): FortiCloud tokens expire within hours."}
	f["password_set"] = &framework.FieldSchema{Type: framework.TypeBool, Description: "Whether a password is stored (every other method but api_key)."}
	f["api_key_set"] = &framework.FieldSchema{Type: framework.TypeBool, Description: "Whether an API key is stored (api_key)."}
	f["last_rotated"] = &framework.FieldSchema{Type: framework.TypeString, Description: "When rotate-root last changed the root credential (RFC 3339); empty if never."}
	f["renew_probe"] = &framework.FieldSchema{Type: framework.TypeString, Description: "fortianalyzer, fortimanager: how renew checks " +
		"that a session is alive, as verify_connection found for this admin: sys_status (/sys/status), cli_status " +
		"(/cli/global/system/status: the admin lacks System Settings access), none (neither answers: renew cannot check, and " +
		"refuses these leases, saying why), or unknown (not verified: renew asks both, and refuses when both answer -11)."}
	maps.Copy(f, rotationReadSchemas())
	return f
}

// configFields are a config's fields: what it is, its credentials, how to reach it, and how
// the engine paces its calls.
func configFields() map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{
		"name": {
			Type:        framework.TypeString,
			Description: "Name of the config.",
			Required:    true,
		},
		"type": {
			Type:        framework.TypeString,
			Description: "Product: fortianalyzer, fortimanager, fortilan, forticloud or fortigate. Required at create; cannot change.",
		},
		"url": {
			Type:        framework.TypeString,
			Description: "Product base URL, https:// only. Required for fortianalyzer and fortimanager (JSON-RPC at <url>/jsonrpc) and fortigate (https://host[:port], the REST API at <url>/api/v2/); fortilan defaults to " + client.DefaultFortiLANURL + ".",
		},
		"auth_method": {
			Type:        framework.TypeString,
			Description: "How to log in. fortianalyzer, fortimanager: forticloud_token, forticloud_api_user, local_user, or api_key (a REST API admin's key, sent as Bearer: it opens no session, so it serves dynamic_admin roles only). fortilan: email_user (default), iam_user or forticloud_api_user. forticloud: forticloud_api_user. fortigate: api_key (its only method, and default).",
		},
	}
	maps.Copy(f, credentialSchemas())
	maps.Copy(f, connectionSchemas())
	maps.Copy(f, pacingSchemas())
	maps.Copy(f, rotationSchemas())
	return f
}

// credentialSchemas are the fields that say how to log in.
func credentialSchemas() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"token": {
			Type:         framework.TypeString,
			Description:  "FortiCloud token, for auth_method forticloud_token. Never returned.",
			DisplayAttrs: &framework.DisplayAttributes{Sensitive: true},
		},
		"api_id": {
			Type:        framework.TypeString,
			Description: "FortiCloud IAM API user's ID, for auth_method forticloud_api_user.",
		},
		"client_id": {
			Type:        framework.TypeString,
			Description: "OAuth client id, for auth_method forticloud_api_user. Default FortiAnalyzer, FortiManager or fortilancloud by type; required for forticloud.",
		},
		"auth_url": {
			Type:        framework.TypeString,
			Description: "FortiCloud IAM base URL, for auth_method forticloud_api_user. Default " + client.DefaultAuthURL + ".",
		},
		"username": {
			Type:        framework.TypeString,
			Description: "Admin user (local_user), FortiLAN user email (email_user, iam_user), or, for api_key, the admin that owns the key: required for fortigate (the api-user whose key api_key is), optional otherwise.",
		},
		"password": {
			Type:         framework.TypeString,
			Description:  "Password, for every auth_method but forticloud_token and api_key. Never returned.",
			DisplayAttrs: &framework.DisplayAttributes{Sensitive: true},
		},
		"api_key": {
			Type:         framework.TypeString,
			Description:  "A REST API admin's key, for auth_method api_key (FortiGate, FortiManager 7.2.2+, FortiAnalyzer 7.2+), sent as Authorization: Bearer. Never returned (api_key_set on read).",
			DisplayAttrs: &framework.DisplayAttributes{Sensitive: true},
		},
		"account_id": {
			Type:        framework.TypeString,
			Description: "FortiLAN primary account email, for email_user and iam_user.",
		},
	}
}

// connectionSchemas are the fields that say how to reach url and auth_url.
func connectionSchemas() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"ca_cert": {
			Type:        framework.TypeString,
			Description: "PEM CA certificates to trust for url and auth_url, on top of the system pool.",
		},
		"tls_server_name": {
			Type:        framework.TypeString,
			Description: "Name to verify in the server certificate, when it differs from the URL's host.",
		},
		"tls_skip_verify": {
			Type:        framework.TypeBool,
			Description: "Skip certificate checks. Insecure: logged as a warning.",
			Default:     false,
		},
		"request_timeout": {
			Type:        framework.TypeDurationSecond,
			Description: "Time limit of one upstream HTTP request. Default 30s. A call with its retries takes at most twice this (60s at most), and a login or token mint waits that long for its answer.",
			Default:     int(client.DefaultTimeout.Seconds()),
		},
	}
}

// pacingSchemas are the fields that pace the engine's calls, and the write's own switch.
func pacingSchemas() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"login_rate_limit": {
			Type:        framework.TypeInt,
			Description: "fortilan: logins a minute this mount makes to the config's url, queued within each request's deadline; 0 for no limit. Default 6, FortiLAN's limit per source address.",
		},
		"call_rate_limit": {
			Type:        framework.TypeInt,
			Description: "fortilan: calls but logins (token invalidations) a minute this mount makes to the config's url, queued within each request's deadline; 0 for no limit. Default 60, FortiLAN's limit per source address. Not for forticloud_api_user, whose tokens are revoked at auth_url.",
		},
		"password_policy": {
			Type:        framework.TypeString,
			Description: "fortianalyzer, fortimanager: name of a Vault password policy (sys/policies/password/<name>) for every password the engine makes (rotate-root). Default: the engine's own generator, 32 characters of upper and lower case letters, digits and symbols Fortinet accepts. \"\" goes back to the default.",
		},
		"verify_connection": {
			Type:        framework.TypeBool,
			Description: "At write, log in once and out again, and refuse the write if that fails. Not stored.",
			Default:     true,
		},
	}
}

// rotationSchemas are the SDK's automated rotation fields, described as this engine runs them.
func rotationSchemas() map[string]*framework.FieldSchema {
	f := map[string]*framework.FieldSchema{}
	automatedrotationutil.AddAutomatedRotationFields(f)
	for k, desc := range map[string]string{
		"rotation_period": "Rotate the root credential (as rotate-root) this long after the last rotation; at least 1m. " +
			"Giving it replaces rotation_schedule; 0 clears it. auth_method local_user only.",
		"rotation_schedule": "Rotate the root credential (as rotate-root) on this cron schedule: 5 fields, UTC " +
			"(minute hour day-of-month month day-of-week). Giving it replaces rotation_period; \"\" clears it. auth_method local_user only.",
		"rotation_window": "With rotation_schedule: how long after each due time a rotation may still start, at least 1h; " +
			"a due time missed by more is skipped for the next one. 0: no limit. Given with its rotation_schedule.",
		"disable_automated_rotation": "Keep the schedule but run no automated rotation (its job is deregistered).",
		"rotation_policy": "The rotation policy (retries) of the job in Vault Enterprise's rotation manager. Accepted " +
			"and shown; the engine's own scheduler does not use it: it retries after a minute, doubling up to an hour.",
	} {
		f[k].Description = desc
	}
	return f
}

// rotationReadSchemas are what a read adds of the rotation schedule's state.
func rotationReadSchemas() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"rotation_scheduler": {Type: framework.TypeString, Description: "Who runs the rotation schedule: vault " +
			"(Vault Enterprise's rotation manager), engine (the engine itself, where Vault has no rotation manager), or empty."},
		"last_rotated": {Type: framework.TypeString, Description: "When the root credential was last rotated (RFC 3339); empty if never."},
		"next_rotation": {Type: framework.TypeString, Description: "When the next automated rotation is due (RFC 3339), " +
			"the retry time after a failure; empty if none is scheduled."},
		"rotation_failures":   {Type: framework.TypeInt, Description: "Scheduled rotations failed since the last one that went through."},
		"rotation_last_error": {Type: framework.TypeString, Description: "The error of the last failed scheduled rotation; empty once one goes through."},
	}
}

func (b *backend) pathConfigExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	c, err := readConfig(ctx, req.Storage, d.Get("name").(string))
	return c != nil, err
}

func (b *backend) pathConfigRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	c, err := readConfig(ctx, req.Storage, d.Get("name").(string))
	if err != nil || c == nil {
		return nil, err
	}
	m := c.public()
	if c.RotationScheduler == schedulerVault && c.rotationScheduled() {
		// Vault's rotation manager keeps its own time, which a manual rotate-root does not move.
		info, err := b.System().GetRotationInformation(ctx, &rotation.RotationInfoRequest{ReqPath: req.Path})
		if err == nil && info != nil && !info.NextVaultRotation.IsZero() {
			m["next_rotation"] = info.NextVaultRotation.UTC().Format(time.RFC3339)
		}
	}
	return &logical.Response{Data: m}, nil
}

// public is what a read shows: every field but the secrets, and whether each secret is set.
func (c *configEntry) public() map[string]any {
	m := map[string]any{
		"type":            c.Type,
		"auth_method":     c.AuthMethod,
		"tls_skip_verify": c.TLSSkipVerify,
		"request_timeout": int64(c.timeout().Seconds()),
	}
	for k, v := range map[string]string{
		"url": c.URL, "api_id": c.APIID, "client_id": c.ClientID, "auth_url": c.AuthURL,
		"username": c.Username, "account_id": c.AccountID, "ca_cert": c.CACert, "tls_server_name": c.TLSServerName,
		"password_policy": c.PasswordPolicy,
	} {
		if v != "" {
			m[k] = v
		}
	}
	if pacedAtFortiLAN(c.Type, c.AuthMethod) {
		m["login_rate_limit"] = c.LoginRateLimit
		m["call_rate_limit"] = c.CallRateLimit
	}
	switch secretField(c.AuthMethod) {
	case "token":
		m["token_set"] = c.Token != ""
		if c.TokenStoredAt != 0 {
			m["token_stored_at"] = time.Unix(c.TokenStoredAt, 0).UTC().Format(time.RFC3339)
		}
	case "password":
		m["password_set"] = c.Password != ""
	case "api_key":
		m["api_key_set"] = c.APIKey != ""
	}
	if p, ok := client.LookupProduct(c.Type); ok && p.Family == client.FamilySession && c.AuthMethod != client.AuthAPIKey {
		m["renew_probe"] = cmp.Or(c.RenewProbe, probeUnknown)
	}
	c.publicRotation(m)
	return m
}

// publicRotation adds to m the rotation schedule and its state, times in RFC 3339, "" for none.
func (c *configEntry) publicRotation(m map[string]any) {
	m["rotation_schedule"] = c.RotationSchedule
	m["rotation_window"] = int64(c.RotationWindow.Seconds())
	m["rotation_period"] = int64(c.RotationPeriod.Seconds())
	m["disable_automated_rotation"] = c.DisableAutomatedRotation
	m["rotation_policy"] = c.RotationPolicy
	m["rotation_scheduler"] = c.RotationScheduler
	m["last_rotated"] = unixRFC3339(c.LastRotated)
	m["next_rotation"] = unixRFC3339(c.rotationDue())
	m["rotation_failures"] = c.RotationFailures
	m["rotation_last_error"] = c.RotationLastError
}

// unixRFC3339 is UNIX seconds t in RFC 3339, UTC; "" for 0.
func unixRFC3339(t int64) string {
	if t == 0 {
		return ""
	}
	return time.Unix(t, 0).UTC().Format(time.RFC3339)
}

// probeUnknown is what a read says of a RenewProbe not learnt.
const probeUnknown = "unknown"

func (c *configEntry) timeout() time.Duration {
	if c.RequestTimeout <= 0 {
		return client.DefaultTimeout
	}
	return c.RequestTimeout
}

func (b *backend) pathConfigList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, configPrefix)
	if err != nil {
		return nil, fmt.Errorf("list configs: %w", err)
	}
	return logical.ListResponse(names), nil
}

func (b *backend) pathConfigDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	release := b.pauseCreds(name) // no admin is created through it meanwhile
	defer release()
	unlock := b.lockWrites(configPrefix + name)
	defer unlock()
	users, err := b.rolesUsing(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return logical.ErrorResponse("config %q is used by roles %s: delete them or point them at another config first",
			name, strings.Join(users, ", ")), nil
	}
	if err := b.adminsKeep(ctx, req.Storage, req.MountPoint, name, "be deleted"); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	c, err := readConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if c != nil && c.RotationScheduler != "" {
		// Before the delete: once the config is gone, nothing would try again.
		if err := b.deregisterRotationJob(ctx, req); err != nil {
			return nil, fmt.Errorf("config %q is kept: %w; delete it again", name, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := req.Storage.Delete(ctx, configPrefix+name); err != nil {
		return nil, fmt.Errorf("delete config %q: %w", name, err)
	}
	b.dropConfigLocked(name)
	return nil, nil
}

func (b *backend) pathConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	release := b.pauseCreds(name) // no admin is created through it meanwhile
	defer release()
	unlock := b.lockWrites(configPrefix + name)
	defer unlock()

	old, err := readConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	c, warnings, err := buildConfig(old, d)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	if err := b.checkDependents(ctx, req.Storage, req.MountPoint, name, old, c); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	if c.TLSSkipVerify {
		b.Logger().Warn("config skips TLS certificate verification", "config", name, "url", c.URL)
	}
	if c.PasswordPolicy != "" && (old == nil || old.PasswordPolicy != c.PasswordPolicy) {
		if _, err := b.newPassword(ctx, c.PasswordPolicy); err != nil {
			return logical.ErrorResponse("password_policy: %s (create it at sys/policies/password/%s first)", err, c.PasswordPolicy), nil
		}
	}
	if d.Get("verify_connection").(bool) {
		ws, err := b.verify(ctx, req.Storage, name, c)
		if err != nil {
			if _, gave := d.GetOk("password"); gave && old != nil && old.LastRotated != 0 {
				// Most likely a copy of the password from before Vault rotated it (a Terraform
				// variable, a script): written unchecked, it would replace the only working one.
				return logical.ErrorResponse("verify_connection: %s: this config's password was rotated by Vault (last_rotated %s), "+
					"so a copy from before no longer logs in: leave password out of the write to keep the stored one", err, unixRFC3339(old.LastRotated)), nil
			}
			return logical.ErrorResponse("verify_connection: %s (fix the config, or write it with verify_connection=false)", err), nil
		}
		warnings = append(warnings, ws...)
	}
	if err := b.storeConfig(ctx, req.Storage, name, c); err != nil {
		return nil, err
	}
	warning, err := b.syncRotationJob(ctx, req, name, old, c)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		warnings = append(warnings, warning)
	}
	if len(warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

// verify logs in with c once and hands the credential straight back, as its kind does.
// Warnings say what it could not check.
func (b *backend) verify(ctx context.Context, s logical.Storage, name string, c *configEntry) ([]string, error) {
	conn, err := b.dial(name, c, nil) // closed after its one check
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return kindFor(c.Type, c.AuthMethod, "").verify(b, ctx, s, name, c, conn)
}

// sameAdmin reports whether two configs log in as the same admin at the same place, so that
// what verify_connection learnt of the one holds for the other. Secrets may differ.
func sameAdmin(a, b *configEntry) bool {
	return a.endpoint().sameTarget(b.endpoint()) && a.Username == b.Username && a.APIID == b.APIID
}

// secretField names the field that holds the secret of an auth method.
func secretField(method string) string {
	switch method {
	case client.AuthForticloudToken:
		return "token"
	case client.AuthAPIKey:
		return "api_key"
	}
	return "password"
}

// pacedAtFortiLAN reports whether the engine's own calls for a config go to FortiLAN, and count
// against its limits per source address: those of email and IAM users. An API user's token is
// minted and revoked at auth_url (FortiCloud IAM); the applications that use it at FortiLAN
// count against the limits of their own addresses.
func pacedAtFortiLAN(typ, method string) bool {
	return typ == client.TypeFortiLAN && method != client.AuthAPIUser
}

// defaultCallRateLimit is the call_rate_limit a config of typ and method gets by default:
// FortiLAN's own limit where it applies, else none.
func defaultCallRateLimit(typ, method string) int {
	if pacedAtFortiLAN(typ, method) {
		return client.DefaultFortiLANCallsPerMinute
	}
	return 0
}

func shortName(typ string) string {
	switch typ {
	case client.TypeFortiAnalyzer:
		return "faz"
	case client.TypeFortiManager:
		return "fmg"
	}
	return typ
}

// checkHTTPS accepts an https:// base URL without credentials, query or fragment, and returns
// it without a trailing slash.
func checkHTTPS(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("not a URL")
	case u.User != nil:
		// Said before anything that would echo the URL, which holds a password here.
		return "", errors.New("must not carry a user name or password")
	case u.Scheme != "https":
		return "", fmt.Errorf("%q must start with https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("%q must not have a query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
