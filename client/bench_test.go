package client

// Benchmarks of the client's hot paths, with allocation counts: encoding a request, parsing an
// answer, and whole calls against the in-process fake (no added latency, so that what is
// measured is the client and the loopback HTTP/2+TLS exchange). Run them with
//
//	go test -run '^$' -bench . -benchmem ./client/
//
// `make bench` runs them too. Timings are never asserted.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	benchAdmin    = "bench-admin"
	benchPassword = "bench-Passw0rd-xyz"
	benchAccount  = "bench-acct@example.com"
	benchUser     = "bench-user@example.com"
)

// Answers as the fake (and, per docs/upstream.md, the products) give them.
var (
	rpcLoginAnswer  = []byte(`{"id":1,"result":[{"status":{"code":0,"message":"OK"},"url":"/sys/login/user"}],"session":"9o6ueD0yXQ8mYHh0qI1Cf2c3bJZ1k7Vd"}`)
	rpcLogoutAnswer = []byte(`{"id":2,"result":[{"status":{"code":0,"message":"OK"},"url":"/sys/logout"}]}`)
	rpcGoneAnswer   = []byte(`{"id":3,"result":{"status":{"code":"-11","message":"No permission for the resource"},"url":"/sys/logout"}}`)
	lanTokenAnswer  = []byte(`{"access_token":"Zk3q9v1N2b8XoP4s7TgHcR5mWyLe0AuD","expires_in":1893456000}`)
	iamTokenAnswer  = []byte(`{"access_token":"Zk3q9v1N2b8XoP4s7TgHcR5mWyLe0AuD","expires_in":14400,"token_type":"Bearer","refresh_token":"r3fr35h-t0k3n","scope":"read write","message":"successfully authenticated","status":"success"}`)
	exchangeAnswer  = []byte(`{"session":"9o6ueD0yXQ8mYHh0qI1Cf2c3bJZ1k7Vd"}`)
)

// BenchmarkEncode is what post sends: the JSON body of each login and logout.
func BenchmarkEncode(b *testing.B) {
	session := "9o6ueD0yXQ8mYHh0qI1Cf2c3bJZ1k7Vd"
	cases := []struct {
		name string
		body any
	}{
		{"rpc_login_user", rpcRequest{ID: 1, Method: "exec", Params: []rpcParam{{URL: "/sys/login/user",
			Data: []map[string]string{{"user": benchAdmin, "passwd": benchPassword}}}}}},
		{"rpc_logout", rpcRequest{ID: 2, Method: "exec", Params: []rpcParam{{URL: "/sys/logout"}}, Session: &session}},
		{"fortilan_login", map[string]string{"accountId": benchAccount, "userName": benchUser, "password": benchPassword}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse reads the answers of logins and logouts.
func BenchmarkParse(b *testing.B) {
	now := time.Now()
	b.Run("rpc_login", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r, err := ParseRPC(rpcLoginAnswer); err != nil || r.Session == "" {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("rpc_logout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseRPC(rpcLogoutAnswer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rpc_gone_object_string_code", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r, err := ParseRPC(rpcGoneAnswer); err != nil || r.Code != codeGone {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("fortilan_token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseToken(lanTokenAnswer, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("iam_token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseToken(iamTokenAnswer, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exchange", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseExchange(exchangeAnswer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchFake is a fake with the bench's users, no rate limit and room for every session.
func benchFake(b *testing.B) (*fortitest.Server, *Transport) {
	b.Helper()
	s := fortitest.NewServerT(b)
	s.AddAdmin(benchAdmin, benchPassword)
	s.AddLANUser(benchAccount, benchUser, benchPassword, false)
	s.SetAuthRateLimit(0)
	s.SetLoginMax(1 << 30)
	t, err := NewTransport(Options{TLS: TLSConfig{CACert: s.CACertPEM}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(t.Close)
	return s, t
}

// expireEvery ends the fake's sessions and tokens every n iterations, off the clock: the fake
// scans its session table on each login, which would otherwise grow with b.N.
func expireEvery(b *testing.B, s *fortitest.Server, i, n int) {
	if i%n == n-1 {
		b.StopTimer()
		s.ExpireAll()
		b.StartTimer()
	}
}

// BenchmarkCall is whole calls over HTTP/2 and TLS to the in-process fake: the client's work
// per call plus a loopback exchange, on one kept-alive connection.
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	b.Run("rpc_login_user", func(b *testing.B) {
		s, t := benchFake(b)
		rpc := NewJSONRPC(TypeFortiAnalyzer, s.URL, t)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := rpc.LoginUser(ctx, benchAdmin, benchPassword); err != nil {
				b.Fatal(err)
			}
			expireEvery(b, s, i, 512)
			i++
		}
		b.ReportMetric(float64(s.Connections())/float64(max(i, 1))*1000, "conns/1000")
	})
	b.Run("rpc_logout_gone", func(b *testing.B) {
		s, t := benchFake(b)
		rpc := NewJSONRPC(TypeFortiAnalyzer, s.URL, t)
		b.ReportAllocs()
		for b.Loop() {
			if err := rpc.Logout(ctx, "no-such-session"); err == nil {
				b.Fatal("logout of an unknown session succeeded")
			}
		}
	})
	b.Run("fortilan_login", func(b *testing.B) {
		s, t := benchFake(b)
		lan := NewFortiLAN(s.URL, t, nil)
		u := LANUser{AccountID: benchAccount, UserName: benchUser, Password: benchPassword}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := lan.Login(ctx, u); err != nil {
				b.Fatal(err)
			}
			expireEvery(b, s, i, 512)
			i++
		}
		b.ReportMetric(float64(s.Connections())/float64(max(i, 1))*1000, "conns/1000")
	})
	b.Run("rpc_login_user_parallel", func(b *testing.B) {
		s, t := benchFake(b)
		rpc := NewJSONRPC(TypeFortiAnalyzer, s.URL, t)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sid, err := rpc.LoginUser(ctx, benchAdmin, benchPassword)
				if err != nil {
					b.Error(err)
					return
				}
				// Logged out at once, so that the fake's session table stays small.
				if err := rpc.Logout(ctx, sid); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
