package integration_test

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// readConfig reads config name through c.
func readConfig(t *testing.T, c *api.Client, name string) map[string]any {
	t.Helper()
	s, err := c.Logical().ReadWithContext(context.Background(), "forticloud/config/"+name)
	if err != nil || s == nil {
		t.Fatalf("read config/%s: %v %v", name, s, err)
	}
	return s.Data
}

// A short rotation_period rotates by itself on Vault Community edition, where the engine runs
// the schedule (the e2e build ticks every 2 s once Vault's first periodic call, within a
// minute, has shown the node active): the old password refused, creds working, each rotation
// counted.
func TestRotationSchedule(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	cfg := fazLocal(f)
	cfg["rotation_period"] = "5s"
	configure(t, c, "forticloud", "faz", cfg)
	d := readConfig(t, c, "faz")
	if d["rotation_scheduler"] != "engine" || d["next_rotation"] == "" || d["last_rotated"] != "" {
		t.Fatalf("after the write: %v; want rotation_scheduler engine, a next_rotation, no last_rotated", d)
	}
	var first string
	waitFor(t, 150*time.Second, "the first scheduled rotation", func() bool {
		first, _ = readConfig(t, c, "faz")["last_rotated"].(string)
		return first != ""
	})
	if takes(t, f, adminPassword) {
		t.Fatal("upstream still takes the old password after a scheduled rotation")
	}
	revoke(t, c, readCreds(t, c, "forticloud", "faz").LeaseID)
	waitFor(t, 60*time.Second, "a second scheduled rotation", func() bool {
		last, _ := readConfig(t, c, "faz")["last_rotated"].(string)
		return last != first
	})
	s, err := c.Logical().ReadRawWithContext(context.Background(), "forticloud/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Body.Close()
	b, err := io.ReadAll(s.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `forticloud_rotations_total{config="faz",outcome="success",scheduler="engine"}`) {
		t.Fatalf("no scheduled rotation counted in the metrics:\n%s", b)
	}
	write(t, c, "forticloud/config/faz", map[string]any{"rotation_period": 0})
	if d := readConfig(t, c, "faz"); d["rotation_scheduler"] != "" || d["next_rotation"] != "" {
		t.Fatalf("after clearing the schedule: %v", d)
	}
	revoke(t, c, readCreds(t, c, "forticloud", "faz").LeaseID)
	if n := f.LiveSessions(); n != 0 {
		t.Fatalf("%d sessions live upstream", n)
	}
}

// TestHARotation: on a 3-node raft cluster (Community edition: the engine schedules), a
// scheduled rotation runs on the active node only, once per due time, and the schedule
// survives the active node's death: the new active node rotates when the next one is due,
// with the password the dead node stored, and creds work throughout.
func TestHARotation(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	cl := startHACluster(t)
	active, standbys := cl.roles(t)
	const period = 20 * time.Second
	cfg := fazLocal(f)
	cfg["rotation_period"] = int(period.Seconds())
	configure(t, standbys[0].client, "forticloud", "faz", cfg) // forwarded to the active node

	doneAt := func(n *haNode) []time.Time {
		b, err := os.ReadFile(n.logPath)
		if err != nil {
			t.Fatal(err)
		}
		var at []time.Time
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "scheduled rotation done") {
				continue
			}
			ts, _, _ := strings.Cut(line, " ")
			when, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				t.Fatalf("%s: a log line without a time: %q", n.logPath, line)
			}
			at = append(at, when)
		}
		return at
	}
	done := func(n *haNode) int { return len(doneAt(n)) }
	waitFor(t, 150*time.Second, "a scheduled rotation on "+active.name, func() bool { return done(active) > 0 })
	if takes(t, f, adminPassword) {
		t.Fatal("upstream still takes the old password after a scheduled rotation")
	}
	for _, n := range standbys {
		if k := done(n); k != 0 {
			t.Fatalf("standby %s rotated %d times", n.name, k)
		}
	}
	revoke(t, standbys[1].client, readCreds(t, standbys[1].client, "forticloud", "faz").LeaseID)

	next, _ := cl.failover(t, active, standbys)
	before := done(active)
	waitFor(t, 150*time.Second, "a scheduled rotation on the new active node "+next.name, func() bool { return done(next) > 0 })
	total := before
	for _, n := range standbys {
		total += done(n)
	}
	// Each rotation changes the password once: retries of the same change are idempotent, but
	// a rotation run twice for one due time, or on two nodes, would show more changes than
	// rotations logged.
	if sets := f.Handled(setAdminPath); sets != total {
		t.Fatalf("the fake saw %d password changes for %d rotations logged", sets, total)
	}
	// Once per due time: no two rotations, on any node, closer than the period.
	var all []time.Time
	for _, n := range append([]*haNode{active}, standbys...) {
		all = append(all, doneAt(n)...)
	}
	slices.SortFunc(all, time.Time.Compare)
	for i := 1; i < len(all); i++ {
		if gap := all[i].Sub(all[i-1]); gap < period-time.Second {
			t.Fatalf("two rotations %s apart, within one rotation_period (%s)", gap, period)
		}
	}
	if other := standbys[0]; other == next {
		if k := done(standbys[1]); k != 0 {
			t.Fatalf("standby %s rotated %d times", standbys[1].name, k)
		}
	} else if k := done(other); k != 0 {
		t.Fatalf("standby %s rotated %d times", other.name, k)
	}
	write(t, next.client, "forticloud/config/faz", map[string]any{"rotation_period": 0})
	revoke(t, next.client, readCreds(t, next.client, "forticloud", "faz").LeaseID)
	if takes(t, f, adminPassword) {
		t.Fatal("upstream takes the first password again")
	}
	if n := f.LiveSessions(); n != 0 {
		t.Fatalf("%d sessions live upstream", n)
	}
	t.Logf("%d rotations: %d on %s before it died, the rest on %s", total, before, active.name, next.name)
}
