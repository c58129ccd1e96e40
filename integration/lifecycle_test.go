package integration_test

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// issueMany reads n creds of role with a few workers at once and returns the secrets.
func issueMany(t *testing.T, c *api.Client, mount, role string, n int) []*api.Secret {
	t.Helper()
	out := make([]*api.Secret, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = c.Logical().ReadWithContext(context.Background(), mount+"/creds/"+role)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		checkLease(t, mount, role, out[i], err)
	}
	return out
}

// TestRevokePrefix: 50 leases, FAZ sessions and FortiLAN tokens (user tokens and shares of an
// API user's token) issued concurrently, all end upstream with one sys/leases/revoke-prefix.
func TestRevokePrefix(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	configure(t, c, "forticloud", "faz", fazLocal(f))
	configure(t, c, "forticloud", "lan", lanEmail(f))
	configure(t, c, "forticloud", "lanapi", lanAPIUser(f))

	sessions := issueMany(t, c, "forticloud", "faz", 20)
	tokens := issueMany(t, c, "forticloud", "lan", 20)
	shares := issueMany(t, c, "forticloud", "lanapi", 10)
	if n := f.LiveSessions(); n != 20 {
		t.Fatalf("after 20 FAZ creds the fake has %d live sessions, want 20", n)
	}
	if n := f.LiveLANTokens(); n != 20 {
		t.Fatalf("after 20 FortiLAN creds the fake has %d live tokens, want 20", n)
	}
	shared := str(t, shares[0], "access_token")
	for _, s := range shares {
		if str(t, s, "access_token") != shared {
			t.Fatalf("10 leases of one API user's token carry different tokens")
		}
	}
	if !f.OAuthTokenAlive(shared) || f.LiveOAuthTokens() != 1 {
		t.Fatalf("the shared token is not the one live OAuth token (%d live)", f.LiveOAuthTokens())
	}
	if n := len(leasesUnder(t, c, "forticloud/creds/")); n != 50 {
		t.Fatalf("Vault holds %d leases, want 50", n)
	}

	if err := c.Sys().RevokePrefixWithContext(context.Background(), "forticloud/creds/"); err != nil {
		t.Fatalf("revoke-prefix: %v", err)
	}
	waitFor(t, 60*time.Second, "no live session nor FortiLAN token upstream", func() bool {
		return f.LiveSessions() == 0 && f.LiveLANTokens() == 0 && f.LiveOAuthTokens() == 0
	})
	for _, s := range sessions {
		if f.SessionAlive(str(t, s, "session")) {
			t.Fatalf("session of %s still alive", s.LeaseID)
		}
	}
	for _, s := range tokens {
		if f.LANTokenAlive(str(t, s, "access_token")) {
			t.Fatalf("token of %s still alive", s.LeaseID)
		}
	}
	if ls := leasesUnder(t, c, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("Vault still holds %d leases after revoke-prefix: %v", len(ls), ls)
	}
	if got := f.Calls("jsonrpc:/sys/logout"); got < 20 {
		t.Errorf("the fake saw %d logouts, want at least 20", got)
	}
}

// leased is one lease with the upstream check of its credential.
type leased struct {
	secret *api.Secret
	alive  func() bool
}

// issueMix issues two of each: a FAZ session, a FAZ admin of its own (a dynamic_admin role of
// the same config), a FortiLAN token and a share of an API user's FortiLAN token.
func issueMix(t *testing.T, f *fortitest.Server, c *api.Client) []leased {
	t.Helper()
	configure(t, c, "forticloud", "faz", fazLocal(f))
	write(t, c, "forticloud/roles/dyn", dynRoleOfMix())
	configure(t, c, "forticloud", "lan", lanEmail(f))
	configure(t, c, "forticloud", "lanapi", lanAPIUser(f))
	var out []leased
	for range 2 {
		s := readCreds(t, c, "forticloud", "faz")
		sid := str(t, s, "session")
		out = append(out, leased{s, func() bool { return f.SessionAlive(sid) }})
	}
	for range 2 {
		out = append(out, dynLeased(t, f, readCreds(t, c, "forticloud", "dyn")))
	}
	for range 2 {
		s := readCreds(t, c, "forticloud", "lan")
		tok := str(t, s, "access_token")
		out = append(out, leased{s, func() bool { return f.LANTokenAlive(tok) }})
	}
	for range 2 {
		s := readCreds(t, c, "forticloud", "lanapi")
		tok := str(t, s, "access_token")
		out = append(out, leased{s, func() bool { return f.OAuthTokenAlive(tok) }})
	}
	for _, l := range out {
		if !l.alive() {
			t.Fatalf("credential of %s not alive upstream right after issue", l.secret.LeaseID)
		}
	}
	return out
}

// renewAndRevokeAll renews every lease, revokes them all and checks that nothing is left live.
func renewAndRevokeAll(t *testing.T, f *fortitest.Server, c *api.Client, ls []leased) {
	t.Helper()
	for _, l := range ls {
		renew(t, c, l.secret.LeaseID)
		if !l.alive() {
			t.Fatalf("credential of %s died on renew", l.secret.LeaseID)
		}
	}
	for _, l := range ls {
		revoke(t, c, l.secret.LeaseID)
	}
	for _, l := range ls {
		eventuallyDead(t, "credential of "+l.secret.LeaseID, l.alive)
	}
	// A plugin killed while it kept a root session leaves it to WAL rollback, which Vault runs
	// once a minute.
	waitFor(t, 90*time.Second, "nothing live upstream", func() bool {
		return f.LiveSessions()+f.LiveLANTokens()+f.LiveOAuthTokens()+len(vaultAdmins(f)) == 0
	})
}

// TestPluginReload: sys/plugins/reload/backend restarts the plugin under outstanding leases;
// the leases still renew and revoke through the new process, and nothing is left live.
func TestPluginReload(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ls := issueMix(t, f, c)

	before := v.pluginPIDs()
	if len(before) == 0 {
		t.Fatal("no plugin process under Vault before the reload")
	}
	if _, err := c.Sys().ReloadPluginWithContext(context.Background(), &api.ReloadPluginInput{Plugin: pluginName}); err != nil {
		t.Fatalf("reload: %v", err)
	}
	// The old process goes; a new one serves the mount.
	waitFor(t, 20*time.Second, "the plugin process to be replaced", func() bool {
		for _, p := range v.pluginPIDs() {
			if slices.Contains(before, p) {
				return false
			}
		}
		return true
	})
	for _, l := range ls {
		if !l.alive() {
			t.Fatalf("the reload ended the credential of %s", l.secret.LeaseID)
		}
	}
	renewAndRevokeAll(t, f, c, ls)
	if after := v.pluginPIDs(); len(after) == 0 || slices.ContainsFunc(after, func(p int) bool { return slices.Contains(before, p) }) {
		t.Errorf("plugin processes before the reload %v, after %v: want new ones", before, after)
	}
	// And the reloaded plugin still issues.
	s := readCreds(t, c, "forticloud", "faz")
	revoke(t, c, s.LeaseID)
	eventuallyDead(t, "the session issued after the reload", func() bool { return f.SessionAlive(str(t, s, "session")) })
}

// TestPluginCrash: the plugin process killed with SIGKILL under outstanding leases; Vault starts
// a new one, and the leases (share counts included, which live in storage) renew and revoke.
func TestPluginCrash(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ls := issueMix(t, f, c)
	killed := v.pluginPIDs()
	if len(killed) == 0 {
		t.Fatal("no plugin process under Vault")
	}
	for _, p := range killed {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the killed plugin process to be gone", func() bool {
		return !slices.ContainsFunc(v.pluginPIDs(), func(p int) bool { return slices.Contains(killed, p) })
	})
	// A request in flight when Vault notices the dead process may fail (Vault's doing, not the
	// plugin's): wait until the mount answers again, as a client retrying would.
	waitFor(t, 20*time.Second, "the mount to answer after the crash", func() bool {
		_, err := c.Logical().ReadWithContext(context.Background(), "forticloud/config/faz")
		return err == nil
	})
	renewAndRevokeAll(t, f, c, ls)
	if after := v.pluginPIDs(); len(after) == 0 {
		t.Errorf("no plugin process serves the mount after the crash")
	}
}

// TestRestartFileStorage: leases issued before Vault (file storage) is stopped with SIGTERM and
// started again are renewed and revoked by the new process, and nothing is left live upstream.
func TestRestartFileStorage(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newFileServer(t, serverOpts{})
	c := v.client
	ls := issueMix(t, f, c)
	pid := v.proc.pid()

	v.restart()
	c = v.client
	if v.proc.pid() == pid {
		t.Fatal("restart kept the same process")
	}
	if n := len(leasesUnder(t, c, "forticloud/creds/")); n != len(ls) {
		t.Fatalf("after the restart Vault holds %d leases, want %d", n, len(ls))
	}
	for _, l := range ls {
		if !l.alive() {
			t.Fatalf("the restart ended the credential of %s", l.secret.LeaseID)
		}
	}
	renewAndRevokeAll(t, f, c, ls)
	if n := len(leasesUnder(t, c, "forticloud/creds/")); n != 0 {
		t.Errorf("Vault still holds %d leases", n)
	}
	// The config survived too: creds still issue.
	s := readCreds(t, c, "forticloud", "lan")
	revoke(t, c, s.LeaseID)
	eventuallyDead(t, "the token issued after the restart", func() bool { return f.LANTokenAlive(str(t, s, "access_token")) })
}
