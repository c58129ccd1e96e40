package backend

import (
	"maps"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestConfigCreateRejects(t *testing.T) {
	e := newEnv(t)
	faz, lan := e.fazLocal(), e.lanEmail()
	tests := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"no type", with(faz, "type", nil), []string{"type: required"}},
		{"unknown type", with(faz, "type", "fortiweb"), []string{"type", `"fortiweb"`, "fortianalyzer"}},
		{"fortigate with a password", with(faz, "type", "fortigate"), []string{"auth_method", "not supported by type fortigate", "api_key"}},
		{"unknown auth_method", with(faz, "auth_method", "magic"), []string{"auth_method", `"magic"`, "local_user"}},
		{"lan method on faz", with(faz, "auth_method", "email_user"), []string{"auth_method", "not supported by type fortianalyzer"}},
		{"faz without url", with(faz, "url", nil), []string{"url: required for type fortianalyzer"}},
		{"http url", with(faz, "url", "http://faz.example.com"), []string{"url", "https://"}},
		{"url without host", with(faz, "url", "https://"), []string{"url", "no host"}},
		{"url with query", with(faz, "url", "https://faz.example.com/?a=b"), []string{"url", "query"}},
		{"url with password", with(faz, "url", "https://u:secretpw@faz.example.com"), []string{"url", "user name or password"}},
		{"local_user without password", with(faz, "password", nil), []string{"password: required for auth_method local_user"}},
		{"local_user without username", with(faz, "username", nil), []string{"username: required for auth_method local_user"}},
		{"forticloud_token without token", with(e.fazCloud(), "token", nil), []string{"token: required for auth_method forticloud_token"}},
		{"token with local_user", with(faz, "token", "abcdefgh"), []string{"token: not used by auth_method local_user"}},
		{"api user without api_id", with(e.fazAPIUser(), "api_id", nil), []string{"api_id: required"}},
		{"client_id with local_user", with(faz, "client_id", "FortiAnalyzer"), []string{"client_id: not used by auth_method local_user"}},
		{"faz without method or credentials", map[string]any{"type": "fortianalyzer", "url": e.fake.URL}, []string{"auth_method: required for type fortianalyzer"}},
		{"lan without account_id", with(lan, "account_id", nil), []string{"account_id: required for auth_method email_user"}},
		{"lan with http url", with(lan, "url", "http://fortilan.example.com"), []string{"url", "https://"}},
		{"forticloud without client_id", with(e.cloudAPIUser(), "client_id", nil), []string{"client_id: required for type forticloud"}},
		{"forticloud with url", with(e.cloudAPIUser(), "url", "https://x.example.com"), []string{"url: not used by type forticloud"}},
		{"http auth_url", with(e.fazAPIUser(), "auth_url", "http://auth.example.com"), []string{"auth_url", "https://"}},
		{"malformed PEM", with(faz, "ca_cert", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), []string{"ca_cert"}},
		{"no PEM at all", with(faz, "ca_cert", "hello"), []string{"ca_cert: no PEM certificate found"}},
		{"PEM key not cert", with(faz, "ca_cert", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), []string{"ca_cert", "not CERTIFICATE"}},
		{"bad server name", with(faz, "tls_server_name", "not a host"), []string{"tls_server_name"}},
		{"timeout too long", with(faz, "request_timeout", "1h"), []string{"request_timeout: must be between"}},
		{"rate limit for a FortiLAN API user", with(e.lanAPIUser(), "login_rate_limit", 6), []string{"login_rate_limit: only used by auth_method email_user and iam_user"}},
		{"timeout past the call budget", with(faz, "request_timeout", "61s"), []string{"request_timeout: must be between 1s and 60s"}},
		{"timeout zero", with(faz, "request_timeout", 0), []string{"request_timeout: must be between"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.fails(logical.UpdateOperation, "config/x", tc.data, tc.want...)
			if resp := e.ok(logical.ReadOperation, "config/x", nil); resp != nil {
				t.Fatalf("a refused write stored a config: %v", resp.Data)
			}
		})
	}
}

func TestConfigErrorsAreBadRequests(t *testing.T) {
	e := newEnv(t)
	resp, err := e.do(logical.UpdateOperation, "config/x", with(e.fazLocal(), "type", "nope"))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := logical.RespondErrorCommon(&logical.Request{}, resp, nil)
	if code != 400 {
		t.Fatalf("status %d, want 400", code)
	}
}

func TestConfigCreateEveryMethod(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		data   map[string]any
		method string
		secret string
	}{
		{"faz local_user", e.fazLocal(), "local_user", "password_set"},
		{"faz forticloud_token", e.fazCloud(), "forticloud_token", "token_set"},
		{"faz api user", e.fazAPIUser(), "forticloud_api_user", "password_set"},
		{"fmg local_user", e.fmgLocal(), "local_user", "password_set"},
		{"fortilan email_user", e.lanEmail(), "email_user", "password_set"},
		{"fortilan iam_user", e.lanIAM(), "iam_user", "password_set"},
		{"fortilan api user", e.lanAPIUser(), "forticloud_api_user", "password_set"},
		{"forticloud api user", e.cloudAPIUser(), "forticloud_api_user", "password_set"},
		{"faz inferred token", with(e.fazCloud(), "auth_method", nil), "forticloud_token", "token_set"},
		{"faz inferred user", with(e.fazLocal(), "auth_method", nil), "local_user", "password_set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.ok(logical.UpdateOperation, "config/c", tc.data)
			got := e.ok(logical.ReadOperation, "config/c", nil).Data
			if got["auth_method"] != tc.method {
				t.Fatalf("auth_method = %v, want %s", got["auth_method"], tc.method)
			}
			if got[tc.secret] != true {
				t.Fatalf("%s = %v, want true", tc.secret, got[tc.secret])
			}
			for _, k := range []string{"token", "password"} {
				if _, ok := got[k]; ok {
					t.Fatalf("read returned the secret field %q", k)
				}
			}
			for k, v := range got {
				if s, ok := v.(string); ok && strings.Contains(s, "do-not-leak") {
					t.Fatalf("read field %s carries a secret", k)
				}
			}
			e.ok(logical.DeleteOperation, "config/c", nil)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/lan", map[string]any{"type": "fortilan", "account_id": lanAccount,
		"username": lanUser, "password": lanPassword, "verify_connection": false})
	got := e.ok(logical.ReadOperation, "config/lan", nil).Data
	want := map[string]any{"url": "https://fortilan.forticloud.com", "auth_method": "email_user", "request_timeout": int64(30), "tls_skip_verify": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	e.ok(logical.UpdateOperation, "config/faz", with(e.fazAPIUser(), "auth_url", nil, "verify_connection", false))
	got = e.ok(logical.ReadOperation, "config/faz", nil).Data
	if got["auth_url"] != "https://customerapiauth.fortinet.com" || got["client_id"] != "FortiAnalyzer" {
		t.Errorf("api user defaults: auth_url %v client_id %v", got["auth_url"], got["client_id"])
	}
	e.ok(logical.UpdateOperation, "config/fmg", with(e.fazAPIUser(), "type", "fortimanager", "verify_connection", false))
	if got := e.ok(logical.ReadOperation, "config/fmg", nil).Data["client_id"]; got != "FortiManager" {
		t.Errorf("fortimanager client_id default = %v", got)
	}
}

func TestConfigUpdate(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())

	t.Run("type is fixed", func(t *testing.T) {
		e.t = t
		e.fails(logical.UpdateOperation, "config/faz", map[string]any{"type": "fortimanager"}, "type: cannot change")
	})
	t.Run("partial update keeps the rest", func(t *testing.T) {
		e.t = t
		e.ok(logical.UpdateOperation, "config/faz", map[string]any{"request_timeout": "10s"})
		got := e.ok(logical.ReadOperation, "config/faz", nil).Data
		if got["request_timeout"] != int64(10) || got["username"] != adminUser || got["password_set"] != true {
			t.Fatalf("after partial update: %v", got)
		}
	})
	t.Run("url change needs the secret again", func(t *testing.T) {
		e.t = t
		e.fails(logical.UpdateOperation, "config/faz", map[string]any{"url": "https://evil.example.com"},
			"url: changing the URL", "password given again")
		if got := e.ok(logical.ReadOperation, "config/faz", nil).Data["url"]; got != e.fake.URL {
			t.Fatalf("url changed to %v", got)
		}
		e.ok(logical.UpdateOperation, "config/faz", map[string]any{"url": e.fake.URL + "/", "password": adminPassword})
	})
	t.Run("auth_url change needs the secret again", func(t *testing.T) {
		e.t = t
		e.ok(logical.UpdateOperation, "config/api", e.fazAPIUser())
		e.fails(logical.UpdateOperation, "config/api", map[string]any{"auth_url": "https://evil.example.com"}, "auth_url: changing", "password")
	})
	t.Run("auth_method change needs the secret again", func(t *testing.T) {
		e.t = t
		// The kept admin password would otherwise go to a new auth_url, unchecked.
		e.fails(logical.UpdateOperation, "config/faz", map[string]any{"auth_method": "forticloud_api_user", "api_id": apiID,
			"auth_url": "https://evil.example.com", "verify_connection": false}, "auth_method: changing", "password given again")
		e.ok(logical.UpdateOperation, "config/lan", with(e.lanEmail(), "verify_connection", false))
		e.fails(logical.UpdateOperation, "config/lan", map[string]any{"auth_method": "iam_user", "verify_connection": false}, "auth_method: changing", "password")
		if got := e.ok(logical.ReadOperation, "config/faz", nil).Data["auth_method"]; got != "local_user" {
			t.Fatalf("auth_method changed to %v", got)
		}
	})
	t.Run("switching method drops old secrets", func(t *testing.T) {
		e.t = t
		e.ok(logical.UpdateOperation, "config/faz", map[string]any{"auth_method": "forticloud_token", "token": cloudToken})
		got := e.ok(logical.ReadOperation, "config/faz", nil).Data
		if _, ok := got["username"]; ok || got["token_set"] != true {
			t.Fatalf("after switching method: %v", got)
		}
		c, err := readConfig(t.Context(), e.s, "faz")
		if err != nil || c.Password != "" || c.Username != "" {
			t.Fatalf("old credentials kept in storage: %+v %v", c.Username, err)
		}
	})
	t.Run("tls_skip_verify warns", func(t *testing.T) {
		e.t = t
		resp := e.ok(logical.UpdateOperation, "config/faz", map[string]any{"tls_skip_verify": true, "ca_cert": ""})
		if resp == nil || len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "tls_skip_verify") {
			t.Fatalf("no warning: %v", resp)
		}
		if !strings.Contains(e.logs.String(), "skips TLS certificate verification") {
			t.Fatal("no warning logged")
		}
	})
}

func TestConfigVerifyConnection(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"wrong password", with(e.fazLocal(), "password", "wrong-password"), []string{"verify_connection", "refused"}},
		{"wrong token", with(e.fazCloud(), "token", "wrong-token-123"), []string{"verify_connection", "refused"}},
		{"wrong lan password", with(e.lanEmail(), "password", "wrong-password"), []string{"verify_connection", "refused"}},
		{"wrong api password", with(e.fazAPIUser(), "password", "wrong-password"), []string{"verify_connection", "refused"}},
		{"untrusted certificate", with(e.fazLocal(), "ca_cert", nil), []string{"verify_connection", "certificate"}},
		{"wrong server name", with(e.fazLocal(), "tls_server_name", "other.example.com"), []string{"verify_connection", "certificate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			msg := e.fails(logical.UpdateOperation, "config/v", tc.data, tc.want...)
			if strings.Contains(msg, "wrong-password") || strings.Contains(msg, "wrong-token") {
				t.Fatalf("error carries the secret: %s", msg)
			}
		})
	}
	// A verified write leaves nothing live upstream.
	for _, data := range []map[string]any{e.fazLocal(), e.fazCloud(), e.lanEmail(), e.fazAPIUser()} {
		e.t = t
		e.ok(logical.UpdateOperation, "config/v", data)
		e.ok(logical.DeleteOperation, "config/v", nil)
	}
	if n := e.fake.LiveSessions(); n != 0 {
		t.Fatalf("%d sessions live after verified writes", n)
	}
	if n := e.fake.LiveLANTokens(); n != 0 {
		t.Fatalf("%d FortiLAN tokens live after verified writes", n)
	}
	// verify_connection=false stores what cannot log in.
	e.ok(logical.UpdateOperation, "config/v", with(e.fazLocal(), "password", "wrong-password", "verify_connection", false))
	// And the TLS settings really are used: the name in the certificate is accepted.
	e.ok(logical.UpdateOperation, "config/v2", with(e.fazLocal(), "tls_server_name", "fortitest.local"))
}

func TestConfigListDelete(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.ok(logical.UpdateOperation, "config/"+n, with(e.fazLocal(), "verify_connection", false))
	}
	keys := e.ok(logical.ListOperation, "config/", nil).Data["keys"].([]string)
	if strings.Join(keys, ",") != "a,b,c" {
		t.Fatalf("list = %v", keys)
	}
	e.ok(logical.UpdateOperation, "roles/r1", map[string]any{"config": "b"})
	e.ok(logical.UpdateOperation, "roles/r2", map[string]any{"config": "b"})
	e.fails(logical.DeleteOperation, "config/b", nil, `config "b" is used by roles r1, r2`)
	e.ok(logical.DeleteOperation, "roles/r1", nil)
	e.ok(logical.UpdateOperation, "roles/r2", map[string]any{"config": "a"})
	e.ok(logical.DeleteOperation, "config/b", nil)
	if resp := e.ok(logical.ReadOperation, "config/b", nil); resp != nil {
		t.Fatalf("deleted config still reads: %v", resp.Data)
	}
	e.ok(logical.DeleteOperation, "config/never-was", nil)
}

// A config write or an invalidation from another node drops the cached client, so that the
// next creds use the new settings.
func TestConfigCacheDropped(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	e.creds("r")
	e.ok(logical.UpdateOperation, "config/faz", map[string]any{"password": "changed-password", "verify_connection": false})
	e.fails(logical.ReadOperation, "creds/r", nil, "refused")

	// Another node fixes the password: this node hears of it through Invalidate.
	c, _ := readConfig(t.Context(), e.s, "faz")
	c.Password = adminPassword
	entry, _ := logical.StorageEntryJSON("config/faz", c)
	if err := e.s.Put(t.Context(), entry); err != nil {
		t.Fatal(err)
	}
	e.fails(logical.ReadOperation, "creds/r", nil, "refused") // still cached
	e.b.Invalidate(t.Context(), "config/faz")
	e.creds("r")
}

var _ = fortitest.NewServer

// verify_connection learns, with its fresh session, which status call renew can ask about the
// admin's sessions; the read shows it, and a write whose admin no status call answers warns.
func TestConfigVerifyLearnsProbe(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		data    map[string]any
		probe   any    // renew_probe on read; nil: none shown
		warning string // in the write's warnings; "" for none
	}{
		{"super user", e.fazAdmin(adminUser, fortitest.ProfileSuperUser), "sys_status", ""},
		// Nor may these admins manage admins: their dynamic_admin roles would fail.
		{"no system settings", e.fazAdmin(restrictedAdmin, fortitest.ProfileNoSystemSettings), "cli_status", "may not manage admins"},
		{"no status", e.fazAdmin(blindAdmin, fortitest.ProfileNoStatus), "none", "renew cannot tell its live sessions from gone ones"},
		{"fortimanager", with(e.fazAdmin(restrictedAdmin, fortitest.ProfileNoSystemSettings), "type", "fortimanager"), "cli_status", "may not manage admins"},
		{"forticloud token", e.fazCloud(), "sys_status", ""},
		{"not verified", with(e.fazAdmin(restrictedAdmin, fortitest.ProfileNoSystemSettings), "verify_connection", false), "unknown", ""},
		{"fortilan", e.lanEmail(), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			resp := e.ok(logical.UpdateOperation, "config/"+strings.ReplaceAll(tc.name, " ", "-"), tc.data)
			var warnings string
			if resp != nil {
				warnings = strings.Join(resp.Warnings, "\n")
			}
			if tc.warning == "" && warnings != "" || !strings.Contains(warnings, tc.warning) {
				t.Errorf("write warnings %q, want %q", warnings, tc.warning)
			}
			got, ok := e.ok(logical.ReadOperation, "config/"+strings.ReplaceAll(tc.name, " ", "-"), nil).Data["renew_probe"]
			if tc.probe == nil && ok || got != tc.probe && tc.probe != nil {
				t.Errorf("renew_probe = %v, want %v", got, tc.probe)
			}
		})
	}
	e.t = t
	if n := e.fake.LiveSessions(); n != 0 {
		t.Fatalf("%d sessions live after verified writes", n)
	}
}

// What verify_connection learnt holds for the same admin: a write without it keeps it, unless
// the write changes who logs in or where. A write that cannot learn keeps what it had, and says so.
func TestConfigProbeKeptForSameAdmin(t *testing.T) {
	e := newEnv(t)
	probe := func() any { return e.ok(logical.ReadOperation, "config/faz", nil).Data["renew_probe"] }
	e.ok(logical.UpdateOperation, "config/faz", e.fazAdmin(blindAdmin, fortitest.ProfileNoStatus))
	e.ok(logical.UpdateOperation, "config/faz", map[string]any{"request_timeout": "20s", "password": "changed-password", "verify_connection": false})
	if got := probe(); got != "none" {
		t.Fatalf("renew_probe %v after a write for the same admin, want none", got)
	}
	e.fake.AddFault(fortitest.Fault{Path: callsSys, Kind: fortitest.FaultCode, RPCCode: -1})
	resp := e.ok(logical.UpdateOperation, "config/faz", e.fazAdmin(blindAdmin, fortitest.ProfileNoStatus))
	e.fake.ClearFaults()
	if resp == nil || !strings.Contains(strings.Join(resp.Warnings, "\n"), "could not find out how renew can check") {
		t.Fatalf("a write that could not learn the probe: %v", resp)
	}
	if got := probe(); got != "none" {
		t.Fatalf("renew_probe %v after a write that could not learn it, want none", got)
	}
	e.ok(logical.UpdateOperation, "config/faz", map[string]any{"username": adminUser, "password": adminPassword, "verify_connection": false})
	if got := probe(); got != "unknown" {
		t.Fatalf("renew_probe %v after a write for another admin, want unknown", got)
	}
}
