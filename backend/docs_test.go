package backend

import (
	"os"
	"strings"
	"testing"
	"time"
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
		for field, schema := range p.Fields {
			checked++
			i := strings.Index(text, "| `"+field+"` |")
			if i < 0 {
				t.Errorf("docs/api.md, section %s: field %q is not documented", name, field)
				continue
			}
			// | field | type | default | description |: a schema default has one in the table.
			row := strings.Split(text[i:i+strings.IndexByte(text[i:]+"\n", '\n')], "|")
			if schema.Default != nil && (len(row) < 5 || strings.TrimSpace(row[3]) == "") {
				t.Errorf("docs/api.md, section %s: field %q has default %v in the schema, none in the reference", name, field, schema.Default)
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

// Every metric the metrics path writes is in docs/api.md.
func TestAPIReferenceCoversMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	m.observe("fortianalyzer", "login", "ok", time.Millisecond)
	m.leaseIssued("c")
	var b strings.Builder
	m.write(&b)
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			n++
			name, _, _ = strings.Cut(name, " ")
			if !strings.Contains(string(raw), "| `"+name+"` |") {
				t.Errorf("docs/api.md does not document metric %s", name)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d metrics found in:\n%s", n, b.String())
	}
}
