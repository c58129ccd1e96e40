package integration_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// TestRegisterAndEnable: the catalog holds the plugin by SHA-256 and version, and the mount runs
// exactly that binary, reporting the version it was registered with (backend.RunningVersion).
func TestRegisterAndEnable(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	ctx := context.Background()

	p, err := v.client.Sys().GetPluginWithContext(ctx, &api.GetPluginInput{
		Name: pluginName, Type: api.PluginTypeSecrets, Version: pluginVersion,
	})
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	if p.SHA256 != pluginSHA || p.Version != pluginVersion || p.Command != pluginName || p.Builtin {
		t.Fatalf("catalog entry: sha256 %q version %q command %q builtin %v; want %q %q %q false",
			p.SHA256, p.Version, p.Command, p.Builtin, pluginSHA, pluginVersion, pluginName)
	}
	list, err := v.client.Sys().ListPluginsWithContext(ctx, &api.ListPluginsInput{Type: api.PluginTypeSecrets})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range list.Details {
		if d.Name == pluginName {
			found = true
			if d.Version != pluginVersion || d.Builtin {
				t.Errorf("catalog list: %s version %q builtin %v", d.Name, d.Version, d.Builtin)
			}
		}
	}
	if !found {
		t.Errorf("catalog list lacks %s", pluginName)
	}

	// Until a request reaches it, the mount may not have started the plugin: make it run.
	configure(t, v.client, "forticloud", "faz", fazLocal(f))

	mounts, err := v.client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := mounts["forticloud/"]
	if m == nil {
		t.Fatalf("sys/mounts has no forticloud/: %v", mounts)
	}
	if m.Type != pluginName {
		t.Errorf("mount type %q, want %q", m.Type, pluginName)
	}
	if m.PluginVersion != pluginVersion {
		t.Errorf("mount plugin_version %q, want %q", m.PluginVersion, pluginVersion)
	}
	if m.RunningVersion != pluginVersion {
		t.Errorf("mount running_plugin_version %q, want %q (the version stamped into the binary)", m.RunningVersion, pluginVersion)
	}
	if m.RunningSha256 != pluginSHA {
		t.Errorf("mount running_sha256 %q, want %q", m.RunningSha256, pluginSHA)
	}

	// The plugin runs as a process of its own, started by this Vault.
	if pids := v.pluginPIDs(); len(pids) != 1 {
		t.Errorf("plugin processes under Vault: %v, want exactly one", pids)
	}
	// Vault asks the binary for its version at registration (RunningVersion) and refuses one
	// that differs: registering this binary as another version must fail, naming both.
	err = v.client.Sys().RegisterPluginWithContext(ctx, &api.RegisterPluginInput{
		Name: pluginName, Type: api.PluginTypeSecrets, Command: pluginName, SHA256: pluginSHA, Version: "v9.9.9",
	})
	if err == nil || !strings.Contains(err.Error(), "did not match") || !strings.Contains(err.Error(), pluginVersion) {
		t.Errorf("registering the binary as v9.9.9: %v, want a refusal naming its own version %s", err, pluginVersion)
	}
}
