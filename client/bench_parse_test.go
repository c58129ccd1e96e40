package client

import "testing"

// rpcGetAdminAnswer is the answer to `get /cli/global/system/admin/user/<name>` for a dynamic
// admin of the backend's benchmark role (two ADOMs, one trusted host), byte for byte as
// client/fortitest gives it: every trusted-host slot, the password as an encrypted stand-in.
var rpcGetAdminAnswer = []byte(`{"id":7,"result":[{"status":{"code":0,"message":"OK"},"url":"/cli/global/system/admin/user/vault_r_k3j9x2m4q8",` +
	`"data":{"adom":[{"adom-name":"root"},{"adom-name":"soc"}],"adom-access":"specify","force-password-change":"disable",` +
	`"ipv6_trusthost1":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128","ipv6_trusthost10":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",` +
	`"ipv6_trusthost2":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128","ipv6_trusthost3":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",` +
	`"ipv6_trusthost4":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128","ipv6_trusthost5":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",` +
	`"ipv6_trusthost6":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128","ipv6_trusthost7":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",` +
	`"ipv6_trusthost8":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128","ipv6_trusthost9":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",` +
	`"password":["ENC","_uPQXqRXvnRgyo7hwtMWTs-v2kXV0bAv"],"profileid":"Restricted_User","rpc-permit":"read-write",` +
	`"trusthost1":"127.0.0.1 255.255.255.255","trusthost10":"255.255.255.255 255.255.255.255","trusthost2":"255.255.255.255 255.255.255.255",` +
	`"trusthost3":"255.255.255.255 255.255.255.255","trusthost4":"255.255.255.255 255.255.255.255","trusthost5":"255.255.255.255 255.255.255.255",` +
	`"trusthost6":"255.255.255.255 255.255.255.255","trusthost7":"255.255.255.255 255.255.255.255","trusthost8":"255.255.255.255 255.255.255.255",` +
	`"trusthost9":"255.255.255.255 255.255.255.255","user_type":"local","userid":"vault_r_k3j9x2m4q8"}}]}`)

// BenchmarkParseGetAdmin reads a dynamic admin back as GetAdmin does: the JSON-RPC answer, then
// the admin in its data, and both together.
func BenchmarkParseGetAdmin(b *testing.B) {
	res, err := ParseRPC(rpcGetAdminAnswer)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("rpc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r, err := ParseRPC(rpcGetAdminAnswer); err != nil || r.Code != codeOK {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("admin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if a, err := ParseAdmin(res.Data); err != nil || len(a.TrustedHosts) != 1 {
				b.Fatal(a, err)
			}
		}
	})
	b.Run("both", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := ParseRPC(rpcGetAdminAnswer)
			if err != nil {
				b.Fatal(err)
			}
			if a, err := ParseAdmin(r.Data); err != nil || len(a.TrustedHosts) != 1 {
				b.Fatal(a, err)
			}
		}
	})
}
