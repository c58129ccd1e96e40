package backend

import (
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

func TestKindFor(t *testing.T) {
	for _, tc := range []struct {
		typ, method, credType, want string
	}{
		{client.TypeFortiAnalyzer, client.AuthLocalUser, "", "session"},
		{client.TypeFortiAnalyzer, client.AuthForticloudToken, "", "session"},
		{client.TypeFortiAnalyzer, client.AuthAPIUser, "", "session"},
		{client.TypeFortiManager, client.AuthAPIUser, "", "session"},
		{client.TypeFortiLAN, client.AuthEmailUser, "", "token"},
		{client.TypeFortiLAN, client.AuthIAMUser, "", "token"},
		{client.TypeFortiLAN, client.AuthAPIUser, "", "share"},
		{client.TypeFortiCloud, client.AuthAPIUser, "", "share"},
		{client.TypeFortiAnalyzer, client.AuthLocalUser, "session", "session"},
		{client.TypeFortiAnalyzer, client.AuthLocalUser, "dynamic_admin", "dynamic_admin"},
		{client.TypeFortiManager, client.AuthAPIKey, "dynamic_admin", "dynamic_admin"},
		// A key opens no session: what its config verifies is its admins.
		{client.TypeFortiAnalyzer, client.AuthAPIKey, "", "dynamic_admin"},
		{client.TypeFortiGate, client.AuthAPIKey, "", "api_user"},
		{client.TypeFortiGate, client.AuthAPIKey, "api_user", "api_user"},
	} {
		if got := kindFor(tc.typ, tc.method, tc.credType).name; got != tc.want {
			t.Errorf("kindFor(%s, %s, %q) = %s, want %s", tc.typ, tc.method, tc.credType, got, tc.want)
		}
	}
}

// TestKindNamed: every name a WAL entry may carry finds its kind, with an end; the names are
// stored, so they never change.
func TestKindNamed(t *testing.T) {
	for _, name := range []string{"session", "token", "share", "oauth", "dynamic_admin", "api_user"} {
		k, ok := kindNamed(name)
		if !ok || k.name != name || k.end == nil || k.revoker() == nil {
			t.Errorf("kindNamed(%q) = %+v, %v", name, k, ok)
		}
	}
	if _, ok := kindNamed("nonsense"); ok {
		t.Error("an unknown WAL kind was found")
	}
	for _, k := range []credentialKind{sessionKind(), tokenKind(), shareKind(), dynamicAdminKind(), apiUserKind()} {
		if k.issue == nil || k.verify == nil {
			t.Errorf("kind %s cannot be issued or verified", k.name)
		}
	}
}
