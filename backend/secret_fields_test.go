package backend

import "testing"

// The credentials a creds read answers are marked sensitive in the OpenAPI schema, as the
// config's secrets are; the rest is not.
func TestSecretFieldsSensitive(t *testing.T) {
	b := newBackend()
	sensitive := map[string]bool{"session": true, "access_token": true, "password": true, "api_key": true}
	seen := map[string]bool{}
	for _, s := range b.Backend.Secrets {
		for name, f := range s.Fields {
			got := f.DisplayAttrs != nil && f.DisplayAttrs.Sensitive
			if got != sensitive[name] {
				t.Errorf("secret %s, field %s: sensitive %v, want %v", s.Type, name, got, sensitive[name])
			}
			if sensitive[name] {
				seen[name] = true
			}
		}
	}
	if len(seen) != len(sensitive) {
		t.Fatalf("%d of the %d credential fields found: the test is not reading the schemas", len(seen), len(sensitive))
	}
}
