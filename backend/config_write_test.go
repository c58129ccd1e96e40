package backend

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
)

// checkCase is one config write through one of buildConfig's validators.
type checkCase struct {
	name string
	old  *configEntry   // the stored config; nil at create
	c    configEntry    // the config as the validators before left it
	raw  map[string]any // the write
	want configEntry    // the config after, when the check passes
	err  string         // how the error starts, when it fails
}

// runChecks runs each case through the validator check picks from its write, the product
// looked up from the case's config as checkType would have.
func runChecks(t *testing.T, check func(*configWrite) func(*configEntry) error, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &framework.FieldData{Raw: tc.raw, Schema: configFields()}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			w := newConfigWrite(tc.old, d)
			w.p, _ = client.LookupProduct(tc.c.Type)
			c := tc.c
			err := check(w)(&c)
			switch {
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Fatalf("error %v, want one starting %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.err == "" && !reflect.DeepEqual(c, tc.want):
				t.Fatalf("config\n%+v\nwant\n%+v", c, tc.want)
			}
		})
	}
}

var (
	fazEntry = configEntry{Type: client.TypeFortiAnalyzer, URL: "https://faz.example.com", AuthMethod: client.AuthLocalUser,
		Username: "admin", Password: "pw", RequestTimeout: client.DefaultTimeout}
	lanEntry = configEntry{Type: client.TypeFortiLAN, URL: client.DefaultFortiLANURL, AuthMethod: client.AuthEmailUser,
		Username: "u@example.com", Password: "pw", AccountID: "a@example.com", LoginRateLimit: 6, CallRateLimit: 60}
	lanAPIEntry = configEntry{Type: client.TypeFortiLAN, URL: client.DefaultFortiLANURL, AuthMethod: client.AuthAPIUser,
		APIID: "id", Password: "pw", AuthURL: client.DefaultAuthURL, ClientID: "fortilancloud"}
)

// with returns e changed by set.
func (e configEntry) with(set func(*configEntry)) configEntry {
	set(&e)
	return e
}

func TestCheckType(t *testing.T) {
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkType }, []checkCase{
		{name: "create", raw: map[string]any{"type": " fortilan "}, want: configEntry{Type: client.TypeFortiLAN}},
		{name: "create without", raw: map[string]any{}, err: "type: required; one of fortianalyzer, fortimanager, fortilan, forticloud"},
		{name: "unknown", raw: map[string]any{"type": "fortiweb"}, err: `type: unknown type "fortiweb"`},
		{name: "kept", old: &fazEntry, c: fazEntry, raw: map[string]any{}, want: fazEntry},
		{name: "given again", old: &fazEntry, c: fazEntry, raw: map[string]any{"type": "fortianalyzer"}, want: fazEntry},
		{name: "changed", old: &fazEntry, c: fazEntry, raw: map[string]any{"type": "fortimanager"},
			err: `type: cannot change from "fortianalyzer" to "fortimanager"`},
	})
}

func TestCheckAuthMethod(t *testing.T) {
	faz := configEntry{Type: client.TypeFortiAnalyzer}
	lan := configEntry{Type: client.TypeFortiLAN}
	cloud := configEntry{Type: client.TypeFortiCloud}
	method := func(c configEntry, m string) configEntry { c.AuthMethod = m; return c }
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkAuthMethod }, []checkCase{
		{name: "given", c: faz, raw: map[string]any{"auth_method": "forticloud_api_user"}, want: method(faz, client.AuthAPIUser)},
		{name: "unsupported", c: lan, raw: map[string]any{"auth_method": "local_user"},
			err: `auth_method: "local_user" is not supported by type fortilan; one of email_user, iam_user, forticloud_api_user`},
		{name: "product default", c: lan, raw: map[string]any{"username": "u"}, want: method(lan, client.AuthEmailUser)},
		{name: "only method", c: cloud, raw: map[string]any{}, want: method(cloud, client.AuthAPIUser)},
		{name: "from token", c: faz, raw: map[string]any{"token": "t", "username": "u"}, want: method(faz, client.AuthForticloudToken)},
		{name: "from api_id", c: faz, raw: map[string]any{"api_id": "i", "username": "u"}, want: method(faz, client.AuthAPIUser)},
		{name: "from username", c: faz, raw: map[string]any{"username": "u"}, want: method(faz, client.AuthLocalUser)},
		{name: "none", c: faz, raw: map[string]any{"password": "p"},
			err: "auth_method: required for type fortianalyzer; one of forticloud_token, forticloud_api_user, local_user"},
		{name: "kept", old: &fazEntry, c: fazEntry, raw: map[string]any{"token": "t"}, want: fazEntry},
		{name: "kept unsupported", old: &lanEntry, c: lanEntry.with(func(c *configEntry) { c.AuthMethod = "gone" }), raw: map[string]any{},
			err: `auth_method: "gone" is not supported by type fortilan`},
	})
}

func TestCheckCredentials(t *testing.T) {
	fazToken := configEntry{Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthForticloudToken, Token: "old", TokenStoredAt: 5}
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkCredentials }, []checkCase{
		{name: "set", c: configEntry{Type: client.TypeFortiLAN, AuthMethod: client.AuthEmailUser},
			raw:  map[string]any{"username": " u ", "password": "p", "account_id": "a"},
			want: configEntry{Type: client.TypeFortiLAN, AuthMethod: client.AuthEmailUser, Username: "u", Password: "p", AccountID: "a"}},
		{name: "api user's", c: configEntry{Type: client.TypeFortiCloud, AuthMethod: client.AuthAPIUser},
			raw:  map[string]any{"api_id": "i", "password": "p", "client_id": "x", "auth_url": "https://iam"},
			want: configEntry{Type: client.TypeFortiCloud, AuthMethod: client.AuthAPIUser, APIID: "i", Password: "p", ClientID: "x", AuthURL: "https://iam"}},
		{name: "not used", c: fazEntry, raw: map[string]any{"token": "t"}, err: "token: not used by auth_method local_user"},
		{name: "first not used", c: fazEntry, raw: map[string]any{"client_id": "x", "account_id": "a", "api_id": "i"},
			err: "api_id: not used by auth_method local_user"},
		{name: "not used but empty", c: fazEntry, raw: map[string]any{"token": "", "client_id": ""}, want: fazEntry},
		{name: "leftovers dropped", old: &lanAPIEntry,
			c:    lanAPIEntry.with(func(c *configEntry) { c.AuthMethod = client.AuthEmailUser }),
			raw:  map[string]any{"username": "u", "account_id": "a"},
			want: configEntry{Type: client.TypeFortiLAN, URL: client.DefaultFortiLANURL, AuthMethod: client.AuthEmailUser, Username: "u", Password: "pw", AccountID: "a"}},
		{name: "token kept with its time", old: &fazToken, c: fazToken, raw: map[string]any{}, want: fazToken},
		{name: "token's time gone with it", old: &fazToken, c: fazToken.with(func(c *configEntry) { c.AuthMethod = client.AuthLocalUser }),
			raw:  map[string]any{"username": "u", "password": "p"},
			want: configEntry{Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthLocalUser, Username: "u", Password: "p"}},
	})
}

// A token given is stamped with when it was stored.
func TestCheckCredentialsTokenStoredAt(t *testing.T) {
	d := &framework.FieldData{Raw: map[string]any{"token": "t"}, Schema: configFields()}
	c := configEntry{Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthForticloudToken}
	if err := newConfigWrite(nil, d).checkCredentials(&c); err != nil || c.Token != "t" || c.TokenStoredAt == 0 {
		t.Fatalf("%+v, %v: want the token with its time", c, err)
	}
}

func TestCheckURL(t *testing.T) {
	faz := configEntry{Type: client.TypeFortiAnalyzer}
	url := func(c configEntry, u string) configEntry { c.URL = u; return c }
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkURL }, []checkCase{
		{name: "given", c: faz, raw: map[string]any{"url": "https://faz.example.com:8443/"}, want: url(faz, "https://faz.example.com:8443")},
		{name: "required", c: faz, raw: map[string]any{}, err: "url: required for type fortianalyzer (for example https://faz.example.com)"},
		{name: "required fmg", c: configEntry{Type: client.TypeFortiManager}, raw: map[string]any{"url": ""},
			err: "url: required for type fortimanager (for example https://fmg.example.com)"},
		{name: "default", c: configEntry{Type: client.TypeFortiLAN}, raw: map[string]any{},
			want: configEntry{Type: client.TypeFortiLAN, URL: client.DefaultFortiLANURL}},
		{name: "given empty: default", old: &lanEntry, c: lanEntry.with(func(c *configEntry) { c.URL = "https://lan.example.com" }),
			raw: map[string]any{"url": ""}, want: lanEntry},
		{name: "kept", old: &fazEntry, c: fazEntry, raw: map[string]any{}, want: fazEntry},
		{name: "http", c: faz, raw: map[string]any{"url": "http://faz"}, err: `url: "http://faz" must start with https://`},
		{name: "user", c: faz, raw: map[string]any{"url": "https://u:secret@faz"}, err: "url: must not carry a user name or password"},
		{name: "query", c: faz, raw: map[string]any{"url": "https://faz/?q"}, err: `url: "https://faz/?q" must not have a query or fragment`},
		{name: "not used", c: configEntry{Type: client.TypeFortiCloud}, raw: map[string]any{"url": "https://x"}, err: "url: not used by type forticloud"},
		{name: "not used, empty", c: configEntry{Type: client.TypeFortiCloud}, raw: map[string]any{"url": ""}, want: configEntry{Type: client.TypeFortiCloud}},
	})
}

func TestCheckIAM(t *testing.T) {
	fazAPI := configEntry{Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthAPIUser}
	cloud := configEntry{Type: client.TypeFortiCloud, AuthMethod: client.AuthAPIUser}
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkIAM }, []checkCase{
		{name: "defaults", c: fazAPI, raw: map[string]any{},
			want: fazAPI.with(func(c *configEntry) { c.AuthURL, c.ClientID = client.DefaultAuthURL, "FortiAnalyzer" })},
		{name: "given", c: cloud.with(func(c *configEntry) { c.AuthURL, c.ClientID = "https://iam.example.com/", "assetmanagement" }), raw: map[string]any{},
			want: cloud.with(func(c *configEntry) { c.AuthURL, c.ClientID = "https://iam.example.com", "assetmanagement" })},
		{name: "no default client_id", c: cloud, raw: map[string]any{},
			err: "client_id: required for type forticloud (for example fortigatecloud or assetmanagement)"},
		{name: "http", c: cloud.with(func(c *configEntry) { c.AuthURL = "http://iam" }), raw: map[string]any{},
			err: `auth_url: "http://iam" must start with https://`},
		{name: "not an API user", c: fazEntry, raw: map[string]any{}, want: fazEntry},
	})
}

func TestCheckRedirect(t *testing.T) {
	fazToken := fazEntry.with(func(c *configEntry) {
		c.AuthMethod, c.Token, c.Username, c.Password = client.AuthForticloudToken, "t", "", ""
	})
	moved := fazEntry.with(func(c *configEntry) { c.URL = "https://elsewhere" })
	iam := lanAPIEntry.with(func(c *configEntry) { c.AuthURL = "https://iam2" })
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkRedirect }, []checkCase{
		{name: "create", c: fazEntry, raw: map[string]any{}, want: fazEntry},
		{name: "nothing moved", old: &fazEntry, c: fazEntry, raw: map[string]any{}, want: fazEntry},
		{name: "url", old: &fazEntry, c: moved, raw: map[string]any{},
			err: "url: changing the URL of an existing config needs its password given again in the same write"},
		{name: "url with password", old: &fazEntry, c: moved, raw: map[string]any{"password": "pw"}, want: moved},
		{name: "url with token", old: &fazToken, c: fazToken.with(func(c *configEntry) { c.URL = "https://x" }), raw: map[string]any{"token": "t"},
			want: fazToken.with(func(c *configEntry) { c.URL = "https://x" })},
		{name: "url without token", old: &fazToken, c: fazToken.with(func(c *configEntry) { c.URL = "https://x" }), raw: map[string]any{"password": "p"},
			err: "url: changing the URL of an existing config needs its token given again"},
		{name: "method", old: &fazEntry, c: fazToken, raw: map[string]any{"password": "pw"},
			err: "auth_method: changing the auth method of an existing config needs its token given again in the same write"},
		{name: "auth_url", old: &lanAPIEntry, c: iam, raw: map[string]any{},
			err: "auth_url: changing the auth URL of an existing config needs its password given again in the same write"},
		{name: "auth_url with password", old: &lanAPIEntry, c: iam, raw: map[string]any{"password": ""}, want: iam},
		{name: "auth_url where there was none", old: &fazEntry, c: fazEntry.with(func(c *configEntry) { c.AuthURL = "https://iam" }), raw: map[string]any{},
			want: fazEntry.with(func(c *configEntry) { c.AuthURL = "https://iam" })},
	})
}

func TestCheckCredentialsSet(t *testing.T) {
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkCredentialsSet }, []checkCase{
		{name: "all", c: lanEntry, raw: map[string]any{}, want: lanEntry},
		{name: "api user", c: lanAPIEntry, raw: map[string]any{}, want: lanAPIEntry},
		{name: "first missing", c: lanEntry.with(func(c *configEntry) { c.AccountID, c.Password = "", "" }), raw: map[string]any{},
			err: "account_id: required for auth_method email_user"},
		{name: "token", c: configEntry{Type: client.TypeFortiAnalyzer, AuthMethod: client.AuthForticloudToken}, raw: map[string]any{},
			err: "token: required for auth_method forticloud_token"},
		{name: "client_id", c: lanAPIEntry.with(func(c *configEntry) { c.ClientID = "" }), raw: map[string]any{},
			err: "client_id: required for auth_method forticloud_api_user"},
	})
}

func TestCheckTLS(t *testing.T) {
	pem := strings.TrimSpace(newFake(t).CACertPEM)
	tls := fazEntry.with(func(c *configEntry) { c.CACert, c.TLSServerName, c.TLSSkipVerify = pem, "faz.internal", true })
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkTLS }, []checkCase{
		{name: "set", c: fazEntry, raw: map[string]any{"ca_cert": pem, "tls_server_name": "faz.internal", "tls_skip_verify": true}, want: tls},
		{name: "kept", old: &tls, c: tls, raw: map[string]any{}, want: tls},
		{name: "cleared", old: &tls, c: tls, raw: map[string]any{"ca_cert": " ", "tls_server_name": "", "tls_skip_verify": false}, want: fazEntry},
		{name: "bad ca_cert", c: fazEntry, raw: map[string]any{"ca_cert": "not a certificate"}, err: "ca_cert: "},
		{name: "bad tls_server_name", c: fazEntry, raw: map[string]any{"tls_server_name": "faz internal"},
			err: `tls_server_name: "faz internal" is not a host name`},
		{name: "empty label", c: fazEntry, raw: map[string]any{"tls_server_name": "faz..internal"}, err: "tls_server_name: "},
	})
}

func TestConfigWarnings(t *testing.T) {
	if w := configWarnings(&fazEntry); w != nil {
		t.Errorf("warnings %q for a config that checks certificates", w)
	}
	if w := configWarnings(&configEntry{TLSSkipVerify: true}); len(w) != 1 || !strings.HasPrefix(w[0], "tls_skip_verify is set") {
		t.Errorf("warnings %q for a config that skips certificate checks", w)
	}
}

func TestCheckRequestTimeout(t *testing.T) {
	timeout := func(d time.Duration) configEntry { return fazEntry.with(func(c *configEntry) { c.RequestTimeout = d }) }
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkRequestTimeout }, []checkCase{
		{name: "default at create", c: timeout(0), raw: map[string]any{}, want: timeout(client.DefaultTimeout)},
		{name: "kept", old: &fazEntry, c: timeout(7 * time.Second), raw: map[string]any{}, want: timeout(7 * time.Second)},
		{name: "kept none", old: &fazEntry, c: timeout(0), raw: map[string]any{}, want: timeout(0)},
		{name: "given", old: &fazEntry, c: fazEntry, raw: map[string]any{"request_timeout": "1m"}, want: timeout(time.Minute)},
		{name: "least", c: fazEntry, raw: map[string]any{"request_timeout": 1}, want: timeout(time.Second)},
		{name: "zero", c: fazEntry, raw: map[string]any{"request_timeout": 0}, err: "request_timeout: must be between 1s and 60s"},
		{name: "too long", c: fazEntry, raw: map[string]any{"request_timeout": 61}, err: "request_timeout: must be between 1s and 60s"},
	})
}

func TestCheckRateLimits(t *testing.T) {
	limits := func(c configEntry, login, call int) configEntry {
		c.LoginRateLimit, c.CallRateLimit = login, call
		return c
	}
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.checkRateLimits }, []checkCase{
		{name: "defaults at create", c: limits(lanEntry, 0, 0), raw: map[string]any{}, want: limits(lanEntry, 6, 60)},
		{name: "given", c: lanEntry, raw: map[string]any{"login_rate_limit": 0, "call_rate_limit": 600}, want: limits(lanEntry, 0, 600)},
		{name: "kept", old: &lanEntry, c: limits(lanEntry, 3, 0), raw: map[string]any{}, want: limits(lanEntry, 3, 0)},
		{name: "defaults leaving the API user", old: &lanAPIEntry, c: limits(lanEntry, 0, 0), raw: map[string]any{"call_rate_limit": 9},
			want: limits(lanEntry, 6, 9)},
		{name: "none for an API user", old: &lanEntry, c: limits(lanAPIEntry, 6, 60), raw: map[string]any{"login_rate_limit": 0},
			want: limits(lanAPIEntry, 0, 0)},
		{name: "API user's login", c: lanAPIEntry, raw: map[string]any{"login_rate_limit": 5},
			err: "login_rate_limit: only used by auth_method email_user and iam_user (API users log in at auth_url)"},
		{name: "API user's calls", c: lanAPIEntry, raw: map[string]any{"call_rate_limit": 5},
			err: "call_rate_limit: only used by auth_method email_user and iam_user (API users' tokens are revoked at auth_url)"},
		{name: "not fortilan", c: fazEntry, raw: map[string]any{"call_rate_limit": 0}, err: "call_rate_limit: only used by type fortilan"},
		{name: "too many", c: lanEntry, raw: map[string]any{"login_rate_limit": 601},
			err: "login_rate_limit: must be between 0 (no limit) and 600 logins a minute"},
		{name: "negative", c: lanEntry, raw: map[string]any{"call_rate_limit": -1},
			err: "call_rate_limit: must be between 0 (no limit) and 600 calls a minute"},
		// "" reads as 0, no limit: refused, not taken as turning the pacing off.
		{name: "empty calls", c: lanEntry, raw: map[string]any{"call_rate_limit": ""},
			err: "call_rate_limit: empty; give a number of calls a minute, 0 for no limit"},
		{name: "empty logins", c: lanEntry, raw: map[string]any{"login_rate_limit": ""},
			err: "login_rate_limit: empty; give a number of logins a minute, 0 for no limit"},
	})
}

func TestForgetProbe(t *testing.T) {
	learnt := fazEntry.with(func(c *configEntry) { c.RenewProbe = string(client.ProbeCLIStatus) })
	other := func(set func(*configEntry)) configEntry { return learnt.with(set) }
	forgot := func(set func(*configEntry)) configEntry {
		return learnt.with(func(c *configEntry) { set(c); c.RenewProbe = "" })
	}
	user := func(c *configEntry) { c.Username = "other" }
	url := func(c *configEntry) { c.URL = "https://faz2" }
	password := func(c *configEntry) { c.Password = "new" }
	runChecks(t, func(w *configWrite) func(*configEntry) error { return w.forgetProbe }, []checkCase{
		{name: "create", c: learnt, raw: map[string]any{}, want: learnt},
		{name: "same admin", old: &learnt, c: learnt, raw: map[string]any{}, want: learnt},
		{name: "new password", old: &learnt, c: other(password), raw: map[string]any{}, want: other(password)},
		{name: "other admin", old: &learnt, c: other(user), raw: map[string]any{}, want: forgot(user)},
		{name: "other device", old: &learnt, c: other(url), raw: map[string]any{}, want: forgot(url)},
	})
}
