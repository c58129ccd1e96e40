package fortitest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// ---- helpers ----

type answer struct {
	status int
	header http.Header
	body   []byte
	proto  int
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %q", err, a.body)
	}
	return m
}

func post(t *testing.T, c *http.Client, url string, body any, hdr ...string) answer {
	t.Helper()
	a, err := tryPost(context.Background(), c, url, body, hdr...)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return a
}

func tryPost(ctx context.Context, c *http.Client, url string, body any, hdr ...string) (answer, error) {
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return answer{}, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: rb, proto: resp.ProtoMajor}, nil
}

type rpcOut struct {
	code    int
	message string
	session string
	data    map[string]any
	url     string
}

func rpcCall(t *testing.T, s *fortitest.Server, req map[string]any) rpcOut {
	t.Helper()
	a := post(t, s.Client(), s.URL+"/jsonrpc", req)
	if a.status != http.StatusOK {
		t.Fatalf("JSON-RPC answered HTTP %d, want 200 always: %s", a.status, a.body)
	}
	var v struct {
		Result []struct {
			Status struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"status"`
			URL  string         `json:"url"`
			Data map[string]any `json:"data"`
		} `json:"result"`
		Session string `json:"session"`
	}
	if err := json.Unmarshal(a.body, &v); err != nil || len(v.Result) != 1 {
		t.Fatalf("bad JSON-RPC answer %q: %v", a.body, err)
	}
	r := v.Result[0]
	return rpcOut{code: r.Status.Code, message: r.Status.Message, session: v.Session, data: r.Data, url: r.URL}
}

func loginUser(t *testing.T, s *fortitest.Server, user, pass string) rpcOut {
	t.Helper()
	return rpcCall(t, s, map[string]any{"id": 1, "method": "exec", "session": nil,
		"params": []any{map[string]any{"url": "/sys/login/user", "data": map[string]string{"user": user, "passwd": pass}}}})
}

func sessionCall(t *testing.T, s *fortitest.Server, method, url, sid string, extra ...any) rpcOut {
	t.Helper()
	req := map[string]any{"id": 2, "method": method, "session": sid, "params": []any{map[string]any{"url": url}}}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i].(string)] = extra[i+1]
	}
	return rpcCall(t, s, req)
}

func oauthToken(t *testing.T, s *fortitest.Server, apiID, pass, clientID string) (access, refresh string, expiresIn float64) {
	t.Helper()
	a := post(t, s.Client(), s.URL+"/api/v1/oauth/token/", map[string]string{
		"username": apiID, "password": pass, "client_id": clientID, "grant_type": "password"})
	if a.status != 200 {
		t.Fatalf("oauth token: HTTP %d %s", a.status, a.body)
	}
	m := a.json(t)
	return m["access_token"].(string), m["refresh_token"].(string), m["expires_in"].(float64)
}

func h1Client(s *fortitest.Server) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool()},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
	}}
}

// ---- TLS ----

func TestTLS(t *testing.T) {
	s := fortitest.NewServerT(t)
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %q", s.URL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(s.CACertPEM)) {
		t.Fatal("CACertPEM does not parse")
	}
	a := post(t, s.Client(), s.URL+"/jsonrpc", `{}`)
	if a.proto != 2 {
		t.Errorf("Client() spoke HTTP/%d, want HTTP/2", a.proto)
	}
	if got := s.Protos("/jsonrpc")["HTTP/2.0"]; got != 1 {
		t.Errorf("Protos = %v", s.Protos("/jsonrpc"))
	}

	for _, name := range []string{fortitest.ServerName, "localhost", "127.0.0.1"} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: name}}}
		if _, err := tryPost(context.Background(), c, s.URL+"/jsonrpc", `{}`); err != nil {
			t.Errorf("server name %q: %v", name, err)
		}
		c.CloseIdleConnections()
	}
	bad := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "other.example"}}}
	if _, err := tryPost(context.Background(), bad, s.URL+"/jsonrpc", `{}`); err == nil {
		t.Error("a wrong server name was accepted")
	}
	if _, err := tryPost(context.Background(), &http.Client{}, s.URL+"/jsonrpc", `{}`); err == nil {
		t.Error("the fake's certificate verified without its CA")
	}
	if s.Connections() < 4 {
		t.Errorf("Connections = %d, want at least 4", s.Connections())
	}
}

func TestUnstartedTLS11(t *testing.T) {
	s := fortitest.NewUnstartedServer()
	s.TLS.MinVersion = tls.VersionTLS10
	s.TLS.MaxVersion = tls.VersionTLS11
	s.Start()
	defer s.Close()
	_, err := tryPost(context.Background(), s.Client(), s.URL+"/jsonrpc", `{}`)
	if err == nil {
		t.Fatal("a TLS 1.2+ client reached a TLS 1.1 server")
	}
	if s.Calls("/jsonrpc") != 0 {
		t.Error("the request reached the handler")
	}
}

// ---- JSON-RPC ----

func TestJSONRPC(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("admin", "s3cret-pass")

	// url without leading slash, data as a list of one object (pyFMG's form)
	out := rpcCall(t, s, map[string]any{"id": 1, "method": "exec", "session": nil,
		"params": []any{map[string]any{"url": "sys/login/user", "data": []any{map[string]string{"user": "admin", "passwd": "s3cret-pass"}}}}})
	if out.code != 0 || out.session == "" || out.url != "sys/login/user" {
		t.Fatalf("login = %+v", out)
	}
	sid := out.session
	if len(sid) != 32 {
		t.Errorf("session %q: want 32 base64url characters", sid)
	}
	// escaped slashes, written by hand
	raw := `{"id":7,"method":"get","params":[{"url":"\/sys\/status"}],"session":"` + sid + `"}`
	a := post(t, s.Client(), s.URL+"/jsonrpc", raw)
	if !bytes.Contains(a.body, []byte(`"Hostname":"fortitest"`)) || !bytes.Contains(a.body, []byte(`"id":7`)) {
		t.Errorf("status answer %s", a.body)
	}
	st := sessionCall(t, s, "get", "/sys/status", sid)
	if st.code != 0 || st.data["Version"] != "v7.6.4" {
		t.Errorf("status = %+v", st)
	}
	if got := s.Calls("jsonrpc:/sys/status"); got != 2 {
		t.Errorf("Calls(jsonrpc:/sys/status) = %d, want 2", got)
	}
	if got := s.Calls("/jsonrpc"); got != 3 {
		t.Errorf("Calls(/jsonrpc) = %d, want 3", got)
	}

	for _, tc := range []struct {
		name string
		req  map[string]any
		code int
	}{
		{"unknown url", map[string]any{"id": 1, "method": "get", "session": sid, "params": []any{map[string]any{"url": "/dvmdb/adom"}}}, -6},
		{"wrong password", map[string]any{"id": 1, "method": "exec", "params": []any{map[string]any{"url": "/sys/login/user", "data": map[string]string{"user": "admin", "passwd": "nope"}}}}, fortitest.CodeLoginFail},
		{"unknown user", map[string]any{"id": 1, "method": "exec", "params": []any{map[string]any{"url": "/sys/login/user", "data": map[string]string{"user": "x", "passwd": "s3cret-pass"}}}}, fortitest.CodeLoginFail},
		{"bad cloud token", map[string]any{"id": 1, "method": "exec", "params": []any{map[string]any{"url": "/sys/login/cloud", "data": map[string]string{"token": "nope"}}}}, fortitest.CodeLoginFail},
		{"status unknown session", map[string]any{"id": 1, "method": "get", "session": "nope", "params": []any{map[string]any{"url": "/sys/status"}}}, -11},
		{"status no session", map[string]any{"id": 1, "method": "get", "session": nil, "params": []any{map[string]any{"url": "/sys/status"}}}, -11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := rpcCall(t, s, tc.req)
			if out.code != tc.code || out.message == "" || out.session != "" {
				t.Errorf("got %+v, want code %d with a message and no session", out, tc.code)
			}
		})
	}
	// garbage still answers HTTP 200 with a status
	if a := post(t, s.Client(), s.URL+"/jsonrpc", `not json`); a.status != 200 || !bytes.Contains(a.body, []byte(`"code":-10`)) {
		t.Errorf("garbage: %d %s", a.status, a.body)
	}

	if out := sessionCall(t, s, "exec", "/sys/logout", sid); out.code != 0 {
		t.Errorf("logout = %+v", out)
	}
	if out := sessionCall(t, s, "exec", "/sys/logout", sid); out.code != -11 {
		t.Errorf("second logout = %+v, want -11", out)
	}
	if s.LiveSessions() != 0 {
		t.Errorf("LiveSessions = %d", s.LiveSessions())
	}
}

func TestSessionIdle(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("admin", "pw-123456")
	s.SetSessionIdle(time.Minute)
	sid := loginUser(t, s, "admin", "pw-123456").session
	kept := loginUser(t, s, "admin", "pw-123456").session

	s.Advance(40 * time.Second)
	if out := sessionCall(t, s, "get", "/sys/status", sid); out.code != 0 {
		t.Fatalf("status = %+v", out)
	}
	// keep_session_idle: probe without resetting the timer
	if out := sessionCall(t, s, "get", "/sys/status", kept, "keep_session_idle", 1); out.code != 0 {
		t.Fatalf("status = %+v", out)
	}
	s.Advance(40 * time.Second) // 80 s since login, 40 s since sid's status
	if !s.SessionAlive(sid) {
		t.Error("a status call did not reset the idle timer")
	}
	if s.SessionAlive(kept) {
		t.Error("keep_session_idle reset the idle timer")
	}
	if out := sessionCall(t, s, "get", "/sys/status", kept); out.code != -11 {
		t.Errorf("status of an idled-out session = %+v, want -11", out)
	}
	s.Advance(61 * time.Second)
	if s.LiveSessions() != 0 {
		t.Errorf("LiveSessions = %d after idling out", s.LiveSessions())
	}
	if out := sessionCall(t, s, "exec", "/sys/logout", sid); out.code != -11 {
		t.Errorf("logout of an idled-out session = %+v, want -11", out)
	}

	// real time, too
	s.SetSessionIdle(50 * time.Millisecond)
	sid = loginUser(t, s, "admin", "pw-123456").session
	time.Sleep(80 * time.Millisecond)
	if s.SessionAlive(sid) {
		t.Error("session alive after its idle timeout")
	}

	// ExpireSession and ExpireAll
	s.SetSessionIdle(0)
	a, b := loginUser(t, s, "admin", "pw-123456").session, loginUser(t, s, "admin", "pw-123456").session
	s.ExpireSession(a)
	if s.SessionAlive(a) || !s.SessionAlive(b) {
		t.Error("ExpireSession")
	}
	s.ExpireAll()
	if s.SessionAlive(b) || s.LiveSessions() != 0 {
		t.Error("ExpireAll")
	}
}

// An admin's profile decides which status calls answer its live sessions; a gone session gets
// -11 from both, whatever the profile, and a refused call does not reset the idle timer.
func TestAdminProfiles(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.SetSessionIdle(time.Minute)
	const sys, cli = "/sys/status", "/cli/global/system/status"
	for _, tc := range []struct {
		name    string
		profile fortitest.Profile
		sys     int // code for a live session
		cli     int
	}{
		{"super user", fortitest.ProfileSuperUser, 0, 0},
		{"no system settings", fortitest.ProfileNoSystemSettings, -11, 0},
		{"no status", fortitest.ProfileNoStatus, -11, -11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "admin-" + strings.ReplaceAll(tc.name, " ", "-")
			s.AddAdminProfile(user, "pw-123456", tc.profile)
			sid := loginUser(t, s, user, "pw-123456").session
			if sid == "" {
				t.Fatal("login refused")
			}
			for _, c := range []struct {
				url  string
				want int
			}{{sys, tc.sys}, {cli, tc.cli}} {
				out := sessionCall(t, s, "get", c.url, sid)
				if out.code != c.want {
					t.Errorf("%s of a live session = %+v, want %d", c.url, out, c.want)
				}
				if out.code == 0 && out.data["Hostname"] != "fortitest" {
					t.Errorf("%s answered no status data: %+v", c.url, out)
				}
				if out.code == -11 && out.message != "No permission for the resource" {
					t.Errorf("%s: message %q, want the one a gone session gets", c.url, out.message)
				}
			}
			// Refused calls do not count as use.
			s.Advance(40 * time.Second)
			if tc.sys != 0 && tc.cli != 0 {
				sessionCall(t, s, "get", sys, sid)
				sessionCall(t, s, "get", cli, sid)
				s.Advance(40 * time.Second)
				if s.SessionAlive(sid) {
					t.Error("a refused status call reset the idle timer")
				}
			}
			s.ExpireSession(sid)
			for _, url := range []string{sys, cli} {
				if out := sessionCall(t, s, "get", url, sid); out.code != -11 {
					t.Errorf("%s of a gone session = %+v, want -11", url, out)
				}
			}
		})
	}
	// AddAdmin keeps an admin's profile; AddAdminProfile changes it, for open sessions too.
	s.AddAdminProfile("changing", "pw-123456", fortitest.ProfileNoSystemSettings)
	s.AddAdmin("changing", "pw-654321")
	sid := loginUser(t, s, "changing", "pw-654321").session
	if out := sessionCall(t, s, "get", sys, sid); out.code != -11 {
		t.Errorf("AddAdmin reset the profile: /sys/status = %+v", out)
	}
	s.AddAdminProfile("changing", "pw-654321", fortitest.ProfileSuperUser)
	if out := sessionCall(t, s, "get", sys, sid); out.code != 0 {
		t.Errorf("after a profile change: /sys/status = %+v", out)
	}
	if out := sessionCall(t, s, "exec", cli, sid); out.code != fortitest.CodeDataInvalid {
		t.Errorf("exec %s = %+v, want -10", cli, out)
	}
}

func TestLoginMax(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("admin", "pw-123456")
	s.AddAdmin("other", "pw-654321")
	s.SetLoginMax(2)
	s.SetSessionIdle(time.Minute)
	first := loginUser(t, s, "admin", "pw-123456").session
	loginUser(t, s, "admin", "pw-123456")
	out := loginUser(t, s, "admin", "pw-123456")
	if out.code != fortitest.CodeLoginMax || out.message != fortitest.MsgLoginMax || out.session != "" {
		t.Fatalf("third login = %+v", out)
	}
	if out := loginUser(t, s, "other", "pw-654321"); out.code != 0 {
		t.Errorf("login-max is per admin: %+v", out)
	}
	if s.LiveSessionsOf("admin") != 2 || s.LiveSessions() != 3 {
		t.Errorf("LiveSessionsOf = %d, LiveSessions = %d", s.LiveSessionsOf("admin"), s.LiveSessions())
	}
	sessionCall(t, s, "exec", "/sys/logout", first)
	if out := loginUser(t, s, "admin", "pw-123456"); out.code != 0 {
		t.Errorf("a logout frees a slot: %+v", out)
	}
	s.Advance(2 * time.Minute) // every session idles out: slots free again
	for i := 0; i < 2; i++ {
		if out := loginUser(t, s, "admin", "pw-123456"); out.code != 0 {
			t.Errorf("after idling out: %+v", out)
		}
	}
	s.SetLoginMax(0) // back to 32
	for i := 0; i < 30; i++ {
		if out := loginUser(t, s, "admin", "pw-123456"); out.code != 0 {
			t.Fatalf("login %d under the default login-max: %+v", i+3, out)
		}
	}
	if out := loginUser(t, s, "admin", "pw-123456"); out.code != fortitest.CodeLoginMax {
		t.Errorf("login 33 = %+v", out)
	}
}

// However a session ends, its admin gets its slot back, once: login-max holds exactly.
func TestLoginMaxAfterEveryEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, s *fortitest.Server, sid string)
	}{
		{"logout", func(t *testing.T, s *fortitest.Server, sid string) {
			sessionCall(t, s, "exec", "/sys/logout", sid)
			sessionCall(t, s, "exec", "/sys/logout", sid) // -11: ends nothing more
		}},
		{"ExpireSession twice", func(t *testing.T, s *fortitest.Server, sid string) {
			s.ExpireSession(sid)
			s.ExpireSession(sid)
		}},
		{"idle, seen by SessionAlive", func(t *testing.T, s *fortitest.Server, sid string) {
			s.Advance(45 * time.Second)
			if s.SessionAlive(sid) {
				t.Fatal("alive after idling out")
			}
			sessionCall(t, s, "exec", "/sys/logout", sid)
		}},
		{"idle, seen by the next login", func(t *testing.T, s *fortitest.Server, sid string) {
			s.Advance(45 * time.Second)
		}},
		{"ExpireAll", func(t *testing.T, s *fortitest.Server, sid string) {
			s.ExpireAll()
			loginUser(t, s, "admin", "pw-123456")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fortitest.NewServerT(t)
			s.AddAdmin("admin", "pw-123456")
			s.SetLoginMax(2)
			s.SetSessionIdle(time.Minute)
			sid := loginUser(t, s, "admin", "pw-123456").session
			s.Advance(30 * time.Second) // so that sid idles out before the other
			loginUser(t, s, "admin", "pw-123456")
			tc.end(t, s, sid)
			if out := loginUser(t, s, "admin", "pw-123456"); out.code != 0 {
				t.Fatalf("login after the end = %+v", out)
			}
			if out := loginUser(t, s, "admin", "pw-123456"); out.code != fortitest.CodeLoginMax {
				t.Errorf("login over login-max = %+v, live %d", out, s.LiveSessionsOf("admin"))
			}
		})
	}
}

func TestCloudLoginAndExchange(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAPIUser("API1", "api-pass-1")
	s.AddAPIUser("API2", "api-pass-2")
	faz, _, _ := oauthToken(t, s, "API1", "api-pass-1", "FortiAnalyzer")
	lan, _, _ := oauthToken(t, s, "API2", "api-pass-2", "fortilancloud")
	s.AddCloudToken("static-cloud-token", 0)
	s.AddCloudToken("short-cloud-token", time.Minute)

	cloud := func(tok string) rpcOut {
		return rpcCall(t, s, map[string]any{"id": 1, "method": "exec", "session": nil,
			"params": []any{map[string]any{"url": "/sys/login/cloud", "data": map[string]string{"token": tok}}}})
	}
	for _, tc := range []struct {
		tok string
		ok  bool
	}{{faz, true}, {lan, false}, {"static-cloud-token", true}, {"short-cloud-token", true}, {"", false}} {
		out := cloud(tc.tok)
		if (out.code == 0 && out.session != "") != tc.ok {
			t.Errorf("login/cloud with %.8q: %+v, want ok=%v", tc.tok, out, tc.ok)
		}
	}
	if s.LiveSessionsOf("cloud:API1") != 1 || s.LiveSessionsOf("cloud") != 2 {
		t.Errorf("cloud sessions: %d %d", s.LiveSessionsOf("cloud:API1"), s.LiveSessionsOf("cloud"))
	}

	// the exchange: a bare object, HTTP/1.1 recorded
	a := post(t, h1Client(s), s.URL+"/p/forticloud_jsonrpc_login/", map[string]string{"access_token": faz})
	if a.status != 200 || a.proto != 1 || s.ExchangeProtoMajor() != 1 {
		t.Fatalf("exchange: HTTP/%d %d %s, recorded %d", a.proto, a.status, a.body, s.ExchangeProtoMajor())
	}
	sid, _ := a.json(t)["session"].(string)
	if sid == "" || !s.SessionAlive(sid) {
		t.Fatalf("exchange session %q", sid)
	}
	a = post(t, s.Client(), s.URL+"/p/forticloud_jsonrpc_login/", map[string]string{"access_token": faz})
	if a.status != 200 || s.ExchangeProtoMajor() != 2 || s.Protos("/p/forticloud_jsonrpc_login/")["HTTP/1.1"] != 1 {
		t.Errorf("exchange over HTTP/2: %d, recorded %d, %v", a.status, s.ExchangeProtoMajor(), s.Protos("/p/forticloud_jsonrpc_login/"))
	}
	for _, tok := range []string{lan, "nope", ""} {
		a := post(t, s.Client(), s.URL+"/p/forticloud_jsonrpc_login/", map[string]string{"access_token": tok})
		if a.status != 401 || a.json(t)["error"] != "invalid token" {
			t.Errorf("exchange with %.8q: %d %s", tok, a.status, a.body)
		}
	}
	// revoking the token after the exchange leaves the session alive (pyFMG's way)
	post(t, s.Client(), s.URL+"/api/v1/oauth/revoke_token/", map[string]string{"client_id": "FortiAnalyzer", "token": faz})
	if !s.SessionAlive(sid) {
		t.Error("the session died with its token")
	}
	if out := cloud(faz); out.code == 0 {
		t.Error("a revoked token logged in")
	}
	s.Advance(2 * time.Minute)
	if out := cloud("short-cloud-token"); out.code == 0 {
		t.Error("an expired cloud token logged in")
	}
}

// ---- OAuth ----

func TestOAuthOneLiveToken(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAPIUser("API1", "api-pass-1")
	s.AddAPIUser("API2", "api-pass-2")

	t1, _, exp := oauthToken(t, s, "API1", "api-pass-1", "FortiAnalyzer")
	if exp != 14400 {
		t.Errorf("FortiAnalyzer expires_in = %v, want 14400", exp)
	}
	other, _, _ := oauthToken(t, s, "API2", "api-pass-2", "FortiAnalyzer")
	t2, r2, exp := oauthToken(t, s, "API1", "api-pass-1", "FortiManager")
	if exp != 3600 {
		t.Errorf("FortiManager expires_in = %v, want 3600", exp)
	}
	if s.OAuthTokenAlive(t1) {
		t.Error("a new token (another client_id) left the previous one alive")
	}
	if !s.OAuthTokenAlive(t2) || !s.OAuthTokenAlive(other) || s.LiveOAuthTokens() != 2 {
		t.Errorf("live: t2 %v other %v count %d", s.OAuthTokenAlive(t2), s.OAuthTokenAlive(other), s.LiveOAuthTokens())
	}

	// refresh: a new pair, the old access token dies, the old refresh token cannot be reused
	a := post(t, s.Client(), s.URL+"/api/v1/oauth/token/", map[string]string{"client_id": "FortiManager", "grant_type": "refresh_token", "refresh_token": r2})
	m := a.json(t)
	t3, _ := m["access_token"].(string)
	if a.status != 200 || t3 == "" || t3 == t2 || m["refresh_token"] == r2 {
		t.Fatalf("refresh: %d %s", a.status, a.body)
	}
	if s.OAuthTokenAlive(t2) || !s.OAuthTokenAlive(t3) {
		t.Error("refresh left the old token alive")
	}
	for _, body := range []map[string]string{
		{"client_id": "FortiManager", "grant_type": "refresh_token", "refresh_token": r2},
		{"client_id": "FortiAnalyzer", "grant_type": "refresh_token", "refresh_token": m["refresh_token"].(string)},
	} {
		if a := post(t, s.Client(), s.URL+"/api/v1/oauth/token/", body); a.status != 401 {
			t.Errorf("refresh %v: %d", body, a.status)
		}
	}

	// bad credentials: the documented error shape
	a = post(t, s.Client(), s.URL+"/api/v1/oauth/token/", map[string]string{"username": "API1", "password": "wrong", "client_id": "FortiAnalyzer", "grant_type": "password"})
	if m := a.json(t); a.status != 401 || m["error"] != "invalid_grant" || m["error_description"] != "Invalid credentials given." || m["status"] != "error" {
		t.Errorf("bad credentials: %d %s", a.status, a.body)
	}
	if !s.OAuthTokenAlive(t3) {
		t.Error("a refused request killed the live token")
	}

	// revoke
	for _, tc := range []struct {
		name   string
		body   map[string]string
		status int
		alive  bool
	}{
		{"empty token", map[string]string{"client_id": "FortiManager", "token": ""}, 400, true},
		{"unknown token", map[string]string{"client_id": "FortiManager", "token": "nope"}, 200, true},
		{"wrong client_id", map[string]string{"client_id": "FortiAnalyzer", "token": t3}, 401, true},
		{"revoke", map[string]string{"client_id": "FortiManager", "token": t3}, 200, false},
		{"again", map[string]string{"client_id": "FortiManager", "token": t3}, 200, false},
	} {
		if a := post(t, s.Client(), s.URL+"/api/v1/oauth/revoke_token/", tc.body); a.status != tc.status || s.OAuthTokenAlive(t3) != tc.alive {
			t.Errorf("%s: %d %s, alive %v", tc.name, a.status, a.body, s.OAuthTokenAlive(t3))
		}
	}

	// lifetime
	s.SetOAuthTokenTTL(time.Minute)
	t4, _, exp := oauthToken(t, s, "API1", "api-pass-1", "FortiManager")
	if exp != 60 {
		t.Errorf("expires_in = %v with a 1m TTL", exp)
	}
	s.Advance(61 * time.Second)
	if s.OAuthTokenAlive(t4) {
		t.Error("token alive after its lifetime")
	}
}

func TestOAuthConcurrentRequestsLeaveOneToken(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAPIUser("API1", "api-pass-1")
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _, _ = oauthToken(t, s, "API1", "api-pass-1", "fortilancloud")
		}()
	}
	wg.Wait()
	alive := 0
	for _, tok := range toks {
		if s.OAuthTokenAlive(tok) {
			alive++
		}
	}
	if alive != 1 || s.LiveOAuthTokens() != 1 {
		t.Errorf("%d of %d racing tokens alive, want 1", alive, len(toks))
	}
}

// ---- FortiLAN ----

func TestFortiLAN(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.SetAuthRateLimit(0)
	s.AddLANUser("acct1@example.com", "user1@example.com", "pw-email", false)
	s.AddLANUser("acct1@example.com", "iam1", "pw-iam", true)
	auth := func(user, pass string, iam bool) answer {
		body := map[string]string{"accountId": "acct1@example.com", "userName": user, "password": pass}
		if iam {
			body["type"] = "iamuser"
		}
		return post(t, s.Client(), s.URL+"/api/v1/auth", body)
	}
	for _, tc := range []struct {
		name      string
		user, pw  string
		iam, want bool
	}{
		{"email", "user1@example.com", "pw-email", false, true},
		{"iam", "iam1", "pw-iam", true, true},
		{"email as iam", "user1@example.com", "pw-email", true, false},
		{"iam as email", "iam1", "pw-iam", false, false},
		{"wrong password", "user1@example.com", "pw-iam", false, false},
		{"empty password", "user1@example.com", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := auth(tc.user, tc.pw, tc.iam)
			m := a.json(t)
			if !tc.want {
				if a.status != 401 || m["error"] == nil {
					t.Errorf("%d %s, want 401 with an error", a.status, a.body)
				}
				return
			}
			tok, _ := m["access_token"].(string)
			exp, _ := m["expires_in"].(float64)
			if a.status != 200 || len(tok) != 32 {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if d := time.Until(time.Unix(int64(exp), 0)); d < 59*time.Minute || d > 61*time.Minute {
				t.Errorf("expires_in %v is not a UNIX time an hour away", exp)
			}
			if !s.LANTokenAlive(tok) {
				t.Error("token not alive")
			}
		})
	}

	s.SetLANExpiresRelative(true)
	s.SetLANTokenTTL(10 * time.Minute)
	m := auth("iam1", "pw-iam", true).json(t)
	if m["expires_in"] != float64(600) {
		t.Errorf("relative expires_in = %v, want 600", m["expires_in"])
	}
	tok := m["access_token"].(string)

	call := func(tok string) int {
		return post(t, s.Client(), s.URL+"/api/v1/devices", `{}`, "Authorization", "Bearer "+tok).status
	}
	invalidate := func(bearer, body string) answer {
		return post(t, s.Client(), s.URL+"/api/v1/auth/invalidate_token", map[string]string{"access_token": body}, "Authorization", "Bearer "+bearer)
	}
	if st := call(tok); st != 200 {
		t.Errorf("call with a live token: %d", st)
	}
	if st := call("nope"); st != 401 {
		t.Errorf("call with a bad token: %d", st)
	}
	if a := invalidate(tok, "other"); a.status != 400 || !s.LANTokenAlive(tok) {
		t.Errorf("invalidate naming another token: %d", a.status)
	}
	if a := invalidate(tok, tok); a.status != 200 || string(a.body) != "{}" {
		t.Errorf("invalidate: %d %s", a.status, a.body)
	}
	if a := invalidate(tok, tok); a.status != 401 {
		t.Errorf("second invalidate: %d, want 401", a.status)
	}
	if st := call(tok); st != 401 {
		t.Errorf("call with an invalidated token: %d", st)
	}

	// expiry, ExpireLANToken
	t1 := auth("iam1", "pw-iam", true).json(t)["access_token"].(string)
	t2 := auth("iam1", "pw-iam", true).json(t)["access_token"].(string)
	if s.LiveLANTokens() != 4 {
		t.Errorf("LiveLANTokens = %d, want 4", s.LiveLANTokens())
	}
	s.ExpireLANToken(t1)
	if a := invalidate(t1, t1); a.status != 401 {
		t.Errorf("invalidate an expired token: %d", a.status)
	}
	s.Advance(11 * time.Minute)
	if s.LANTokenAlive(t2) || call(t2) != 401 {
		t.Error("token alive after its lifetime")
	}

	// IAM OAuth tokens work for FortiLAN only with its client_ids
	s.AddAPIUser("API1", "api-pass-1")
	for _, tc := range []struct {
		clientID string
		want     int
	}{{"fortilancloud", 200}, {"fortiedgecloud", 200}, {"FortiAnalyzer", 401}} {
		tok, _, _ := oauthToken(t, s, "API1", "api-pass-1", tc.clientID)
		if st := call(tok); st != tc.want {
			t.Errorf("IAM token for %s: %d, want %d", tc.clientID, st, tc.want)
		}
	}
}

func TestAuthRateLimit(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddLANUser("acct", "user", "pw-12345", false)
	auth := func(pass string) answer {
		return post(t, s.Client(), s.URL+"/api/v1/auth", map[string]string{"accountId": "acct", "userName": "user", "password": pass})
	}
	// default: 6 per minute, refused credentials count too
	for i := 0; i < 6; i++ {
		pass := "pw-12345"
		if i%2 == 1 {
			pass = "wrong"
		}
		if a := auth(pass); a.status == 429 {
			t.Fatalf("request %d rate limited", i+1)
		}
	}
	a := auth("pw-12345")
	ra, err := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != 429 || err != nil || ra < 55 || ra > 60 {
		t.Fatalf("7th request: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	// other calls are not limited
	if a := post(t, s.Client(), s.URL+"/api/v1/auth/invalidate_token", `{}`, "Authorization", "Bearer x"); a.status != 401 {
		t.Errorf("invalidate while auth is limited: %d", a.status)
	}
	s.Advance(30 * time.Second)
	if a := auth("pw-12345"); a.status != 429 {
		t.Errorf("half a minute later: %d", a.status)
	} else if ra, _ := strconv.Atoi(a.header.Get("Retry-After")); ra > 31 {
		t.Errorf("Retry-After %d after 30 s", ra)
	}
	s.Advance(31 * time.Second)
	if a := auth("pw-12345"); a.status != 200 {
		t.Errorf("after the window slid: %d", a.status)
	}

	s.SetAuthRateLimit(2)
	auth("pw-12345")
	auth("pw-12345")
	if a := auth("pw-12345"); a.status != 429 {
		t.Errorf("limit 2: third request %d", a.status)
	}
	s.SetAuthRateLimit(0)
	for i := 0; i < 20; i++ {
		if a := auth("pw-12345"); a.status != 200 {
			t.Fatalf("limit off: request %d answered %d", i+1, a.status)
		}
	}
	if got := s.Calls("/api/v1/auth"); got != 32 {
		t.Errorf("Calls(/api/v1/auth) = %d, want 32", got)
	}
}

// ---- faults ----

func TestFaults(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("admin", "pw-123456")
	s.SetLoginMax(1000)
	login := map[string]any{"id": 1, "method": "exec", "params": []any{map[string]any{"url": "/sys/login/user", "data": map[string]string{"user": "admin", "passwd": "pw-123456"}}}}

	for _, tc := range []struct {
		name  string
		fault fortitest.Fault
		check func(t *testing.T, a answer, err error)
	}{
		{"down", fortitest.Fault{Kind: fortitest.FaultDown}, func(t *testing.T, a answer, err error) {
			if err == nil {
				t.Errorf("answered %d", a.status)
			}
		}},
		{"5xx", fortitest.Fault{Kind: fortitest.Fault5xx}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 503 || !json.Valid(a.body) {
				t.Errorf("%v %d %s", err, a.status, a.body)
			}
		}},
		{"5xx chosen", fortitest.Fault{Kind: fortitest.Fault5xx, Status: 502}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 502 {
				t.Errorf("%v %d", err, a.status)
			}
		}},
		{"html", fortitest.Fault{Kind: fortitest.FaultHTML}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 200 || string(a.body) != "<html><body>Login</body></html>" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("%v %d %s", err, a.status, a.body)
			}
		}},
		{"broken json", fortitest.Fault{Kind: fortitest.FaultBrokenJSON}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 200 || string(a.body) != `{"result":[{"status":` {
				t.Errorf("%v %d %s", err, a.status, a.body)
			}
		}},
		{"jsonrpc code", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -11, Message: "gone"}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 200 || !bytes.Contains(a.body, []byte(`{"code":-11,"message":"gone"}`)) {
				t.Errorf("%v %d %s", err, a.status, a.body)
			}
		}},
		{"401", fortitest.Fault{Kind: fortitest.Fault401}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 401 {
				t.Errorf("%v %d", err, a.status)
			}
		}},
		{"429", fortitest.Fault{Kind: fortitest.Fault429, RetryAfter: 1500 * time.Millisecond}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 429 || a.header.Get("Retry-After") != "2" {
				t.Errorf("%v %d %q", err, a.status, a.header.Get("Retry-After"))
			}
		}},
		{"huge", fortitest.Fault{Kind: fortitest.FaultHuge}, func(t *testing.T, a answer, err error) {
			if err != nil || a.status != 200 || len(a.body) != fortitest.HugeSize || !json.Valid(a.body) {
				t.Errorf("%v %d len %d", err, a.status, len(a.body))
			}
		}},
		{"redirect", fortitest.Fault{Kind: fortitest.FaultRedirect}, func(t *testing.T, a answer, err error) {
			// http.Client follows 302 by turning the POST into a GET
			if err != nil || s.Calls(fortitest.RedirectTarget) != 1 {
				t.Errorf("%v %d, redirected %d", err, a.status, s.Calls(fortitest.RedirectTarget))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.ClearFaults()
			tc.fault.Path = "jsonrpc:/sys/login"
			tc.fault.Count = 1
			for _, c := range []*http.Client{s.Client(), h1Client(s)} {
				s.ResetCalls()
				s.AddFault(tc.fault)
				a, err := tryPost(context.Background(), c, s.URL+"/jsonrpc", login)
				tc.check(t, a, err)
				// the fault was used up: the same call now works
				if out := rpcCall(t, s, login); out.code != 0 {
					t.Errorf("after the fault: %+v", out)
				}
			}
			if len(s.Faults()) != 0 {
				t.Errorf("faults left: %+v", s.Faults())
			}
		})
	}
}

func TestFaultMatching(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("admin", "pw-123456")
	sid := loginUser(t, s, "admin", "pw-123456").session

	// a JSON-RPC url fault leaves the other urls alone
	s.AddFault(fortitest.Fault{Path: "jsonrpc:sys/logout", Kind: fortitest.FaultCode, RPCCode: -1, Count: 2})
	if out := sessionCall(t, s, "get", "/sys/status", sid); out.code != 0 {
		t.Errorf("status hit by a logout fault: %+v", out)
	}
	for i := 0; i < 2; i++ {
		if out := sessionCall(t, s, "exec", "/sys/logout", sid); out.code != -1 {
			t.Errorf("logout %d: %+v, want the fault's -1", i, out)
		}
	}
	if out := sessionCall(t, s, "exec", "/sys/logout", sid); out.code != 0 {
		t.Errorf("logout after Count ran out: %+v", out)
	}

	// a path prefix fault; Count 0 lasts until cleared; the first matching fault wins
	s.AddFault(fortitest.Fault{Path: "/api/v1/oauth/", Kind: fortitest.FaultCode, Status: 418})
	s.AddFault(fortitest.Fault{Kind: fortitest.Fault5xx})
	for i := 0; i < 3; i++ {
		if a := post(t, s.Client(), s.URL+"/api/v1/oauth/token/", `{}`); a.status != 418 {
			t.Errorf("oauth: %d", a.status)
		}
	}
	if a := post(t, s.Client(), s.URL+"/api/v1/auth", `{}`); a.status != 503 {
		t.Errorf("catch-all: %d", a.status)
	}
	if n := len(s.Faults()); n != 2 {
		t.Errorf("%d faults left, want 2", n)
	}
	s.ClearFaults()
	if a := post(t, s.Client(), s.URL+"/api/v1/oauth/token/", `{}`); a.status != 400 {
		t.Errorf("after ClearFaults: %d", a.status)
	}
	// faults count as calls
	if got := s.Calls("/api/v1/oauth/token/"); got != 4 {
		t.Errorf("Calls = %d, want 4", got)
	}
}

func TestFaultSlowAndLatency(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddFault(fortitest.Fault{Kind: fortitest.FaultSlow, Delay: 150 * time.Millisecond, Count: 1})
	start := time.Now()
	if a := post(t, s.Client(), s.URL+"/api/v1/auth", `{}`); a.status != 401 {
		t.Errorf("slow answer: %d, want the normal 401", a.status)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("slow fault took only %v", d)
	}

	s.SetLatency(100 * time.Millisecond)
	start = time.Now()
	post(t, s.Client(), s.URL+"/api/v1/auth", `{}`)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	s.SetLatency(0)
}

// TestSlowWorkOutlivesTheClient: a client that gives up on a slow server does not undo the
// work, as on a real server: the login opens its session anyway.
func TestSlowWorkOutlivesTheClient(t *testing.T) {
	login := map[string]any{"id": 1, "method": "exec", "session": nil,
		"params": []any{map[string]any{"url": "/sys/login/user", "data": map[string]string{"user": "admin", "passwd": "pw-123456"}}}}
	for _, tc := range []struct {
		name    string
		fault   fortitest.Fault
		latency time.Duration
	}{
		{"FaultSlow", fortitest.Fault{Path: "jsonrpc:/sys/login", Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond}, 0},
		{"FaultActThenSlow", fortitest.Fault{Path: "jsonrpc:/sys/login", Kind: fortitest.FaultActThenSlow, Delay: time.Minute}, 0},
		{"latency", fortitest.Fault{}, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fortitest.NewServerT(t)
			s.AddAdmin("admin", "pw-123456")
			if tc.fault.Kind != 0 {
				s.AddFault(tc.fault)
			}
			s.SetLatency(tc.latency)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := tryPost(ctx, s.Client(), s.URL+"/jsonrpc", login); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the client's deadline", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for s.LiveSessionsOf("admin") != 1 {
				if time.Now().After(deadline) {
					t.Fatal("the login whose client left opened no session")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestConcurrent drives every endpoint and every setter at once, for the race detector.
func TestConcurrent(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAdmin("admin", "pw-123456")
	s.AddAPIUser("API1", "api-pass-1")
	s.AddLANUser("acct", "user", "pw-12345", false)
	s.SetAuthRateLimit(0)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if out := loginUser(t, s, "admin", "pw-123456"); out.code == 0 {
					sessionCall(t, s, "get", "/sys/status", out.session)
					name := fmt.Sprintf("dyn_%d_%d", i, j)
					tableCall(t, s, "add", tableURL, out.session, "", newAdminData(name))
					tableCall(t, s, "get", tableURL+"/"+name, "", s.AddAPIKey("admin"), nil)
					tableCall(t, s, "delete", tableURL+"/"+name, out.session, "", nil)
					sessionCall(t, s, "exec", "/sys/logout", out.session)
				}
				post(t, s.Client(), s.URL+"/api/v1/auth", map[string]string{"accountId": "acct", "userName": "user", "password": "pw-12345"})
				post(t, s.Client(), s.URL+"/api/v1/oauth/token/", map[string]string{"username": "API1", "password": "api-pass-1", "client_id": "FortiAnalyzer", "grant_type": "password"})
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := 0; j < 20; j++ {
			s.AddFault(fortitest.Fault{Path: "/nowhere", Kind: fortitest.Fault5xx, Count: 1})
			s.SetLoginMax(40)
			s.SetSessionIdle(time.Minute)
			s.SetADOMFirmware(fortitest.ADOMAccessKnown)
			s.AddADOM("soc")
			s.AddProfile("Custom", fortitest.ProfileNoStatus)
			_ = len(s.Admins())
			_ = s.LiveSessions() + s.LiveLANTokens() + s.LiveOAuthTokens() + s.Calls("/jsonrpc") + s.Connections()
			s.ClearFaults()
		}
	}()
	wg.Wait()
	if s.LiveSessions() != 0 {
		t.Errorf("LiveSessions = %d after every logout", s.LiveSessions())
	}
	if got := s.Admins(); len(got) != 1 {
		t.Errorf("admins %v after every delete", got)
	}
	if s.LiveOAuthTokens() != 1 {
		t.Errorf("LiveOAuthTokens = %d, want 1", s.LiveOAuthTokens())
	}
}

func TestCloseTwice(t *testing.T) {
	s := fortitest.NewServer()
	s.Close()
	s.Close()
	if _, err := tryPost(context.Background(), s.Client(), s.URL+"/jsonrpc", `{}`); err == nil {
		t.Error("a closed server answered")
	}
}
