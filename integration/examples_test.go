package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExampleGoClient runs examples/go-client against a real Vault and the fake FAZ: it reads a
// session, calls /sys/status with it, and revokes its lease, which logs the session out.
func TestExampleGoClient(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	configure(t, v.client, "forticloud", "demo", fazLocal(f))
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, f.CACertPEM)
	cmd := exec.Command("go", "run", "./examples/go-client", "-role", "demo", "-ca-cert", ca)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+v.addr, "VAULT_TOKEN="+rootToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go-client: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "FortiAnalyzer fortitest") {
		t.Fatalf("go-client did not reach FortiAnalyzer:\n%s", out)
	}
	if f.Calls("jsonrpc:/sys/status") == 0 {
		t.Fatal("the fake saw no /sys/status call with the session")
	}
	eventuallyDead(t, "the example's session", func() bool { return f.LiveSessions() > 0 })
}

// TestExampleAgent runs the Vault Agent example as shipped, only pointed at this test's Vault.
func TestExampleAgent(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	configure(t, v.client, "forticloud", "demo", fazLocal(f))
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hcl, err := os.ReadFile(filepath.Join(root, "examples/agent/agent.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "examples/agent/faz-session.ctmpl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "faz-session.ctmpl"), string(tmpl))
	writeFile(t, filepath.Join(dir, "vault-token"), rootToken)
	cfg := strings.ReplaceAll(string(hcl), `"http://127.0.0.1:8200"`, `"`+v.addr+`"`)
	cfg = strings.ReplaceAll(cfg, `"./`, `"`+dir+`/`)
	startAgent(t, dir, cfg)
	out := filepath.Join(dir, "faz-session")
	var session string
	waitFor(t, 30*time.Second, "the agent to render faz-session", func() bool {
		b, err := os.ReadFile(out)
		session = strings.TrimSpace(string(b))
		return err == nil && session != ""
	})
	if !f.SessionAlive(session) {
		t.Fatalf("the rendered session is not live upstream")
	}
}

// TestExampleTerraform applies examples/terraform against a real Vault where terraform and its
// Vault provider can be had. This project's machines have terraform but reach no provider
// registry: there the example is only checked for format, unless TF_CLI_CONFIG_FILE points at
// a provider mirror.
func TestExampleTerraform(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH")
	}
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tf, "fmt", "-check", "-diff", filepath.Join(root, "examples/terraform")).CombinedOutput(); err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
	f := newFake(t)
	v := newDevServer(t, serverOpts{mount: "-"})
	dir := t.TempDir()
	src, _ := os.ReadFile(filepath.Join(root, "examples/terraform/main.tf"))
	writeFile(t, filepath.Join(dir, "main.tf"), string(src))
	env := append(os.Environ(), "VAULT_ADDR="+v.addr, "VAULT_TOKEN="+rootToken, "TF_IN_AUTOMATION=1")
	for _, args := range [][]string{
		{"init", "-input=false"},
		{"apply", "-input=false", "-auto-approve", "-var", "faz_url=" + f.URL, "-var", "faz_username=" + adminUser,
			"-var", "faz_password=" + adminPassword, "-var", "faz_ca_cert=" + f.CACertPEM, "-var", "plugin_version=" + pluginVersion},
	} {
		cmd := exec.Command(tf, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil && args[0] == "init" && strings.Contains(string(out), "registry.terraform.io") {
			t.Skip("the Vault provider cannot be installed here (no registry reachable); set TF_CLI_CONFIG_FILE to a provider mirror")
		}
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}
	readCreds(t, v.client, "forticloud", "soc")
}
