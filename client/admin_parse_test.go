package client_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

func TestParseAdmin(t *testing.T) {
	const none4, none6 = `"255.255.255.255 255.255.255.255"`, `"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"`
	for _, tc := range []struct {
		name  string
		data  string
		want  *client.Admin // nil: an error naming field
		hosts []string
		field string
	}{
		{"new firmware", `{"userid":"vault_x","profileid":"Restricted_User","adom":[{"adom-name":"root"},{"adom-name":"soc"}],` +
			`"adom-access":"specify","rpc-permit":"read","password":["ENC","c2VjcmV0"],"trusthost1":"10.20.0.0 255.255.0.0",` +
			`"trusthost2":` + none4 + `,"ipv6_trusthost1":` + none6 + `,"ipv6_trusthost2":"2001:db8::/32"}`,
			&client.Admin{Name: "vault_x", Profile: "Restricted_User", ADOMs: []string{"root", "soc"}, ADOMAccess: "specify", RPCPermit: "read"},
			[]string{"10.20.0.0/16", "2001:db8::/32"}, ""},
		{"a list of one, old firmware, ALL ADOMS", `[{"userid":"vault_x","profileid":"Standard_User","adom":[{"adom-name":"ALL ADOMS"}]}]`,
			&client.Admin{Name: "vault_x", Profile: "Standard_User", ADOMs: []string{"ALL ADOMS"}},
			[]string{"0.0.0.0/0", "::/0"}, ""},
		{"other shapes", `{"userid":"a","adom":["root"],"trusthost1":["10.0.0.0","255.0.0.0"],"trusthost2":"192.0.2.1/32",` +
			`"trusthost3":"192.0.2.9 255.255.255.0","ipv6_trusthost1":"2001:db8::1/64"}`,
			&client.Admin{Name: "a", ADOMs: []string{"root"}},
			[]string{"10.0.0.0/8", "192.0.2.1/32", "192.0.2.0/24", "2001:db8::/64"}, ""},
		{"one ADOM as a string, nulls", `{"userid":"a","adom":"root","adom-access":null,"trusthost1":null,"rpc-permit":null}`,
			&client.Admin{Name: "a", ADOMs: []string{"root"}}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"every slot none", `{"userid":"a","trusthost1":` + none4 + `,"ipv6_trusthost1":` + none6 + `}`,
			&client.Admin{Name: "a"}, nil, ""},
		{"not an object", `"x"`, nil, nil, "admin"},
		{"a list of two", `[{"userid":"a"},{"userid":"b"}]`, nil, nil, "admin"},
		{"no userid", `{"profileid":"x"}`, nil, nil, "userid"},
		{"userid a number", `{"userid":7}`, nil, nil, "userid"},
		{"profileid a number", `{"userid":"a","profileid":1}`, nil, nil, "profileid"},
		{"rpc-permit a number", `{"userid":"a","rpc-permit":3}`, nil, nil, "rpc-permit"},
		{"adom objects without names", `{"userid":"a","adom":[{"name":"root"}]}`, nil, nil, "adom"},
		{"a mask with holes", `{"userid":"a","trusthost4":"10.0.0.0 255.0.255.0"}`, nil, nil, "trusthost4"},
		{"IPv6 in an IPv4 slot", `{"userid":"a","trusthost1":"2001:db8::/32"}`, nil, nil, "trusthost1"},
		{"a host without a mask", `{"userid":"a","trusthost1":"10.0.0.1"}`, nil, nil, "trusthost1"},
		{"IPv4 in an IPv6 slot", `{"userid":"a","ipv6_trusthost10":"10.0.0.0/8"}`, nil, nil, "ipv6_trusthost10"},
		{"an IPv6 slot as a list", `{"userid":"a","ipv6_trusthost2":["::","0"]}`, nil, nil, "ipv6_trusthost2"},
		// Each shape of each field, as the one decode reads them.
		{"a list of one, spaced", " [ {\"userid\":\"a\"} ]\v", &client.Admin{Name: "a"}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"a list of one null", `[null]`, nil, nil, "admin"},
		{"an empty list", `[]`, nil, nil, "admin"},
		{"a list in a list", `[[{"userid":"a"}]]`, nil, nil, "admin"},
		{"something after the object", `{"userid":"a"} {}`, nil, nil, "admin"},
		{"a number out of range in another field", `{"userid":"a","x":1e400}`, &client.Admin{Name: "a"}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"userid a number out of range", `{"userid":1e400}`, nil, nil, "userid"},
		{"adom-access a list", `{"userid":"a","adom-access":["all"]}`, nil, nil, "adom-access"},
		{"an ADOM list empty", `{"userid":"a","adom":[]}`, &client.Admin{Name: "a", ADOMs: []string{}}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"an ADOM item null, read as it always was", `{"userid":"a","adom":["root",null]}`,
			&client.Admin{Name: "a", ADOMs: []string{"root", ""}}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"an ADOM item with other keys", `{"userid":"a","adom":[{"adom-name":"root","oid":3}]}`,
			&client.Admin{Name: "a", ADOMs: []string{"root"}}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"an ADOM key in capitals", `{"userid":"a","adom":[{"ADOM-NAME":"root"}]}`, nil, nil, "adom"},
		{"an ADOM key also in capitals", `{"userid":"a","adom":[{"adom-name":"root","Adom-Name":"soc"}]}`, nil, nil, "adom"},
		{"an ADOM key twice, the last counts", `{"userid":"a","adom":[{"adom-name":1,"adom-name":"root"}]}`,
			&client.Admin{Name: "a", ADOMs: []string{"root"}}, []string{"0.0.0.0/0", "::/0"}, ""},
		{"an ADOM name a number", `{"userid":"a","adom":[{"adom-name":7}]}`, nil, nil, "adom"},
		{"an ADOM name null", `{"userid":"a","adom":[{"adom-name":null}]}`, nil, nil, "adom"},
		{"an ADOM item a number", `{"userid":"a","adom":[7]}`, nil, nil, "adom"},
		{"an ADOM item a list", `{"userid":"a","adom":[["root"]]}`, nil, nil, "adom"},
		{"an ADOM list an object", `{"userid":"a","adom":{"adom-name":"root"}}`, nil, nil, "adom"},
		{"an ADOM list a number", `{"userid":"a","adom":1}`, nil, nil, "adom"},
		{"a trusted host a list of one prefix", `{"userid":"a","trusthost1":["10.0.0.0/8"]}`, &client.Admin{Name: "a"}, []string{"10.0.0.0/8", "::/0"}, ""},
		{"a trusted host a list with a number", `{"userid":"a","trusthost1":["10.0.0.0",8]}`, nil, nil, "trusthost1"},
		{"a trusted host a list with null", `{"userid":"a","trusthost3":["10.0.0.0",null]}`, nil, nil, "trusthost3"},
		{"a trusted host an empty list", `{"userid":"a","trusthost2":[]}`, nil, nil, "trusthost2"},
		{"a trusted host a list of three", `{"userid":"a","trusthost2":["10.0.0.0","255.0.0.0","x"]}`, nil, nil, "trusthost2"},
		{"a trusted host a number out of range", `{"userid":"a","trusthost2":1e400}`, nil, nil, "trusthost2"},
		{"a trusted host true", `{"userid":"a","trusthost5":true}`, nil, nil, "trusthost5"},
		{"a trusted host an object", `{"userid":"a","trusthost5":{"ip":"10.0.0.0"}}`, nil, nil, "trusthost5"},
		{"an IPv6 slot a number", `{"userid":"a","ipv6_trusthost3":6}`, nil, nil, "ipv6_trusthost3"},
		{"an IPv6 slot spaced", `{"userid":"a","ipv6_trusthost1":" 2001:db8::1/48 "}`, &client.Admin{Name: "a"}, []string{"0.0.0.0/0", "2001:db8::/48"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := client.ParseAdmin([]byte(tc.data))
			if tc.want == nil {
				if err == nil || !strings.HasPrefix(err.Error(), tc.field+": ") {
					t.Fatalf("ParseAdmin = %+v, %v; want an error naming %s", got, err, tc.field)
				}
				if strings.Contains(err.Error(), "10.0.0") || strings.Contains(err.Error(), "2001") {
					t.Errorf("error %q holds part of the answer", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAdmin: %v", err)
			}
			if got.Name != tc.want.Name || got.Profile != tc.want.Profile || got.ADOMAccess != tc.want.ADOMAccess ||
				got.RPCPermit != tc.want.RPCPermit || !slices.Equal(got.ADOMs, tc.want.ADOMs) || got.Password != "" {
				t.Errorf("ParseAdmin = %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(got.TrustedHosts, prefixes(t, tc.hosts...)) {
				t.Errorf("trusted hosts %v, want %v", got.TrustedHosts, tc.hosts)
			}
		})
	}
}
