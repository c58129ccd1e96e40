package backend

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// Configs and leases already in storage read back as they were written: a config's
// request_timeout in nanoseconds, a lease's in seconds.
func TestStoredFormatsReadable(t *testing.T) {
	ctx := t.Context()
	s := &logical.InmemStorage{}
	stored := `{"type":"fortianalyzer","url":"https://faz.example.com","auth_method":"local_user","username":"admin",` +
		`"password":"pw","ca_cert":"pem","tls_server_name":"faz","tls_skip_verify":true,"request_timeout":45000000000}`
	if err := s.Put(ctx, &logical.StorageEntry{Key: configPrefix + "faz", Value: []byte(stored)}); err != nil {
		t.Fatal(err)
	}
	c, err := readConfig(ctx, s, "faz")
	if err != nil {
		t.Fatal(err)
	}
	want := endpoint{Type: "fortianalyzer", AuthMethod: "local_user", URL: "https://faz.example.com",
		CACert: "pem", TLSServerName: "faz", TLSSkipVerify: true, RequestTimeout: 45}
	if got := c.endpoint(); got != want {
		t.Errorf("stored config's endpoint = %+v, want %+v", got, want)
	}
	if got := c.settings(); got.Timeout != 45*time.Second || got.Username != "admin" || got.Password != "pw" {
		t.Errorf("stored config's settings = %+v", got)
	}

	// A lease's internal data as Vault hands it back: numbers as JSON left them.
	var data map[string]any
	if err := json.Unmarshal([]byte(`{"config":"faz","type":"fortianalyzer","auth_method":"local_user",`+
		`"url":"https://faz.example.com","ca_cert":"pem","tls_server_name":"faz","tls_skip_verify":true,`+
		`"request_timeout":45,"session":"s","issued_at":1700000000}`), &data); err != nil {
		t.Fatal(err)
	}
	l, err := decodeLease(data)
	if err != nil {
		t.Fatal(err)
	}
	if l.endpoint != want || l.Session != "s" || l.Config != "faz" {
		t.Errorf("stored lease decoded as %+v, want endpoint %+v", l, want)
	}
}

// A config's endpoint, through a lease and back out of storage, reaches the product as the
// config does, without its credentials.
func TestEndpointRoundTrip(t *testing.T) {
	for _, c := range []*configEntry{
		{Type: "fortianalyzer", URL: "https://faz.example.com", AuthMethod: client.AuthLocalUser, Username: "a", Password: "b",
			CACert: "pem", TLSServerName: "n", TLSSkipVerify: true, RequestTimeout: 30 * time.Second},
		{Type: "fortilan", URL: client.DefaultFortiLANURL, AuthMethod: client.AuthAPIUser, APIID: "id", Password: "p",
			AuthURL: client.DefaultAuthURL, ClientID: "fortilancloud", RequestTimeout: time.Second},
		{Type: "forticloud", AuthMethod: client.AuthAPIUser, APIID: "id", Password: "p", AuthURL: "https://iam", ClientID: "x"},
	} {
		l, err := decodeLease(newLeaseInternal("c", "r", c, nil).toMap())
		if err != nil {
			t.Fatal(err)
		}
		// Written out rather than through c.settings, which builds on the same conversion.
		want := client.Settings{Type: c.Type, AuthMethod: c.AuthMethod, URL: c.URL, AuthURL: c.AuthURL, ClientID: c.ClientID,
			TLS:     client.TLSConfig{CACert: c.CACert, ServerName: c.TLSServerName, SkipVerify: c.TLSSkipVerify},
			Timeout: c.RequestTimeout}
		if got := l.settings(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: lease settings\n%+v\nwant\n%+v", c.Type, got, want)
		}
		want.APIID, want.Username, want.Password = c.APIID, c.Username, c.Password
		if got := c.settings(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: config settings\n%+v\nwant\n%+v", c.Type, got, want)
		}
		if !l.matches(c) {
			t.Errorf("%s: the lease does not match its own config", c.Type)
		}
	}
}

// sameTarget tells where a credential lives (product, method, URLs, client id) from how it is
// reached (TLS, timeout).
func TestEndpointSameTarget(t *testing.T) {
	base := endpoint{Type: "fortilan", AuthMethod: client.AuthAPIUser, URL: "https://lan", AuthURL: "https://iam",
		ClientID: "fortilancloud", CACert: "pem", TLSServerName: "n", RequestTimeout: 30}
	for _, tc := range []struct {
		name   string
		change func(*endpoint)
		same   bool
	}{
		{"nothing", func(*endpoint) {}, true},
		{"type", func(e *endpoint) { e.Type = "forticloud" }, false},
		{"auth_method", func(e *endpoint) { e.AuthMethod = client.AuthEmailUser }, false},
		{"url", func(e *endpoint) { e.URL = "https://lan2" }, false},
		{"auth_url", func(e *endpoint) { e.AuthURL = "https://iam2" }, false},
		{"client_id", func(e *endpoint) { e.ClientID = "other" }, false},
		{"ca_cert", func(e *endpoint) { e.CACert = "" }, true},
		{"tls_server_name", func(e *endpoint) { e.TLSServerName = "m" }, true},
		{"tls_skip_verify", func(e *endpoint) { e.TLSSkipVerify = true }, true},
		{"request_timeout", func(e *endpoint) { e.RequestTimeout = 5 }, true},
	} {
		o := base
		tc.change(&o)
		if got := base.sameTarget(o); got != tc.same {
			t.Errorf("%s changed: sameTarget = %v, want %v", tc.name, got, tc.same)
		}
	}
}
