package backend

import (
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

// auth_method api_key for FortiAnalyzer/FortiManager: the key is a secret, never read back;
// verify_connection reads the admin table with it and refuses a key that may not manage admins.
func TestConfigAPIKey(t *testing.T) {
	e := newEnv(t)
	key := e.fazKey()
	e.fake.AddAdminProfile(restrictedAdmin, adminPassword, fortitest.ProfileNoSystemSettings)
	restrictedKey := e.fake.AddAPIKey(restrictedAdmin)
	for _, tc := range []struct {
		name string
		data map[string]any
		want []string
	}{
		{"no key", with(key, "api_key", nil), []string{"api_key: required for auth_method api_key"}},
		{"a password", with(key, "password", "pw"), []string{"password: not used by auth_method api_key"}},
		{"white space", with(key, "api_key", "abc def"), []string{"api_key: holds white space"}},
		{"wrong key", with(key, "api_key", "not-a-key-0123456789"), []string{"verify_connection", "the key was refused", "trusts the address"}},
		{"a key that may not manage admins", with(key, "api_key", restrictedKey), []string{"verify_connection", "no permission", "System Settings", "dynamic_admin roles"}},
		{"fortilan", with(e.lanEmail(), "auth_method", "api_key"), []string{"auth_method:", "not supported by type fortilan"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			msg := e.fails(logical.UpdateOperation, "config/k", tc.data, tc.want...)
			if strings.Contains(msg, key["api_key"].(string)) || strings.Contains(msg, restrictedKey) {
				t.Fatalf("error carries the key: %s", msg)
			}
		})
	}
	e.t = t
	// Given a key, the method is read from it; the owner's name may be given.
	e.ok(logical.UpdateOperation, "config/k", with(key, "auth_method", nil, "username", adminUser))
	got := e.ok(logical.ReadOperation, "config/k", nil).Data
	if got["auth_method"] != "api_key" || got["api_key_set"] != true || got["username"] != adminUser {
		t.Fatalf("read %v", got)
	}
	for _, k := range []string{"api_key", "password_set", "renew_probe"} {
		if _, ok := got[k]; ok {
			t.Errorf("read answers %s: %v", k, got)
		}
	}
	e.fails(logical.UpdateOperation, "config/k", map[string]any{"url": "https://localhost:1"}, "url:", "needs its api_key given again")
	e.fails(logical.UpdateOperation, "rotate-root/k", nil, "api_key cannot be rotated", "GUI or CLI")
	// A session role cannot use it, and its creds are never sessions of the key's admin.
	e.fails(logical.UpdateOperation, "roles/s", map[string]any{"config": "k"}, "opens no session")
	if strings.Contains(e.logs.String(), key["api_key"].(string)) {
		t.Fatal("the key is in the logs")
	}
	if n := e.fake.LiveSessions(); n != 0 {
		t.Fatalf("%d sessions live: an api_key config opens none", n)
	}
}
