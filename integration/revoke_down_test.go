package integration_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// TestRevokeWhileUpstreamDown: the upstream is down (every connection dropped unanswered)
// when leases are revoked, and back up a few seconds later.
//
//   - `vault lease revoke` (synchronous, the CLI's default) fails and says so, and Vault keeps
//     the lease: the plugin's revoke returned an error, not a success that would drop the lease
//     with its credential still live upstream;
//   - revoke queued (sync=false, as lease expiry does): Vault tries, fails, keeps the lease,
//     and retries with its backoff (10-30 s for the first retry). Once the upstream is back, the
//     retry ends the credential, the lease goes, and no lease was ever marked irrevocable.
//
// One lease of each kind: a FAZ session (/sys/logout), a FortiLAN token (invalidate_token) and
// a share of an API user's token (the last share revokes it at IAM's revoke_token).
func TestRevokeWhileUpstreamDown(t *testing.T) {
	t.Parallel()
	// Down as in connections dropped without an answer (fortitest's FaultDown: the HTTP/2
	// stream reset, an HTTP/1.1 connection closed), ...
	t.Run("dropped", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		revokeWhileDown(t, f, f.URL,
			func() { f.AddFault(fortitest.Fault{Kind: fortitest.FaultDown}) }, // every request, until cleared
			f.ClearFaults)
	})
	// ... and as in nothing listening: a TCP proxy in front of the fake closes its listener and
	// every open connection, so that new connections are refused, and listens again later.
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		p := newTCPProxy(t, f.Listener.Addr().String())
		revokeWhileDown(t, f, "https://"+p.addr, p.down, p.up)
	})
}

func revokeWhileDown(t *testing.T, f *fortitest.Server, url string, down, up func()) {
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	// A short request timeout keeps each failing attempt (retries included) within seconds.
	for name, cfg := range map[string]map[string]any{"faz": fazLocal(f), "lan": lanEmail(f), "lanapi": lanAPIUser(f)} {
		cfg["url"], cfg["request_timeout"] = url, "2s"
		if _, ok := cfg["auth_url"]; ok {
			cfg["auth_url"] = url
		}
		configure(t, c, "forticloud", name, cfg)
	}
	ls := []leased{}
	s := readCreds(t, c, "forticloud", "faz")
	sid := str(t, s, "session")
	ls = append(ls, leased{s, func() bool { return f.SessionAlive(sid) }})
	s = readCreds(t, c, "forticloud", "lan")
	tok := str(t, s, "access_token")
	ls = append(ls, leased{s, func() bool { return f.LANTokenAlive(tok) }})
	s = readCreds(t, c, "forticloud", "lanapi")
	shared := str(t, s, "access_token")
	ls = append(ls, leased{s, func() bool { return f.OAuthTokenAlive(shared) }})

	down()

	// Synchronous revoke: an error, and the lease stays.
	for _, l := range ls {
		err := c.Sys().RevokeWithContext(ctx, l.secret.LeaseID)
		if err == nil {
			t.Fatalf("revoke %s succeeded while the upstream is down: the lease is gone, its credential lives on", l.secret.LeaseID)
		}
		t.Logf("revoke while down: %s", strings.Join(strings.Fields(err.Error()), " "))
		if leaseGone(c, l.secret.LeaseID) {
			t.Fatalf("Vault dropped lease %s after a failed revoke", l.secret.LeaseID)
		}
		if !l.alive() {
			t.Fatalf("the credential of %s died while the upstream was down", l.secret.LeaseID)
		}
	}

	// Queued revoke: accepted; Vault's first attempts fail, and it keeps the leases.
	failedBefore := strings.Count(v.log(), "failed to revoke lease")
	for _, l := range ls {
		if err := c.Sys().RevokeWithOptionsWithContext(ctx, &api.RevokeOptions{LeaseID: l.secret.LeaseID, Sync: false}); err != nil {
			t.Fatalf("queued revoke of %s: %v", l.secret.LeaseID, err)
		}
	}
	waitFor(t, 30*time.Second, "Vault's first revoke attempt of every lease to fail", func() bool {
		return strings.Count(v.log(), "failed to revoke lease") >= failedBefore+len(ls)
	})
	for _, l := range ls {
		if leaseGone(c, l.secret.LeaseID) {
			t.Fatalf("Vault dropped lease %s while the upstream was down", l.secret.LeaseID)
		}
		if !l.alive() {
			t.Fatalf("the credential of %s died while the upstream was down", l.secret.LeaseID)
		}
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Fatalf("%d irrevocable leases after one failed attempt", n)
	}

	time.Sleep(5 * time.Second)
	up() // the upstream is back
	upAt := time.Now()

	waitFor(t, 90*time.Second, "Vault's retries to revoke every lease", func() bool {
		for _, l := range ls {
			if !leaseGone(c, l.secret.LeaseID) {
				return false
			}
		}
		return true
	})
	t.Logf("every lease revoked %s after the upstream came back", time.Since(upAt).Round(time.Second))
	for _, l := range ls {
		if l.alive() {
			t.Errorf("lease %s is gone, its credential is still live upstream", l.secret.LeaseID)
		}
	}
	if n := f.LiveSessions() + f.LiveLANTokens() + f.LiveOAuthTokens(); n != 0 {
		t.Errorf("%d credentials live upstream", n)
	}
	if ls := leasesUnder(t, c, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left: %v", ls)
	}
	if n := irrevocableLeases(t, c); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
	if strings.Contains(v.log(), "marking lease as irrevocable") {
		t.Error("Vault's log shows a lease marked irrevocable")
	}
}

// irrevocableLeases counts the leases Vault gave up on (GET sys/leases/count?type=irrevocable,
// checked against the listing).
func irrevocableLeases(t *testing.T, c *api.Client) int {
	t.Helper()
	ctx := context.Background()
	q := map[string][]string{"type": {"irrevocable"}}
	count, err := c.Logical().ReadWithDataWithContext(ctx, "sys/leases/count", q)
	if err != nil {
		t.Fatalf("sys/leases/count?type=irrevocable: %v", err)
	}
	list, err := c.Logical().ReadWithDataWithContext(ctx, "sys/leases", q)
	if err != nil {
		t.Fatalf("sys/leases?type=irrevocable: %v", err)
	}
	num := func(s *api.Secret) int {
		if s == nil {
			return 0
		}
		num, ok := s.Data["lease_count"].(json.Number)
		if !ok {
			t.Fatalf("lease_count is %T, not a number", s.Data["lease_count"])
		}
		n, _ := num.Int64()
		return int(n)
	}
	n, listed := num(count), num(list)
	if n != listed {
		t.Fatalf("sys/leases/count says %d irrevocable leases, sys/leases lists %d", n, listed)
	}
	return n
}

// tcpProxy forwards loopback TCP connections to a target, and can go down (listener and every
// connection closed: new connections are refused) and come back up on the same address.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			if !p.track(in, out) {
				continue
			}
			go p.pipe(in, out)
			go p.pipe(out, in)
		}
	}()
}

// track records a connection pair, or closes it if the proxy went down meanwhile.
func (p *tcpProxy) track(in, out net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		in.Close()
		out.Close()
		return false
	}
	p.conns[in], p.conns[out] = true, true
	return true
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// down closes the listener and every open connection.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// up listens again on the same address.
func (p *tcpProxy) up() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Errorf("proxy: listen again on %s: %v", p.addr, err)
}
