package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// Outcomes of a scheduled rotation, as forticloud_rotations_total counts them.
const (
	rotationOK         = "success"
	rotationFailed     = "failure"
	rotationMissedSlot = "missed_window"
)

// maxRotationErrorLen is the most bytes of a failed rotation's error kept for read.
const maxRotationErrorLen = 500

// rollbackPeriod is how often Vault's rollback manager calls the periodic function, on the
// active node; fixed in Vault.
const rollbackPeriod = time.Minute

// maxRetryDelay is the longest wait before retrying a failed scheduled rotation.
const maxRetryDelay = time.Hour

// rotationTick is how often the engine's own scheduler looks for due rotations. Vault calls the
// periodic function once a minute; tests shorten the tick with -ldflags
// "-X github.com/forticloud/vault-plugin-secrets-forticloud/backend.rotationTick=2s", and the
// engine then also looks every tick between Vault's calls. Longer than a minute is a minute.
var rotationTick = "1m"

// engineTick is rotationTick parsed: also the shortest rotation_period and the first retry delay.
func engineTick() time.Duration {
	d, err := time.ParseDuration(rotationTick)
	if err != nil || d <= 0 || d > rollbackPeriod {
		return rollbackPeriod
	}
	return d
}

// missedWindow reports whether c's slot has a rotation_window and now is past it.
func (c *configEntry) missedWindow(now time.Time) bool {
	return c.RotationSchedule != "" && c.RotationWindow > 0 &&
		!now.Before(time.Unix(c.NextRotation, 0).Add(c.RotationWindow))
}

// retryDelay is how long the engine waits before retrying after the failures-th failure in a
// row: one tick, doubling, at most maxRetryDelay.
func retryDelay(tick time.Duration, failures int) time.Duration {
	d := tick
	for i := 1; i < failures && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// scheduler is the engine's own rotation scheduler, for Vault without a rotation manager. It
// rotates only in a tick that Vault's periodic call proves to run on the active node of the
// primary cluster: in that call, and, when rotationTick is shorter than Vault's minute, in a
// runner the call arms until the next call is due, which every call extends and which stops
// at once when the mount is cleaned up (sealed, stepped down, unmounted, reloaded).
type scheduler struct {
	tick time.Duration

	mu      sync.Mutex
	busy    map[string]bool // configs a tick is rotating: another tick skips them
	until   time.Time       // the runner ticks until then
	storage logical.Storage // the last periodic call's, for the runner
	running bool
	ctx     context.Context // the runner's: cancelled by stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newScheduler(tick time.Duration) *scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &scheduler{tick: tick, busy: map[string]bool{}, ctx: ctx, cancel: cancel}
}

// claim marks config name as being rotated, unless another tick already is.
func (s *scheduler) claim(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[name] {
		return false
	}
	s.busy[name] = true
	return true
}

func (s *scheduler) release(name string) {
	s.mu.Lock()
	delete(s.busy, name)
	s.mu.Unlock()
}

// arm lets the runner tick with storage until the given time, starting it when it is not
// running; a no-op when the tick is Vault's own minute.
func (s *scheduler) arm(storage logical.Storage, until time.Time, run func(context.Context, logical.Storage)) {
	if s.tick >= rollbackPeriod {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storage, s.until = storage, until
	if s.running || s.ctx.Err() != nil {
		return
	}
	s.running = true
	s.wg.Add(1)
	go s.runner(run)
}

// disarm stops the runner at its next tick.
func (s *scheduler) disarm() {
	s.mu.Lock()
	s.until = time.Time{}
	s.mu.Unlock()
}

func (s *scheduler) runner(run func(context.Context, logical.Storage)) {
	defer s.wg.Done()
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
			return
		case <-t.C:
		}
		s.mu.Lock()
		storage, armed := s.storage, time.Now().Before(s.until)
		if !armed {
			s.running = false
		}
		s.mu.Unlock()
		if !armed {
			return
		}
		run(s.ctx, storage)
	}
}

// stop ends the runner and waits for a rotation it is in to return. Cancelled under s.mu, so
// that arm either starts no runner or starts it before the wait.
func (s *scheduler) stop() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// periodic is the backend's PeriodicFunc. Vault's rollback manager calls it every minute on the
// active node (and on performance standbys, which tick refuses).
func (b *backend) periodic(ctx context.Context, req *logical.Request) error {
	if !b.WriteSafeReplicationState() {
		b.sched.disarm()
		return nil
	}
	b.sched.arm(req.Storage, time.Now().Add(rollbackPeriod+b.sched.tick), b.runnerTick)
	return b.tick(ctx, req.Storage)
}

func (b *backend) runnerTick(ctx context.Context, s logical.Storage) {
	if err := b.tick(ctx, s); err != nil {
		b.Logger().Error("rotation scheduler", "error", err)
	}
}

// tick rotates every config the engine schedules whose rotation is due, one after another, where
// this node may write storage: never on a performance standby or secondary, nor a DR secondary.
func (b *backend) tick(ctx context.Context, s logical.Storage) error {
	if !b.WriteSafeReplicationState() {
		return nil
	}
	names, err := s.List(ctx, configPrefix)
	if err != nil {
		return fmt.Errorf("rotation scheduler: list configs: %w", err)
	}
	var errs []error
	for _, name := range names {
		if ctx.Err() != nil {
			break // what is left waits for the next tick
		}
		c, err := readConfig(ctx, s, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c != nil && c.engineDue(time.Now()) {
			b.rotateDue(ctx, s, name)
		}
	}
	return errors.Join(errs...)
}

// engineDue reports whether the engine must rotate c at now.
func (c *configEntry) engineDue(now time.Time) bool {
	due := c.rotationDue()
	return c.RotationScheduler == schedulerEngine && due != 0 && due <= now.Unix()
}

// rotateDue rotates config name if it is still due once no other tick can be rotating it.
// Failures are logged, counted, and retried after retryDelay; a slot whose rotation_window has
// passed is skipped for the next one.
func (b *backend) rotateDue(ctx context.Context, s logical.Storage, name string) {
	if !b.sched.claim(name) {
		return
	}
	defer b.sched.release(name)
	// Read again: a tick that held the claim until just now may have rotated it.
	c, err := readConfig(ctx, s, name)
	now := time.Now()
	switch {
	case err != nil:
		b.Logger().Error("scheduled rotation: read config", "config", name, "error", err)
		return
	case c == nil || !c.engineDue(now):
		return
	case c.missedWindow(now):
		slot := time.Unix(c.NextRotation, 0).UTC()
		b.Logger().Warn("scheduled rotation skipped: its rotation_window passed", "config", name,
			"slot", slot.Format(time.RFC3339), "rotation_window", c.RotationWindow.String())
		b.metrics.rotated(name, rotationMissedSlot, schedulerEngine)
		b.updateSchedule(ctx, s, name, c, func(u *configEntry) {
			u.NextRotation, u.RotationRetryAt = u.nextSlot(now), 0
		})
		return
	}
	_, err = b.rotate(ctx, s, name)
	b.rotationDone(ctx, s, name, c, schedulerEngine, err)
}

// rotationDone counts and logs a scheduled rotation of config name (seen before it), and on
// failure records it in the config: the error, and for the engine when to retry.
func (b *backend) rotationDone(ctx context.Context, s logical.Storage, name string, seen *configEntry, by string, err error) {
	if err == nil {
		b.metrics.rotated(name, rotationOK, by)
		b.Logger().Info("scheduled rotation done", "config", name, "scheduler", by)
		return
	}
	b.metrics.rotated(name, rotationFailed, by)
	now := time.Now()
	failures := seen.RotationFailures + 1
	retry := now.Add(retryDelay(b.sched.tick, failures))
	args := []any{"config", name, "scheduler", by, "failures", failures, "error", err}
	if by == schedulerEngine {
		args = append(args, "retry_at", retry.UTC().Format(time.RFC3339))
	}
	b.Logger().Error("scheduled rotation failed", args...)
	b.updateSchedule(ctx, s, name, seen, func(u *configEntry) {
		u.RotationFailures, u.RotationLastError = failures, truncate(err.Error(), maxRotationErrorLen)
		if by == schedulerEngine {
			u.RotationRetryAt = retry.Unix()
		}
	})
}

// updateSchedule stores what change does to config name's rotation state, unless the config's
// schedule or rotation state moved since seen was read (a write, a rotation that went through
// after all): then the newer state stands. It works on after a cancelled request: the
// schedule must know of the failure that the cancellation caused.
func (b *backend) updateSchedule(ctx context.Context, s logical.Storage, name string, seen *configEntry, change func(*configEntry)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	unlock := b.lockWrites(configPrefix + name)
	defer unlock()
	c, err := readConfig(ctx, s, name)
	if err != nil || c == nil || !sameRotationState(c, seen) {
		if err != nil {
			b.Logger().Error("scheduled rotation: read config", "config", name, "error", err)
		}
		return
	}
	change(c)
	if err := b.storeConfig(ctx, s, name, c); err != nil {
		b.Logger().Error("scheduled rotation: store the schedule", "config", name, "error", err)
	}
}

func sameRotationState(a, b *configEntry) bool {
	return a.AutomatedRotationParams == b.AutomatedRotationParams && a.RotationScheduler == b.RotationScheduler &&
		a.NextRotation == b.NextRotation && a.RotationRetryAt == b.RotationRetryAt &&
		a.RotationFailures == b.RotationFailures && a.LastRotated == b.LastRotated
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
