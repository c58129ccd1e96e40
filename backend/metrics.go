package backend

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
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

	rotations map[rotationKey]uint64
}

type callKey struct{ product, operation, outcome string }

type rotationKey struct{ config, outcome, scheduler string }

// buckets are the latency histogram's upper bounds in seconds: from a loopback fake to a slow
// cloud behind retries.
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
		rotations: map[rotationKey]uint64{},
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

// rotated counts a rotation of config: its outcome and who asked for it (a scheduler, or
// "manual" for rotate-root).
func (m *metrics) rotated(config, outcome, scheduler string) {
	m.mu.Lock()
	m.rotations[rotationKey{config, outcome, scheduler}]++
	m.mu.Unlock()
}

// write renders the metrics in Prometheus' text format, in a stable order.
func (m *metrics) write(w io.Writer) error {
	for _, f := range m.families() {
		if len(f.Metric) == 0 {
			// expfmt writes no family without samples; its header keeps the answer a full list
			// of what is counted, and never empty (Vault cannot carry an empty raw body).
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", f.GetName(), f.GetHelp(), f.GetName(), strings.ToLower(f.GetType().String()))
			continue
		}
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return fmt.Errorf("write metric %s: %w", f.GetName(), err)
		}
	}
	return nil
}

// families are the metrics as Prometheus' data model has them, in a stable order.
func (m *metrics) families() []*dto.MetricFamily {
	m.mu.Lock()
	defer m.mu.Unlock()
	requests := family("forticloud_upstream_requests_total", "Upstream operations (retries included) by product, operation and outcome.", dto.MetricType_COUNTER)
	durations := family("forticloud_upstream_request_duration_seconds", "Time of upstream operations, retries included.", dto.MetricType_HISTOGRAM)
	for _, k := range slices.SortedFunc(maps.Keys(m.calls), func(a, b callKey) int {
		return cmp.Or(cmp.Compare(a.product, b.product), cmp.Compare(a.operation, b.operation), cmp.Compare(a.outcome, b.outcome))
	}) {
		h := m.calls[k]
		labels := labelPairs("product", k.product, "operation", k.operation, "outcome", k.outcome)
		requests.Metric = append(requests.Metric, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: new(float64(h.n))}})
		durations.Metric = append(durations.Metric, &dto.Metric{Label: labels, Histogram: h.proto()})
	}

	issued := family("forticloud_leases_issued_total", "Leases issued since this mount's backend started, by config.", dto.MetricType_COUNTER)
	revoked := family("forticloud_leases_revoked_total", "Leases revoked since this mount's backend started (whenever issued), by config.", dto.MetricType_COUNTER)
	live := family("forticloud_leases_live", "Leases issued since this mount's backend started and not yet revoked, by config.", dto.MetricType_GAUGE)
	seen := map[string]uint64{}
	maps.Copy(seen, m.issued)
	maps.Copy(seen, m.revoked)
	for _, c := range slices.Sorted(maps.Keys(seen)) {
		labels := labelPairs("config", c)
		issued.Metric = append(issued.Metric, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: new(float64(m.issued[c]))}})
		revoked.Metric = append(revoked.Metric, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: new(float64(m.revoked[c]))}})
		// Vault may repeat a revoke that went through: never below 0.
		live.Metric = append(live.Metric, &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: new(float64(max(m.live[c], 0)))}})
	}
	return []*dto.MetricFamily{requests, durations, issued, revoked, live, m.rotationFamily()}
}

// rotationFamily is forticloud_rotations_total; m.mu is held.
func (m *metrics) rotationFamily() *dto.MetricFamily {
	f := family("forticloud_rotations_total", "Root credential rotations since this mount's backend started, by config, outcome and scheduler (vault, engine, or manual for rotate-root).", dto.MetricType_COUNTER)
	for _, k := range slices.SortedFunc(maps.Keys(m.rotations), func(a, b rotationKey) int {
		return cmp.Or(cmp.Compare(a.config, b.config), cmp.Compare(a.outcome, b.outcome), cmp.Compare(a.scheduler, b.scheduler))
	}) {
		labels := labelPairs("config", k.config, "outcome", k.outcome, "scheduler", k.scheduler)
		f.Metric = append(f.Metric, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: new(float64(m.rotations[k]))}})
	}
	return f
}

// proto is h in Prometheus' data model: cumulative buckets, +Inf left to expfmt.
func (h *histogram) proto() *dto.Histogram {
	p := &dto.Histogram{SampleCount: new(h.n), SampleSum: new(h.sum)}
	var cum uint64
	for i, le := range buckets {
		cum += h.counts[i]
		p.Bucket = append(p.Bucket, &dto.Bucket{UpperBound: new(le), CumulativeCount: new(cum)})
	}
	return p
}

func family(name, help string, typ dto.MetricType) *dto.MetricFamily {
	return &dto.MetricFamily{Name: new(name), Help: new(help), Type: typ.Enum()}
}

// labelPairs turns name, value, ... into labels, in that order.
func labelPairs(kv ...string) []*dto.LabelPair {
	labels := make([]*dto.LabelPair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		labels = append(labels, &dto.LabelPair{Name: new(kv[i]), Value: new(kv[i+1])})
	}
	return labels
}
