package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

// Credentials the fakes know. They open nothing but the fakes.
const (
	fazAdmin    = "bench-admin"
	fazPassword = "bench-admin-password"
	cloudToken  = "bench-forticloud-token"
	lanAccount  = "bench-acct@example.com"
	lanUser     = "bench-user@example.com"
	lanPassword = "bench-lan-password"
	apiID       = "BENCH-API-USER"
	apiPassword = "bench-api-password"
)

// newFake starts an in-process fake that knows the bench's credentials, with no FortiLAN rate
// limit and room for any number of sessions.
func newFake(latency time.Duration) *fortitest.Server {
	f := fortitest.NewServer()
	f.AddAdmin(fazAdmin, fazPassword)
	f.AddCloudToken(cloudToken, 0)
	f.AddLANUser(lanAccount, lanUser, lanPassword, false)
	f.AddAPIUser(apiID, apiPassword)
	f.AddAPIUser(apiID+"-B", apiPassword)
	f.SetAuthRateLimit(0)
	f.SetCallRateLimit(0)
	f.SetLoginMax(1 << 30)
	f.SetLatency(latency)
	return f
}

// setup registers and mounts the plugins, and writes the configs, roles and KV entries.
func (b *bench) setup() error {
	ctx := context.Background()
	mounts, err := b.register(ctx)
	if err != nil {
		return err
	}
	sys := b.vault.client.Sys()
	for path, in := range mounts {
		if err := sys.MountWithContext(ctx, path, in); err != nil {
			return fmt.Errorf("mount %s: %w", path, err)
		}
	}
	if err := b.checkKV(ctx); err != nil {
		return err
	}
	for _, mount := range b.mounts() {
		if err := b.configure(ctx, mount); err != nil {
			return err
		}
	}
	return nil
}

// register puts the plugins in Vault's catalog by SHA-256 and returns the mounts to make.
func (b *bench) register(ctx context.Context) (map[string]*api.MountInput, error) {
	reg := catalogEntry(pluginName, pluginName, pluginVersion)
	if b.set.pprofDir != "" {
		port, err := b.ports.Pair()
		if err != nil {
			return nil, err
		}
		b.res.pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		reg.Env = []string{"BENCH_PPROF_ADDR=" + b.res.pprofAddr}
	}
	// The KV plugin under a name of its own: Vault refuses a non-builtin version of "kv". Only
	// the kv type takes the version option, and the plugin is KV v1 without it, like the
	// builtin mounted with version 1.
	regs := []*api.RegisterPluginInput{reg, catalogEntry(kvCatalogName, kvPluginName, b.res.kvVersion)}
	mounts := map[string]*api.MountInput{
		"forticloud": {Type: pluginName, Config: api.MountConfigInput{PluginVersion: pluginVersion}},
		"kv-builtin": {Type: "kv", Options: map[string]string{"version": "1"}},
		"kv-ext":     {Type: kvCatalogName, Config: api.MountConfigInput{PluginVersion: b.res.kvVersion}},
	}
	if b.set.bDir != "" {
		regs = append(regs, catalogEntry(pluginName+"-b", pluginName+"-b", pluginVersion))
		mounts["forticloud-b"] = &api.MountInput{Type: pluginName + "-b", Config: api.MountConfigInput{PluginVersion: pluginVersion}}
	}
	for _, r := range regs {
		sum, err := e2e.FileSHA256(filepath.Join(b.pluginDir(), r.Command))
		if err != nil {
			return nil, err
		}
		r.SHA256 = sum
		if err := b.vault.client.Sys().RegisterPluginWithContext(ctx, r); err != nil {
			return nil, fmt.Errorf("register %s: %w", r.Name, err)
		}
	}
	return mounts, nil
}

// catalogEntry is a secrets plugin's catalog entry, its SHA-256 still to fill in.
func catalogEntry(name, command, version string) *api.RegisterPluginInput {
	return &api.RegisterPluginInput{Name: name, Type: api.PluginTypeSecrets, Command: command, Version: version}
}

// checkKV makes sure which KV is which (the builtin runs as v0.25.0+builtin, the external one
// as registered, in a process of its own), and writes the entry both floors read.
func (b *bench) checkKV(ctx context.Context) error {
	all, err := b.vault.client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return err
	}
	for path, want := range map[string]string{"kv-builtin/": "+builtin", "kv-ext/": b.res.kvVersion} {
		m := all[path]
		if m == nil || !strings.HasSuffix(m.RunningVersion, want) || (want != "+builtin") == (m.RunningSha256 == "") {
			return fmt.Errorf("mount %s runs %+v, want version ending %q", path, m, want)
		}
	}
	if pids := b.vault.childPIDs(kvPluginName); len(pids) != 1 {
		return fmt.Errorf("want one external KV plugin process, found %v", pids)
	}
	for _, kv := range []string{"kv-builtin", "kv-ext"} {
		if _, err := b.vault.client.Logical().WriteWithContext(ctx, kv+"/bench", map[string]any{"username": "bench", "password": "not-a-secret"}); err != nil {
			return fmt.Errorf("write %s/bench: %w", kv, err)
		}
	}
	return nil
}

// mounts are the mounts of the plugin: forticloud, and forticloud-b with BENCH_B.
func (b *bench) mounts() []string {
	if b.set.bDir != "" {
		return []string{"forticloud", "forticloud-b"}
	}
	return []string{"forticloud"}
}

// configure writes the configs and roles of one mount.
func (b *bench) configure(ctx context.Context, mount string) error {
	faz, lan := b.fazFake, b.lanFake
	// Each mount's shared token is its API user's own: minting one kills the last.
	apiUser := apiID
	if mount != "forticloud" {
		apiUser += "-B"
	}
	configs := map[string]map[string]any{
		"faz": {"type": "fortianalyzer", "url": faz.URL, "auth_method": "local_user",
			"username": fazAdmin, "password": fazPassword, "ca_cert": faz.CACertPEM},
		"faz-token": {"type": "fortianalyzer", "url": faz.URL, "auth_method": "forticloud_token",
			"token": cloudToken, "ca_cert": faz.CACertPEM},
		"faz-key": {"type": "fortianalyzer", "url": faz.URL, "auth_method": "api_key",
			"api_key": faz.AddAPIKey(fazAdmin), "ca_cert": faz.CACertPEM},
		// login_rate_limit and call_rate_limit 0: FortiLAN's own 6 logins and 60 invalidations a
		// minute would be the whole measurement.
		"lan": {"type": "fortilan", "url": lan.URL, "auth_method": "email_user", "account_id": lanAccount,
			"username": lanUser, "password": lanPassword, "ca_cert": lan.CACertPEM, "login_rate_limit": 0, "call_rate_limit": 0},
		"fgt": fgtConfig(faz, mount),
		"lan-api": {"type": "fortilan", "url": lan.URL, "auth_method": "forticloud_api_user",
			"api_id": apiUser, "password": apiPassword, "auth_url": lan.URL, "ca_cert": lan.CACertPEM, "login_rate_limit": 0},
	}
	for name, cfg := range configs {
		if _, err := b.vault.client.Logical().WriteWithContext(ctx, mount+"/config/"+name, cfg); err != nil {
			return fmt.Errorf("%s/config/%s: %w", mount, name, err)
		}
	}
	roles := map[string]map[string]any{"faz-dyn": dynRole("faz-key"), "faz-dyn-user": dynRole("faz"), "fgt": fgtRole("fgt")}
	for role, cfg := range map[string]string{"faz": "faz", "faz-token": "faz-token", "lan": "lan", "lan-api": "lan-api", "faz-revoke": "faz"} {
		roles[role] = map[string]any{"config": cfg, "ttl": "1h", "max_ttl": "2h"}
	}
	for name, role := range roles {
		if _, err := b.vault.client.Logical().WriteWithContext(ctx, mount+"/roles/"+name, role); err != nil {
			return fmt.Errorf("%s/roles/%s: %w", mount, name, err)
		}
	}
	return nil
}

func (b *bench) creds(role string) func() error { return b.credsAt("forticloud", role) }

func (b *bench) credsAt(mount, role string) func() error {
	path := mount + "/creds/" + role
	return func() error { return b.vh.read(path) }
}
