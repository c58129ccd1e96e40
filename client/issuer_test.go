package client

import (
	"fmt"
	"testing"
	"time"
)

func TestOwnIAMTransport(t *testing.T) {
	faz, _ := LookupProduct(TypeFortiAnalyzer)
	cloud, _ := LookupProduct(TypeFortiCloud)
	for _, tc := range []struct {
		name string
		p    Product
		tls  TLSConfig
		want bool
	}{
		{"url's defaults", faz, TLSConfig{}, false},
		{"url's CA: IAM trusts it too", faz, TLSConfig{CACert: "pem"}, false},
		{"tls_server_name", faz, TLSConfig{ServerName: "faz.example"}, true},
		{"tls_skip_verify", faz, TLSConfig{SkipVerify: true}, true},
		{"a product without url", cloud, TLSConfig{SkipVerify: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownIAMTransport(tc.p, tc.tls); got != tc.want {
				t.Errorf("ownIAMTransport = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewIssuers(t *testing.T) {
	tr, err := NewTransport(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	oauth := NewOAuth(DefaultAuthURL, tr)
	lanLimiter, callLimiter := NewLoginLimiter(6), NewCallWindow().Limiter(60)
	for _, tc := range []struct {
		typ, method string
		clientID    string // given; "" for the product's default
		want        string // the issuer built, with what it was given
	}{
		{TypeFortiAnalyzer, AuthLocalUser, "", "sessions fortianalyzer https://faz.example client FortiAnalyzer"},
		{TypeFortiManager, AuthAPIUser, "", "sessions fortimanager https://faz.example client FortiManager"},
		{TypeFortiAnalyzer, AuthAPIUser, "Mine", "sessions fortianalyzer https://faz.example client Mine"},
		{TypeFortiLAN, AuthEmailUser, "", "fortilan https://faz.example paced"},
		{TypeFortiLAN, AuthIAMUser, "", "fortilan https://faz.example paced"},
		{TypeFortiLAN, AuthAPIUser, "", "iam client fortilancloud"},
		{TypeFortiCloud, AuthAPIUser, "fortigatecloud", "iam client fortigatecloud"},
	} {
		t.Run(tc.typ+"/"+tc.method, func(t *testing.T) {
			p, _ := LookupProduct(tc.typ)
			s := Settings{Type: tc.typ, AuthMethod: tc.method, URL: "https://faz.example", ClientID: tc.clientID,
				Limiter: lanLimiter, CallLimiter: callLimiter}
			si, ti := newIssuers(p, s, tr, oauth)
			if got := describe(si, ti, oauth, tr); got != tc.want {
				t.Errorf("newIssuers: %s, want %s", got, tc.want)
			}
		})
	}
	// FortiLAN without a url: the global region.
	p, _ := LookupProduct(TypeFortiLAN)
	if _, ti := newIssuers(p, Settings{Type: TypeFortiLAN, AuthMethod: AuthEmailUser}, tr, oauth); ti.(*lanIssuer).lan.base != DefaultFortiLANURL {
		t.Errorf("FortiLAN without a url calls %s", ti.(*lanIssuer).lan.base)
	}
}

// describe names the issuers built, and fails the description when one is not wired as New
// wires it.
func describe(si SessionIssuer, ti TokenIssuer, oauth *OAuth, t *Transport) string {
	switch {
	case si != nil && ti != nil:
		return "both issuers"
	case si != nil:
		i := si.(*sessionIssuer)
		if i.oauth != oauth || i.rpc.t != t {
			return "sessions not wired to the config's transports"
		}
		return fmt.Sprintf("sessions %s %s client %s", i.rpc.product, i.rpc.base, i.clientID)
	case ti == nil:
		return "no issuer"
	}
	switch i := ti.(type) {
	case *lanIssuer:
		if i.lan.t != t || i.lan.limiter != i.s.Limiter || i.lan.calls != i.s.CallLimiter || i.lan.limiter == nil || i.lan.calls == nil {
			return "fortilan not wired to the config's transport and limiters"
		}
		return fmt.Sprintf("fortilan %s paced", i.lan.base)
	case *oauthIssuer:
		if i.oauth != oauth {
			return "iam not wired to the config's IAM client"
		}
		return "iam client " + i.clientID
	}
	return fmt.Sprintf("%T", ti)
}

func TestObserve(t *testing.T) {
	heard := 0
	obs := func(string, string, string, time.Duration) { heard++ }
	si, ti := observe(TypeFortiAnalyzer, obs, &sessionIssuer{}, nil)
	if _, ok := si.(observedSessions); !ok || ti != nil {
		t.Errorf("observe(sessions, nil) = %T, %v", si, ti)
	}
	si, ti = observe(TypeFortiLAN, obs, nil, &lanIssuer{})
	if _, ok := ti.(observedTokens); !ok || si != nil {
		t.Errorf("observe(nil, tokens) = %v, %T", si, ti)
	}
	if heard != 0 {
		t.Error("the observer heard of an operation nobody made")
	}
}

func TestOrDefault(t *testing.T) {
	if orDefault("", "def") != "def" || orDefault("set", "def") != "set" {
		t.Error("orDefault")
	}
}
