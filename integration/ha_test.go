package integration_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
	"github.com/hashicorp/vault/api"
)

// TestHACluster: a 3-node Vault cluster with integrated storage (raft), started by
// scripts/ha-cluster.sh with the plugin in every node's plugin directory. Configs, roles and
// creds (sessions, dynamic admins, tokens: issueMix) go through a standby, which forwards them
// to the active node. Then the active node is
// killed (SIGKILL, its plugin with it); once another node leads, the leases issued before the
// failover renew and revoke there, a standby still serves creds, and nothing is left live
// upstream nor any lease in Vault.
func TestHACluster(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	cl := startHACluster(t)
	start := time.Now()

	active, standbys := cl.roles(t)
	sb := standbys[0]
	t.Logf("active %s, standbys %s and %s", active.name, standbys[0].name, standbys[1].name)
	ls := issueMix(t, f, sb.client) // configs, roles and creds, all through the standby
	if h := cl.health(sb); h == nil || !h.Standby {
		t.Fatalf("%s answered the creds but is not a standby (%+v)", sb.name, h)
	}
	if n := len(leasesUnder(t, active.client, "forticloud/creds/")); n != len(ls) {
		t.Fatalf("the active node holds %d leases, want the %d issued through the standby", n, len(ls))
	}

	// The active node dies, its plugin with it.
	killed := time.Now()
	next, other := cl.failover(t, active, standbys)
	// It answers for the mount once its expiration manager and the plugin are up.
	waitFor(t, 60*time.Second, next.name+" to answer for the leases", func() bool {
		_, err := next.client.Sys().LookupWithContext(context.Background(), ls[0].secret.LeaseID)
		return err == nil
	})
	t.Logf("%s active %s after %s was killed", next.name, time.Since(killed).Round(100*time.Millisecond), active.name)
	for _, l := range ls {
		if !l.alive() {
			t.Fatalf("the failover ended the credential of %s", l.secret.LeaseID)
		}
	}

	// The leases issued before the failover renew and revoke on the new active node.
	renewAndRevokeAll(t, f, next.client, ls)

	// The remaining standby still forwards creds; they revoke too.
	s := readCreds(t, other.client, "forticloud", "faz")
	sid := str(t, s, "session")
	renew(t, other.client, s.LeaseID)
	revoke(t, other.client, s.LeaseID)
	eventuallyDead(t, "the session issued after the failover", func() bool { return f.SessionAlive(sid) })
	d := dynLeased(t, f, readCreds(t, other.client, "forticloud", "dyn"))
	renew(t, other.client, d.secret.LeaseID)
	revoke(t, other.client, d.secret.LeaseID)
	eventuallyDead(t, "the admin made after the failover", d.alive)
	rootSessionsEnd(t, f)

	if n := f.LiveSessions() + f.LiveLANTokens() + f.LiveOAuthTokens() + len(vaultAdmins(f)); n != 0 {
		t.Errorf("%d credentials live upstream", n)
	}
	if ls := leasesUnder(t, next.client, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left: %v", ls)
	}
	if n := irrevocableLeases(t, next.client); n != 0 {
		t.Errorf("%d irrevocable leases", n)
	}
	t.Logf("cluster up in %s; creds, failover, renew and revoke in %s", cl.upTook.Round(100*time.Millisecond),
		time.Since(start).Round(100*time.Millisecond))
}

// ---- a cluster started by scripts/ha-cluster.sh ----

type haNode struct {
	name    string
	addr    string
	pid     int // also its process group: the script starts each node in a session of its own
	logPath string
	client  *api.Client
}

type haCluster struct {
	dir    string
	nodes  []*haNode
	upTook time.Duration // ha-cluster.sh up
}

// haOne lets one HA cluster run at a time across the package's parallel tests.
var haOne sync.Mutex

// startHACluster runs `scripts/ha-cluster.sh up` on free loopback ports with the e2e plugin
// binary, and `down` when the test ends. If the test process dies first, the script's
// watchdog (HA_WATCH_PID) stops the nodes.
func startHACluster(t *testing.T) *haCluster {
	t.Helper()
	requireVault(t)
	// One cluster at a time: three raft nodes each, started side by side on two cores, miss
	// the script's join deadline.
	haOne.Lock()
	t.Cleanup(haOne.Unlock)
	root, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cl := &haCluster{}
	script := filepath.Join(root, "scripts", "ha-cluster.sh")
	var outPath string
	var env []string
	// attempt picks a directory and ports for a start: a port found free may be taken by
	// another process before a node binds it, and then `up` is tried anew.
	attempt := func() {
		cl.dir = t.TempDir()
		outPath = filepath.Join(cl.dir, "ha-cluster.out")
		var portList []string
		for range 3 {
			portList = append(portList, strconv.Itoa(freePort(t)))
		}
		env = append(e2e.ChildEnv(cl.dir),
			"VAULT_BIN="+vaultBin,
			"PLUGIN_BIN="+filepath.Join(pluginDir, pluginName),
			"PLUGIN_VERSION="+pluginVersion,
			"HA_PORTS="+strings.Join(portList, " "),
			"HA_LOG_LEVEL=debug",
			fmt.Sprintf("HA_WATCH_PID=%d", os.Getpid()))
	}
	attempt()
	run := func(timeout time.Duration, args ...string) error {
		out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer out.Close()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, out, out
		return cmd.Run()
	}

	// Registered first, so it runs last: after the nodes stopped, with their shutdown logged.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("scripts/ha-cluster.sh output:\n%s", tailFile(outPath, 40))
		for i := 1; i <= 3; i++ {
			p := filepath.Join(cl.dir, fmt.Sprintf("node%d", i), "vault.log")
			t.Logf("node%d: last lines of %s:\n%s", i, p, tailFile(p, 50))
		}
	})
	t.Cleanup(func() {
		if err := run(time.Minute, "down", cl.dir); err != nil {
			t.Errorf("ha-cluster.sh down: %v", err)
		}
		for _, n := range cl.nodes {
			if groupAlive(n.pid) {
				t.Errorf("%s (process group %d) still runs after down", n.name, n.pid)
			}
			untrackGroup(n.pid)
		}
	})
	began := time.Now()
	for try := 1; ; try++ {
		err := run(3*time.Minute, "up", cl.dir)
		if err == nil {
			break
		}
		out, _ := os.ReadFile(outPath)
		if try == 3 || !strings.Contains(string(out), "address already in use") {
			t.Fatalf("ha-cluster.sh up: %v", err)
		}
		t.Logf("ha-cluster.sh up: a port was taken before a node bound it; again with others")
		attempt()
	}
	cl.upTook = time.Since(began)

	env2, err := readEnvFile(filepath.Join(cl.dir, "cluster.env"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("node%d", i)
		pid, err := strconv.Atoi(env2[fmt.Sprintf("NODE%d_PID", i)])
		if err != nil {
			t.Fatalf("cluster.env: %s PID: %v", name, err)
		}
		trackGroup(pid, "vault HA "+name+" "+t.Name())
		c, err := api.NewClient(&api.Config{Address: env2[fmt.Sprintf("NODE%d_ADDR", i)], MaxRetries: 0, Timeout: 90 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(env2["VAULT_TOKEN"])
		cl.nodes = append(cl.nodes, &haNode{name: name, addr: c.Address(), pid: pid, client: c,
			logPath: filepath.Join(cl.dir, name, "vault.log")})
	}
	return cl
}

// roles returns the active node and the standbys.
func (cl *haCluster) roles(t *testing.T) (active *haNode, standbys []*haNode) {
	t.Helper()
	for _, n := range cl.nodes {
		h := cl.health(n)
		switch {
		case h == nil || h.Sealed:
			t.Fatalf("%s is down or sealed", n.name)
		case h.Standby:
			standbys = append(standbys, n)
		default:
			if active != nil {
				t.Fatalf("two active nodes: %s and %s", active.name, n.name)
			}
			active = n
		}
	}
	if active == nil || len(standbys) != 2 {
		t.Fatalf("want one active node and two standbys; active %v, %d standbys", active, len(standbys))
	}
	return active, standbys
}

// health is a node's sys/health, or nil when it does not answer.
func (cl *haCluster) health(n *haNode) *api.HealthResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := n.client.Sys().HealthWithContext(ctx)
	if err != nil {
		return nil
	}
	return h
}

// failover kills the active node (SIGKILL, its plugin with it) and waits until one of the
// standbys leads: it returns that one, and the other.
func (cl *haCluster) failover(t *testing.T, active *haNode, standbys []*haNode) (next, other *haNode) {
	t.Helper()
	if err := syscall.Kill(-active.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", active.name, err)
	}
	waitFor(t, 20*time.Second, active.name+" to be gone", func() bool { return !groupAlive(active.pid) })
	waitFor(t, 60*time.Second, "a new active node", func() bool {
		next, other = nil, nil
		for _, n := range standbys {
			h := cl.health(n)
			switch {
			case h == nil || h.Sealed:
				return false
			case !h.Standby:
				next = n
			default:
				other = n
			}
		}
		return next != nil && other != nil
	})
	return next, other
}

// groupAlive reports whether a process of the group still runs (zombies, which an init that
// does not reap would leave, do not count).
func groupAlive(pgid int) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return true
		}
	}
	return false
}

// readEnvFile reads KEY=VALUE lines.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out, sc.Err()
}
