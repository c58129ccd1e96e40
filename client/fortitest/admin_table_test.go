package fortitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	rootUser, rootPass = "root", "root-pass-1234"
	tableURL           = "/cli/global/system/admin/user"
)

// tableOut is a JSON-RPC answer to an admin table call, its data raw.
type tableOut struct {
	status int
	code   int
	data   json.RawMessage
}

// tableCall sends one admin table call with a session, or with a key as Bearer.
func tableCall(t *testing.T, s *fortitest.Server, method, url, sid, key string, data any) tableOut {
	t.Helper()
	param := map[string]any{"url": url}
	if data != nil {
		param["data"] = data
	}
	req := map[string]any{"id": 5, "method": method, "params": []any{param}, "session": nil}
	if sid != "" {
		req["session"] = sid
	}
	var hdr []string
	if key != "" {
		hdr = []string{"Authorization", "Bearer " + key}
	}
	a := post(t, s.Client(), s.URL+"/jsonrpc", req, hdr...)
	out := tableOut{status: a.status}
	if a.status != http.StatusOK {
		return out
	}
	var v struct {
		Result []struct {
			Status struct {
				Code int `json:"code"`
			} `json:"status"`
			Data json.RawMessage `json:"data"`
		} `json:"result"`
	}
	if err := json.Unmarshal(a.body, &v); err != nil || len(v.Result) != 1 {
		t.Fatalf("bad JSON-RPC answer %q: %v", a.body, err)
	}
	out.code, out.data = v.Result[0].Status.Code, v.Result[0].Data
	return out
}

// newAdminData is an add's data as the client sends it: the ADOM list bound with adom-access,
// loopback trusted.
func newAdminData(name string) map[string]any {
	d := map[string]any{"userid": name, "password": "dyn-pass-1234", "profileid": "Restricted_User",
		"adom": []map[string]string{{"adom-name": "root"}}, "adom-access": "specify", "rpc-permit": "read-write",
		"user_type": "local", "force-password-change": "disable", "trusthost1": "127.0.0.0 255.0.0.0"}
	for i := 2; i <= 10; i++ {
		d["trusthost"+strconv.Itoa(i)] = "255.255.255.255 255.255.255.255"
	}
	for i := 1; i <= 10; i++ {
		d["ipv6_trusthost"+strconv.Itoa(i)] = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"
	}
	return d
}

// with is d with one field set, or removed when v is nil.
func with(d map[string]any, k string, v any) map[string]any {
	out := maps.Clone(d)
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func tableServer(t *testing.T) (*fortitest.Server, string) {
	t.Helper()
	s := fortitest.NewServerT(t)
	s.AddAdmin(rootUser, rootPass)
	return s, loginUser(t, s, rootUser, rootPass).session
}

func TestAdminTableAdd(t *testing.T) {
	d := newAdminData("vault_x")
	for _, tc := range []struct {
		name string
		fw   fortitest.ADOMFirmware
		data map[string]any
		code int
	}{
		{"new firmware", fortitest.ADOMAccessKnown, d, fortitest.CodeOK},
		{"old firmware refuses adom-access", fortitest.ADOMAccessRefused, d, fortitest.CodeDataInvalid},
		{"old firmware without adom-access", fortitest.ADOMAccessRefused, with(d, "adom-access", nil), fortitest.CodeOK},
		{"unbinding firmware takes adom-access", fortitest.ADOMAccessIgnored, d, fortitest.CodeOK},
		{"an unknown field", fortitest.ADOMAccessKnown, with(d, "login-max", 5), fortitest.CodeDataInvalid},
		{"an unknown ADOM", fortitest.ADOMAccessKnown, with(d, "adom", []map[string]string{{"adom-name": "soc"}}), fortitest.CodeDataInvalid},
		{"ALL ADOMS", fortitest.ADOMAccessKnown, with(d, "adom", []map[string]string{{"adom-name": "ALL ADOMS"}}), fortitest.CodeOK},
		{"an unknown profile", fortitest.ADOMAccessKnown, with(d, "profileid", "Nobody"), fortitest.CodeDataInvalid},
		{"no password", fortitest.ADOMAccessKnown, with(d, "password", nil), fortitest.CodeDataInvalid},
		{"no name", fortitest.ADOMAccessKnown, with(d, "userid", nil), fortitest.CodeDataInvalid},
		{"a name of 36", fortitest.ADOMAccessKnown, with(d, "userid", strings.Repeat("a", 36)), fortitest.CodeDataInvalid},
		{"rpc-permit unknown", fortitest.ADOMAccessKnown, with(d, "rpc-permit", "all"), fortitest.CodeDataInvalid},
		{"a user type the fake lacks", fortitest.ADOMAccessKnown, with(d, "user_type", "radius"), fortitest.CodeDataInvalid},
		{"a trusted host as a prefix", fortitest.ADOMAccessKnown, with(d, "trusthost1", "127.0.0.0/8"), fortitest.CodeDataInvalid},
		{"a mask with holes", fortitest.ADOMAccessKnown, with(d, "trusthost1", "127.0.0.0 255.0.255.0"), fortitest.CodeDataInvalid},
		{"IPv4 in an IPv6 slot", fortitest.ADOMAccessKnown, with(d, "ipv6_trusthost1", "127.0.0.0/8"), fortitest.CodeDataInvalid},
		{"an exists", fortitest.ADOMAccessKnown, with(d, "userid", rootUser), fortitest.CodeExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sid := tableServer(t)
			s.SetADOMFirmware(tc.fw)
			if got := tableCall(t, s, "add", tableURL, sid, "", tc.data); got.code != tc.code {
				t.Fatalf("add answered %d, want %d", got.code, tc.code)
			}
			want := []string{rootUser}
			if tc.code == fortitest.CodeOK {
				want = []string{rootUser, tc.data["userid"].(string)}
				slices.Sort(want)
			}
			if got := s.Admins(); !slices.Equal(got, want) {
				t.Errorf("admins %v, want %v", got, want)
			}
		})
	}
}

// TestAdminTableGet: a get answers the admin in the real shape, every trusted-host slot filled,
// adom-access only where the firmware knows it, and the ADOMs as the firmware bound them.
func TestAdminTableGet(t *testing.T) {
	bare := with(with(newAdminData("vault_x"), "adom-access", nil), "trusthost1", nil)
	for i := 2; i <= 10; i++ {
		bare = with(bare, "trusthost"+strconv.Itoa(i), nil)
	}
	for i := 1; i <= 10; i++ {
		bare = with(bare, "ipv6_trusthost"+strconv.Itoa(i), nil)
	}
	for _, tc := range []struct {
		name       string
		fw         fortitest.ADOMFirmware
		data       map[string]any
		adomAccess any // nil: absent
		adom       string
	}{
		{"new firmware, specify", fortitest.ADOMAccessKnown, newAdminData("vault_x"), "specify", "root"},
		{"new firmware, no adom-access: all", fortitest.ADOMAccessKnown, bare, "all", "root"},
		{"old firmware", fortitest.ADOMAccessRefused, bare, nil, "root"},
		{"unbinding firmware", fortitest.ADOMAccessIgnored, newAdminData("vault_x"), nil, "ALL ADOMS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sid := tableServer(t)
			s.SetADOMFirmware(tc.fw)
			if got := tableCall(t, s, "add", tableURL, sid, "", tc.data); got.code != fortitest.CodeOK {
				t.Fatalf("add answered %d", got.code)
			}
			got := tableCall(t, s, "get", tableURL+"/vault_x", sid, "", nil)
			var a map[string]any
			if got.code != fortitest.CodeOK || json.Unmarshal(got.data, &a) != nil {
				t.Fatalf("get answered %d %s", got.code, got.data)
			}
			if a["userid"] != "vault_x" || a["profileid"] != "Restricted_User" || a["rpc-permit"] != "read-write" {
				t.Errorf("get answered %v", a)
			}
			if a["adom-access"] != tc.adomAccess {
				t.Errorf("adom-access %v, want %v", a["adom-access"], tc.adomAccess)
			}
			if adoms, _ := json.Marshal(a["adom"]); string(adoms) != `[{"adom-name":"`+tc.adom+`"}]` {
				t.Errorf("adom %s, want %s", adoms, tc.adom)
			}
			if pw, _ := json.Marshal(a["password"]); strings.Contains(string(pw), "dyn-pass-1234") {
				t.Error("get answered the password")
			}
			// Slot 1 is any, the others none, unless set.
			host1 := map[bool]string{true: "127.0.0.0 255.0.0.0", false: "0.0.0.0 0.0.0.0"}[tc.data["trusthost1"] != nil]
			if a["trusthost1"] != host1 || a["trusthost2"] != "255.255.255.255 255.255.255.255" {
				t.Errorf("trusthost1 %v, trusthost2 %v", a["trusthost1"], a["trusthost2"])
			}
			if tc.data["ipv6_trusthost1"] == nil && (a["ipv6_trusthost1"] != "::/0" || a["ipv6_trusthost10"] != "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128") {
				t.Errorf("ipv6_trusthost1 %v, ipv6_trusthost10 %v", a["ipv6_trusthost1"], a["ipv6_trusthost10"])
			}
			var list []map[string]any
			if got := tableCall(t, s, "get", tableURL, sid, "", nil); got.code != fortitest.CodeOK || json.Unmarshal(got.data, &list) != nil || len(list) != 2 {
				t.Errorf("get of the table answered %d %s", got.code, got.data)
			}
		})
	}
}

func TestAdminTableDelete(t *testing.T) {
	s, sid := tableServer(t)
	if got := tableCall(t, s, "add", tableURL, sid, "", newAdminData("vault_x")); got.code != fortitest.CodeOK {
		t.Fatalf("add answered %d", got.code)
	}
	own := loginUser(t, s, "vault_x", "dyn-pass-1234").session
	key := s.AddAPIKey("vault_x")
	if s.LiveSessionsOf("vault_x") != 1 || key == "" {
		t.Fatalf("the new admin's session %d, key %q", s.LiveSessionsOf("vault_x"), key)
	}
	if got := tableCall(t, s, "delete", tableURL+"/vault_x", sid, "", nil); got.code != fortitest.CodeOK {
		t.Fatalf("delete answered %d", got.code)
	}
	if s.SessionAlive(own) || slices.Contains(s.Admins(), "vault_x") {
		t.Error("the deleted admin or its session lives on")
	}
	for _, tc := range []struct{ method, url string }{{"delete", tableURL + "/vault_x"}, {"get", tableURL + "/vault_x"}, {"set", tableURL + "/vault_x"}} {
		if got := tableCall(t, s, tc.method, tc.url, sid, "", map[string]string{"password": "x-12345678"}); got.code != fortitest.CodeNoObject {
			t.Errorf("%s of a missing admin answered %d, want -3", tc.method, got.code)
		}
	}
	if got := tableCall(t, s, "get", tableURL, "", key, nil); got.status != http.StatusUnauthorized {
		t.Errorf("the deleted admin's key answered HTTP %d, want 401", got.status)
	}
	if s.AddAPIKey("vault_x") != "" {
		t.Error("a key for an admin that does not exist")
	}
}

// TestAdminLogins: created admins log in with their password, from an address they trust,
// with rpc-permit other than none.
func TestAdminLogins(t *testing.T) {
	d := newAdminData("vault_x")
	for _, tc := range []struct {
		name string
		data map[string]any
		code int
	}{
		{"as asked", d, fortitest.CodeOK},
		{"rpc-permit none", with(d, "rpc-permit", "none"), fortitest.CodeNoSession},
		{"rpc-permit left out: none", with(d, "rpc-permit", nil), fortitest.CodeNoSession},
		{"rpc-permit read", with(d, "rpc-permit", "read"), fortitest.CodeOK},
		{"trusting elsewhere", with(d, "trusthost1", "10.0.0.0 255.0.0.0"), fortitest.CodeLoginFail},
		{"trusting IPv6 only", with(d, "trusthost1", "255.255.255.255 255.255.255.255"), fortitest.CodeLoginFail},
		{"trusthost slots left out: any", with(with(d, "trusthost1", nil), "ipv6_trusthost1", nil), fortitest.CodeOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sid := tableServer(t)
			if got := tableCall(t, s, "add", tableURL, sid, "", tc.data); got.code != fortitest.CodeOK {
				t.Fatalf("add answered %d", got.code)
			}
			if got := loginUser(t, s, "vault_x", "dyn-pass-1234"); got.code != tc.code || (got.session != "") != (tc.code == fortitest.CodeOK) {
				t.Errorf("login answered %d (session %v), want %d", got.code, got.session != "", tc.code)
			}
			if got := loginUser(t, s, "vault_x", "wrong-pass-1234"); got.code != fortitest.CodeLoginFail {
				t.Errorf("a wrong password answered %d", got.code)
			}
		})
	}
}

// TestAdminTableRights: who may read and change the table, by session or key.
func TestAdminTableRights(t *testing.T) {
	s, rootSid := tableServer(t)
	s.AddADOM("soc")
	s.AddAdminProfile("viewer", "viewer-pass-1234", fortitest.ProfileNoSystemSettings)
	// A super user whose JSON-RPC access is read only.
	reader := with(with(newAdminData("reader"), "profileid", "Super_User"), "rpc-permit", "read")
	if got := tableCall(t, s, "add", tableURL, rootSid, "", reader); got.code != fortitest.CodeOK {
		t.Fatalf("add answered %d", got.code)
	}
	readerSid := loginUser(t, s, "reader", "dyn-pass-1234").session
	viewerSid := loginUser(t, s, "viewer", "viewer-pass-1234").session
	rootKey, viewerKey := s.AddAPIKey(rootUser), s.AddAPIKey("viewer")
	for i, tc := range []struct {
		name     string
		sid, key string
		get, add int // JSON-RPC codes
		status   int // HTTP status when not 200
	}{
		{"root's session", rootSid, "", fortitest.CodeOK, fortitest.CodeOK, 0},
		{"root's key", "", rootKey, fortitest.CodeOK, fortitest.CodeOK, 0},
		{"read-only JSON-RPC", readerSid, "", fortitest.CodeOK, fortitest.CodeNoSession, 0},
		{"a profile without admin rights", viewerSid, "", fortitest.CodeNoSession, fortitest.CodeNoSession, 0},
		{"its key", "", viewerKey, fortitest.CodeNoSession, fortitest.CodeNoSession, 0},
		{"no session", "", "", fortitest.CodeNoSession, fortitest.CodeNoSession, 0},
		{"an unknown key", "", "no-such-key-1234", 0, 0, http.StatusUnauthorized},
	} {
		name := "vault_" + strconv.Itoa(i)
		t.Run(tc.name, func(t *testing.T) {
			get := tableCall(t, s, "get", tableURL+"/"+rootUser, tc.sid, tc.key, nil)
			add := tableCall(t, s, "add", tableURL, tc.sid, tc.key, newAdminData(name))
			if tc.status != 0 {
				if get.status != tc.status || add.status != tc.status {
					t.Errorf("HTTP %d and %d, want %d", get.status, add.status, tc.status)
				}
				return
			}
			if get.code != tc.get || add.code != tc.add {
				t.Errorf("get %d, add %d; want %d, %d", get.code, add.code, tc.get, tc.add)
			}
		})
	}
	// A key from an address its admin does not trust is refused as an unknown one.
	far := with(with(newAdminData("far"), "profileid", "Super_User"), "trusthost1", "10.0.0.0 255.0.0.0")
	if got := tableCall(t, s, "add", tableURL, rootSid, "", far); got.code != fortitest.CodeOK {
		t.Fatalf("add answered %d", got.code)
	}
	if got := tableCall(t, s, "get", tableURL, "", s.AddAPIKey("far"), nil); got.status != http.StatusUnauthorized {
		t.Errorf("a key from an untrusted address answered HTTP %d, want 401", got.status)
	}
}

// TestAdminAddOutlivesTheClient: an add whose client left is made all the same.
func TestAdminAddOutlivesTheClient(t *testing.T) {
	for _, kind := range []fortitest.FaultKind{fortitest.FaultSlow, fortitest.FaultActThenSlow} {
		s, sid := tableServer(t)
		s.AddFault(fortitest.Fault{Path: "jsonrpc:" + tableURL, Kind: kind, Delay: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req := map[string]any{"id": 1, "method": "add", "session": sid,
			"params": []any{map[string]any{"url": tableURL, "data": newAdminData("vault_x")}}}
		_, err := tryPost(ctx, s.Client(), s.URL+"/jsonrpc", req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the client's deadline", err)
		}
		for deadline := time.Now().Add(10 * time.Second); !slices.Contains(s.Admins(), "vault_x"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("fault %d: the add whose client left made no admin", kind)
			}
		}
	}
}

// TestAdminCounters: AdminsAdded and AdminsDeleted count the adds and deletes that changed the
// table, not refused ones nor seeded admins.
func TestAdminCounters(t *testing.T) {
	s, sid := tableServer(t)
	steps := []struct {
		method, url string
		data        any
		code        int
	}{
		{"add", tableURL, newAdminData("vault_a"), fortitest.CodeOK},
		{"add", tableURL, newAdminData("vault_a"), fortitest.CodeExists},
		{"add", tableURL, newAdminData("vault_b"), fortitest.CodeOK},
		{"delete", tableURL + "/vault_a", nil, fortitest.CodeOK},
		{"delete", tableURL + "/vault_a", nil, fortitest.CodeNoObject},
	}
	for _, st := range steps {
		if got := tableCall(t, s, st.method, st.url, sid, "", st.data); got.code != st.code {
			t.Fatalf("%s %s answered %d, want %d", st.method, st.url, got.code, st.code)
		}
	}
	if a, d := s.AdminsAdded(), s.AdminsDeleted(); a != 2 || d != 1 {
		t.Errorf("AdminsAdded %d, AdminsDeleted %d; want 2 and 1", a, d)
	}
}
