package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/helper/automatedrotationutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/rotation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Who runs a config's rotation schedule (rotation_scheduler on read).
const (
	schedulerVault  = "vault"  // Vault's rotation manager (Enterprise), through RotateCredential
	schedulerEngine = "engine" // the engine's own periodic function (Community edition, Vault < 1.19)
)

// rotationScheduled reports whether c asks for automated rotations now.
func (c *configEntry) rotationScheduled() bool {
	return !c.ShouldDeregisterRotationJob()
}

// nextSlot is when c's schedule is next due after t (UNIX seconds); 0 when c has no schedule or
// its cron schedule never fires.
func (c *configEntry) nextSlot(t time.Time) int64 {
	if !c.rotationScheduled() {
		return 0
	}
	rs := &rotation.RotationSchedule{RotationSchedule: c.RotationSchedule, RotationPeriod: c.RotationPeriod}
	if c.RotationSchedule != "" {
		s, err := rotation.DefaultScheduler.Parse(c.RotationSchedule)
		if err != nil {
			return 0 // checked at write
		}
		rs.Schedule = s
	}
	next := rotation.DefaultScheduler.NextRotationTimeFromInput(rs, t)
	if next.IsZero() { // cron finds no slot within five years
		return 0
	}
	return next.Unix()
}

// scheduleNext records in c when its next automated rotation is due after a rotation at now,
// and forgets the failures before it. rotateRoot calls it on the entry it stores with the new
// credential, so that the due time moves with the credential, atomically.
func (c *configEntry) scheduleNext(now time.Time) {
	c.NextRotation = c.nextSlot(now)
	c.RotationRetryAt, c.RotationFailures, c.RotationLastError = 0, 0, ""
}

// rotationDue is when the next automated rotation of c is due (UNIX seconds; 0 none): the
// schedule's slot, or the retry after a failure when that is later.
func (c *configEntry) rotationDue() int64 {
	if !c.rotationScheduled() || c.NextRotation == 0 {
		return 0
	}
	return max(c.NextRotation, c.RotationRetryAt)
}

// checkRotation sets the automated rotation fields (the SDK's, with its rules) and when the
// next rotation is due. Giving rotation_schedule or rotation_period replaces the other. A
// schedule is refused for an auth method rotate-root cannot rotate.
func (w *configWrite) checkRotation(c *configEntry) error {
	if err := w.checkRotationGiven(); err != nil {
		return err
	}
	if err := c.ParseAutomatedRotationFields(w.d); err != nil {
		return fmt.Errorf("rotation_schedule: %w", err) // checkRotationGiven names the field of each known refusal
	}
	_, givesSchedule := w.d.GetOk("rotation_schedule")
	_, givesPeriod := w.d.GetOk("rotation_period")
	switch {
	case givesPeriod && c.RotationPeriod != 0 && !givesSchedule:
		c.RotationSchedule = ""
	case givesSchedule && c.RotationSchedule != "" && !givesPeriod:
		c.RotationPeriod = 0
	}
	if c.RotationSchedule == "" {
		c.RotationWindow = 0
	}
	if c.RotationWindow != 0 {
		if err := rotation.DefaultScheduler.ValidateRotationWindow(int(c.RotationWindow / time.Second)); err != nil {
			return fmt.Errorf("rotation_window: %w", err)
		}
	}
	if tick := engineTick(); c.RotationPeriod != 0 && c.RotationPeriod < tick {
		return fmt.Errorf("rotation_period: must be at least %s, how often schedules are looked at", tick)
	}
	field := "rotation_schedule"
	if c.RotationPeriod != 0 {
		field = "rotation_period"
	}
	if c.rotationScheduled() {
		if err := rotatable(c); err != nil {
			return fmt.Errorf("%s: no automated rotation for this config: %w; clear %s, or set disable_automated_rotation", field, err, field)
		}
	}
	old := w.old
	switch {
	case !c.rotationScheduled():
		c.scheduleNext(time.Now()) // nothing due, no failures
	case old == nil || !old.rotationScheduled() || old.RotationSchedule != c.RotationSchedule || old.RotationPeriod != c.RotationPeriod:
		c.scheduleNext(time.Now())
		if c.NextRotation == 0 {
			return fmt.Errorf("rotation_schedule: %q never comes in the next five years", c.RotationSchedule)
		}
	}
	c.RotationScheduler = rotationSchedulerBefore(old, c)
	return nil
}

// checkRotationGiven checks the rotation fields a write gives, naming the field of each fault
// the SDK's parser would refuse.
func (w *configWrite) checkRotationGiven() error {
	schedule, givesSchedule := w.d.GetOk("rotation_schedule")
	period, givesPeriod := w.d.GetOk("rotation_period")
	window, givesWindow := w.d.GetOk("rotation_window")
	givesSchedule = givesSchedule && schedule.(string) != ""
	givesPeriod = givesPeriod && period.(int) != 0
	givesWindow = givesWindow && window.(int) != 0
	// Negative durations the framework refuses, naming the field.
	switch {
	case givesSchedule && givesPeriod:
		return errors.New("rotation_schedule: give rotation_schedule or rotation_period, not both")
	case givesWindow && givesPeriod:
		return errors.New("rotation_window: applies to rotation_schedule only, not rotation_period")
	case givesWindow && !givesSchedule:
		return errors.New("rotation_window: give it with its rotation_schedule in the same write")
	}
	if givesSchedule {
		if _, err := rotation.DefaultScheduler.Parse(schedule.(string)); err != nil {
			return fmt.Errorf("rotation_schedule: %q is not a 5-field cron schedule in UTC (minute hour day-of-month month day-of-week): %w", schedule, err)
		}
	}
	return nil
}

// rotationSchedulerBefore is who runs c's schedule as the write stores it, before Vault is
// asked: the engine for a schedule that Vault does not run already as it is (so that a
// schedule runs whatever Vault answers later, or if it is never asked); for no schedule, who
// ran the old one, so that its job is deregistered.
func rotationSchedulerBefore(old, c *configEntry) string {
	switch {
	case c.rotationScheduled() && old != nil && old.RotationScheduler == schedulerVault &&
		old.AutomatedRotationParams == c.AutomatedRotationParams:
		return schedulerVault
	case c.rotationScheduled():
		return schedulerEngine
	case old != nil:
		return old.RotationScheduler
	}
	return ""
}

// syncRotationJob tells Vault's rotation manager about c, stored as config name by the write
// req, and stores c again when who runs its schedule changed. The answer is a warning for the
// write, if any.
func (b *backend) syncRotationJob(ctx context.Context, req *logical.Request, name string, old, c *configEntry) (string, error) {
	var by, warning string
	switch {
	case c.rotationScheduled() && c.RotationScheduler == schedulerEngine:
		by, warning = b.registerRotationJob(ctx, req, name, old, c)
	case !c.rotationScheduled() && c.RotationScheduler != "":
		// Kept as vault until Vault lets go, so that the next write tries again.
		if err := b.deregisterRotationJob(ctx, req); err != nil {
			by, warning = schedulerVault, fmt.Sprintf("rotation: %v; until Vault lets go, it asks for rotations, "+
				"which the engine refuses; write the config again to retry", err)
		}
	default:
		return "", nil
	}
	if by == c.RotationScheduler {
		return warning, nil
	}
	c.RotationScheduler = by
	if err := b.storeConfig(ctx, req.Storage, name, c); err != nil {
		return "", fmt.Errorf("config %q is stored, but not who runs its rotations (%s): %w; write it again", name, by, err)
	}
	return warning, nil
}

// registerRotationJob registers c's schedule with Vault's rotation manager and says who runs
// it: Vault when it took the job, else the engine.
func (b *backend) registerRotationJob(ctx context.Context, req *logical.Request, name string, old, c *configEntry) (string, string) {
	job := &rotation.RotationJobConfigureRequest{
		Name: name, MountPoint: req.MountPoint, ReqPath: req.Path,
		RotationSchedule: c.RotationSchedule, RotationWindow: c.RotationWindow, RotationPeriod: c.RotationPeriod,
		RotationPolicy: c.RotationPolicy,
	}
	if old != nil && old.RotationScheduler == schedulerEngine && old.AutomatedRotationParams == c.AutomatedRotationParams {
		// Moving a schedule the engine ran to Vault (an upgrade to Enterprise): keep its due time.
		job.MigratedLegacyNextRotationTime = time.Unix(c.rotationDue(), 0).UTC()
	}
	_, err := b.System().RegisterRotationJob(ctx, job)
	switch {
	case err == nil:
		return schedulerVault, ""
	case rotationManagerAbsent(err):
		return schedulerEngine, ""
	}
	// Any other answer: the config is stored already and its credentials were checked, so the
	// write is not refused; and a schedule asked for must run, so the engine runs it, and the
	// write says so. Should Vault have taken the job after all (an answer lost on the way), both
	// rotate: each rotation is whole, and the next write settles it.
	b.Logger().Warn("Vault's rotation manager refused the rotation job; the engine runs the schedule", "config", name, "error", err)
	if derr := b.System().DeregisterRotationJob(ctx, &rotation.RotationJobDeregisterRequest{
		MountPoint: req.MountPoint, ReqPath: req.Path,
	}); derr != nil && !rotationManagerAbsent(derr) {
		b.Logger().Warn("deregister the refused rotation job", "config", name, "error", derr)
	}
	return schedulerEngine, fmt.Sprintf("rotation: Vault's rotation manager refused the job (%v); "+
		"the engine runs the schedule itself (rotation_scheduler engine); write the config again to retry with Vault", err)
}

// deregisterRotationJob removes the job of the config that req writes or deletes from Vault's
// rotation manager; nil also where Vault runs none.
func (b *backend) deregisterRotationJob(ctx context.Context, req *logical.Request) error {
	err := b.System().DeregisterRotationJob(ctx, &rotation.RotationJobDeregisterRequest{MountPoint: req.MountPoint, ReqPath: req.Path})
	if err == nil || rotationManagerAbsent(err) {
		return nil
	}
	b.Logger().Warn("Vault's rotation manager did not deregister the rotation job", "path", req.Path, "error", err)
	return fmt.Errorf("rotation job of %s not deregistered by Vault's rotation manager: %w", req.Path, err)
}

// rotationManagerAbsent reports whether err says that Vault runs no rotation manager: Community
// edition's "not supported" (plain, wrapped, or as a gRPC status's text), a Vault older than
// 1.19 that knows no such call (gRPC Unimplemented), or an SDK system view ("not implemented").
func rotationManagerAbsent(err error) bool {
	if errors.Is(err, automatedrotationutil.ErrRotationManagerUnsupported) {
		return true
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unimplemented {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, automatedrotationutil.ErrRotationManagerUnsupported.Error()) ||
		strings.Contains(strings.ToLower(msg), "not implemented")
}

// rotateCredential is the backend's RotateCredential: Vault's rotation manager calls it when a
// job registered for config/<name> is due.
func (b *backend) rotateCredential(ctx context.Context, req *logical.Request) error {
	name, ok := strings.CutPrefix(req.Path, configPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("rotate: %q is not a config path", req.Path)
	}
	c, err := readConfig(ctx, req.Storage, name)
	switch {
	case err != nil:
		return err
	case c == nil:
		return fmt.Errorf("rotate: config %q does not exist", name)
	case !c.rotationScheduled():
		// A job left over from a deregistration that failed: the config asks for none.
		return fmt.Errorf("rotate: config %q asks for no automated rotation; not rotated", name)
	}
	_, err = b.rotate(ctx, req.Storage, name)
	b.rotationDone(ctx, req.Storage, name, c, schedulerVault, err)
	if err != nil {
		return fmt.Errorf("rotate config %q: %w", name, err)
	}
	return nil
}
