package backend

import (
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

func TestKindFor(t *testing.T) {
	for _, tc := range []struct {
		typ, method, want string
	}{
		{client.TypeFortiAnalyzer, client.AuthLocalUser, "session"},
		{client.TypeFortiAnalyzer, client.AuthForticloudToken, "session"},
		{client.TypeFortiAnalyzer, client.AuthAPIUser, "session"},
		{client.TypeFortiManager, client.AuthAPIUser, "session"},
		{client.TypeFortiLAN, client.AuthEmailUser, "token"},
		{client.TypeFortiLAN, client.AuthIAMUser, "token"},
		{client.TypeFortiLAN, client.AuthAPIUser, "share"},
		{client.TypeFortiCloud, client.AuthAPIUser, "share"},
	} {
		if got := kindFor(tc.typ, tc.method).name; got != tc.want {
			t.Errorf("kindFor(%s, %s) = %s, want %s", tc.typ, tc.method, got, tc.want)
		}
	}
}

// TestKindNamed: every name a WAL entry may carry finds its kind, with an end; the names are
// stored, so they never change.
func TestKindNamed(t *testing.T) {
	for _, name := range []string{"session", "token", "share", "oauth"} {
		k, ok := kindNamed(name)
		if !ok || k.name != name || k.end == nil || k.revoker() == nil {
			t.Errorf("kindNamed(%q) = %+v, %v", name, k, ok)
		}
	}
	if _, ok := kindNamed("nonsense"); ok {
		t.Error("an unknown WAL kind was found")
	}
	for _, k := range []credentialKind{sessionKind(), tokenKind(), shareKind()} {
		if k.issue == nil || k.verify == nil {
			t.Errorf("kind %s cannot be issued or verified", k.name)
		}
	}
}
