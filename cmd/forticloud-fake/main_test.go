package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func TestParseFlags(t *testing.T) {
	def := parseFlags(flag.NewFlagSet("t", flag.ContinueOnError), nil)
	want := config{addr: "127.0.0.1:0", caOut: "fortitest-ca.pem", idle: fortitest.DefaultSessionIdle,
		authRate: fortitest.DefaultAuthRateLimit, callRate: fortitest.DefaultCallRateLimit, loginMax: fortitest.DefaultLoginMax}
	if def != want {
		t.Errorf("defaults %+v, want %+v", def, want)
	}
	c := parseFlags(flag.NewFlagSet("t", flag.ContinueOnError), []string{"-addr", "[::1]:9", "-info-out", "i.json",
		"-latency", "20ms", "-auth-rate", "0", "-call-rate", "5", "-login-max", "2", "-session-idle", "1s", "-ca-out", "ca.pem",
		"-adom-firmware", "unbound"})
	want = config{addr: "[::1]:9", caOut: "ca.pem", infoOut: "i.json", latency: 20 * time.Millisecond, idle: time.Second,
		authRate: 0, callRate: 5, loginMax: 2, adomFirmware: fortitest.ADOMAccessIgnored}
	if c != want {
		t.Errorf("flags %+v, want %+v", c, want)
	}
	var fw fortitest.ADOMFirmware
	if err := (adomFirmwareFlag{&fw}).Set("newest"); err == nil {
		t.Error("-adom-firmware newest was taken")
	}
}

func TestServeLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "example.com:0", "nonsense"} {
		if s, err := serve(addr); err == nil || !strings.Contains(err.Error(), "loopback") {
			if s != nil {
				s.Close()
			}
			t.Errorf("serve(%q) = %v, want a refusal", addr, err)
		}
	}
	s, err := serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestSeedAndAnnounce(t *testing.T) {
	s, err := serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	c := parseFlags(flag.NewFlagSet("t", flag.ContinueOnError), []string{"-login-max", "1"})
	c.caOut, c.infoOut = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "fake.json")
	seed(s, c)
	out, err := announce(s, c)
	if err != nil {
		t.Fatal(err)
	}
	var got info
	if err := json.Unmarshal(out, &got); err != nil || got.URL != s.URL || got.CAFile != c.caOut || got.PID != os.Getpid() {
		t.Errorf("announced %s (%v)", out, err)
	}
	// The demo key reads the admin table, and DemoADOM can be given.
	add := `{"id":1,"method":"add","params":[{"url":"/cli/global/system/admin/user","data":{"userid":"d1","password":"d1-pass-1234",` +
		`"profileid":"Restricted_User","adom":[{"adom-name":"` + DemoADOM + `"}],"adom-access":"specify","rpc-permit":"read"}}]}`
	if code := bearerCall(t, s, got.APIKey, add); code != fortitest.CodeOK {
		t.Errorf("an add with the demo key answered %d", code)
	}
	// The FortiGate root key may make api-users of the demo profile.
	if code := fosCreate(t, s, got.FortiGateKey, `{"name":"d1","accprofile":"`+DemoFortiGateProfile+`","vdom":[{"name":"root"}]}`); code != http.StatusOK {
		t.Errorf("an api-user create with the FortiGate key answered %d", code)
	}
	if b, err := os.ReadFile(c.infoOut); err != nil || string(b) != string(out) {
		t.Errorf("info file %q (%v), want %s", b, err, out)
	}
	if b, err := os.ReadFile(c.caOut); err != nil || string(b) != s.CACertPEM {
		t.Errorf("CA file (%v) is not the fake's CA", err)
	}
	if _, err := os.Stat(c.infoOut + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary info file is left: %v", err)
	}
	// The demo admin logs in, once: login-max 1 came through.
	login := `{"id":1,"method":"exec","params":[{"url":"/sys/login/user","data":[{"user":"` + DemoAdmin + `","passwd":"` + DemoPassword + `"}]}]}`
	for i, want := range []int{fortitest.CodeOK, fortitest.CodeLoginMax} {
		resp, err := s.Client().Post(s.URL+"/jsonrpc", "application/json", strings.NewReader(login))
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Result []struct {
				Status struct{ Code int } `json:"status"`
			} `json:"result"`
		}
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if err != nil || len(a.Result) != 1 || a.Result[0].Status.Code != want {
			t.Errorf("login %d: %+v %v, want code %d", i+1, a, err, want)
		}
	}
}

// bearerCall sends a JSON-RPC body with key as Bearer and returns its code.
func bearerCall(t *testing.T, s *fortitest.Server, key, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/jsonrpc", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Result []struct {
			Status struct{ Code int } `json:"status"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || len(a.Result) != 1 {
		t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
	return a.Result[0].Status.Code
}

// fosCreate posts an api-user create with key as Bearer and returns the HTTP status.
func fosCreate(t *testing.T, s *fortitest.Server, key, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v2/cmdb/system/api-user", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAnnounceWithoutInfo(t *testing.T) {
	s := fortitest.NewServerT(t)
	c := config{caOut: filepath.Join(t.TempDir(), "ca.pem")}
	if out, err := announce(s, c); err != nil || !json.Valid(out) {
		t.Errorf("announce = %s, %v", out, err)
	}
	c.caOut = filepath.Join(t.TempDir(), "missing", "ca.pem")
	if _, err := announce(s, c); err == nil {
		t.Error("announce into a missing directory succeeded")
	}
}
