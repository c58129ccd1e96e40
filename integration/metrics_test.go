package integration_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
)

// TestMetricsThroughVault: forticloud/metrics answers Prometheus text through a real Vault
// (the raw body crosses the plugin's gRPC hop), needs a token like any path, and reports each
// mount of the one plugin process separately.
func TestMetricsThroughVault(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	v.enable("other")
	configure(t, v.client, "forticloud", "faz", fazLocal(f))
	configure(t, v.client, "other", "lan", lanEmail(f))
	revoke(t, v.client, readCreds(t, v.client, "forticloud", "faz").LeaseID)
	readCreds(t, v.client, "other", "lan")

	get := func(mount, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, v.addr+"/v1/"+mount+"/metrics", nil)
		if token != "" {
			req.Header.Set("X-Vault-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("content type %q", resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, string(b)
	}
	if code, _ := get("forticloud", ""); code != http.StatusForbidden {
		t.Fatalf("metrics without a token: HTTP %d, want 403", code)
	}
	// Vault's normal auth: a token whose policy reads the path, and nothing else, reads it.
	if err := v.client.Sys().PutPolicy("metrics-reader", `path "forticloud/metrics" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := v.client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"metrics-reader"}, NoDefaultPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get("forticloud", tok.Auth.ClientToken); code != 200 || !strings.Contains(body, "forticloud_leases_issued_total") {
		t.Fatalf("metrics with a metrics-reader token: HTTP %d: %s", code, body)
	}
	if code, _ := get("other", tok.Auth.ClientToken); code != http.StatusForbidden {
		t.Fatalf("another mount's metrics with a forticloud/metrics-only token: HTTP %d, want 403", code)
	}
	code, m1 := get("forticloud", rootToken)
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, m1)
	}
	for _, want := range []string{
		`forticloud_leases_issued_total{config="faz"} 1`,
		`forticloud_leases_revoked_total{config="faz"} 1`,
		`forticloud_leases_live{config="faz"} 0`,
		`forticloud_upstream_requests_total{product="fortianalyzer",operation="logout",outcome="ok"}`,
	} {
		if !strings.Contains(m1, want) {
			t.Errorf("forticloud/metrics lacks %s:\n%s", want, m1)
		}
	}
	_, m2 := get("other", rootToken)
	if !strings.Contains(m2, `forticloud_leases_live{config="lan"} 1`) || strings.Contains(m2, "fortianalyzer") || strings.Contains(m1, "fortilan") {
		t.Errorf("mounts mixed up:\nforticloud:\n%s\nother:\n%s", m1, m2)
	}
}

// TestAPIUserLoginsConcurrent: twenty FortiAnalyzer Cloud creds at once for one API user, in a
// real Vault, all succeed (each login mints a token that kills the last, so they are serialised)
// and leave no OAuth token live.
func TestAPIUserLoginsConcurrent(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	configure(t, v.client, "forticloud", "faz", fazAPIUser(f))
	var wg sync.WaitGroup
	secrets := make([]*api.Secret, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secrets[i], errs[i] = v.client.Logical().ReadWithContext(context.Background(), "forticloud/creds/faz")
		}()
	}
	wg.Wait()
	for i := range 20 {
		s := checkLease(t, "forticloud", "faz", secrets[i], errs[i])
		if !f.SessionAlive(str(t, s, "session")) {
			t.Fatal("an issued session is not live")
		}
	}
	if n := f.LiveOAuthTokens(); n != 0 {
		t.Fatalf("%d OAuth tokens left live", n)
	}
	if err := v.client.Sys().RevokePrefix("forticloud/creds/"); err != nil {
		t.Fatal(err)
	}
	eventuallyDead(t, "sessions", func() bool { return f.LiveSessions() > 0 })
}
