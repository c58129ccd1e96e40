package fortitest

import (
	"testing"
	"time"
)

// The statuses a Fault answers with, each field meaning one thing: RPCCode is only ever a
// JSON-RPC code, Status only ever an HTTP status.
func TestFaultStatuses(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		f                            Fault
		s5xx, ok, internal, redirect int
	}{
		{"defaults", Fault{}, 503, 200, 500, 302},
		{"502", Fault{Status: 502}, 502, 502, 502, 302},
		{"400", Fault{Status: 400}, 503, 400, 400, 302},
		{"307", Fault{Status: 307}, 503, 307, 307, 307},
		{"308", Fault{Status: 308}, 503, 308, 308, 308},
		{"not a status", Fault{Status: 42}, 503, 200, 500, 302},
		{"a JSON-RPC code is no status", Fault{RPCCode: 404}, 503, 200, 500, 302},
		{"a JSON-RPC code beside a status", Fault{RPCCode: -11, Status: 500}, 500, 500, 500, 302},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := [4]int{tc.f.status5xx(503), tc.f.statusOr(200), tc.f.statusOr(500), tc.f.redirectStatus()}
			if want := [4]int{tc.s5xx, tc.ok, tc.internal, tc.redirect}; got != want {
				t.Errorf("status5xx(503), statusOr(200), statusOr(500), redirectStatus = %v, want %v", got, want)
			}
		})
	}
}

func TestFaultMessage(t *testing.T) {
	if m := (&Fault{}).message("def"); m != "def" {
		t.Errorf("message without Message = %q", m)
	}
	if m := (&Fault{Message: "mine"}).message("def"); m != "mine" {
		t.Errorf("message with Message = %q", m)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1", 1500 * time.Millisecond: "2", time.Millisecond: "1", time.Minute: "60",
	} {
		if got := retryAfter(d); got != want {
			t.Errorf("retryAfter(%v) = %q, want %q", d, got, want)
		}
	}
}
