// Command bench measures the engine through a real Vault: `make bench` runs it after the Go
// micro-benchmarks (go run ./bench). It starts the fake Fortinet API (client/fortitest) in
// process with a set latency a call, a Vault dev server (in-memory storage) with this plugin
// and the KV engine built as an external plugin, all on loopback, and measures in one run:
//
//   - creds latency (p50, p99) for each product, beside the upstream login alone (the same call
//     sent straight to cmd/forticloud-fake, run in a process of its own with the same latency;
//     for a dynamic_admin role, every call its creds make: add, get and login as the admin; for a
//     FortiGate api_user role, create and generate-key)
//     and two floors in the same Vault: a read from the builtin KV engine and one from the KV
//     engine run as an external plugin; the engine's overhead is creds minus the upstream
//     login, compared with the external-KV read. The sequential samples are taken round robin,
//     one of each operation in turn, so that every operation sees the same machine;
//   - throughput at concurrency 1, 16 and 64 beside the ideal, concurrency / upstream latency;
//   - upstream TCP/TLS connections opened per 1,000 creds;
//   - revoke-prefix of 2,000 leases: its time, and the sessions left upstream after;
//   - the plugin process's RSS with 0 and with 5,000 outstanding leases;
//   - CPU time per request of Vault, the plugin and this process (the fakes and the load), and
//     that of Vault and the plugin over an external-KV read's.
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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run() error {
	b, err := newBench()
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.start(); err != nil {
		return err
	}
	if err := b.setup(); err != nil {
		return err
	}
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
		if !b.set.runs(phase.name) {
			continue
		}
		logf("== %s", phase.name)
		if err := phase.fn(); err != nil {
			return fmt.Errorf("%s: %w", phase.name, err)
		}
	}
	return b.report()
}

// report stops Vault, so that nothing runs beside the printing, then prints the table and
// writes the results file. The logs go once it is written.
func (b *bench) report() error {
	b.res.Machine.LoadEnd = loadAvg()
	b.res.evaluate()
	b.vault.stop()
	b.res.print(os.Stdout)
	out, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.set.out, append(out, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s", b.set.out)
	b.keepLogs = false
	return nil
}

// pluginDir is Vault's plugin_directory: the plugin, B's, and the KV plugin.
func (b *bench) pluginDir() string { return filepath.Join(b.dir, "plugins") }
