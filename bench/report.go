package main

import (
	"fmt"
	"strings"
)

// results is what bench/results.json holds. Times are durations, written in the unit their
// field's name gives (…_ms, …seconds).
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
	CredsP50    millis  `json:"creds_p50_ms"`
	CredsP99    millis  `json:"creds_p99_ms"`
	UpstreamP50 millis  `json:"upstream_login_p50_ms"`
	UpstreamP99 millis  `json:"upstream_login_p99_ms"`
	OverheadP50 millis  `json:"overhead_p50_ms"`
	OverheadP99 millis  `json:"overhead_p99_ms"`
	ExtKVP50    millis  `json:"external_kv_read_p50_ms"`
	Ratio       float64 `json:"overhead_to_external_kv_p50"`
}

type targetRow struct {
	Target string `json:"target"`
	Value  string `json:"value"`
	Met    bool   `json:"met"`
}

// cpuToExtKV is the CPU time of Vault and the plugin per request of t over that of an
// external-KV read at the same concurrency, when both were measured.
func (r *results) cpuToExtKV(t throughputRow) (float64, bool) {
	if t.Product == extKVRead || t.CPU.engine() <= 0 {
		return 0, false
	}
	for _, kv := range r.Throughput {
		if kv.Product == extKVRead && kv.Concurrency == t.Concurrency && kv.CPU.engine() > 0 {
			return float64(t.CPU.engine()) / float64(kv.CPU.engine()), true
		}
	}
	return 0, false
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
			fmt.Sprintf("%.2f ms = %.2f× %.2f ms", o.OverheadP50.ms(), o.Ratio, o.ExtKVP50.ms()), o.Ratio <= 1.5)
	}
	// The most any external plugin request reaches here: no upstream wait at all.
	ceiling := ""
	for _, t := range r.Throughput {
		if t.Product == extKVRead && t.Concurrency == 64 {
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
			fmt.Sprintf("%d live, %d leases left, after %.1f s", r.Revoke.LiveAfter, r.Revoke.LeasesAfter, r.Revoke.Elapsed.seconds()),
			r.Revoke.LiveAfter == 0 && r.Revoke.LeasesAfter == 0 && r.Revoke.Leases == r.Settings.Revokes)
	}
}
