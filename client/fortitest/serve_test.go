package fortitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testLogin = `{"id":1,"method":"exec","params":[{"url":"/sys/login/user","data":[{"user":"admin","passwd":"pw-123456"}]}]}`

func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		rpcURL                   string // "" for no JSON-RPC call
	}{
		{"JSON-RPC login", http.MethodPost, "/jsonrpc", testLogin, "/sys/login/user"},
		{"JSON-RPC GET", http.MethodGet, "/jsonrpc", testLogin, ""},
		{"FortiLAN login", http.MethodPost, "/api/v1/auth", `{"userName":"u"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			path, body, rpc := readRequest(httptest.NewRecorder(), r)
			if path != tc.path || string(body) != tc.body {
				t.Errorf("readRequest = %q, %q", path, body)
			}
			if got := ""; rpc != nil {
				got = rpc.url
				if got != tc.rpcURL {
					t.Errorf("JSON-RPC url %q, want %q", got, tc.rpcURL)
				}
			} else if tc.rpcURL != "" {
				t.Errorf("no JSON-RPC call read, want %q", tc.rpcURL)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	s := NewServerT(t)
	s.SetLatency(time.Millisecond)
	s.AddFault(Fault{Path: "jsonrpc:/sys/logout", Kind: FaultCode, RPCCode: -1, Count: 1})
	r := httptest.NewRequest(http.MethodPost, "/jsonrpc", nil)
	latency, f := s.record(r, "/jsonrpc", &rpcRequest{url: "/sys/logout"})
	if latency != time.Millisecond || f == nil || f.RPCCode != -1 {
		t.Errorf("record = %v, %+v; want the latency and the logout fault", latency, f)
	}
	if _, f := s.record(r, "/jsonrpc", &rpcRequest{url: "/sys/logout"}); f != nil {
		t.Errorf("a fault of Count 1 broke a second request: %+v", f)
	}
	x := httptest.NewRequest(http.MethodPost, "/p/forticloud_jsonrpc_login/", nil)
	x.Proto, x.ProtoMajor = "HTTP/1.1", 1
	s.record(x, "/p/forticloud_jsonrpc_login/", nil)
	if s.Calls("/jsonrpc") != 2 || s.Calls("jsonrpc:/sys/logout") != 2 || s.Calls("/p/forticloud_jsonrpc_login/") != 1 {
		t.Errorf("calls: %d /jsonrpc, %d logouts, %d exchanges", s.Calls("/jsonrpc"), s.Calls("jsonrpc:/sys/logout"), s.Calls("/p/forticloud_jsonrpc_login/"))
	}
	if s.Protos("/jsonrpc")[r.Proto] != 2 || s.ExchangeProtoMajor() != 1 {
		t.Errorf("protocols: %v, exchange HTTP/%d", s.Protos("/jsonrpc"), s.ExchangeProtoMajor())
	}
}

// serveFaulty does the work for the kinds that act, and only for those.
func TestServeFaulty(t *testing.T) {
	for _, tc := range []struct {
		kind    FaultKind
		status  int
		session bool // a session opened upstream
	}{
		{FaultSlow, http.StatusOK, true},
		{FaultActThenSlow, http.StatusOK, true},
		{FaultActThen5xx, http.StatusGatewayTimeout, true},
		{FaultCode, http.StatusOK, false},
		{Fault5xx, http.StatusServiceUnavailable, false},
	} {
		s := NewServerT(t)
		s.AddAdmin("admin", "pw-123456")
		r := httptest.NewRequest(http.MethodPost, "/jsonrpc", strings.NewReader(testLogin))
		w := httptest.NewRecorder()
		path, body, rpc := readRequest(w, r)
		s.serveFaulty(w, r, &Fault{Kind: tc.kind, Delay: time.Millisecond, RPCCode: CodeLoginFail}, path, body, rpc)
		if w.Code != tc.status || (s.LiveSessions() == 1) != tc.session {
			t.Errorf("kind %d: HTTP %d, %d sessions; want HTTP %d, a session %v", tc.kind, w.Code, s.LiveSessions(), tc.status, tc.session)
		}
	}
}
