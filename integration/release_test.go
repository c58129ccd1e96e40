package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
)

// TestGuideInstall builds a release as `make release` does (this platform only), then runs the
// install commands of docs/guide.md as written, with only the plugin directory and Vault's
// address changed: the checksums verify, the binary registers under its own file name, and the
// mount runs the version stamped in, which is the one in VERSION, in the guide and in
// CHANGELOG.md.
func TestGuideInstall(t *testing.T) {
	t.Parallel()
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(b))
	changelog, err := os.ReadFile(filepath.Join(root, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^## ` + regexp.QuoteMeta(version) + `\b`).Match(changelog) {
		t.Errorf("CHANGELOG.md has no heading for %s", version)
	}

	guide, err := os.ReadFile(filepath.Join(root, "docs/guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Install\n.*?```sh\n(.*?)```").FindSubmatch(guide)
	if m == nil {
		t.Fatal("docs/guide.md has no sh block under ## Install")
	}
	script := string(m[1])
	if want := "v=" + version + "\n"; !strings.Contains(script, want) {
		t.Fatalf("the guide's install sets no %q (VERSION):\n%s", want, script)
	}
	const plugins = "/etc/vault/plugins/"
	if !strings.Contains(script, plugins) {
		t.Fatalf("the guide's install copies to no %s: update this test", plugins)
	}
	f := newFake(t)
	v := newDevServer(t, serverOpts{mount: "-"})
	dir := t.TempDir()
	// The one change: the plugin directory is this test's Vault's.
	script = strings.ReplaceAll(script, plugins, pluginDir+"/")
	// The guide's binary is linux_amd64; this machine's may differ.
	script = strings.ReplaceAll(script, "_linux_amd64", "_"+runtime.GOOS+"_"+runtime.GOARCH)

	mk := exec.Command("make", "release", "DIST="+filepath.Join(dir, "dist"), "PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(vaultBin, filepath.Join(bin, "vault")); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
	sh.Dir = dir
	sh.Env = append(e2e.ChildEnv(dir), "PATH="+bin+":"+os.Getenv("PATH"), "VAULT_ADDR="+v.addr, "VAULT_TOKEN="+rootToken)
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the guide's install: %v\n%s\n%s", err, script, out)
	}

	mounts, err := v.client.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	mt := mounts["forticloud/"]
	if mt == nil || mt.Type != pluginName || mt.RunningVersion != version {
		t.Fatalf("after the guide's install, forticloud/ is %+v; want %s running %s", mt, pluginName, version)
	}
	configure(t, v.client, "forticloud", "demo", fazLocal(f))
	s := readCreds(t, v.client, "forticloud", "demo")
	if !f.SessionAlive(s.Data["session"].(string)) {
		t.Fatal("the session is not live upstream")
	}
}
