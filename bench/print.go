package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table writes right-aligned columns, one alignment for every section.
type table struct{ tw *tabwriter.Writer }

func (t table) line(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")+"\t") }

func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

func (r *results) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nforticloud engine through Vault %s: upstream latency %.0f ms a call, %d sequential samples each\n",
		m.VaultVersion, ms(r.Settings.Latency), r.Settings.N)
	fmt.Fprintf(w, "%d × %s, %s, kernel %s, %s; load %s at start, %s at end\n", m.NProc, m.CPU, m.Go, m.Kernel, m.Date, m.LoadStart, m.LoadEnd)
	if r.B != "" {
		fmt.Fprintf(w, "rows marked B: the plugin built from %s, mounted at forticloud-b/, measured alongside\n", r.B)
	}
	fmt.Fprintln(w)

	t := table{tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)}
	r.printLatency(t)
	r.printThroughput(t)
	r.printConnections(t)
	r.printRevoke(t)
	r.printRSS(t)
	t.tw.Flush()
	r.printTargets(w)
}

func (r *results) printLatency(t table) {
	t.line("sequential latency", "p50 ms", "p99 ms", "mean ms")
	for _, l := range r.Latency {
		t.line(l.Name, f2(l.Stats.P50.ms()), f2(l.Stats.P99.ms()), f2(l.Stats.Mean.ms()))
	}
	t.line()
	t.line("engine overhead (creds − upstream login)", "creds p50", "login p50", "overhead p50", "overhead p99", "÷ ext-KV p50")
	for _, o := range r.Overhead {
		t.line(o.Product, f2(o.CredsP50.ms()), f2(o.UpstreamP50.ms()), f2(o.OverheadP50.ms()), f2(o.OverheadP99.ms()), fmt.Sprintf("%.2f×", o.Ratio))
	}
	t.line()
}

func (r *results) printThroughput(t table) {
	t.line("throughput", "concurrency", "req/s", "ideal/s", "% ideal", "p50 ms", "p99 ms", "conns",
		"CPU ms/creds: vault", "plugin", "fake+load", "vault+plugin ÷ ext-KV")
	for _, row := range r.Throughput {
		ideal, pct, conns, ratio := "—", "—", "—", "—"
		if row.Ideal > 0 {
			ideal, pct, conns = fmt.Sprintf("%.0f", row.Ideal), fmt.Sprintf("%.1f", row.PctIdeal), fmt.Sprint(row.Conns)
		}
		if x, ok := r.cpuToExtKV(row); ok {
			ratio = fmt.Sprintf("%.2f×", x)
		}
		t.line(row.Product, fmt.Sprint(row.Concurrency), fmt.Sprintf("%.0f", row.PerSecond), ideal, pct,
			f2(row.Latency.P50.ms()), f2(row.Latency.P99.ms()), conns,
			f2(row.CPU.Vault.ms()), f2(row.CPU.Plugin.ms()), f2(row.CPU.Bench.ms()), ratio)
	}
	t.line()
}

func (r *results) printConnections(t table) {
	t.line("upstream connections opened", "phase", "creds", "conns", "per 1,000")
	for _, c := range r.Connections {
		creds, per := fmt.Sprint(c.Creds), f2(c.Per1000)
		if c.Creds == 0 {
			creds, per = "—", "—"
		}
		t.line(c.Host, c.Phase, creds, fmt.Sprint(c.Conns), per)
	}
}

func (r *results) printRevoke(t table) {
	rv := r.Revoke
	if rv.Leases == 0 && rv.AsyncLeases == 0 {
		return
	}
	t.line()
	t.line("revoke-prefix", "leases", "seconds", "ms/lease", "live after", "leases after")
	if rv.Leases != 0 {
		t.line("sync (API default), FAZ sessions", fmt.Sprint(rv.Leases), f2(rv.Elapsed.seconds()), f2(perLease(rv.Elapsed, rv.Leases)),
			fmt.Sprint(rv.LiveAfter), fmt.Sprint(rv.LeasesAfter))
	}
	if rv.AsyncLeases != 0 {
		t.line("sync=false, until none left", fmt.Sprint(rv.AsyncLeases), f2(rv.AsyncElapsed.seconds()),
			f2(perLease(rv.AsyncElapsed, rv.AsyncLeases)), "0", "0")
	}
}

func (r *results) printRSS(t table) {
	if r.RSS.PluginPID == 0 {
		return
	}
	t.line()
	t.line("RSS (kB)", "0 leases", fmt.Sprintf("%d leases", r.RSS.Leases), "growth")
	t.line("plugin process", fmt.Sprint(r.RSS.PluginKB0), fmt.Sprint(r.RSS.PluginKBN), fmt.Sprintf("%+d", r.RSS.GrowthKB))
	t.line("vault process", fmt.Sprint(r.RSS.VaultKB0), fmt.Sprint(r.RSS.VaultKBN), fmt.Sprintf("%+d", r.RSS.VaultKBN-r.RSS.VaultKB0))
}

func (r *results) printTargets(w io.Writer) {
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Targets {
		mark := "MET   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, t.Target, t.Value)
	}
}
