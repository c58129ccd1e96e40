package integration_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

// TestExampleGoClient runs examples/go-client against a real Vault and the fake FAZ: it reads a
// session, calls /sys/status with it, and revokes its lease, which logs the session out.
func TestExampleGoClient(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	configure(t, v.client, "forticloud", "demo", fazLocal(f))
	root, err := e2e.ModuleRoot()
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
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// As its comment says to run it: from its folder, which holds the token file.
	dir := t.TempDir()
	hcl, err := os.ReadFile(filepath.Join(root, "examples/agent/agent.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), "cd examples/agent && vault agent -config=agent.hcl") {
		t.Fatal("agent.hcl no longer says how to run it, or says it otherwise: update this test")
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "examples/agent/faz-session.ctmpl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "faz-session.ctmpl"), string(tmpl))
	writeFile(t, filepath.Join(dir, "vault-token"), rootToken)
	const addr = `"http://127.0.0.1:8200"`
	if !strings.Contains(string(hcl), addr) {
		t.Fatalf("agent.hcl names no %s to point at this test's Vault", addr)
	}
	startAgent(t, dir, strings.ReplaceAll(string(hcl), addr, `"`+v.addr+`"`))
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

// TestExampleAgentDynamicAdmin runs the Vault Agent example of a dynamic_admin role as shipped,
// only pointed at this test's Vault, against the role its comment gives: the rendered file is
// JSON naming an admin that exists upstream with that password; revoking the lease deletes it.
func TestExampleAgentDynamicAdmin(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "examples/agent-dynamic-admin")
	hcl, err := os.ReadFile(filepath.Join(src, "agent.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), "cd examples/agent-dynamic-admin && vault agent -config=agent.hcl") {
		t.Fatal("agent.hcl no longer says how to run it, or says it otherwise: update this test")
	}
	// The role as the example's comment writes it, on a config of the fake.
	m := regexp.MustCompile(`(?m)^#\s+vault write (forticloud/roles/\S+) config=(\S+) (.*)\\\n#\s+(.*)$`).FindStringSubmatch(string(hcl))
	if m == nil {
		t.Fatal("agent.hcl no longer gives the role it reads, as `vault write forticloud/roles/...` over two lines: update this test")
	}
	role := map[string]any{"config": m[2]}
	for _, kv := range strings.Fields(m[3] + " " + m[4]) {
		k, val, _ := strings.Cut(kv, "=")
		role[k] = val
	}
	write(t, c, "forticloud/config/"+m[2], fazAPIKey(t, f))
	write(t, c, m[1], role)

	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join(src, "faz-admin.json.ctmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tmpl), `secret "forticloud/creds/`+strings.TrimPrefix(m[1], "forticloud/roles/")+`"`) {
		t.Fatalf("the template reads another role than agent.hcl's comment writes (%s)", m[1])
	}
	writeFile(t, filepath.Join(dir, "faz-admin.json.ctmpl"), string(tmpl))
	writeFile(t, filepath.Join(dir, "vault-token"), rootToken)
	const addr = `"http://127.0.0.1:8200"`
	if !strings.Contains(string(hcl), addr) {
		t.Fatalf("agent.hcl names no %s to point at this test's Vault", addr)
	}
	agent := startAgent(t, dir, strings.ReplaceAll(string(hcl), addr, `"`+v.addr+`"`))
	var got struct{ URL, Username, Password string }
	waitFor(t, 30*time.Second, "the agent to render faz-admin.json", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "faz-admin.json"))
		return err == nil && json.Unmarshal(b, &got) == nil && got.Password != ""
	})
	if got.URL != f.URL || !slices.Contains(vaultAdmins(f), got.Username) {
		t.Fatalf("rendered url %q, username %q: want %s and an admin Vault made (%v)", got.URL, got.Username, f.URL, vaultAdmins(f))
	}
	if !loginAs(t, f, got.Username, got.Password) {
		t.Fatal("the rendered password does not log in")
	}
	agent.stop(20 * time.Second)
	if err := c.Sys().RevokePrefix("forticloud/creds/"); err != nil {
		t.Fatalf("revoke-prefix: %v", err)
	}
	if left := vaultAdmins(f); len(left) != 0 {
		t.Errorf("admins left after revoke: %v", left)
	}
}

// TestExampleTerraform applies examples/terraform with Terraform's Vault provider against a real
// Vault and the fake FAZ, reads creds through what it set up, checks that a second plan finds no
// drift, and destroys it all, which revokes the lease (the session is logged out upstream).
// With the fake FortiGate's root key it also sets up fw1 and ci-readonly: their creds make an
// api-user, which the destroy deletes with the mount.
// On a Vault without plugin version pins it applies the example as its variable says to there.
// `make integration` points TF_CLI_CONFIG_FILE at a local provider mirror
// (scripts/get-terraform-provider-vault.sh): no provider registry is reachable here.
func TestExampleTerraform(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		// This project's machines have terraform (it cannot be built from its module: its
		// go.mod replaces modules of its own that the module zip leaves out).
		if os.Getenv("CI") == "true" {
			t.Fatal("terraform is not on PATH: the Terraform example cannot be applied")
		}
		t.Skip("terraform is not on PATH")
	}
	if rc := os.Getenv("TF_CLI_CONFIG_FILE"); rc == "" || !fileExists(rc) {
		msg := fmt.Sprintf("TF_CLI_CONFIG_FILE=%q names no file: `make integration` points it at a provider mirror", rc)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Parallel()
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tf, "fmt", "-check", "-diff", filepath.Join(root, "examples/terraform")).CombinedOutput(); err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
	f, fgtKey := newFortiGate(t)
	f.AddFortiOSProfile("read_only", fortitest.FortiOSNoAccess) // the example role's accprofile
	v := newDevServer(t, serverOpts{mount: "-"})
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "examples/terraform/main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if version, err := os.ReadFile(filepath.Join(root, "VERSION")); err != nil || !regexp.MustCompile(
		`variable "plugin_version" \{\s*type\s*=\s*string\s*default\s*=\s*"`+regexp.QuoteMeta(strings.TrimSpace(string(version)))+`"`).Match(src) {
		t.Fatalf("examples/terraform: plugin_version's default is not the version in VERSION (%v)", err)
	}
	writeFile(t, filepath.Join(dir, "main.tf"), string(src))
	env := append(os.Environ(), "VAULT_ADDR="+v.addr, "VAULT_TOKEN="+rootToken, "TF_IN_AUTOMATION=1",
		"HOME="+dir, "TF_DATA_DIR="+filepath.Join(dir, ".terraform"))
	vars := []string{"-input=false", "-no-color", "-var", "faz_url=" + f.URL, "-var", "faz_username=" + adminUser,
		"-var", "faz_password=" + adminPassword, "-var", "faz_ca_cert=" + f.CACertPEM, "-var", "plugin_version=" + pluginVersion,
		"-var", "fgt_url=" + f.URL, "-var", "fgt_api_key=" + fgtKey, "-var", "fgt_ca_cert=" + f.CACertPEM,
		"-var", `fgt_trusted_hosts=["127.0.0.0/8"]`}
	pinned := !pluginPins.missing(t)
	if !pinned {
		vars = append(vars, "-var", "pin_plugin_version=false")
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tf, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
		return out
	}

	must("init", "-input=false", "-no-color")
	must(append([]string{"apply", "-auto-approve"}, vars...)...)
	mounts, err := v.client.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	if m := mounts["forticloud/"]; m == nil || m.Type != pluginName || m.RunningVersion != pluginVersion {
		t.Fatalf("after apply, mount forticloud/ is %+v; want type %s running %s", m, pluginName, pluginVersion)
	}
	pinPath := "sys/plugins/pins/secret/" + pluginName
	// Pinned, the pin holds the version; else the mount's own tune does.
	versionPath, versionField := pinPath, "version"
	if !pinned {
		versionPath, versionField = "sys/mounts/forticloud/tune", "plugin_version"
	}
	if got, err := v.client.Logical().Read(versionPath); err != nil || got == nil || got.Data[versionField] != pluginVersion {
		t.Fatalf("after apply, %s is %v (%v); want %s %s", versionPath, got, err, versionField, pluginVersion)
	}
	if d := readConfig(t, v.client, "faz"); d["rotation_schedule"] != "0 3 * * 0" || d["rotation_scheduler"] != "engine" || d["next_rotation"] == "" {
		t.Fatalf("after apply, config/faz's rotation schedule reads %v %v %v; want the example's, run by the engine (Community edition)",
			d["rotation_schedule"], d["rotation_scheduler"], d["next_rotation"])
	}
	s := readCreds(t, v.client, "forticloud", "soc")
	session, _ := s.Data["session"].(string)
	if !f.SessionAlive(session) {
		t.Fatal("creds/soc: the session is not live upstream")
	}
	if s.LeaseDuration != 900 {
		t.Errorf("creds/soc: lease_duration %d, want the role's ttl 900", s.LeaseDuration)
	}

	fs := readCreds(t, v.client, "forticloud", "ci-readonly")
	fgtUser, fgtLeased := str(t, fs, "username"), str(t, fs, "api_key")
	if u, ok := f.FortiOSAPIUser(fgtUser); !ok || u.Profile != "read_only" || !keyWorks(t, f, fgtLeased) {
		t.Fatalf("creds/ci-readonly: api-user %s is %+v (exists %v), or its key does not work", fgtUser, u, ok)
	}
	if fs.LeaseDuration != 1800 {
		t.Errorf("creds/ci-readonly: lease_duration %d, want the role's ttl 1800", fs.LeaseDuration)
	}

	// A second plan must find nothing to change: what the example writes is what Vault reads back.
	if out, err := run(append([]string{"plan", "-detailed-exitcode"}, vars...)...); err != nil {
		t.Fatalf("terraform plan after apply: %v (exit code 2 means drift)\n%s", err, out)
	}

	// The upgrade the example describes: register the next binary, apply with its version,
	// reload. The lease issued before it is renewed and revoked by the new version.
	next := pluginVersion + ".next"
	nextCmd := pluginName + "-next"
	if err := buildPluginVersion(filepath.Join(pluginDir, nextCmd), next); err != nil {
		t.Fatal(err)
	}
	sum, err := e2e.FileSHA256(filepath.Join(pluginDir, nextCmd))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.client.Sys().RegisterPlugin(&api.RegisterPluginInput{
		Name: pluginName, Type: api.PluginTypeSecrets, Command: nextCmd, SHA256: sum, Version: next,
	}); err != nil {
		t.Fatalf("register %s: %v", next, err)
	}
	for i, a := range vars {
		if strings.HasPrefix(a, "plugin_version=") {
			vars[i] = "plugin_version=" + next
		}
	}
	must(append([]string{"apply", "-auto-approve"}, vars...)...)
	if _, err := v.client.Sys().ReloadPlugin(&api.ReloadPluginInput{Plugin: pluginName}); err != nil {
		t.Fatalf("reload: %v", err)
	}
	waitFor(t, 30*time.Second, "forticloud/ to run "+next, func() bool {
		mounts, err := v.client.Sys().ListMounts()
		return err == nil && mounts["forticloud/"] != nil && mounts["forticloud/"].RunningVersion == next
	})
	if _, err := v.client.Sys().Renew(s.LeaseID, 600); err != nil {
		t.Fatalf("renew after the upgrade: %v", err)
	}
	if !f.SessionAlive(session) {
		t.Fatal("after the upgrade, the session is no longer live upstream")
	}

	must(append([]string{"destroy", "-auto-approve"}, vars...)...)
	if mounts, err := v.client.Sys().ListMounts(); err != nil || mounts["forticloud/"] != nil {
		t.Fatalf("after destroy, mount forticloud/ is still there (%v)", err)
	}
	if f.SessionAlive(session) {
		t.Fatal("after destroy, the session is still live upstream")
	}
	if _, ok := f.FortiOSAPIUser(fgtUser); ok {
		t.Fatal("after destroy, the FortiGate api-user is still there")
	}
	if !pinned {
		return
	}
	if pin, err := v.client.Logical().Read(pinPath); err != nil || pin != nil {
		t.Fatalf("after destroy, the plugin pin is still there: %v (%v)", pin, err)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
