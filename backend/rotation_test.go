package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/helper/automatedrotationutil"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/rotation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Vault's answers to RegisterRotationJob, as a plugin receives them through gRPC.
var (
	// Community edition: vault/rotation_stubs_oss.go's error, sent back as codes.Internal.
	errCE = status.Error(codes.Internal, automatedrotationutil.ErrRotationManagerUnsupported.Error())
	// Vault older than 1.19: no such call in its system view.
	errOldVault = status.Error(codes.Unimplemented, "unknown method RegisterRotationJobWithResponse for service pb.SystemView")
)

// rotationSystemView is Vault's system view as the rotation tests need it: what the rotation
// manager answers (nil errors: Vault Enterprise), what it was asked, and the replication state.
type rotationSystemView struct {
	logical.StaticSystemView

	mu            sync.Mutex
	registerErr   error
	deregisterErr error
	registered    []rotation.RotationJobConfigureRequest
	deregistered  []rotation.RotationJobDeregisterRequest
	nextVault     time.Time
	replication   consts.ReplicationState
}

func newRotationSystemView(registerErr error) *rotationSystemView {
	return &rotationSystemView{
		StaticSystemView: logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour},
		registerErr:      registerErr,
	}
}

func (v *rotationSystemView) RegisterRotationJob(_ context.Context, req *rotation.RotationJobConfigureRequest) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.registerErr != nil {
		return "", v.registerErr
	}
	v.registered = append(v.registered, *req)
	return "rotation-id", nil
}

func (v *rotationSystemView) DeregisterRotationJob(_ context.Context, req *rotation.RotationJobDeregisterRequest) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.deregisterErr != nil {
		return v.deregisterErr
	}
	v.deregistered = append(v.deregistered, *req)
	return nil
}

func (v *rotationSystemView) GetRotationInformation(context.Context, *rotation.RotationInfoRequest) (*rotation.RotationInfoResponse, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.registerErr != nil {
		return nil, v.registerErr
	}
	return &rotation.RotationInfoResponse{NextVaultRotation: v.nextVault}, nil
}

func (v *rotationSystemView) ReplicationState() consts.ReplicationState {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.replication
}

func (v *rotationSystemView) set(f func(v *rotationSystemView)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(v)
}

// calls is how many jobs were registered and deregistered.
func (v *rotationSystemView) calls() (int, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.registered), len(v.deregistered)
}

// fakeRotations stands in for rotateRoot: it stores what rotateRoot stores of a rotation
// (last_rotated, the next due time), or fails with err, and counts the attempts per config.
type fakeRotations struct {
	mu      sync.Mutex
	n       map[string]int
	err     error
	entered chan string   // when set, told of each attempt as it starts
	release chan struct{} // when set, each attempt waits for it
}

func (e *env) fakeRotate() *fakeRotations {
	f := &fakeRotations{n: map[string]int{}}
	f.install(e.b)
	return f
}

func (f *fakeRotations) install(b *backend) {
	b.rotate = func(ctx context.Context, s logical.Storage, name string) (*configEntry, error) {
		if f.entered != nil {
			f.entered <- name
		}
		if f.release != nil {
			<-f.release
		}
		f.mu.Lock()
		f.n[name]++
		err := f.err
		f.mu.Unlock()
		if err != nil {
			return nil, err
		}
		unlock := b.lockWrites(configPrefix + name)
		defer unlock()
		c, err := readConfig(ctx, s, name)
		if err != nil || c == nil {
			return nil, fmt.Errorf("config %q: gone (%v)", name, err)
		}
		now := time.Now()
		c.LastRotated = now.Unix()
		c.scheduleNext(now)
		return c, b.storeConfig(ctx, s, name, c)
	}
}

func (f *fakeRotations) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[name]
}

func (f *fakeRotations) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// newRotationEnv is an env whose backend has sys as its system view.
func newRotationEnv(t *testing.T, sys logical.SystemView) *env {
	t.Helper()
	fake := newFake(t)
	e := &env{t: t, s: &logical.InmemStorage{}, fake: fake, logs: &syncBuffer{}, sys: sys, mount: "forticloud/"}
	e.b = e.newBackend()
	return e
}

// writeScheduled writes a fortianalyzer local_user config with the rotation fields kv.
func (e *env) writeScheduled(name string, kv ...any) *logical.Response {
	e.t.Helper()
	return e.ok(logical.UpdateOperation, "config/"+name, with(e.fazLocal(), append([]any{"verify_connection", false}, kv...)...))
}

func (e *env) stored(name string) *configEntry {
	e.t.Helper()
	c, err := readConfig(context.Background(), e.s, name)
	if err != nil || c == nil {
		e.t.Fatalf("config %q: %v, %v", name, c, err)
	}
	return c
}

// edit changes the stored config name, as time passing would.
func (e *env) edit(name string, change func(c *configEntry)) {
	e.t.Helper()
	c := e.stored(name)
	change(c)
	entry, err := logical.StorageEntryJSON(configPrefix+name, c)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Put(context.Background(), entry); err != nil {
		e.t.Fatal(err)
	}
}

// makeDue moves config name's due time into the past.
func (e *env) makeDue(name string) {
	e.edit(name, func(c *configEntry) {
		c.NextRotation = time.Now().Add(-time.Second).Unix()
		if c.RotationRetryAt != 0 {
			c.RotationRetryAt = c.NextRotation
		}
	})
}

// rollback is Vault's rollback manager's call on s (e.s when nil), which runs the periodic function.
func (e *env) rollback(s logical.Storage) {
	e.t.Helper()
	if s == nil {
		s = e.s
	}
	_, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RollbackOperation, Storage: s, MountPoint: e.mount})
	if err != nil {
		e.t.Fatalf("rollback: %v", err)
	}
}

// readTime is the RFC 3339 time field of a config read; zero for "".
func (e *env) readTime(name, field string) time.Time {
	e.t.Helper()
	v := e.ok(logical.ReadOperation, "config/"+name, nil).Data[field].(string)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		e.t.Fatalf("%s: %v", field, err)
	}
	return t
}

// within fails unless got is want after some moment between before and after (whole seconds).
func within(t *testing.T, what string, got time.Time, before, after time.Time, want time.Duration) {
	t.Helper()
	lo, hi := before.Add(want).Truncate(time.Second), after.Add(want)
	if got.Before(lo) || got.After(hi) {
		t.Fatalf("%s = %s, want between %s and %s", what, got, lo, hi)
	}
}

func TestRotationManagerAbsent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"community edition through gRPC", errCE, true},
		{"community edition in process", automatedrotationutil.ErrRotationManagerUnsupported, true},
		{"community edition wrapped", fmt.Errorf("register: %w", automatedrotationutil.ErrRotationManagerUnsupported), true},
		{"vault before 1.19", errOldVault, true},
		{"vault before 1.19, wrapped", fmt.Errorf("register: %w", errOldVault), true},
		{"sdk static system view", errors.New("RegisterRotationJob is not implemented in StaticSystemView"), true},
		{"other gRPC error", status.Error(codes.Internal, "storage is busy"), false},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), false},
		{"plain error", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rotationManagerAbsent(tc.err); got != tc.want {
				t.Fatalf("rotationManagerAbsent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestConfigRotationRejects(t *testing.T) {
	e := newRotationEnv(t, newRotationSystemView(errCE))
	faz := with(e.fazLocal(), "verify_connection", false)
	for _, tc := range []struct {
		name string
		data map[string]any
		want string
	}{
		{"period and schedule", with(faz, "rotation_period", "1h", "rotation_schedule", "0 3 * * *"), "rotation_schedule: give rotation_schedule or rotation_period, not both"},
		{"bad cron", with(faz, "rotation_schedule", "every day"), `rotation_schedule: "every day" is not a 5-field cron schedule`},
		{"six-field cron", with(faz, "rotation_schedule", "0 0 3 * * *"), "rotation_schedule:"},
		{"cron that never fires", with(faz, "rotation_schedule", "0 0 30 2 *"), "rotation_schedule:"},
		{"window without schedule", with(faz, "rotation_window", "2h"), "rotation_window: give it with its rotation_schedule"},
		{"window with period", with(faz, "rotation_window", "2h", "rotation_period", "1h"), "rotation_window: applies to rotation_schedule only"},
		{"window under an hour", with(faz, "rotation_schedule", "0 3 * * *", "rotation_window", "30m"), "rotation_window: rotation_window must be 3600 seconds or more"},
		{"period under the tick", with(faz, "rotation_period", int((engineTick() - time.Second).Seconds())), "rotation_period: must be at least " + engineTick().String()},
		{"negative period", with(faz, "rotation_period", "-1h"), `field "rotation_period": cannot provide negative value`},
		{"forticloud token", with(e.fazCloud(), "verify_connection", false, "rotation_period", "24h"), "rotation_period: no automated rotation for this config: auth_method forticloud_token cannot be rotated"},
		{"iam api user", with(e.fazAPIUser(), "verify_connection", false, "rotation_schedule", "0 3 * * *"), "rotation_schedule: no automated rotation for this config: auth_method forticloud_api_user cannot be rotated"},
		{"fortilan email user", with(e.lanEmail(), "verify_connection", false, "rotation_period", "24h"), "rotation_period: no automated rotation for this config: auth_method email_user cannot be rotated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.fails(logical.UpdateOperation, "config/x", tc.data, tc.want)
			if resp := e.ok(logical.ReadOperation, "config/x", nil); resp != nil {
				t.Fatalf("a refused write stored a config: %v", resp.Data)
			}
			if n, _ := e.sys.(*rotationSystemView).calls(); n != 0 {
				t.Fatalf("a refused write registered %d jobs", n)
			}
		})
	}
}

// A config that rotates cannot turn into one that cannot while it keeps its schedule; with the
// schedule off, it can.
func TestConfigRotationRejectsMethodChange(t *testing.T) {
	e := newRotationEnv(t, newRotationSystemView(errCE))
	e.writeScheduled("x", "rotation_period", "24h")
	cloud := map[string]any{"auth_method": "forticloud_token", "token": cloudToken, "verify_connection": false}
	e.fails(logical.UpdateOperation, "config/x", cloud, "rotation_period: no automated rotation for this config: auth_method forticloud_token", "clear rotation_period")
	if got := e.stored("x").AuthMethod; got != "local_user" {
		t.Fatalf("auth_method %q after a refused write", got)
	}
	e.ok(logical.UpdateOperation, "config/x", with(cloud, "disable_automated_rotation", true))
	if c := e.stored("x"); c.RotationScheduler != "" || c.NextRotation != 0 {
		t.Fatalf("disabled schedule still runs: scheduler %q, next %d", c.RotationScheduler, c.NextRotation)
	}
}

// Read shows the schedule and its state; a write that leaves the schedule alone leaves its due
// time alone, so that rewriting a config never postpones a rotation.
func TestConfigRotationRead(t *testing.T) {
	e := newRotationEnv(t, newRotationSystemView(errCE))
	read := func() map[string]any { return e.ok(logical.ReadOperation, "config/x", nil).Data }

	e.writeScheduled("x")
	for k, want := range map[string]any{"rotation_period": int64(0), "rotation_schedule": "", "rotation_window": int64(0),
		"disable_automated_rotation": false, "rotation_policy": "", "rotation_scheduler": "", "last_rotated": "",
		"next_rotation": "", "rotation_failures": 0, "rotation_last_error": ""} {
		if got := read()[k]; got != want {
			t.Errorf("without a schedule, %s = %#v, want %#v", k, got, want)
		}
	}

	before := time.Now()
	e.writeScheduled("x", "rotation_period", "24h", "rotation_policy", "p1")
	after := time.Now()
	r := read()
	if r["rotation_period"] != int64(86400) || r["rotation_scheduler"] != schedulerEngine || r["rotation_policy"] != "p1" {
		t.Fatalf("read %v", r)
	}
	within(t, "next_rotation", e.readTime("x", "next_rotation"), before, after, 24*time.Hour)

	e.edit("x", func(c *configEntry) { c.NextRotation = time.Now().Add(5 * time.Hour).Unix() }) // time passed
	next := e.readTime("x", "next_rotation")
	e.ok(logical.UpdateOperation, "config/x", map[string]any{"request_timeout": 10, "verify_connection": false})
	if got := e.readTime("x", "next_rotation"); !got.Equal(next) {
		t.Fatalf("a write without schedule changes moved next_rotation from %s to %s", next, got)
	}

	e.ok(logical.UpdateOperation, "config/x", map[string]any{"rotation_schedule": "30 3 * * *", "rotation_window": "2h", "verify_connection": false})
	r = read()
	if r["rotation_period"] != int64(0) || r["rotation_window"] != int64(7200) {
		t.Fatalf("a schedule did not replace the period: %v", r)
	}
	got := e.readTime("x", "next_rotation")
	if got.Hour() != 3 || got.Minute() != 30 || time.Until(got) > 24*time.Hour || got.Before(time.Now()) {
		t.Fatalf("next_rotation %s is not the next 03:30 UTC", got)
	}

	e.ok(logical.UpdateOperation, "config/x", map[string]any{"rotation_schedule": "", "verify_connection": false})
	r = read()
	if r["rotation_schedule"] != "" || r["rotation_window"] != int64(0) || r["next_rotation"] != "" || r["rotation_scheduler"] != "" {
		t.Fatalf("cleared schedule still shows: %v", r)
	}
}

// Who runs the schedule, by what Vault answers the registration.
func TestRotationRegistration(t *testing.T) {
	for _, tc := range []struct {
		name        string
		registerErr error
		want        string
		warning     string
	}{
		{"enterprise", nil, schedulerVault, ""},
		{"community edition", errCE, schedulerEngine, ""},
		{"community edition in process", fmt.Errorf("rpc: %w", automatedrotationutil.ErrRotationManagerUnsupported), schedulerEngine, ""},
		{"vault before 1.19", errOldVault, schedulerEngine, ""},
		{"other refusal", status.Error(codes.Internal, "rotation manager is busy"), schedulerEngine, "rotation: Vault's rotation manager refused the job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := newRotationSystemView(tc.registerErr)
			e := newRotationEnv(t, sys)
			resp := e.writeScheduled("x", "rotation_period", "24h")
			var warnings []string
			if resp != nil {
				warnings = resp.Warnings
			}
			if got := strings.Join(warnings, "\n"); tc.warning == "" && got != "" || !strings.Contains(got, tc.warning) {
				t.Fatalf("warnings %q, want %q", got, tc.warning)
			}
			if got := e.stored("x").RotationScheduler; got != tc.want {
				t.Fatalf("rotation_scheduler %q, want %q", got, tc.want)
			}
			if tc.want == schedulerVault {
				job := sys.registered[0]
				if job.MountPoint != "forticloud/" || job.ReqPath != "config/x" || job.RotationPeriod != 24*time.Hour || job.Name != "x" {
					t.Fatalf("registered %+v", job)
				}
			}
			if tc.warning != "" && !strings.Contains(e.logs.String(), "refused the rotation job") {
				t.Fatalf("the refusal is not logged:\n%s", e.logs.String())
			}
		})
	}
}

// The static system view of the SDK (no rotation manager at all) leaves the engine to run it.
func TestRotationRegistrationStaticSystemView(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/x", with(e.fazLocal(), "rotation_period", "24h"))
	if got := e.stored("x").RotationScheduler; got != schedulerEngine {
		t.Fatalf("rotation_scheduler %q", got)
	}
	e.ok(logical.DeleteOperation, "config/x", nil)
}

// On Enterprise, each change of the schedule registers or deregisters its job, and a write that
// leaves it as it is does not ask Vault again.
func TestRotationJobLifecycle(t *testing.T) {
	sys := newRotationSystemView(nil)
	e := newRotationEnv(t, sys)
	steps := []struct {
		name        string
		write       map[string]any // nil: delete
		reg, dereg  int
		scheduler   string
		nextVisible bool
	}{
		{"schedule", map[string]any{"rotation_period": "24h"}, 1, 0, schedulerVault, true},
		{"other field", map[string]any{"request_timeout": 10}, 1, 0, schedulerVault, true},
		{"new period", map[string]any{"rotation_period": "12h"}, 2, 0, schedulerVault, true},
		{"disable", map[string]any{"disable_automated_rotation": true}, 2, 1, "", false},
		{"enable", map[string]any{"disable_automated_rotation": false}, 3, 1, schedulerVault, true},
		{"cron", map[string]any{"rotation_schedule": "0 4 * * 1"}, 4, 1, schedulerVault, true},
		{"clear", map[string]any{"rotation_schedule": ""}, 4, 2, "", false},
		{"again", map[string]any{"rotation_period": "1h"}, 5, 2, schedulerVault, true},
		{"delete", nil, 5, 3, "", false},
	}
	e.writeScheduled("x")
	for _, s := range steps {
		if s.write == nil {
			e.ok(logical.DeleteOperation, "config/x", nil)
		} else {
			e.ok(logical.UpdateOperation, "config/x", with(s.write, "verify_connection", false))
		}
		reg, dereg := sys.calls()
		if reg != s.reg || dereg != s.dereg {
			t.Fatalf("%s: %d registrations and %d deregistrations, want %d and %d", s.name, reg, dereg, s.reg, s.dereg)
		}
		if s.write == nil {
			continue
		}
		c := e.stored("x")
		if c.RotationScheduler != s.scheduler || (c.rotationDue() != 0) != s.nextVisible {
			t.Fatalf("%s: scheduler %q, next rotation %d", s.name, c.RotationScheduler, c.rotationDue())
		}
	}
	last := sys.deregistered[2]
	if last.MountPoint != "forticloud/" || last.ReqPath != "config/x" {
		t.Fatalf("deregistered %+v", last)
	}
}

// A deregistration Vault refuses is tried again by the next write, and keeps a delete from
// leaving a job nothing would remove.
func TestRotationDeregisterRefused(t *testing.T) {
	sys := newRotationSystemView(nil)
	e := newRotationEnv(t, sys)
	e.writeScheduled("x", "rotation_period", "24h")
	sys.set(func(v *rotationSystemView) { v.deregisterErr = errors.New("rotation manager is busy") })

	resp := e.ok(logical.UpdateOperation, "config/x", map[string]any{"rotation_period": 0, "verify_connection": false})
	if resp == nil || !strings.Contains(strings.Join(resp.Warnings, " "), "not deregistered") {
		t.Fatalf("no warning: %v", resp)
	}
	if got := e.stored("x").RotationScheduler; got != schedulerVault {
		t.Fatalf("rotation_scheduler %q after a refused deregistration", got)
	}
	// Vault's job, still there, asks for a rotation the config no longer wants.
	f := e.fakeRotate()
	if _, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RotationOperation, Path: "config/x", Storage: e.s}); err == nil {
		t.Fatal("a leftover job rotated a config without a schedule")
	}
	if f.count("x") != 0 {
		t.Fatal("rotated")
	}
	e.fails(logical.DeleteOperation, "config/x", nil, `config "x" is kept`, "not deregistered")
	e.stored("x")

	sys.set(func(v *rotationSystemView) { v.deregisterErr = nil })
	e.ok(logical.UpdateOperation, "config/x", map[string]any{"verify_connection": false})
	if got := e.stored("x").RotationScheduler; got != "" {
		t.Fatalf("rotation_scheduler %q after the deregistration went through", got)
	}
	if _, dereg := sys.calls(); dereg != 1 {
		t.Fatalf("%d deregistrations", dereg)
	}
}

// Vault's rotation manager rotates through RotateCredential; read shows its own next time.
func TestRotateCredential(t *testing.T) {
	sys := newRotationSystemView(nil)
	e := newRotationEnv(t, sys)
	f := e.fakeRotate()
	e.writeScheduled("x", "rotation_period", "24h")
	rotate := func(path string) error {
		_, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RotationOperation, Path: path, Storage: e.s})
		return err
	}
	if err := rotate("config/x"); err != nil {
		t.Fatal(err)
	}
	if f.count("x") != 1 || e.readTime("x", "last_rotated").IsZero() {
		t.Fatalf("%d rotations, last_rotated %s", f.count("x"), e.readTime("x", "last_rotated"))
	}
	f.fail(errors.New("upstream refused the new password (code -10)"))
	if err := rotate("config/x"); err == nil || !strings.Contains(err.Error(), "code -10") {
		t.Fatalf("failed rotation answered %v", err)
	}
	r := e.ok(logical.ReadOperation, "config/x", nil).Data
	if r["rotation_failures"] != 1 || !strings.Contains(r["rotation_last_error"].(string), "code -10") {
		t.Fatalf("failure not shown: %v", r)
	}
	if e.stored("x").RotationRetryAt != 0 {
		t.Fatal("the engine scheduled a retry of Vault's job: Vault's rotation manager retries it")
	}
	for _, path := range []string{"config/none", "roles/x", "config/", "config/a/b"} {
		if err := rotate(path); err == nil {
			t.Errorf("RotateCredential %s: no error", path)
		}
	}
	vaultNext := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	sys.set(func(v *rotationSystemView) { v.nextVault = vaultNext })
	if got := e.readTime("x", "next_rotation"); !got.Equal(vaultNext) {
		t.Fatalf("next_rotation %s, want Vault's %s", got, vaultNext)
	}
	m := e.metrics()
	for _, want := range []string{
		`forticloud_rotations_total{config="x",outcome="success",scheduler="vault"} 1`,
		`forticloud_rotations_total{config="x",outcome="failure",scheduler="vault"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, m)
		}
	}
}

// After an upgrade to Enterprise, the next write hands the engine's schedule to Vault with its
// due time, so that the move neither skips nor repeats a rotation.
func TestRotationMovesToVault(t *testing.T) {
	sys := newRotationSystemView(errCE)
	e := newRotationEnv(t, sys)
	e.writeScheduled("x", "rotation_period", "24h")
	due := time.Now().Add(3 * time.Hour).Unix()
	e.edit("x", func(c *configEntry) { c.NextRotation = due })

	sys.set(func(v *rotationSystemView) { v.registerErr = nil })
	e.ok(logical.UpdateOperation, "config/x", map[string]any{"request_timeout": 10, "verify_connection": false})
	if got := e.stored("x").RotationScheduler; got != schedulerVault {
		t.Fatalf("rotation_scheduler %q", got)
	}
	if got := sys.registered[0].MigratedLegacyNextRotationTime; got.Unix() != due {
		t.Fatalf("registered with next rotation %s, want the engine's %s", got, time.Unix(due, 0))
	}
}
