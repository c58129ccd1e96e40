package client_test

import (
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

func TestWiderThan(t *testing.T) {
	asked := client.Admin{Name: "vault_x", Profile: "Restricted_User", ADOMs: []string{"root", "soc"},
		TrustedHosts: prefixes(t, "10.20.0.0/16", "2001:db8::/32"), RPCPermit: client.RPCRead}
	for _, tc := range []struct {
		name string
		edit func(got, want *client.Admin)
		says []string // in the reason; none: ""
	}{
		{"as asked", func(got, want *client.Admin) {}, nil},
		{"as asked, old firmware", func(got, want *client.Admin) { got.ADOMAccess = "" }, nil},
		{"fewer ADOMs", func(got, want *client.Admin) { got.ADOMs = []string{"root"} }, nil},
		{"ADOM in another case", func(got, want *client.Admin) { got.ADOMs = []string{"ROOT", "Soc"} }, nil},
		{"narrower hosts", func(got, want *client.Admin) { got.TrustedHosts = prefixes(t, "10.20.30.0/24") }, nil},
		{"no hosts at all", func(got, want *client.Admin) { got.TrustedHosts = nil }, nil},
		{"no hosts asked: any is fine", func(got, want *client.Admin) {
			want.TrustedHosts = nil
			got.TrustedHosts = prefixes(t, "0.0.0.0/0", "::/0")
		}, nil},
		{"every ADOM asked", func(got, want *client.Admin) {
			want.ADOMs = []string{client.AllADOMs}
			got.ADOMs, got.ADOMAccess = []string{"ALL ADOMS"}, ""
		}, nil},
		{"every ADOM asked, all read back", func(got, want *client.Admin) {
			want.ADOMs = []string{"all_adoms"}
			got.ADOMAccess = "all"
		}, nil},
		{"another profile", func(got, want *client.Admin) { got.Profile = "Super_User" }, []string{`profile "Super_User", asked "Restricted_User"`}},
		{"another rpc-permit", func(got, want *client.Admin) { got.RPCPermit = client.RPCReadWrite }, []string{"rpc-permit"}},
		{"rpc-permit unknown", func(got, want *client.Admin) { got.RPCPermit = "" }, []string{"rpc-permit"}},
		{"adom-access all", func(got, want *client.Admin) { got.ADOMAccess = "all" }, []string{"adom-access all gives every ADOM"}},
		{"adom-access exclude", func(got, want *client.Admin) { got.ADOMAccess = "exclude" }, []string{`adom-access "exclude"`}},
		{"adom-access per ADOM profile", func(got, want *client.Admin) { got.ADOMAccess = "per-adom-profile" }, []string{"per-adom-profile"}},
		{"ALL ADOMS", func(got, want *client.Admin) { got.ADOMs, got.ADOMAccess = []string{"ALL ADOMS"}, "" }, []string{"every ADOM"}},
		{"all_adoms", func(got, want *client.Admin) { got.ADOMs = []string{"root", "all_adoms"} }, []string{"every ADOM"}},
		{"All-Adoms", func(got, want *client.Admin) { got.ADOMs = []string{"All-Adoms"} }, []string{"every ADOM"}},
		{"an ADOM not asked", func(got, want *client.Admin) { got.ADOMs = []string{"root", "soc", "noc"} }, []string{"ADOMs noc not asked"}},
		{"no ADOM list", func(got, want *client.Admin) { got.ADOMs = nil }, []string{"no ADOM list"}},
		{"any IPv4", func(got, want *client.Admin) { got.TrustedHosts = prefixes(t, "0.0.0.0/0", "2001:db8::/32") }, []string{"any IPv4 address"}},
		{"any IPv6", func(got, want *client.Admin) { got.TrustedHosts = prefixes(t, "10.20.0.0/16", "::/0") }, []string{"any IPv6 address"}},
		{"a wider IPv4 prefix", func(got, want *client.Admin) { got.TrustedHosts = prefixes(t, "10.0.0.0/8") }, []string{"10.0.0.0/8 not asked"}},
		{"another IPv4 prefix", func(got, want *client.Admin) { got.TrustedHosts = prefixes(t, "10.20.0.0/16", "192.0.2.0/24") }, []string{"192.0.2.0/24"}},
		{"IPv6 when only IPv4 asked", func(got, want *client.Admin) {
			want.TrustedHosts = prefixes(t, "10.20.0.0/16")
			got.TrustedHosts = prefixes(t, "10.20.0.0/16", "2001:db8::/32")
		}, []string{"2001:db8::/32"}},
		{"IPv4 as IPv6", func(got, want *client.Admin) { got.TrustedHosts = prefixes(t, "::ffff:10.20.0.0/112") }, []string{"::ffff:10.20.0.0/112"}},
		{"all at once", func(got, want *client.Admin) {
			got.Profile, got.ADOMAccess, got.TrustedHosts = "Super_User", "all", prefixes(t, "0.0.0.0/0")
		}, []string{"profile", "adom-access all", "any IPv4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, want := asked, asked
			got.ADOMs, got.ADOMAccess = append([]string(nil), asked.ADOMs...), "specify"
			want.Password = "Secret-Pass-0123456789"
			tc.edit(&got, &want)
			why := got.WiderThan(want)
			if len(tc.says) == 0 && why != "" {
				t.Errorf("WiderThan = %q, want none", why)
			}
			if len(tc.says) > 0 && why == "" {
				t.Errorf("WiderThan = none, want %q", tc.says)
			}
			for _, s := range tc.says {
				if !strings.Contains(why, s) {
					t.Errorf("WiderThan = %q, want it to say %q", why, s)
				}
			}
			if strings.Contains(why, want.Password) {
				t.Errorf("WiderThan = %q holds the password", why)
			}
		})
	}
}
