package backend

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// metrics are one mount's counters. Every mount of the multiplexed plugin process has its own,
// so that each mount's metrics path speaks of that mount alone.
type metrics struct {
	// instance names this backend instance in the leases it issues, so that forticloud_leases_live
	// counts down only for leases it counted up: a restart, reload or tune starts a new instance,
	// and revokes of older leases must not take it below what this one issued.
	instance string

	mu      sync.Mutex
	calls   map[callKey]*histogram
	issued  map[string]uint64 // by config
	revoked map[string]uint64
	live    map[string]int64
}

type callKey struct{ product, operation, outcome string }

// Latency buckets in seconds: from a loopback fake to a slow cloud behind retries.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newMetrics() *metrics {
	return &metrics{
		instance: randomHex(8),
		calls:    map[callKey]*histogram{}, issued: map[string]uint64{}, revoked: map[string]uint64{}, live: map[string]int64{},
	}
}

// observe records one upstream operation; it is the client.Observer of every connection.
func (m *metrics) observe(product, operation, outcome string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := callKey{product, operation, outcome}
	h := m.calls[k]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets))}
		m.calls[k] = h
	}
	s := d.Seconds()
	if i, _ := slices.BinarySearch(buckets, s); i < len(buckets) {
		h.counts[i]++
	}
	h.sum += s
	h.n++
}

func (m *metrics) leaseIssued(config string) {
	m.mu.Lock()
	m.issued[config]++
	m.live[config]++
	m.mu.Unlock()
}

// leaseRevoked counts a revoke; instance is the lease's, so that only leases this instance
// issued leave the live count.
func (m *metrics) leaseRevoked(config, instance string) {
	m.mu.Lock()
	m.revoked[config]++
	if instance == m.instance {
		m.live[config]--
	}
	m.mu.Unlock()
}

// write renders the metrics in Prometheus' text format, in a stable order.
func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]callKey, 0, len(m.calls))
	for k := range m.calls {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b callKey) int {
		return cmp.Or(cmp.Compare(a.product, b.product), cmp.Compare(a.operation, b.operation), cmp.Compare(a.outcome, b.outcome))
	})
	fmt.Fprintln(w, "# HELP forticloud_upstream_requests_total Upstream operations (retries included) by product, operation and outcome.")
	fmt.Fprintln(w, "# TYPE forticloud_upstream_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "forticloud_upstream_requests_total{%s} %d\n", k.labels(), m.calls[k].n)
	}
	fmt.Fprintln(w, "# HELP forticloud_upstream_request_duration_seconds Time of upstream operations, retries included.")
	fmt.Fprintln(w, "# TYPE forticloud_upstream_request_duration_seconds histogram")
	for _, k := range keys {
		h := m.calls[k]
		var cum uint64
		for i, le := range buckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "forticloud_upstream_request_duration_seconds_bucket{%s,le=\"%g\"} %d\n", k.labels(), le, cum)
		}
		fmt.Fprintf(w, "forticloud_upstream_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", k.labels(), h.n)
		fmt.Fprintf(w, "forticloud_upstream_request_duration_seconds_sum{%s} %g\n", k.labels(), h.sum)
		fmt.Fprintf(w, "forticloud_upstream_request_duration_seconds_count{%s} %d\n", k.labels(), h.n)
	}
	configs := map[string]bool{}
	for c := range m.issued {
		configs[c] = true
	}
	for c := range m.revoked {
		configs[c] = true
	}
	names := make([]string, 0, len(configs))
	for c := range configs {
		names = append(names, c)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "# HELP forticloud_leases_issued_total Leases issued since this mount's backend started, by config.")
	fmt.Fprintln(w, "# TYPE forticloud_leases_issued_total counter")
	for _, c := range names {
		fmt.Fprintf(w, "forticloud_leases_issued_total{config=%q} %d\n", escape(c), m.issued[c])
	}
	fmt.Fprintln(w, "# HELP forticloud_leases_revoked_total Leases revoked since this mount's backend started (whenever issued), by config.")
	fmt.Fprintln(w, "# TYPE forticloud_leases_revoked_total counter")
	for _, c := range names {
		fmt.Fprintf(w, "forticloud_leases_revoked_total{config=%q} %d\n", escape(c), m.revoked[c])
	}
	fmt.Fprintln(w, "# HELP forticloud_leases_live Leases issued since this mount's backend started and not yet revoked, by config.")
	fmt.Fprintln(w, "# TYPE forticloud_leases_live gauge")
	for _, c := range names {
		// Vault may repeat a revoke that went through: never below 0.
		fmt.Fprintf(w, "forticloud_leases_live{config=%q} %d\n", escape(c), max(m.live[c], 0))
	}
}

func (k callKey) labels() string {
	return fmt.Sprintf("product=%q,operation=%q,outcome=%q", k.product, k.operation, k.outcome)
}

// escape keeps a label value within what %q and Prometheus agree on: names are already
// restricted by the path pattern, so this only guards against the unexpected.
func escape(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}
