package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
)

const (
	pluginName    = "vault-plugin-secrets-forticloud"
	pluginVersion = "v0.0.0-bench"
	kvPluginName  = "vault-plugin-secrets-kv"
	kvCatalogName = "kv-external"
)

// buildPlugin builds the plugin of the checkout at root as `make build` does, with the bench
// version stamped in. With pprof set, it is built with -tags pprof: the same plugin with a pprof
// listener.
func buildPlugin(root, out string, pprof bool) error {
	args := []string{"build", "-trimpath", "-ldflags", "-s -w -X " + e2e.Module + "/backend.Version=" + pluginVersion, "-o", out}
	if pprof {
		args = append(args, "-tags", "pprof")
	}
	cmd := exec.Command("go", append(args, "./cmd/"+pluginName)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// toolPath is the binary an environment variable names, else the last line one of the
// repository's scripts/ prints.
func toolPath(root, env, script string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	cmd := exec.Command(filepath.Join(root, "scripts", script))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// kvVersion reads the KV plugin's version from the cache path scripts/get-kv-plugin.sh uses,
// else KV_PLUGIN_VERSION, else v0.25.0 (what Vault 1.21's go.mod pins).
func kvVersion(bin string) string {
	if v := filepath.Base(filepath.Dir(bin)); strings.HasPrefix(v, "v") && strings.Count(v, ".") == 2 {
		return v
	}
	if v := os.Getenv("KV_PLUGIN_VERSION"); v != "" {
		return v
	}
	return "v0.25.0"
}
