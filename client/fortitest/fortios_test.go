package fortitest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	fosStatus  = "/api/v2/monitor/system/status"
	fosUsers   = "/api/v2/cmdb/system/api-user"
	fosGenKey  = "/api/v2/monitor/system/api-user/generate-key"
	fosProfile = "/api/v2/cmdb/system/accprofile/"
	fosRoot    = "vault-root"
)

// fosCall sends one FortiOS request with key as Bearer ("" for none) and reads the answer.
func fosCall(t *testing.T, s *fortitest.Server, method, pathAndQuery, key string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+pathAndQuery, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantFOS fails unless a is a FortiOS answer of status with CLI error code (0: none), in the
// shape every FortiOS answer keeps.
func wantFOS(t *testing.T, a answer, status, code int) map[string]any {
	t.Helper()
	m := a.json(t)
	want := "success"
	if status >= 300 {
		want = "error"
	}
	if a.status != status || m["status"] != want || m["http_status"] != float64(status) {
		t.Fatalf("answer %d %s, want %d with status %q and http_status %d", a.status, a.body, status, want, status)
	}
	if got, _ := m["error"].(float64); int(got) != code {
		t.Fatalf("CLI error %v, want %d: %s", m["error"], code, a.body)
	}
	if _, ok := m["http_method"].(string); !ok {
		t.Fatalf("no http_method: %s", a.body)
	}
	return m
}

// newFOSFake is a fake FortiGate with a super_admin root api-user, whose key it returns.
func newFOSFake(t *testing.T) (*fortitest.Server, string) {
	s := fortitest.NewServerT(t)
	s.AddFortiOSProfile("read_only", fortitest.FortiOSNoAccess)
	return s, s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fosRoot, Profile: fortitest.FortiOSSuperAdmin, VDOMs: []string{"root"}})
}

func newUser(name string) map[string]any {
	return map[string]any{"name": name, "accprofile": "read_only", "vdom": []any{map[string]any{"name": "root"}},
		"trusthost": []any{map[string]any{"id": 1, "type": "ipv4-trusthost", "ipv4-trusthost": "10.0.0.0 255.0.0.0"},
			map[string]any{"id": 2, "type": "ipv6-trusthost", "ipv6-trusthost": "2001:db8::/32"}},
		"comments": "lease"}
}

// TestFortiOSAuth: only a live key, from one of its api-user's trusthosts, in the header, works.
func TestFortiOSAuth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    func(t *testing.T, s *fortitest.Server, root string) string
		query  string
		status int
		inURL  int
	}{
		{name: "the root's key", key: func(_ *testing.T, _ *fortitest.Server, root string) string { return root }, status: 200},
		{name: "no key", key: func(*testing.T, *fortitest.Server, string) string { return "" }, status: 401},
		{name: "a wrong key", key: func(*testing.T, *fortitest.Server, string) string { return "Not-A-Key-0123456789" }, status: 401},
		{name: "the key in the URL too", key: func(_ *testing.T, _ *fortitest.Server, root string) string { return root },
			query: "?access_token=", status: 401, inURL: 1},
		{name: "the key as api_key in the URL", key: func(_ *testing.T, _ *fortitest.Server, root string) string { return root },
			query: "?api_key=", status: 401, inURL: 1},
		{name: "a key used outside its trusthosts", key: func(_ *testing.T, s *fortitest.Server, _ string) string {
			return s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "far", Profile: fortitest.FortiOSSuperAdmin,
				TrustHosts: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}})
		}, status: 403},
		{name: "a key used from a trusthost", key: func(_ *testing.T, s *fortitest.Server, _ string) string {
			return s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "near", Profile: fortitest.FortiOSSuperAdmin,
				TrustHosts: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
		}, status: 200},
		{name: "a key of a deleted api-user", key: func(_ *testing.T, s *fortitest.Server, root string) string {
			s.DeleteFortiOSAPIUser(fosRoot)
			return root
		}, status: 401},
		{name: "a key replaced", key: func(t *testing.T, s *fortitest.Server, root string) string {
			wantFOS(t, fosCall(t, s, http.MethodPost, fosGenKey, root, map[string]any{"api-user": fosRoot}), 200, 0)
			return root
		}, status: 401},
		{name: "a key expired", key: func(t *testing.T, s *fortitest.Server, root string) string {
			s.SetFortiOSVersion("v7.6.0")
			m := wantFOS(t, fosCall(t, s, http.MethodPost, fosGenKey, root, map[string]any{"api-user": fosRoot, "expiry": 5}), 200, 0)
			s.Advance(5 * time.Minute)
			return m["results"].(map[string]any)["access_token"].(string)
		}, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, root := newFOSFake(t)
			key := tc.key(t, s, root)
			q := tc.query
			if q != "" {
				q += key
			}
			a := fosCall(t, s, http.MethodGet, fosStatus+q, key, nil)
			m := wantFOS(t, a, tc.status, 0)
			if tc.status == 401 && (m["serial"] != nil || m["version"] != nil) {
				t.Errorf("a 401 tells the FortiGate's serial or version: %s", a.body)
			}
			if got := s.FortiOSKeysInURL(); got != tc.inURL {
				t.Errorf("FortiOSKeysInURL = %d, want %d", got, tc.inURL)
			}
		})
	}
}

// TestFortiOSAPIUsers: the api-user table, in the answer shapes of docs/upstream.md §6.
func TestFortiOSAPIUsers(t *testing.T) {
	type step struct {
		method, path string
		body         any
		status, code int
	}
	gen := func(name string, extra ...any) map[string]any {
		m := map[string]any{"api-user": name}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	with := func(k string, v any) map[string]any {
		m := newUser("u1")
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name    string
		version string
		steps   []step
		users   []string // the api-users at the end, root included
	}{
		{name: "create, read, delete", steps: []step{
			{http.MethodPost, fosUsers, newUser("u1"), 200, 0},
			{http.MethodGet, fosUsers + "/u1", nil, 200, 0},
			{http.MethodDelete, fosUsers + "/u1", nil, 200, 0},
			{http.MethodGet, fosUsers + "/u1", nil, 404, 0},
			{http.MethodDelete, fosUsers + "/u1", nil, 404, -3},
		}, users: []string{fosRoot}},
		{name: "a name taken", steps: []step{
			{http.MethodPost, fosUsers, newUser("u1"), 200, 0},
			{http.MethodPost, fosUsers, newUser("u1"), 500, -5},
		}, users: []string{"u1", fosRoot}},
		{name: "references to nothing", steps: []step{
			{http.MethodPost, fosUsers, with("accprofile", "nope"), 424, -3},
			{http.MethodPost, fosUsers, with("vdom", []any{map[string]any{"name": "nope"}}), 424, -3},
		}, users: []string{fosRoot}},
		{name: "what the fake does not take", steps: []step{
			{http.MethodPost, fosUsers, with("api-key", "mine"), 500, -651},
			{http.MethodPost, fosUsers, with("name", "a-name-longer-than-thirty-five-chars"), 500, -651},
			{http.MethodPost, fosUsers, with("trusthost", []any{map[string]any{"type": "ipv4-trusthost", "ipv4-trusthost": "10.0.0.0/8"}}), 500, -651},
			{http.MethodPost, fosUsers, with("trusthost", []any{map[string]any{"type": "ipv4-trusthost", "ipv4-trusthost": "10.0.0.1 255.0.0.0"}}), 500, -651},
			{http.MethodPost, fosUsers, with("trusthost", []any{map[string]any{"type": "ipv4-trusthost", "ipv4-trusthost": "10.0.0.0 255.0.255.0"}}), 500, -651},
			{http.MethodPost, fosUsers, with("trusthost", []any{map[string]any{"type": "ipv6-trusthost", "ipv6-trusthost": "2001:db8::1/32"}}), 500, -651},
			{http.MethodPost, fosUsers, "not an object", 400, 0},
		}, users: []string{fosRoot}},
		{name: "generate-key", steps: []step{
			{http.MethodPost, fosUsers, newUser("u1"), 200, 0},
			{http.MethodPost, fosGenKey, gen("u1"), 200, 0},
			{http.MethodPost, fosGenKey, gen("nobody"), 404, -3},
			{http.MethodPost, fosGenKey, gen("u1", "extra", 1), 500, -651},
			{http.MethodPost, fosGenKey, map[string]any{}, 400, 0},
		}, users: []string{"u1", fosRoot}},
		{name: "expiry before 7.6", steps: []step{
			{http.MethodPost, fosUsers, newUser("u1"), 200, 0},
			{http.MethodPost, fosGenKey, gen("u1", "expiry", 60), 500, -651},
		}, users: []string{"u1", fosRoot}},
		{name: "expiry on 7.6", version: "v7.6.2", steps: []step{
			{http.MethodPost, fosUsers, newUser("u1"), 200, 0},
			{http.MethodPost, fosGenKey, gen("u1", "expiry", 60), 200, 0},
			{http.MethodPost, fosGenKey, gen("u1", "expiry", 0), 500, -651},
			{http.MethodPost, fosGenKey, gen("u1", "expiry", 10081), 500, -651},
			{http.MethodPost, fosGenKey, gen("u1", "expiry", "60"), 500, -651},
		}, users: []string{"u1", fosRoot}},
		{name: "wrong methods and paths", steps: []step{
			{http.MethodPut, fosStatus, nil, 405, 0},
			{http.MethodGet, fosUsers, nil, 405, 0},
			{http.MethodPost, fosUsers + "/u1", nil, 405, 0},
			{http.MethodGet, "/api/v2/cmdb/firewall/policy", nil, 404, 0},
		}, users: []string{fosRoot}},
		{name: "access profiles", steps: []step{
			{http.MethodGet, fosProfile + "super_admin", nil, 200, 0},
			{http.MethodGet, fosProfile + "nope", nil, 404, 0},
		}, users: []string{fosRoot}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, root := newFOSFake(t)
			s.SetFortiOSVersion(tc.version)
			for i, st := range tc.steps {
				a := fosCall(t, s, st.method, st.path, root, st.body)
				t.Logf("step %d: %s %s: %d %s", i, st.method, st.path, a.status, a.body)
				wantFOS(t, a, st.status, st.code)
			}
			if got := s.FortiOSAPIUsers(); !slices.Equal(got, tc.users) {
				t.Errorf("api-users %q, want %q", got, tc.users)
			}
		})
	}
}

// TestFortiOSReadBack: an api-user reads back as created, its key only hashed.
func TestFortiOSReadBack(t *testing.T) {
	s, root := newFOSFake(t)
	wantFOS(t, fosCall(t, s, http.MethodPost, fosUsers, root, newUser("u1")), 200, 0)
	m := wantFOS(t, fosCall(t, s, http.MethodPost, fosGenKey, root, map[string]any{"api-user": "u1"}), 200, 0)
	key := m["results"].(map[string]any)["access_token"].(string)
	a := fosCall(t, s, http.MethodGet, fosUsers+"/u1", root, nil)
	if bytes.Contains(a.body, []byte(key)) {
		t.Fatalf("the read answers the key: %s", a.body)
	}
	u := wantFOS(t, a, 200, 0)["results"].([]any)[0].(map[string]any)
	hosts := u["trusthost"].([]any)
	if u["name"] != "u1" || u["accprofile"] != "read_only" || len(hosts) != 2 ||
		hosts[0].(map[string]any)["ipv4-trusthost"] != "10.0.0.0 255.0.0.0" || hosts[1].(map[string]any)["ipv6-trusthost"] != "2001:db8::/32" {
		t.Errorf("read back %v", u)
	}
	got, ok := s.FortiOSAPIUser("u1")
	if !ok || got.Profile != "read_only" || len(got.TrustHosts) != 2 || got.TrustHosts[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("FortiOSAPIUser = %+v", got)
	}
	if s.FortiOSKey("u1") != key || !s.FortiOSKeyValid(key) {
		t.Error("FortiOSKey and FortiOSKeyValid disagree with the key answered")
	}
}

// TestFortiOSProfiles: an api-user whose profile may not manage administrators gets 403.
func TestFortiOSProfiles(t *testing.T) {
	for _, tc := range []struct {
		access                 fortitest.FortiOSAccess
		read, create, generate int
	}{
		{fortitest.FortiOSNoAccess, 403, 403, 403},
		{fortitest.FortiOSRead, 200, 403, 403},
		{fortitest.FortiOSReadWrite, 200, 200, 200},
	} {
		s, root := newFOSFake(t)
		wantFOS(t, fosCall(t, s, http.MethodPost, fosUsers, root, newUser("u1")), 200, 0)
		s.AddFortiOSProfile("limited", tc.access)
		key := s.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: "limited", Profile: "limited"})
		wantFOS(t, fosCall(t, s, http.MethodGet, fosStatus, key, nil), 200, 0)
		wantFOS(t, fosCall(t, s, http.MethodGet, fosUsers+"/u1", key, nil), tc.read, 0)
		wantFOS(t, fosCall(t, s, http.MethodGet, fosProfile+"limited", key, nil), tc.read, 0)
		wantFOS(t, fosCall(t, s, http.MethodPost, fosUsers, key, newUser("u2")), tc.create, 0)
		wantFOS(t, fosCall(t, s, http.MethodPost, fosGenKey, key, map[string]any{"api-user": "u1"}), tc.generate, 0)
	}
}

// TestFortiOSOwnKey: generate-key for the caller's own api-user replaces its key, or, where
// SetFortiOSOwnKeyRefused says so, answers 403 and leaves it working.
func TestFortiOSOwnKey(t *testing.T) {
	for _, refused := range []bool{false, true} {
		s, root := newFOSFake(t)
		s.SetFortiOSOwnKeyRefused(refused)
		status := 200
		if refused {
			status = 403
		}
		wantFOS(t, fosCall(t, s, http.MethodPost, fosGenKey, root, map[string]any{"api-user": fosRoot}), status, 0)
		if s.FortiOSKeyValid(root) != refused {
			t.Errorf("refused %v: the old key works: %v", refused, s.FortiOSKeyValid(root))
		}
	}
}

// TestFortiOSFaultCode: FaultCode answers a FortiOS call in FortiOS's error shape.
func TestFortiOSFaultCode(t *testing.T) {
	s, root := newFOSFake(t)
	s.AddFault(fortitest.Fault{Path: fosGenKey, Kind: fortitest.FaultCode, Status: 424, RPCCode: -3, Message: "datasource"})
	m := wantFOS(t, fosCall(t, s, http.MethodPost, fosGenKey, root, map[string]any{"api-user": fosRoot}), 424, -3)
	if m["cli_error"] != "datasource" {
		t.Errorf("cli_error %v", m["cli_error"])
	}
	s.ClearFaults()
	s.AddFault(fortitest.Fault{Path: fosStatus, Kind: fortitest.FaultCode, Status: 200})
	a := fosCall(t, s, http.MethodGet, fosStatus, root, nil)
	if m := a.json(t); a.status != 200 || m["status"] != "error" || m["http_status"] != float64(500) {
		t.Errorf("an error in a 200: %d %s", a.status, a.body)
	}
}
