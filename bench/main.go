// Command bench measures the engine through a real Vault: `make bench` runs it after the Go
// micro-benchmarks (go run ./bench). It starts the fake Fortinet API (client/fortitest) in
// process with a set latency a call, a Vault dev server (in-memory storage) with this plugin
// and the KV engine built as an external plugin, all on loopback, and measures in one run:
//
//   - creds latency (p50, p99) for each product, beside the upstream login alone (the same call
//     sent straight to cmd/forticloud-fake, run in a process of its own with the same latency)
//     and two floors in the same Vault: a read from the builtin KV engine and one from the KV
//     engine run as an external plugin; the engine's overhead is creds minus the upstream
//     login, compared with the external-KV read. The sequential samples are taken round robin,
//     one of each operation in turn, so that every operation sees the same machine;
//   - throughput at concurrency 1, 16 and 64 beside the ideal, concurrency / upstream latency;
//   - upstream TCP/TLS connections opened per 1,000 creds;
//   - revoke-prefix of 2,000 leases: its time, and the sessions left upstream after;
//   - the plugin process's RSS with 0 and with 5,000 outstanding leases.
//
// It prints a table and writes bench/results.json. Settings come from the environment:
//
//	BENCH_LATENCY   upstream latency a call (default 20ms)
//	BENCH_N         sequential samples of each operation (default 1000)
//	BENCH_PAUSE     pause before each sequential sample (default 5ms), so that each starts from
//	                an idle machine
//	BENCH_DURATION  length of each throughput run (default 5s)
//	BENCH_CONCURRENCY  the concurrencies of the throughput runs (default 1,16,64)
//	BENCH_OUT       results file (default bench/results.json)
//	BENCH_B         another checkout of this module: its plugin is built too, registered under
//	                its own name and mounted at forticloud-b/ beside forticloud/, with the same
//	                configs and roles, and measured alongside, request for request: an A/B
//	                comparison of a change under the same load (rows marked "B")
//	BENCH_PHASES    the phases to run, of warmup,latency,rss,revoke,throughput (default all)
//	BENCH_PPROF     a directory: run the plugin built with -tags pprof, which adds a pprof listener
//	                and write CPU profiles of the plugin and of Vault, taken during the
//	                concurrency-64 FAZ run, there
//	VAULT_BIN       the vault binary (default: scripts/get-vault.sh)
//	KV_PLUGIN_BIN   the KV plugin binary (default: scripts/get-kv-plugin.sh)
//
// Nothing here runs during `make test`. Timings are recorded, never asserted.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// settings of one run.
type settings struct {
	Latency  time.Duration `json:"-"`
	N        int           `json:"n"`
	Duration time.Duration `json:"-"`
	Pause    time.Duration `json:"-"`

	LatencyMS   float64 `json:"upstream_latency_ms"`
	DurationSec float64 `json:"throughput_run_seconds"`
	PauseMS     float64 `json:"pause_between_sequential_ms"`
	RSSLeases   int     `json:"rss_leases"`
	Revokes     int     `json:"revoke_leases"`
	Concurrency []int   `json:"concurrency"`
	concurrency []int
	pprofDir    string
	bDir        string
	out         string
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: not a duration (e.g. 20ms)", name, v)
	}
	return d, nil
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: not a positive number", name, v)
	}
	return n, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// bench is one run's world.
type bench struct {
	set     settings
	root    string
	vault   *vaultProc
	vh      *vaultHTTP
	fazFake *fortitest.Server // FortiAnalyzer sessions: the plugin's configs faz, faz-token
	lanFake *fortitest.Server // FortiLAN tokens and FortiCloud IAM: lan, lan-api
	direct  *fortitest.Server // the upstream login alone, from this same process
	fakeP   *fakeProc         // the upstream login alone, from another process
	upIn    *upstream         // calls direct
	up      *upstream         // calls fakeP
	res     results
}

func run() error {
	var set settings
	var err error
	if set.Latency, err = envDuration("BENCH_LATENCY", 20*time.Millisecond); err != nil {
		return err
	}
	if set.Latency <= 0 {
		return fmt.Errorf("BENCH_LATENCY must be above 0: the ideal throughput is concurrency / latency")
	}
	if set.N, err = envInt("BENCH_N", 1000); err != nil {
		return err
	}
	if set.Duration, err = envDuration("BENCH_DURATION", 5*time.Second); err != nil {
		return err
	}
	if set.Pause, err = envDuration("BENCH_PAUSE", 5*time.Millisecond); err != nil {
		return err
	}
	set.LatencyMS, set.DurationSec, set.PauseMS = ms(set.Latency), set.Duration.Seconds(), ms(set.Pause)
	set.RSSLeases, set.Revokes = 5000, 2000
	set.concurrency = []int{1, 16, 64}
	if v := os.Getenv("BENCH_CONCURRENCY"); v != "" {
		set.concurrency = nil
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || c <= 0 {
				return fmt.Errorf("BENCH_CONCURRENCY=%q: a list of positive numbers, e.g. 1,16,64", v)
			}
			set.concurrency = append(set.concurrency, c)
		}
	}
	set.Concurrency = set.concurrency
	set.pprofDir = os.Getenv("BENCH_PPROF")
	set.bDir = os.Getenv("BENCH_B")

	root, err := e2e.ModuleRoot()
	if err != nil {
		return err
	}
	set.out = os.Getenv("BENCH_OUT")
	if set.out == "" {
		set.out = filepath.Join(root, "bench", "results.json")
	}
	b := &bench{set: set, root: root}
	b.res.Settings = set
	b.res.Machine = machineInfo()
	logf("load average at start: %s", b.res.Machine.LoadStart)

	vaultBin := os.Getenv("VAULT_BIN")
	if vaultBin == "" {
		if vaultBin, err = scriptOutput(root, "get-vault.sh"); err != nil {
			return err
		}
	}
	kvBin := os.Getenv("KV_PLUGIN_BIN")
	if kvBin == "" {
		if kvBin, err = scriptOutput(root, "get-kv-plugin.sh"); err != nil {
			return err
		}
	}

	dir, err := os.MkdirTemp("", "forticloud-bench-")
	if err != nil {
		return err
	}
	keep := true // the logs stay for a look when the run fails
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		} else {
			logf("logs kept in %s", dir)
		}
	}()
	pluginDir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return err
	}
	logf("building the plugin")
	if err := buildPlugin(root, filepath.Join(pluginDir, pluginName), set.pprofDir != ""); err != nil {
		return fmt.Errorf("build the plugin: %w", err)
	}
	if set.bDir != "" {
		logf("building the plugin of %s (B)", set.bDir)
		if err := buildPlugin(set.bDir, filepath.Join(pluginDir, pluginName+"-b"), false); err != nil {
			return fmt.Errorf("build the plugin of BENCH_B: %w", err)
		}
		b.res.B = set.bDir
	}
	if err := copyFile(kvBin, filepath.Join(pluginDir, kvPluginName), 0o755); err != nil {
		return err
	}

	b.fazFake, b.lanFake, b.direct = newFake(set.Latency), newFake(set.Latency), newFake(set.Latency)
	defer b.fazFake.Close()
	defer b.lanFake.Close()
	defer b.direct.Close()
	b.upIn = newUpstream(b.direct.URL, b.direct.Client(), fakeCreds{admin: fazAdmin, password: fazPassword})
	if b.fakeP, err = startFakeProc(root, dir, set.Latency); err != nil {
		return err
	}
	defer b.fakeP.stop()
	b.up = newUpstream(b.fakeP.url, b.fakeP.hc, demoCreds)

	logf("starting Vault (%s)", vaultBin)
	b.vault, err = startVault(vaultBin, dir, pluginDir)
	if err != nil {
		return err
	}
	// Stop Vault, and its plugins with it, however the run ends.
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(b.vault.stop) }
	defer stop()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		logf("interrupted: stopping Vault and the fake")
		stop()
		b.fakeP.stop()
		os.Exit(130)
	}()
	b.vh = newVaultHTTP(b.vault.addr)
	b.res.Machine.VaultVersion = b.vault.version()
	b.res.kvVersion = kvVersion(kvBin)
	b.res.Machine.KVPlugin = "github.com/hashicorp/vault-plugin-secrets-kv " + b.res.kvVersion

	if err := b.setup(pluginDir); err != nil {
		return err
	}
	phases := os.Getenv("BENCH_PHASES")
	for _, phase := range []struct {
		name string
		fn   func() error
	}{
		{"warmup", b.warmup},
		{"latency", b.latency},
		{"rss", b.rss},
		{"revoke", b.revoke},
		{"throughput", b.throughput},
	} {
		if phases != "" && !slices.Contains(strings.Split(phases, ","), phase.name) {
			continue
		}
		logf("== %s", phase.name)
		if err := phase.fn(); err != nil {
			return fmt.Errorf("%s: %w", phase.name, err)
		}
	}
	b.res.Machine.LoadEnd = loadAvg()
	b.res.evaluate()
	stop()
	b.res.print(os.Stdout)
	out, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(set.out, append(out, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s", set.out)
	keep = false
	return nil
}

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

// setup registers and mounts both plugins, and writes the configs, roles and KV entries.
func (b *bench) setup(pluginDir string) error {
	ctx := context.Background()
	sys := b.vault.client.Sys()
	sum, err := e2e.FileSHA256(filepath.Join(pluginDir, pluginName))
	if err != nil {
		return err
	}
	reg := &api.RegisterPluginInput{Name: pluginName, Type: api.PluginTypeSecrets, Command: pluginName, SHA256: sum, Version: pluginVersion}
	if b.set.pprofDir != "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		b.res.pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		reg.Env = []string{"BENCH_PPROF_ADDR=" + b.res.pprofAddr}
	}
	if err := sys.RegisterPluginWithContext(ctx, reg); err != nil {
		return fmt.Errorf("register the plugin: %w", err)
	}
	kvSum, err := e2e.FileSHA256(filepath.Join(pluginDir, kvPluginName))
	if err != nil {
		return err
	}
	// Registered under a name of its own: Vault refuses a non-builtin version of "kv". Only the
	// kv type takes the version option, and the plugin is KV v1 without it, like the builtin
	// mounted with version 1.
	if err := sys.RegisterPluginWithContext(ctx, &api.RegisterPluginInput{
		Name: kvCatalogName, Type: api.PluginTypeSecrets, Command: kvPluginName, SHA256: kvSum, Version: b.res.kvVersion,
	}); err != nil {
		return fmt.Errorf("register the KV plugin: %w", err)
	}
	mounts := map[string]*api.MountInput{
		"forticloud": {Type: pluginName, Config: api.MountConfigInput{PluginVersion: pluginVersion}},
		"kv-builtin": {Type: "kv", Options: map[string]string{"version": "1"}},
		"kv-ext":     {Type: kvCatalogName, Config: api.MountConfigInput{PluginVersion: b.res.kvVersion}},
	}
	if b.set.bDir != "" {
		sumB, err := e2e.FileSHA256(filepath.Join(pluginDir, pluginName+"-b"))
		if err != nil {
			return err
		}
		if err := sys.RegisterPluginWithContext(ctx, &api.RegisterPluginInput{
			Name: pluginName + "-b", Type: api.PluginTypeSecrets, Command: pluginName + "-b", SHA256: sumB, Version: pluginVersion,
		}); err != nil {
			return fmt.Errorf("register the B plugin: %w", err)
		}
		mounts["forticloud-b"] = &api.MountInput{Type: pluginName + "-b", Config: api.MountConfigInput{PluginVersion: pluginVersion}}
	}
	for path, in := range mounts {
		if err := sys.MountWithContext(ctx, path, in); err != nil {
			return fmt.Errorf("mount %s: %w", path, err)
		}
	}
	// Make sure which is which: the builtin runs as v0.25.0+builtin, the external one as
	// registered, in a process of its own.
	all, err := sys.ListMountsWithContext(ctx)
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
	for _, mount := range b.mounts() {
		if err := b.configure(ctx, mount); err != nil {
			return err
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
		// login_rate_limit and call_rate_limit 0: FortiLAN's own 6 logins and 60 invalidations a
		// minute would be the whole measurement.
		"lan": {"type": "fortilan", "url": lan.URL, "auth_method": "email_user", "account_id": lanAccount,
			"username": lanUser, "password": lanPassword, "ca_cert": lan.CACertPEM, "login_rate_limit": 0, "call_rate_limit": 0},
		"lan-api": {"type": "fortilan", "url": lan.URL, "auth_method": "forticloud_api_user",
			"api_id": apiUser, "password": apiPassword, "auth_url": lan.URL, "ca_cert": lan.CACertPEM, "login_rate_limit": 0},
	}
	for name, cfg := range configs {
		if _, err := b.vault.client.Logical().WriteWithContext(ctx, mount+"/config/"+name, cfg); err != nil {
			return fmt.Errorf("%s/config/%s: %w", mount, name, err)
		}
	}
	roles := map[string]string{"faz": "faz", "faz-token": "faz-token", "lan": "lan", "lan-api": "lan-api", "faz-revoke": "faz"}
	for role, cfg := range roles {
		if _, err := b.vault.client.Logical().WriteWithContext(ctx, mount+"/roles/"+role,
			map[string]any{"config": cfg, "ttl": "1h", "max_ttl": "2h"}); err != nil {
			return fmt.Errorf("%s/roles/%s: %w", mount, role, err)
		}
	}
	return nil
}

func (b *bench) creds(role string) func() error { return b.credsAt("forticloud", role) }

func (b *bench) credsAt(mount, role string) func() error {
	path := mount + "/creds/" + role
	return func() error { return b.vh.read(path) }
}

// warmup sends every kind of request a few times, and fills the connection pools at the
// highest concurrency measured, then ends every lease it made.
func (b *bench) warmup() error {
	ops := b.sequentialOps()
	if _, err := sequential(ops, 20, 0); err != nil {
		return err
	}
	for _, mount := range b.mounts() {
		for _, role := range []string{"faz", "lan"} {
			if r := load(64, 0, 640, b.credsAt(mount, role)); r.Errors > 0 {
				return fmt.Errorf("%s/creds/%s at concurrency 64: %d errors, first: %s", mount, role, r.Errors, r.FirstError)
			}
		}
	}
	if err := b.cleanupUpstream(); err != nil {
		return err
	}
	_, err := b.drain()
	return err
}

// sequentialOps are the operations measured one at a time, named as the table shows them.
func (b *bench) sequentialOps() []op {
	ops := []op{
		{"kv read, builtin", func() error { return b.vh.read("kv-builtin/bench") }},
		{"kv read, external plugin", func() error { return b.vh.read("kv-ext/bench") }},
		{"upstream, fake in this process: FAZ /sys/login/user", b.upIn.fazLogin},
	}
	for _, c := range b.comparisons() {
		if c.upstream != "" && c.upstreamFn != nil {
			ops = append(ops, op{c.upstream, c.upstreamFn})
		}
		ops = append(ops, op{c.creds, b.credsAt(c.mount, c.role)})
	}
	return ops
}

// comparison pairs a product's creds with its upstream login.
type comparison struct {
	product, creds, upstream string
	mount, role              string
	upstreamFn               func() error // nil when another comparison measures it
}

func (b *bench) comparisons() []comparison {
	base := []comparison{
		{"FAZ local_user", "creds: FAZ local_user", "upstream: FAZ /sys/login/user", "forticloud", "faz", b.up.fazLogin},
		{"FAZ forticloud_token", "creds: FAZ forticloud_token", "upstream: FAZ /sys/login/cloud", "forticloud", "faz-token", b.up.fazCloudLogin},
		{"FortiLAN email_user", "creds: FortiLAN email_user", "upstream: FortiLAN /api/v1/auth", "forticloud", "lan", b.up.lanLogin},
		// A share of a live token: no upstream call at all, so the whole time is the engine's.
		{"FortiLAN api_user (shared token)", "creds: FortiLAN api_user (shared token)", "", "forticloud", "lan-api", nil},
	}
	if b.set.bDir == "" {
		return base
	}
	var out []comparison
	for _, c := range base {
		out = append(out, c)
		cb := c
		cb.product, cb.creds, cb.mount, cb.upstreamFn = "B "+c.product, "B "+c.creds, "forticloud-b", nil
		out = append(out, cb)
	}
	return out
}

func (b *bench) latency() error {
	ops := b.sequentialOps()
	fazConns, lanConns := b.fazFake.Connections(), b.lanFake.Connections()
	samples, err := sequential(ops, b.set.N, b.set.Pause)
	if err != nil {
		return err
	}
	fazConns, lanConns = b.fazFake.Connections()-fazConns, b.lanFake.Connections()-lanConns
	for _, o := range ops {
		b.res.Latency = append(b.res.Latency, latencyRow{Name: o.name, Stats: summarise(samples[o.name])})
	}
	get := func(name string) stats { return summarise(samples[name]) }
	ext := get("kv read, external plugin")
	for _, c := range b.comparisons() {
		cr := get(c.creds)
		row := overheadRow{Product: c.product, CredsP50: cr.P50, CredsP99: cr.P99, ExtKVP50: ext.P50}
		if c.upstream != "" {
			up := get(c.upstream)
			row.UpstreamP50, row.UpstreamP99 = up.P50, up.P99
		}
		row.OverheadP50 = cr.P50 - row.UpstreamP50
		row.OverheadP99 = cr.P99 - row.UpstreamP99
		if ext.P50 > 0 {
			row.Ratio = row.OverheadP50 / ext.P50
		}
		b.res.Overhead = append(b.res.Overhead, row)
	}
	n := b.set.N * len(b.mounts()) // creds of each mount reach the same fakes
	// Every connection since the fakes started, for comparison: each config write's
	// verify_connection (a transport of its own), then the warm-up, at concurrency 64 too.
	b.res.Connections = append(b.res.Connections,
		connRow{Host: "FAZ fake", Phase: "since start", Conns: b.fazFake.Connections()},
		connRow{Host: "FortiLAN fake", Phase: "since start", Conns: b.lanFake.Connections()})
	b.res.Connections = append(b.res.Connections,
		connRow{Host: "FAZ fake (configs faz, faz-token)", Phase: "sequential", Creds: 2 * n, Conns: fazConns, Per1000: per1000(fazConns, 2*n)},
		// lan-api's creds mostly reuse the shared token: only lan's logins surely reach the host.
		connRow{Host: "FortiLAN fake (configs lan, lan-api)", Phase: "sequential", Creds: 2 * n, Conns: lanConns, Per1000: per1000(lanConns, 2*n)},
	)
	return b.cleanupUpstream()
}

// cleanupUpstream ends what the upstream-alone measurements opened.
func (b *bench) cleanupUpstream() error {
	if err := b.upIn.cleanup(); err != nil {
		return err
	}
	return b.up.cleanup()
}

func per1000(conns, creds int) float64 {
	if creds == 0 {
		return 0
	}
	return float64(conns) * 1000 / float64(creds)
}

// live counts what is alive on the plugin's fakes: sessions, FortiLAN tokens, IAM tokens.
func (b *bench) live() int {
	return b.fazFake.LiveSessions() + b.lanFake.LiveLANTokens() + b.lanFake.LiveOAuthTokens()
}

// leases counts Vault's leases under <mount>/creds/ of every mount of the plugin.
func (b *bench) leases() (int, error) {
	n := 0
	for _, mount := range b.mounts() {
		roles, err := b.vault.client.Logical().List("sys/leases/lookup/" + mount + "/creds/")
		if err != nil {
			return 0, err
		}
		if roles == nil {
			continue
		}
		keys, _ := roles.Data["keys"].([]any)
		for _, k := range keys {
			s, err := b.vault.client.Logical().List("sys/leases/lookup/" + mount + "/creds/" + fmt.Sprint(k))
			if err != nil {
				return 0, err
			}
			if s != nil {
				ids, _ := s.Data["keys"].([]any)
				n += len(ids)
			}
		}
	}
	return n, nil
}

// drain revokes every lease under forticloud/creds/ in the background (revoke-prefix with
// sync=false: Vault's expiration manager revokes them with its pool of workers) and waits until
// Vault holds none and nothing is left alive upstream. It returns how long that took.
func (b *bench) drain() (time.Duration, error) {
	start := time.Now()
	for _, mount := range b.mounts() {
		if _, err := b.vh.do(http.MethodPut, "sys/leases/revoke-prefix/"+mount+"/creds", []byte(`{"sync":false}`)); err != nil {
			return 0, err
		}
	}
	deadline := start.Add(10 * time.Minute)
	for {
		n, err := b.leases()
		if err != nil {
			return 0, err
		}
		if n == 0 && b.live() == 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("after 10 minutes, %d leases and %d live upstream credentials remain", n, b.live())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bench) pluginRSS() (int, int64, error) {
	pids := b.vault.childPIDs(pluginName)
	if len(pids) != 1 {
		return 0, 0, fmt.Errorf("want one plugin process, found %v", pids)
	}
	kb, err := rssKB(pids[0])
	return pids[0], kb, err
}

// rss reads the plugin's RSS with no lease, then with 5,000 outstanding leases, and ends them.
func (b *bench) rss() error {
	if _, err := b.drain(); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	pid, before, err := b.pluginRSS()
	if err != nil {
		return err
	}
	vaultBefore, _ := rssKB(b.vault.pid())
	r := load(16, 0, b.set.RSSLeases, b.creds("faz"))
	if r.Errors > 0 {
		return fmt.Errorf("%d errors issuing leases, first: %s", r.Errors, r.FirstError)
	}
	time.Sleep(2 * time.Second)
	pid2, after, err := b.pluginRSS()
	if err != nil {
		return err
	}
	if pid2 != pid {
		return fmt.Errorf("the plugin process changed (%d, then %d): it restarted", pid, pid2)
	}
	vaultAfter, _ := rssKB(b.vault.pid())
	n, err := b.leases()
	if err != nil {
		return err
	}
	b.res.RSS = rssRow{PluginPID: pid, Leases: n, PluginKB0: before, PluginKBN: after, GrowthKB: after - before,
		VaultKB0: vaultBefore, VaultKBN: vaultAfter}
	d, err := b.drain()
	if err != nil {
		return err
	}
	b.res.Revoke.AsyncLeases, b.res.Revoke.AsyncSeconds = n, d.Seconds()
	return nil
}

// revoke issues 2,000 leases and times a synchronous revoke-prefix of them (the API default),
// then counts what is left alive upstream.
func (b *bench) revoke() error {
	r := load(16, 0, b.set.Revokes, b.creds("faz-revoke"))
	if r.Errors > 0 {
		return fmt.Errorf("%d errors issuing leases, first: %s", r.Errors, r.FirstError)
	}
	n, err := b.leases()
	if err != nil {
		return err
	}
	liveBefore := b.fazFake.LiveSessions()
	start := time.Now()
	if _, err := b.vh.do(http.MethodPut, "sys/leases/revoke-prefix/forticloud/creds/faz-revoke", []byte(`{"sync":true}`)); err != nil {
		return err
	}
	el := time.Since(start)
	left, err := b.leases()
	if err != nil {
		return err
	}
	b.res.Revoke.Leases, b.res.Revoke.LiveBefore = n, liveBefore
	b.res.Revoke.Seconds = el.Seconds()
	b.res.Revoke.PerLeaseMS = ms(el) / float64(max(n, 1))
	b.res.Revoke.LiveAfter, b.res.Revoke.LeasesAfter = b.fazFake.LiveSessions(), left
	return nil
}

// throughput runs closed loops at concurrency 1, 16 and 64 for FAZ and FortiLAN creds. Each
// run starts with no lease outstanding, so that the fake's session table is as small in every
// run.
func (b *bench) throughput() error {
	for _, p := range []struct {
		product, role string
		fake          *fortitest.Server
	}{{"FAZ local_user", "faz", b.fazFake}, {"FortiLAN email_user", "lan", b.lanFake}} {
		for _, c := range b.set.concurrency {
			for _, mount := range b.mounts() {
				if err := b.throughputRun(p.product, p.role, p.fake, mount, c); err != nil {
					return err
				}
			}
		}
	}
	// The floors: what Vault and an external plugin sustain on this machine for the least
	// request there is, with no upstream call.
	for _, f := range []struct {
		name, path string
		cs         []int
		mount      string
	}{{"kv read, external plugin", "kv-ext/bench", b.set.concurrency, "kv-ext"}, {"kv read, builtin", "kv-builtin/bench", []int{64}, "kv-builtin"}} {
		for _, c := range f.cs {
			read := func() error { return b.vh.read(f.path) }
			load(c, 500*time.Millisecond, 0, read)
			cpu := b.cpuSnapshotOf(f.mount)
			r := load(c, b.set.Duration, 0, read)
			if r.Errors > 0 {
				return fmt.Errorf("%s at concurrency %d: %d errors, first: %s", f.path, c, r.Errors, r.FirstError)
			}
			b.res.Throughput = append(b.res.Throughput, throughputRow{Product: f.name, loadResult: r, CPU: b.cpuSnapshotOf(f.mount).sub(cpu, r.Requests)})
			logf("%s concurrency %d: %.0f/s, p50 %.1f ms", f.name, c, r.PerSecond, r.Latency.P50)
		}
	}
	return nil
}

// cpuSnapshot is the CPU time used so far by Vault, the plugin and this process (the fakes
// and the load generator).
type cpuSnap struct{ vault, plugin, bench time.Duration }

// cpuSnapshotOf counts the plugin process that serves mount.
func (b *bench) cpuSnapshotOf(mount string) cpuSnap {
	bin := pluginName
	switch mount {
	case "forticloud-b":
		bin += "-b"
	case "kv-ext":
		bin = kvPluginName
	case "kv-builtin":
		bin = ""
	}
	s := cpuSnap{vault: cpuTime(b.vault.pid()), bench: cpuTime(os.Getpid())}
	for _, pid := range b.vault.childPIDs(bin) {
		s.plugin += cpuTime(pid)
	}
	return s
}

// cpuPerCreds is CPU time per creds, by process, in ms.
type cpuPerCreds struct {
	Vault  float64 `json:"vault_ms"`
	Plugin float64 `json:"plugin_ms"`
	Bench  float64 `json:"fake_and_load_ms"`
	Total  float64 `json:"total_ms"`
}

func (s cpuSnap) sub(before cpuSnap, n int) cpuPerCreds {
	if n == 0 {
		return cpuPerCreds{}
	}
	per := func(d time.Duration) float64 { return ms(d) / float64(n) }
	c := cpuPerCreds{Vault: per(s.vault - before.vault), Plugin: per(s.plugin - before.plugin), Bench: per(s.bench - before.bench)}
	c.Total = c.Vault + c.Plugin + c.Bench
	return c
}

// throughputRun is one closed loop of creds at concurrency c, started with no lease
// outstanding.
func (b *bench) throughputRun(product, role string, fake *fortitest.Server, mount string, c int) error {
	if _, err := b.drain(); err != nil {
		return err
	}
	if mount != "forticloud" {
		product = "B " + product
	}
	creds := b.credsAt(mount, role)
	load(c, 500*time.Millisecond, 0, creds) // warm-up
	conns := fake.Connections()
	cpu := b.cpuSnapshotOf(mount)
	var prof *profiler
	if b.set.pprofDir != "" && c == 64 && role == "faz" && mount == "forticloud" {
		prof = b.startProfiles(b.set.Duration)
	}
	r := load(c, b.set.Duration, 0, creds)
	if prof != nil {
		prof.wait()
	}
	conns = fake.Connections() - conns
	cpuUsed := b.cpuSnapshotOf(mount).sub(cpu, r.Requests)
	if r.Errors > 0 {
		return fmt.Errorf("%s/creds/%s at concurrency %d: %d errors, first: %s", mount, role, c, r.Errors, r.FirstError)
	}
	ideal := float64(c) / b.set.Latency.Seconds()
	b.res.Throughput = append(b.res.Throughput, throughputRow{Product: product, loadResult: r,
		Ideal: ideal, PctIdeal: 100 * r.PerSecond / ideal, Conns: conns, CPU: cpuUsed})
	b.res.Connections = append(b.res.Connections, connRow{Host: product + " fake",
		Phase: fmt.Sprintf("concurrency %d", c), Creds: r.Requests, Conns: conns, Per1000: per1000(conns, r.Requests)})
	logf("%s concurrency %d: %.0f/s (ideal %.0f/s), p50 %.1f ms", product, c, r.PerSecond, ideal, r.Latency.P50)
	return nil
}

// profiler fetches CPU profiles of the plugin and of Vault over one run.
type profiler struct{ wg sync.WaitGroup }

func (p *profiler) wait() { p.wg.Wait() }

func (b *bench) startProfiles(d time.Duration) *profiler {
	p := &profiler{}
	secs := max(1, int(d.Seconds()))
	fetch := func(url, token, file string) {
		defer p.wg.Done()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("X-Vault-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			logf("profile %s: %v", url, err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			logf("profile %s: HTTP %d", url, resp.StatusCode)
			return
		}
		path := filepath.Join(b.set.pprofDir, file)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			logf("profile: %v", err)
			return
		}
		logf("wrote %s", path)
	}
	if err := os.MkdirAll(b.set.pprofDir, 0o755); err != nil {
		logf("profile: %v", err)
		return p
	}
	p.wg.Add(2)
	go fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", b.res.pprofAddr, secs), "", "plugin-cpu.pprof")
	go fetch(fmt.Sprintf("%s/v1/sys/pprof/profile?seconds=%d", b.vault.addr, secs), rootToken, "vault-cpu.pprof")
	return p
}

// ---- the machine ----

type machine struct {
	NProc        int    `json:"nproc"`
	CPU          string `json:"cpu_model"`
	Kernel       string `json:"kernel"`
	Go           string `json:"go_version"`
	VaultVersion string `json:"vault_version"`
	KVPlugin     string `json:"kv_plugin"`
	Date         string `json:"date"`
	LoadStart    string `json:"load_start"`
	LoadEnd      string `json:"load_end"`
}

func machineInfo() machine {
	m := machine{NProc: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load averages, as uptime shows them.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
