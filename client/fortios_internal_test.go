package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fosBody is a FortiOS answer of status ("success" or "error") with http_status and CLI error
// code (0: none).
func fosBody(status string, httpStatus, code int) string {
	m := map[string]any{"http_method": "POST", "status": status, "http_status": httpStatus, "vdom": "root", "serial": "FGVM1", "version": "v7.4.4", "build": 2662}
	if code != 0 {
		m["error"] = code
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestIsAnswerFortiOS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   bool
	}{
		{"200", 200, fosBody("success", 200, 0), true},
		{"404", 404, fosBody("error", 404, 0), true},
		{"a CLI error on a 500", 500, fosBody("error", 500, -5), true},
		{"a CLI error on a 502", 502, fosBody("error", 502, -651), true},
		{"a CLI error on a 503: about load", 503, fosBody("error", 503, -5), false},
		{"a 500 without a CLI error: retried", 500, fosBody("error", 500, 0), false},
		{"a 500 that is not FortiOS's", 500, `{"error":"internal"}`, false},
		{"a 504 HTML page", 504, `<html>Gateway Timeout</html>`, false},
		{"429", 429, fosBody("error", 429, -5), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &response{status: tc.status, body: []byte(tc.body)}
			if got := isAnswer(request{fortios: true}, resp); got != tc.want {
				t.Errorf("isAnswer = %v, want %v", got, tc.want)
			}
			if tc.status >= 500 && isAnswer(request{}, resp) {
				t.Error("a FortiOS body on a 5xx is the answer of a call that is not FortiOS's")
			}
		})
	}
}

// TestFortiOSErrors: how a failed answer reads, for a call about one named object and for one
// that is not.
func TestFortiOSErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		object     bool
		kind       error
		exists     bool
		wantStatus int
	}{
		{"a FortiOS 404 about the object: gone", 404, fosBody("error", 404, 0), true, ErrGone, false, 404},
		{"a FortiOS 404 with -3: gone", 404, fosBody("error", 404, -3), true, ErrGone, false, 404},
		{"-3 on a 500: gone", 500, fosBody("error", 500, -3), true, ErrGone, false, 500},
		{"-3 in a 200: gone", 200, fosBody("error", 500, -3), true, ErrGone, false, 500},
		{"a 404 of another call: not gone", 404, fosBody("error", 404, 0), false, ErrRefused, false, 404},
		{"-3 on a 424: a dependency, not gone", 424, fosBody("error", 424, -3), true, ErrRefused, false, 424},
		{"a 404 that is not FortiOS's: a wrong URL", 404, `<html>Not Found</html>`, true, ErrRefused, false, 404},
		{"a bare JSON 404: not gone", 404, `{"error":"not found"}`, true, ErrRefused, false, 404},
		{"401 is the caller's key, never the object", 401, fosBody("error", 401, 0), true, ErrRefused, false, 401},
		{"403 likewise", 403, fosBody("error", 403, 0), true, ErrRefused, false, 403},
		{"-5: exists", 500, fosBody("error", 500, -5), false, ErrExists, true, 500},
		{"-5 on a 424: exists", 424, fosBody("error", 424, -5), false, ErrExists, true, 424},
		{"an error said in a 200, no code", 200, fosBody("error", 0, 0), false, ErrRetryLater, false, 500},
		{"an error said in a 200 with its status", 200, fosBody("error", 403, 0), false, ErrRefused, false, 403},
		{"another CLI error", 500, fosBody("error", 500, -651), false, ErrRefused, false, 500},
		{"a 400", 400, fosBody("error", 400, 0), false, ErrRefused, false, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &FortiOS{}
			_, err := c.result(fosCall{op: "x", key: "The-Key-0123456789", object: tc.object}, &response{status: tc.status, body: []byte(tc.body)})
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind {
				t.Fatalf("error %v, want kind %v", err, tc.kind)
			}
			if errors.Is(err, ErrExists) != tc.exists {
				t.Errorf("ErrExists: %v, want %v", errors.Is(err, ErrExists), tc.exists)
			}
			if e.Status != tc.wantStatus {
				t.Errorf("status %d, want %d", e.Status, tc.wantStatus)
			}
		})
	}
}

func TestFortiOSSuccess(t *testing.T) {
	c := &FortiOS{}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   error // nil: success
	}{
		{"success", 200, fosBody("success", 200, 0), nil},
		{"success without http_status", 200, `{"status":"SUCCESS"}`, nil},
		{"no status", 200, `{"http_status":200}`, ErrProtocol},
		{"HTML", 200, `<html></html>`, ErrProtocol},
		{"empty", 200, ``, ErrProtocol},
		{"a list", 200, `[]`, ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.result(fosCall{op: "x"}, &response{status: tc.status, body: []byte(tc.body)})
			if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("result: %v, want %v", err, tc.kind)
			}
		})
	}
}

func TestParseFortiOS(t *testing.T) {
	a, err := ParseFortiOS([]byte(`{"http_method":"POST","status":"error","http_status":"500","error":"-5","cli_error":"entry exists",
		"mkey":42,"serial":"FGVM1","version":"v7.6.0","build":3401,"results":{"access_token":"k"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := FortiOSAnswer{Status: "error", HTTPStatus: 500, Code: -5, Message: "entry exists", Mkey: "42", Version: "v7.6.0", Serial: "FGVM1", Build: 3401}
	a.Results = nil
	if a.Status != want.Status || a.HTTPStatus != want.HTTPStatus || a.Code != want.Code || a.Message != want.Message ||
		a.Mkey != want.Mkey || a.Version != want.Version || a.Serial != want.Serial || a.Build != want.Build {
		t.Errorf("ParseFortiOS = %+v, want %+v", *a, want)
	}
	if a, err := ParseFortiOS([]byte(`{"status":"error","error":"no such thing"}`)); err != nil || a.Code != 0 || a.Message != "no such thing" {
		t.Errorf("a textual error: %+v, %v", a, err)
	}
}

func TestReadGeneratedKey(t *testing.T) {
	for _, tc := range []struct {
		results string
		want    string
		ok      bool
	}{
		{`{"access_token":"abc123"}`, "abc123", true},
		{`{"api_key":"abc123"}`, "abc123", true},
		{`[{"access_token":"abc123"}]`, "abc123", true},
		{`{"access_token":"","api_key":"k2"}`, "k2", true},
		{`{"access_token":"a b"}`, "", false},
		{`{"access_token":"a\nb"}`, "", false},
		{`{"access_token":7}`, "", false},
		{`{}`, "", false},
		{`[]`, "", false},
		{`null`, "", false},
		{``, "", false},
	} {
		key, err := ReadGeneratedKey(json.RawMessage(tc.results))
		if key != tc.want || (err == nil) != tc.ok {
			t.Errorf("ReadGeneratedKey(%s) = %q, %v; want %q, ok %v", tc.results, key, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Errorf("ReadGeneratedKey(%s): %v does not match ErrProtocol", tc.results, err)
		}
	}
}

func TestTrustHosts(t *testing.T) {
	for _, tc := range []struct{ cidr, fos string }{
		{"10.0.0.0/8", "10.0.0.0 255.0.0.0"},
		{"192.0.2.7/32", "192.0.2.7 255.255.255.255"},
		{"0.0.0.0/0", "0.0.0.0 0.0.0.0"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::/0", "::/0"},
	} {
		th, err := trustHost(3, tc.cidr)
		if err != nil || th.ID != 3 || th.IPv4+th.IPv6 != tc.fos {
			t.Errorf("trustHost(%q) = %+v, %v; want %q", tc.cidr, th, err, tc.fos)
			continue
		}
		if back := th.cidr(); back != tc.cidr {
			t.Errorf("%q reads back as %q", tc.fos, back)
		}
	}
	// What FortiOS may keep that is no CIDR reads back as it is, so that nobody takes it for one.
	for _, raw := range []fosTrustHost{{Type: trustIPv4, IPv4: "10.0.0.0 255.0.255.0"}, {Type: trustIPv4, IPv4: "junk"}, {Type: trustIPv6, IPv6: "junk"}} {
		if got := raw.cidr(); got != raw.IPv4+raw.IPv6 {
			t.Errorf("%+v reads back as %q", raw, got)
		}
	}
	for _, bad := range []string{"10.0.0.1/8", "10.0.0.0", "::ffff:10.0.0.0/104", "", "10.0.0.0/33"} {
		if _, err := trustHost(1, bad); err == nil {
			t.Errorf("trustHost(%q) took it", bad)
		}
	}
}

func TestFosURL(t *testing.T) {
	const key = "Key-0123456789abcdef"
	for _, tc := range []struct {
		base string
		ok   bool
	}{
		{"https://fw.example.com", true},
		{"https://fw.example.com:8443", true},
		{"https://fw.example.com/?access_token=" + key, false},
		{"https://fw.example.com/?", false},
		{"https://fw.example.com/#x", false},
		{"https://u:p@fw.example.com", false},
		{"http://fw.example.com", false},
		{"https://fw.example.com/" + key, false},
		{"https://fw.example.com/" + strings.ReplaceAll(key, "-", "%2D"), true}, // not the key's escaping
		{"://", false},
	} {
		u, err := fosURL(tc.base, fosStatusPath, key)
		if (err == nil) != tc.ok {
			t.Errorf("fosURL(%q) = %q, %v; want ok %v", tc.base, u, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("fosURL's error holds the key: %v", err)
		}
	}
}

func TestExpiryRefused(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   bool
	}{
		{400, fosBody("error", 400, 0), true},
		{424, fosBody("error", 424, -651), true},
		{500, fosBody("error", 500, -651), true},
		{200, fosBody("error", 500, -651), true},
		{500, fosBody("error", 500, -3), false},
		{500, fosBody("error", 500, 0), false},
		{401, fosBody("error", 401, 0), false},
		{403, fosBody("error", 403, 0), false},
		{404, fosBody("error", 404, -3), false},
		{400, `{"error":"bad request"}`, false},
		{400, fosBody("success", 400, 0), false},
		{200, fosBody("success", 200, 0), false},
	} {
		if got := expiryRefused(&response{status: tc.status, body: []byte(tc.body)}); got != tc.want {
			t.Errorf("expiryRefused(%d %s) = %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}
