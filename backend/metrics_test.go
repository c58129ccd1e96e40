package backend

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func (e *env) metrics() string {
	e.t.Helper()
	resp := e.ok(logical.ReadOperation, "metrics", nil)
	if ct := resp.Data[logical.HTTPContentType]; !strings.HasPrefix(ct.(string), "text/plain; version=0.0.4") {
		e.t.Fatalf("content type %v", ct)
	}
	return string(resp.Data[logical.HTTPRawBody].([]byte))
}

// Each mount counts its own upstream calls and leases, though one process serves them all.
func TestMetricsPerMount(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	a.ok(logical.UpdateOperation, "config/faz", a.fazLocal())
	a.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	b.ok(logical.UpdateOperation, "config/lan", b.lanEmail())
	b.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "lan"})

	l1, l2 := a.creds("r"), a.creds("r")
	if err := a.revoke(l1); err != nil {
		t.Fatal(err)
	}
	a.fake.AddFault(fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -22, Path: "jsonrpc:/sys/login/user"})
	a.fails(logical.ReadOperation, "creds/r", nil, "refused")
	b.creds("r")
	_ = l2

	ma, mb := a.metrics(), b.metrics()
	for _, want := range []string{
		// the verified write logs in and out once, then two creds and one refused login
		`forticloud_upstream_requests_total{product="fortianalyzer",operation="login",outcome="ok"} 3`,
		`forticloud_upstream_requests_total{product="fortianalyzer",operation="login",outcome="refused"} 1`,
		`forticloud_upstream_requests_total{product="fortianalyzer",operation="logout",outcome="ok"} 2`,
		`forticloud_upstream_request_duration_seconds_count{product="fortianalyzer",operation="login",outcome="ok"} 3`,
		`forticloud_upstream_request_duration_seconds_bucket{product="fortianalyzer",operation="login",outcome="ok",le="+Inf"} 3`,
		`forticloud_leases_issued_total{config="faz"} 2`,
		`forticloud_leases_revoked_total{config="faz"} 1`,
		`forticloud_leases_live{config="faz"} 1`,
	} {
		if !strings.Contains(ma, want+"\n") {
			t.Errorf("mount a lacks %s in:\n%s", want, ma)
		}
	}
	if strings.Contains(ma, "fortilan") || strings.Contains(mb, "fortianalyzer") {
		t.Error("one mount's metrics show another's calls")
	}
	if !strings.Contains(mb, `forticloud_leases_live{config="lan"} 1`) {
		t.Errorf("mount b:\n%s", mb)
	}
	// What Prometheus reads: every family parses, with the types the HELP lines promise.
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(strings.NewReader(ma))
	if err != nil {
		t.Fatalf("Prometheus cannot parse mount a's metrics: %v\n%s", err, ma)
	}
	for name, typ := range map[string]dto.MetricType{
		"forticloud_upstream_requests_total":           dto.MetricType_COUNTER,
		"forticloud_upstream_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"forticloud_leases_issued_total":               dto.MetricType_COUNTER,
		"forticloud_leases_revoked_total":              dto.MetricType_COUNTER,
		"forticloud_leases_live":                       dto.MetricType_GAUGE,
	} {
		if f := families[name]; f == nil || f.GetType() != typ {
			t.Errorf("family %s: %v, want type %v", name, f, typ)
		}
	}
	h := families["forticloud_upstream_request_duration_seconds"]
	for _, m := range h.GetMetric() {
		if hist := m.GetHistogram(); hist.GetSampleCount() == 0 || len(hist.GetBucket()) != len(buckets)+1 { // +Inf included
			t.Errorf("histogram %v: %d samples, %d buckets", m.GetLabel(), hist.GetSampleCount(), len(hist.GetBucket()))
		}
	}
}

// After a restart (or reload, or tune) the live count starts again at 0, and revokes of leases
// issued before it do not take it below what the new backend issued.
func TestMetricsLiveAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())
	e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "faz"})
	old1, old2 := e.creds("r"), e.creds("r")
	e.restart()
	e.creds("r")
	if err := e.revoke(old1); err != nil {
		t.Fatal(err)
	}
	if err := e.revoke(old2); err != nil {
		t.Fatal(err)
	}
	m := e.metrics()
	for _, want := range []string{
		`forticloud_leases_issued_total{config="faz"} 1`,
		`forticloud_leases_revoked_total{config="faz"} 2`,
		`forticloud_leases_live{config="faz"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("after a restart, metrics lack %s in:\n%s", want, m)
		}
	}
}

// Label values reach Prometheus as they are, whatever they hold: expfmt escapes them.
func TestMetricsLabelValuesParseBack(t *testing.T) {
	m := newMetrics()
	odd := []string{`quote"d`, `back\slash`, "new\nline", "été", "plain"}
	for _, c := range odd {
		m.leaseIssued(c)
		m.observe(c, "login", "ok", time.Millisecond)
	}
	var b strings.Builder
	if err := m.write(&b); err != nil {
		t.Fatal(err)
	}
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("Prometheus cannot parse the metrics: %v\n%s", err, b.String())
	}
	for name, label := range map[string]string{"forticloud_leases_issued_total": "config", "forticloud_upstream_requests_total": "product"} {
		var got []string
		for _, metric := range families[name].GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == label {
					got = append(got, l.GetValue())
				}
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(odd))
		if !slices.Equal(got, want) {
			t.Errorf("%s{%s}: parsed back %q, want %q", name, label, got, want)
		}
	}
}
