package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// results is what bench/results.json holds.
type results struct {
	Machine     machine         `json:"machine"`
	Settings    settings        `json:"settings"`
	Latency     []latencyRow    `json:"latency"`
	Overhead    []overheadRow   `json:"overhead"`
	Throughput  []throughputRow `json:"throughput"`
	Connections []connRow       `json:"connections"`
	Revoke      revokeRow       `json:"revoke_prefix"`
	RSS         rssRow          `json:"rss"`
	Targets     []targetRow     `json:"targets"`
	// B is the checkout whose plugin was measured alongside (BENCH_B): rows marked "B".
	B string `json:"b,omitempty"`

	pprofAddr string
	kvVersion string
}

type latencyRow struct {
	Name  string `json:"name"`
	Stats stats  `json:"stats"`
}

type overheadRow struct {
	Product     string  `json:"product"`
	CredsP50    float64 `json:"creds_p50_ms"`
	CredsP99    float64 `json:"creds_p99_ms"`
	UpstreamP50 float64 `json:"upstream_login_p50_ms"`
	UpstreamP99 float64 `json:"upstream_login_p99_ms"`
	OverheadP50 float64 `json:"overhead_p50_ms"`
	OverheadP99 float64 `json:"overhead_p99_ms"`
	ExtKVP50    float64 `json:"external_kv_read_p50_ms"`
	Ratio       float64 `json:"overhead_to_external_kv_p50"`
}

type throughputRow struct {
	Product string `json:"product"`
	loadResult
	Ideal    float64 `json:"ideal_per_second"`
	PctIdeal float64 `json:"percent_of_ideal"`
	Conns    int     `json:"upstream_connections"`
	// CPU time each process spent per creds during the run.
	CPU cpuPerCreds `json:"cpu_per_creds"`
}

type connRow struct {
	Host    string  `json:"host"`
	Phase   string  `json:"phase"`
	Creds   int     `json:"creds"`
	Conns   int     `json:"connections_opened"`
	Per1000 float64 `json:"per_1000_creds"`
}

type revokeRow struct {
	Leases      int     `json:"leases"`
	LiveBefore  int     `json:"live_upstream_before"`
	Seconds     float64 `json:"seconds"`
	PerLeaseMS  float64 `json:"ms_per_lease"`
	LiveAfter   int     `json:"live_upstream_after"`
	LeasesAfter int     `json:"leases_after"`
	// The RSS phase's leases, ended with revoke-prefix sync=false: Vault's expiration manager
	// revokes them with its worker pool. Seconds until Vault held none and none was alive.
	AsyncLeases  int     `json:"async_leases"`
	AsyncSeconds float64 `json:"async_seconds_to_zero"`
}

type rssRow struct {
	PluginPID int   `json:"plugin_pid"`
	Leases    int   `json:"leases"`
	PluginKB0 int64 `json:"plugin_rss_kb_0_leases"`
	PluginKBN int64 `json:"plugin_rss_kb_n_leases"`
	GrowthKB  int64 `json:"plugin_rss_growth_kb"`
	VaultKB0  int64 `json:"vault_rss_kb_0_leases"`
	VaultKBN  int64 `json:"vault_rss_kb_n_leases"`
}

type targetRow struct {
	Target string `json:"target"`
	Value  string `json:"value"`
	Met    bool   `json:"met"`
}

// evaluate checks the targets of issue 6.
func (r *results) evaluate() {
	add := func(target, value string, met bool) {
		r.Targets = append(r.Targets, targetRow{target, value, met})
	}
	for _, o := range r.Overhead {
		if strings.HasPrefix(o.Product, "B ") {
			continue
		}
		add("overhead ≤ 1.5× external-KV read at p50: "+o.Product,
			fmt.Sprintf("%.2f ms = %.2f× %.2f ms", o.OverheadP50, o.Ratio, o.ExtKVP50), o.Ratio <= 1.5)
	}
	// The most any external plugin request reaches here: no upstream wait at all.
	ceiling := ""
	for _, t := range r.Throughput {
		if t.Product == "kv read, external plugin" && t.Concurrency == 64 {
			ceiling = fmt.Sprintf(" (an external-KV read, with no upstream wait, reaches %.0f/s at concurrency 64 here)", t.PerSecond)
		}
	}
	for _, t := range r.Throughput {
		if t.Concurrency == 64 && t.Ideal > 0 && !strings.HasPrefix(t.Product, "B ") {
			add("throughput ≥ 90% of ideal at concurrency 64: "+t.Product,
				fmt.Sprintf("%.0f/s = %.1f%% of %.0f/s%s", t.PerSecond, t.PctIdeal, t.Ideal, ceiling), t.PctIdeal >= 90)
		}
	}
	for _, c := range r.Connections {
		if c.Phase == "sequential" {
			add("≤ 2 connections per upstream host per 1,000 sequential creds: "+c.Host,
				fmt.Sprintf("%d for %d creds = %.2f per 1,000", c.Conns, c.Creds, c.Per1000), c.Per1000 <= 2)
		}
	}
	if r.RSS.PluginPID != 0 {
		add("RSS growth < 10 MB with 5,000 leases",
			fmt.Sprintf("%+.1f MB (%d → %d kB) with %d leases", float64(r.RSS.GrowthKB)/1024, r.RSS.PluginKB0, r.RSS.PluginKBN, r.RSS.Leases),
			r.RSS.GrowthKB < 10*1024 && r.RSS.Leases >= r.Settings.RSSLeases)
	}
	if r.Revoke.Leases != 0 {
		add("no live upstream session after revoke-prefix of 2,000 leases",
			fmt.Sprintf("%d live, %d leases left, after %.1f s", r.Revoke.LiveAfter, r.Revoke.LeasesAfter, r.Revoke.Seconds),
			r.Revoke.LiveAfter == 0 && r.Revoke.LeasesAfter == 0 && r.Revoke.Leases == r.Settings.Revokes)
	}
}

func (r *results) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nforticloud engine through Vault %s: upstream latency %.0f ms a call, %d sequential samples each\n",
		m.VaultVersion, r.Settings.LatencyMS, r.Settings.N)
	fmt.Fprintf(w, "%d × %s, %s, kernel %s, %s; load %s at start, %s at end\n", m.NProc, m.CPU, m.Go, m.Kernel, m.Date, m.LoadStart, m.LoadEnd)
	if r.B != "" {
		fmt.Fprintf(w, "rows marked B: the plugin built from %s, mounted at forticloud-b/, measured alongside\n", r.B)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	f := func(v float64) string { return fmt.Sprintf("%.2f", v) }

	line("sequential latency", "p50 ms", "p99 ms", "mean ms")
	for _, l := range r.Latency {
		line(l.Name, f(l.Stats.P50), f(l.Stats.P99), f(l.Stats.Mean))
	}
	line()
	line("engine overhead (creds − upstream login)", "creds p50", "login p50", "overhead p50", "overhead p99", "÷ ext-KV p50")
	for _, o := range r.Overhead {
		line(o.Product, f(o.CredsP50), f(o.UpstreamP50), f(o.OverheadP50), f(o.OverheadP99), fmt.Sprintf("%.2f×", o.Ratio))
	}
	line()
	line("throughput", "concurrency", "req/s", "ideal/s", "% ideal", "p50 ms", "p99 ms", "conns", "CPU ms/creds: vault", "plugin", "fake+load")
	for _, t := range r.Throughput {
		ideal, pct, conns := "—", "—", "—"
		if t.Ideal > 0 {
			ideal, pct, conns = fmt.Sprintf("%.0f", t.Ideal), fmt.Sprintf("%.1f", t.PctIdeal), fmt.Sprint(t.Conns)
		}
		line(t.Product, fmt.Sprint(t.Concurrency), fmt.Sprintf("%.0f", t.PerSecond), ideal, pct,
			f(t.Latency.P50), f(t.Latency.P99), conns,
			f(t.CPU.Vault), f(t.CPU.Plugin), f(t.CPU.Bench))
	}
	line()
	line("upstream connections opened", "phase", "creds", "conns", "per 1,000")
	for _, c := range r.Connections {
		creds, per := fmt.Sprint(c.Creds), f(c.Per1000)
		if c.Creds == 0 {
			creds, per = "—", "—"
		}
		line(c.Host, c.Phase, creds, fmt.Sprint(c.Conns), per)
	}
	if r.Revoke.Leases != 0 || r.Revoke.AsyncLeases != 0 {
		line()
		line("revoke-prefix", "leases", "seconds", "ms/lease", "live after", "leases after")
		if r.Revoke.Leases != 0 {
			line("sync (API default), FAZ sessions", fmt.Sprint(r.Revoke.Leases), f(r.Revoke.Seconds), f(r.Revoke.PerLeaseMS),
				fmt.Sprint(r.Revoke.LiveAfter), fmt.Sprint(r.Revoke.LeasesAfter))
		}
		if r.Revoke.AsyncLeases != 0 {
			line("sync=false, until none left", fmt.Sprint(r.Revoke.AsyncLeases), f(r.Revoke.AsyncSeconds),
				f(1000*r.Revoke.AsyncSeconds/float64(r.Revoke.AsyncLeases)), "0", "0")
		}
	}
	if r.RSS.PluginPID != 0 {
		line()
		line("RSS (kB)", "0 leases", fmt.Sprintf("%d leases", r.RSS.Leases), "growth")
		line("plugin process", fmt.Sprint(r.RSS.PluginKB0), fmt.Sprint(r.RSS.PluginKBN), fmt.Sprintf("%+d", r.RSS.GrowthKB))
		line("vault process", fmt.Sprint(r.RSS.VaultKB0), fmt.Sprint(r.RSS.VaultKBN), fmt.Sprintf("%+d", r.RSS.VaultKBN-r.RSS.VaultKB0))
	}
	tw.Flush()

	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Targets {
		mark := "MET   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, t.Target, t.Value)
	}
}
