package integration_test

import (
	"context"
	"strings"
	"testing"
)

// TestOpenAPI: Vault's OpenAPI document describes every path and operation of the engine,
// each with an operation id built from the engine's DisplayAttrs, and every field.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	v := newDevServer(t, serverOpts{})
	resp, err := v.client.Logical().ReadWithContext(context.Background(), "sys/internal/specs/openapi")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := resp.Data["paths"].(map[string]any)
	want := map[string][]string{ // path -> operations
		"/forticloud/config/{name}": {"get", "post", "delete"},
		"/forticloud/config/":       {"get"},
		"/forticloud/roles/{name}":  {"get", "post", "delete"},
		"/forticloud/roles/":        {"get"},
		"/forticloud/creds/{name}":  {"get", "post"},
		"/forticloud/metrics":       {"get"},
	}
	ids := map[string]bool{}
	total := 0
	for path, ops := range want {
		total += len(ops)
		p, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("OpenAPI lacks %s (has %d paths)", path, len(paths))
			continue
		}
		if d, _ := p["description"].(string); d == "" {
			t.Errorf("%s has no description", path)
		}
		for _, op := range ops {
			o, ok := p[op].(map[string]any)
			if !ok {
				t.Errorf("%s lacks %s", path, op)
				continue
			}
			id, _ := o["operationId"].(string)
			if !strings.HasPrefix(id, "forticloud-") {
				t.Errorf("%s %s: operationId %q is not built from the engine's DisplayAttrs", path, op, id)
			}
			if ids[id] {
				t.Errorf("operationId %q is used twice", id)
			}
			ids[id] = true
		}
	}
	// Request bodies name every config field, with the secrets marked.
	schemas, _ := resp.Data["components"].(map[string]any)["schemas"].(map[string]any)
	schema, _ := schemas["ForticloudConfigureConfigRequest"].(map[string]any)
	config, _ := schema["properties"].(map[string]any)
	for _, f := range []string{"type", "url", "auth_method", "token", "api_id", "client_id", "auth_url", "username",
		"password", "account_id", "ca_cert", "tls_server_name", "tls_skip_verify", "request_timeout", "login_rate_limit", "verify_connection"} {
		prop, ok := config[f].(map[string]any)
		if !ok {
			t.Errorf("config request schema lacks %s", f)
			continue
		}
		if d, _ := prop["description"].(string); d == "" {
			t.Errorf("config field %s has no description", f)
		}
		if f == "token" || f == "password" {
			attrs, _ := prop["x-vault-displayAttrs"].(map[string]any)
			if s, _ := attrs["sensitive"].(bool); !s {
				t.Errorf("secret field %s is not marked sensitive", f)
			}
		}
	}
	if len(ids) != total {
		t.Fatalf("%d distinct operation ids, want %d", len(ids), total)
	}
	if !ids["forticloud-generate-credentials"] || !ids["forticloud-configure-config"] {
		t.Fatalf("operation ids: %v", ids)
	}
}
