package backend

import (
	"os"
	"strings"
	"testing"
)

// docs/api.md documents every field of every path and of every secret: a field added to a
// schema and not to the reference fails here.
func TestAPIReferenceCoversSchemas(t *testing.T) {
	raw, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{} // "config", "roles", "creds" -> text
	word := func(s string) string {
		return s[:strings.IndexFunc(s+"/", func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') })]
	}
	for _, part := range strings.Split(string(raw), "\n## `")[1:] {
		sections[word(part)] = part
	}
	b := newBackend()
	checked := 0
	for _, p := range b.Backend.Paths {
		name := word(p.Pattern)
		text, ok := sections[name]
		if !ok {
			t.Errorf("docs/api.md has no section for %s", p.Pattern)
			continue
		}
		for field := range p.Fields {
			checked++
			if !strings.Contains(text, "| `"+field+"` |") {
				t.Errorf("docs/api.md, section %s: field %q is not documented", name, field)
			}
		}
	}
	for _, s := range b.Backend.Secrets {
		for field := range s.Fields {
			checked++
			if !strings.Contains(sections["creds"], "| `"+field+"` |") {
				t.Errorf("docs/api.md, section creds: answer field %q is not documented", field)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d fields checked: the test is not reading the schemas", checked)
	}
}
