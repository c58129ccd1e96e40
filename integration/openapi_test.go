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
	want := map[string]map[string]string{ // path -> operation -> operationId
		"/forticloud/config/{name}":      {"get": "forticloud-read-config", "post": "forticloud-configure-config", "delete": "forticloud-delete-config"},
		"/forticloud/config/":            {"get": "forticloud-list-configs"},
		"/forticloud/roles/{name}":       {"get": "forticloud-read-role", "post": "forticloud-write-role", "delete": "forticloud-delete-role"},
		"/forticloud/roles/":             {"get": "forticloud-list-roles"},
		"/forticloud/creds/{name}":       {"get": "forticloud-generate-credentials", "post": "forticloud-generate-credentials-with-parameters"},
		"/forticloud/metrics":            {"get": "forticloud-read-metrics"},
		"/forticloud/rotate-root/{name}": {"post": "forticloud-rotate-root"},
	}
	for path, ops := range want {
		p, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("OpenAPI lacks %s (has %d paths)", path, len(paths))
			continue
		}
		if d, _ := p["description"].(string); d == "" {
			t.Errorf("%s has no description", path)
		}
		for op, wantID := range ops {
			o, ok := p[op].(map[string]any)
			if !ok {
				t.Errorf("%s lacks %s", path, op)
				continue
			}
			if id, _ := o["operationId"].(string); id != wantID {
				t.Errorf("%s %s: operationId %q, want %q", path, op, id, wantID)
			}
		}
	}
	for path := range paths {
		if strings.HasPrefix(path, "/forticloud/") && want[path] == nil {
			t.Errorf("OpenAPI has %s, which this test does not know", path)
		}
	}

	// Answers: what each read, list and creds returns, by schema.
	schemas, _ := resp.Data["components"].(map[string]any)["schemas"].(map[string]any)
	for name, fields := range map[string][]string{
		"ForticloudReadConfigResponse": {"type", "url", "auth_method", "api_id", "client_id", "auth_url", "username", "account_id",
			"ca_cert", "tls_server_name", "tls_skip_verify", "request_timeout", "login_rate_limit", "call_rate_limit", "token_set", "token_stored_at", "password_set",
			"api_key_set", "password_policy", "renew_probe", "rotation_period", "rotation_schedule", "rotation_window", "disable_automated_rotation", "rotation_policy",
			"rotation_scheduler", "last_rotated", "next_rotation", "rotation_failures", "rotation_last_error"},
		"ForticloudReadRoleResponse": {"config", "ttl", "max_ttl", "credential_type", "admin_profile", "adoms", "trusted_hosts",
			"rpc_permit", "with_session", "username_template", "vdoms"},
		"ForticloudListConfigsResponse":         {"keys"},
		"ForticloudListRolesResponse":           {"keys"},
		"ForticloudGenerateCredentialsResponse": {"session", "url", "access_token", "expires_at", "token_type", "username", "password", "api_key"},
	} {
		schema, _ := schemas[name].(map[string]any)
		props, _ := schema["properties"].(map[string]any)
		if len(props) != len(fields) {
			t.Errorf("answer schema %s: %d fields, want %d: %v", name, len(props), len(fields), props)
		}
		for _, f := range fields {
			if _, ok := props[f]; !ok {
				t.Errorf("answer schema %s lacks %s", name, f)
			}
		}
		// A dynamic admin's own password is the one creds answer; no other answer names one.
		if _, secret := props["password"]; secret && name != "ForticloudGenerateCredentialsResponse" {
			t.Errorf("answer schema %s names password", name)
		}
	}
	// The credentials creds answers are secrets like the config's.
	creds, _ := schemas["ForticloudGenerateCredentialsResponse"].(map[string]any)["properties"].(map[string]any)
	for _, f := range []string{"session", "access_token", "password", "api_key"} {
		prop, _ := creds[f].(map[string]any)
		attrs, _ := prop["x-vault-displayAttrs"].(map[string]any)
		if s, _ := attrs["sensitive"].(bool); !s {
			t.Errorf("creds answer field %s is not marked sensitive", f)
		}
	}

	metricsGet, _ := paths["/forticloud/metrics"].(map[string]any)["get"].(map[string]any)
	ok200, _ := metricsGet["responses"].(map[string]any)["200"].(map[string]any)
	if d, _ := ok200["description"].(string); !strings.Contains(d, "Prometheus") {
		t.Errorf("metrics answer: %v, want it described as Prometheus text", ok200)
	}

	// Request bodies name every config field, with the secrets marked.
	schema, _ := schemas["ForticloudConfigureConfigRequest"].(map[string]any)
	config, _ := schema["properties"].(map[string]any)
	for _, f := range []string{"type", "url", "auth_method", "token", "api_id", "client_id", "auth_url", "username",
		"password", "api_key", "account_id", "ca_cert", "tls_server_name", "tls_skip_verify", "request_timeout", "login_rate_limit", "call_rate_limit", "verify_connection",
		"rotation_period", "rotation_schedule", "rotation_window", "disable_automated_rotation", "rotation_policy"} {
		prop, ok := config[f].(map[string]any)
		if !ok {
			t.Errorf("config request schema lacks %s", f)
			continue
		}
		if d, _ := prop["description"].(string); d == "" {
			t.Errorf("config field %s has no description", f)
		}
		if f == "token" || f == "password" || f == "api_key" {
			attrs, _ := prop["x-vault-displayAttrs"].(map[string]any)
			if s, _ := attrs["sensitive"].(bool); !s {
				t.Errorf("secret field %s is not marked sensitive", f)
			}
		}
	}
}
