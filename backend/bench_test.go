package backend

// Benchmarks of the engine's hot paths, with allocation counts: the creds handler (read
// creds/<role> as Vault hands it to the plugin, WAL included, against the in-process fake with
// no added latency), revoke, and the lease encoding both do. Run them with
//
//	go test -run '^$' -bench . -benchmem ./backend/
//
// `make bench` runs them too, and then the whole engine through a real Vault (bench/).
// Timings are never asserted.

import (
	"context"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
)

// newBenchEnv is newEnv for benchmarks and any testing.TB: the same fake, users and backend,
// but a silent logger (a trace log would be part of what is measured) and room for any number
// of sessions. newEnv's request helpers report through a *testing.T: with a benchmark, e.t is
// nil, so use benchRequest and benchCreds rather than e.ok and e.creds. The config builders
// (e.fazLocal, ...) work as with newEnv.
func newBenchEnv(tb testing.TB) *env {
	tb.Helper()
	fake := newFake(tb)
	fake.SetLoginMax(1 << 30)
	fake.SetCallRateLimit(0)

	conf := logical.TestBackendConfig()
	conf.StorageView = &logical.InmemStorage{}
	conf.Logger = hclog.NewNullLogger()
	conf.System = &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour}
	lb, err := Factory(context.Background(), conf)
	if err != nil {
		tb.Fatal(err)
	}
	b := lb.(*backend)
	tb.Cleanup(func() { b.Cleanup(context.Background()) })
	e := &env{b: b, s: conf.StorageView, fake: fake, logs: &syncBuffer{}}
	if t, ok := tb.(*testing.T); ok {
		e.t = t
	}
	return e
}

// benchRequest runs one request that must succeed, as Vault would (the existence check picks
// create or update).
func benchRequest(tb testing.TB, e *env, op logical.Operation, path string, data map[string]any) *logical.Response {
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: e.s}
	if op == logical.UpdateOperation {
		ok, exists, err := e.b.HandleExistenceCheck(context.Background(), req)
		if err != nil {
			tb.Fatal(err)
		}
		if ok && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	resp, err := e.b.HandleRequest(context.Background(), req)
	if err == nil && resp != nil && resp.IsError() {
		err = resp.Error()
	}
	if err != nil {
		tb.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// benchCreds reads creds/<role> and returns its secret as Vault would store it.
func benchCreds(tb testing.TB, e *env, role string) lease {
	resp := benchRequest(tb, e, logical.ReadOperation, "creds/"+role, nil)
	if resp == nil || resp.Secret == nil {
		tb.Fatalf("creds/%s: no secret", role)
	}
	return lease{data: resp.Data, secret: storedSecret(tb, resp.Secret)}
}

// benchProducts are the configs the benchmarks issue from, one per product and common method.
func benchProducts(e *env) []struct {
	name   string
	config map[string]any
} {
	return []struct {
		name   string
		config map[string]any
	}{
		{"faz_local_user", e.fazLocal()},
		{"faz_forticloud_token", e.fazCloud()},
		{"fortilan_email_user", with(e.lanEmail(), "call_rate_limit", 0)}, // FortiLAN's 60 a minute would be the measurement
		// A share of the API user's live token: no upstream call, storage and WAL only.
		{"fortilan_api_user_shared", e.lanAPIUser()},
	}
}

// setupRole writes config/c and roles/r from cfg, without the login verify_connection makes.
func setupRole(tb testing.TB, e *env, cfg map[string]any) {
	c := map[string]any{"verify_connection": false}
	for k, v := range cfg {
		c[k] = v
	}
	benchRequest(tb, e, logical.UpdateOperation, "config/c", c)
	benchRequest(tb, e, logical.UpdateOperation, "roles/r", map[string]any{"config": "c", "ttl": "1h", "max_ttl": "2h"})
}

// idleOut makes the fake's sessions idle out within a millisecond: the fake scans its whole
// session table on each login (for login-max), which would otherwise grow with b.N and be most
// of what is measured. Nothing uses a session after creds.
func idleOut(e *env) {
	e.fake.SetSessionIdle(time.Millisecond)
}

// BenchmarkCreds is one read of creds/<role> at a time: config and role from the cache, the
// upstream login, the WAL entry written and deleted, the response built.
func BenchmarkCreds(b *testing.B) {
	for _, p := range benchProducts(newBenchEnv(b)) {
		b.Run(p.name, func(b *testing.B) {
			e := newBenchEnv(b)
			setupRole(b, e, benchProducts(e)[indexOf(b, e, p.name)].config)
			idleOut(e)
			benchRequest(b, e, logical.ReadOperation, "creds/r", nil) // connection and caches warm
			b.ReportAllocs()
			for b.Loop() {
				benchRequest(b, e, logical.ReadOperation, "creds/r", nil)
			}
		})
	}
}

// BenchmarkCredsParallel is creds from GOMAXPROCS goroutines at once.
func BenchmarkCredsParallel(b *testing.B) {
	for _, name := range []string{"faz_local_user", "fortilan_email_user"} {
		b.Run(name, func(b *testing.B) {
			e := newBenchEnv(b)
			setupRole(b, e, benchProducts(e)[indexOf(b, e, name)].config)
			idleOut(e)
			benchRequest(b, e, logical.ReadOperation, "creds/r", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchRequest(b, e, logical.ReadOperation, "creds/r", nil)
				}
			})
		})
	}
}

// BenchmarkRevoke is the revoke of one lease, as Vault's expiration manager calls it: the lease
// decoded, the cached connection found, the session logged out or the token invalidated.
func BenchmarkRevoke(b *testing.B) {
	for _, name := range []string{"faz_local_user", "fortilan_email_user"} {
		b.Run(name, func(b *testing.B) {
			e := newBenchEnv(b)
			setupRole(b, e, benchProducts(e)[indexOf(b, e, name)].config)
			// Leases are issued in batches off the clock, so that each revoke ends a live one.
			const batch = 256
			var leases []lease
			b.ReportAllocs()
			for b.Loop() {
				if len(leases) == 0 {
					b.StopTimer()
					e.fake.ExpireAll()
					for range batch {
						leases = append(leases, benchCreds(b, e, "r"))
					}
					b.StartTimer()
				}
				l := leases[len(leases)-1]
				leases = leases[:len(leases)-1]
				resp, err := e.b.HandleRequest(context.Background(), &logical.Request{
					Operation: logical.RevokeOperation, Storage: e.s, Secret: l.secret, Data: l.data,
				})
				if err != nil || (resp != nil && resp.IsError()) {
					b.Fatal(resp, err)
				}
			}
		})
	}
}

// BenchmarkLease is the lease's internal data: encoded twice per creds (the lease and the WAL
// entry), decoded once per renew or revoke.
func BenchmarkLease(b *testing.B) {
	e := newBenchEnv(b)
	setupRole(b, e, e.fazLocal())
	c, err := e.b.config(context.Background(), e.s, "c")
	if err != nil || c == nil {
		b.Fatal(c, err)
	}
	r, err := e.b.role(context.Background(), e.s, "r")
	if err != nil || r == nil {
		b.Fatal(r, err)
	}
	l := newLeaseInternal("c", "r", c.entry, r)
	l.Session = "9o6ueD0yXQ8mYHh0qI1Cf2c3bJZ1k7Vd"
	b.Run("new_and_encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l := newLeaseInternal("c", "r", c.entry, r)
			l.Session = "9o6ueD0yXQ8mYHh0qI1Cf2c3bJZ1k7Vd"
			_ = l.toMap()
		}
	})
	stored := benchCreds(b, e, "r").secret.InternalData
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeLease(stored); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func indexOf(tb testing.TB, e *env, name string) int {
	for i, p := range benchProducts(e) {
		if p.name == name {
			return i
		}
	}
	tb.Fatalf("no product %q", name)
	return -1
}

// BenchmarkDynamicAdmin is the creds and the revoke of one dynamic admin (with its session), by
// each kind of root: the name, password, WAL entry and index record, the add, its read-back and
// the login as it; then the logout and the delete. A local_user root's session is kept between
// them, as in a burst of creds.
func BenchmarkDynamicAdmin(b *testing.B) {
	for _, root := range []string{"local_user", "api_key"} {
		b.Run(root, func(b *testing.B) {
			e := newBenchEnv(b)
			e.fake.AddADOM("soc")
			cfg := e.fazLocal()
			if root == "api_key" {
				cfg = e.fazKey()
			}
			cfg["verify_connection"] = false
			benchRequest(b, e, logical.UpdateOperation, "config/c", cfg)
			benchRequest(b, e, logical.UpdateOperation, "roles/r", dynamicRole("c"))
			b.ReportAllocs()
			for b.Loop() {
				l := benchCreds(b, e, "r")
				if err := e.revoke(l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
