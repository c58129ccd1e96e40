package backend

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		tick     time.Duration
		failures int
		want     time.Duration
	}{
		{time.Minute, 1, time.Minute},
		{time.Minute, 2, 2 * time.Minute},
		{time.Minute, 3, 4 * time.Minute},
		{time.Minute, 6, 32 * time.Minute},
		{time.Minute, 7, time.Hour},
		{time.Minute, 1000, time.Hour},
		{2 * time.Second, 1, 2 * time.Second},
		{2 * time.Second, 3, 8 * time.Second},
	} {
		if got := retryDelay(tc.tick, tc.failures); got != tc.want {
			t.Errorf("retryDelay(%s, %d) = %s, want %s", tc.tick, tc.failures, got, tc.want)
		}
	}
}

// The engine's tick rotates the configs it schedules that are due, once each, and no other.
func TestSchedulerTickRotatesDue(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	f := e.fakeRotate()
	e.writeScheduled("due", "rotation_period", "24h")
	e.writeScheduled("later", "rotation_period", "24h")
	e.writeScheduled("off", "rotation_period", "24h", "disable_automated_rotation", true)
	e.writeScheduled("none")
	e.writeScheduled("vault", "rotation_period", "24h")
	e.makeDue("due")
	e.edit("vault", func(c *configEntry) { c.RotationScheduler = schedulerVault; c.NextRotation = 1 })
	e.edit("off", func(c *configEntry) { c.NextRotation = 1 })

	before := time.Now()
	e.rollback(nil)
	after := time.Now()
	e.rollback(nil)
	for name, want := range map[string]int{"due": 1, "later": 0, "off": 0, "none": 0, "vault": 0} {
		if got := f.count(name); got != want {
			t.Errorf("%s rotated %d times, want %d", name, got, want)
		}
	}
	within(t, "next_rotation", e.readTime("due", "next_rotation"), before, after, 24*time.Hour)
	if !strings.Contains(e.metrics(), `forticloud_rotations_total{config="due",outcome="success",scheduler="engine"} 1`) {
		t.Fatalf("metrics:\n%s", e.metrics())
	}
}

// storageCounter counts the writes to its storage.
type storageCounter struct {
	logical.Storage
	mu     sync.Mutex
	writes int
}

func (s *storageCounter) Put(ctx context.Context, e *logical.StorageEntry) error {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	return s.Storage.Put(ctx, e)
}

func (s *storageCounter) Delete(ctx context.Context, k string) error {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	return s.Storage.Delete(ctx, k)
}

// Only where storage is writable: never on a performance standby or secondary, nor a DR secondary.
func TestSchedulerOnlyWhereWritable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state consts.ReplicationState
		want  int
	}{
		{"primary", 0, 1},
		{"performance primary", consts.ReplicationPerformancePrimary, 1},
		{"performance standby", consts.ReplicationPerformanceStandby, 0},
		{"performance secondary", consts.ReplicationPerformanceSecondary, 0},
		{"dr secondary", consts.ReplicationDRSecondary, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := newRotationSystemView(errCE)
			e := newRotationEnv(t, sys)
			f := e.fakeRotate()
			e.writeScheduled("x", "rotation_period", "24h")
			e.makeDue("x")
			sys.set(func(v *rotationSystemView) { v.replication = tc.state })
			s := &storageCounter{Storage: e.s}
			e.rollback(s)
			if tc.want == 0 { // the runner's tick, which no periodic call guards
				if err := e.b.tick(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.count("x"); got != tc.want {
				t.Fatalf("%d rotations, want %d", got, tc.want)
			}
			if tc.want == 0 && s.writes != 0 {
				t.Fatalf("%d storage writes", s.writes)
			}
		})
	}
}

// A failed rotation is logged, counted, shown, and retried after a tick, then two, ...; the
// retry time survives a restart; a rotation that goes through clears it all.
func TestSchedulerBackoff(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	f := e.fakeRotate()
	f.fail(errors.New("upstream unreachable"))
	e.writeScheduled("x", "rotation_period", "24h")
	tick := e.b.sched.tick

	for failures := 1; failures <= 3; failures++ {
		e.makeDue("x")
		before := time.Now()
		e.rollback(nil)
		after := time.Now()
		r := e.ok(logical.ReadOperation, "config/x", nil).Data
		if r["rotation_failures"] != failures || r["rotation_last_error"] != "upstream unreachable" {
			t.Fatalf("after failure %d: %v", failures, r)
		}
		within(t, "next_rotation", e.readTime("x", "next_rotation"), before, after, retryDelay(tick, failures))
		e.restart()
		f.install(e.b)
		e.rollback(nil) // not due again before the retry time
		if got := f.count("x"); got != failures {
			t.Fatalf("%d attempts after %d failures", got, failures)
		}
	}
	if !strings.Contains(e.logs.String(), "scheduled rotation failed") || !strings.Contains(e.logs.String(), "upstream unreachable") {
		t.Fatalf("failure not logged:\n%s", e.logs.String())
	}

	f.fail(nil)
	e.makeDue("x")
	before := time.Now()
	e.rollback(nil)
	after := time.Now()
	r := e.ok(logical.ReadOperation, "config/x", nil).Data
	if r["rotation_failures"] != 0 || r["rotation_last_error"] != "" {
		t.Fatalf("after a rotation that went through: %v", r)
	}
	within(t, "next_rotation", e.readTime("x", "next_rotation"), before, after, 24*time.Hour)
}

// A slot whose rotation_window has passed is skipped for the next slot, and said so; within the
// window it rotates.
func TestSchedulerWindow(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	f := e.fakeRotate()
	e.writeScheduled("x", "rotation_schedule", "15 3 * * *", "rotation_window", "1h")

	e.edit("x", func(c *configEntry) { c.NextRotation = time.Now().Add(-2 * time.Hour).Unix() })
	e.rollback(nil)
	if f.count("x") != 0 {
		t.Fatal("rotated past its window")
	}
	next := e.readTime("x", "next_rotation")
	if next.Hour() != 3 || next.Minute() != 15 || next.Before(time.Now()) {
		t.Fatalf("next_rotation %s, want the next 03:15 UTC", next)
	}
	if !strings.Contains(e.logs.String(), "rotation_window passed") {
		t.Fatalf("the skip is not logged:\n%s", e.logs.String())
	}
	if !strings.Contains(e.metrics(), `forticloud_rotations_total{config="x",outcome="missed_window",scheduler="engine"} 1`) {
		t.Fatalf("metrics:\n%s", e.metrics())
	}

	e.edit("x", func(c *configEntry) { c.NextRotation = time.Now().Add(-10 * time.Minute).Unix() })
	e.rollback(nil)
	if f.count("x") != 1 {
		t.Fatal("not rotated within its window")
	}
}

// A restart (a new backend on the same storage) neither skips a rotation that is due nor
// repeats one that was done.
func TestSchedulerAcrossRestart(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	f := e.fakeRotate()
	e.writeScheduled("x", "rotation_period", "24h")
	e.makeDue("x")

	e.restart()
	f.install(e.b)
	e.rollback(nil)
	if got := f.count("x"); got != 1 {
		t.Fatalf("%d rotations after the restart, want 1", got)
	}
	next := e.stored("x").NextRotation

	e.restart()
	f.install(e.b)
	e.rollback(nil)
	if got := f.count("x"); got != 1 {
		t.Fatalf("%d rotations after a second restart, want still 1", got)
	}
	if got := e.stored("x").NextRotation; got != next {
		t.Fatalf("next rotation moved from %d to %d", next, got)
	}
}

// Two ticks at once rotate a due config once; a tick that read it as due before another
// rotated it reads it again before rotating.
func TestSchedulerOverlappingTicks(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	f := e.fakeRotate()
	f.entered, f.release = make(chan string, 4), make(chan struct{})
	e.writeScheduled("x", "rotation_period", "24h")
	e.makeDue("x")

	tick := func() <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.b.tick(context.Background(), e.s)
		}()
		return done
	}
	first := tick()
	<-f.entered // the first tick is rotating x
	select {
	case <-tick():
	case <-f.entered:
		t.Fatal("a second tick started rotating x while the first was at it")
	}
	close(f.release)
	<-first
	e.b.rotateDue(context.Background(), e.s, "x") // as a tick that read x before the first rotated it
	<-tick()
	if got := f.count("x"); got != 1 {
		t.Fatalf("%d rotations, want 1", got)
	}
}

// With a tick shorter than Vault's minute, the periodic call arms a runner that rotates between
// calls, until a call finds the node no longer writable or the mount is cleaned up.
func TestSchedulerRunner(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	e.b.sched = newScheduler(5 * time.Millisecond)
	f := e.fakeRotate()
	e.writeScheduled("x", "rotation_period", "24h")

	e.rollback(nil) // nothing due yet: this arms the runner
	e.makeDue("x")
	waitFor(t, "a rotation by the runner", func() bool { return f.count("x") == 1 })

	sys.set(func(v *rotationSystemView) { v.replication = consts.ReplicationPerformanceStandby })
	e.rollback(nil)
	waitFor(t, "the runner to stop", func() bool {
		e.b.sched.mu.Lock()
		defer e.b.sched.mu.Unlock()
		return !e.b.sched.running
	})
	e.makeDue("x")
	time.Sleep(20 * e.b.sched.tick)
	if got := f.count("x"); got != 1 {
		t.Fatalf("%d rotations on a standby", got)
	}

	sys.set(func(v *rotationSystemView) { v.replication = 0 })
	e.b.sched.arm(e.s, time.Now().Add(time.Hour), e.b.runnerTick)
	waitFor(t, "a rotation by the runner armed again", func() bool { return f.count("x") == 2 })
	e.b.Cleanup(context.Background())
	e.b.sched.mu.Lock()
	running := e.b.sched.running
	e.b.sched.mu.Unlock()
	if running {
		t.Fatal("the runner outlived the mount's cleanup")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
