package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// setAdminPath is the fake's fault path of a password change of the tests' admin.
const setAdminPath = "jsonrpc:/cli/global/system/admin/user/" + adminUser

// fakeRPC is a JSON-RPC client of the fake, apart from the engine's: the tests' own view of
// what upstream takes.
func (e *env) fakeRPC() *client.JSONRPC {
	e.t.Helper()
	conn, err := client.New(client.Settings{Type: "fortianalyzer", URL: e.fake.URL, TLS: client.TLSConfig{CACert: e.fake.CACertPEM}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(conn.Close)
	return client.NewJSONRPC("fortianalyzer", e.fake.URL, conn.Transport)
}

// takes reports whether the fake lets the tests' admin log in with password (logged out again).
func (e *env) takes(password string) bool {
	e.t.Helper()
	rpc := e.fakeRPC()
	sid, err := rpc.LoginUser(context.Background(), adminUser, password)
	if err != nil {
		if !errors.Is(err, client.ErrRefused) {
			e.t.Fatalf("login: %v", err)
		}
		return false
	}
	_ = rpc.Logout(context.Background(), sid)
	return true
}

// agree checks that upstream takes the stored password of config c and no other one the test
// knows of, that no WAL entry is left, and that no session is left live upstream.
func (e *env) agree(c string, others ...string) {
	e.t.Helper()
	p := e.stored(c).Password
	if !e.takes(p) {
		e.t.Fatalf("upstream refuses the stored password")
	}
	for _, o := range others {
		if o != p && e.takes(o) {
			e.t.Fatalf("upstream still takes a password that is not the stored one")
		}
	}
	if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != 0 {
		e.t.Fatalf("%d WAL entries left", len(ids))
	}
	if n := e.fake.LiveSessions(); n != 0 {
		e.t.Fatalf("%d sessions left live upstream", n)
	}
}

// Rotation on every firmware reading of old-password, whether or not a password change ends
// the admin's sessions: the new password is stored and taken, the old one refused, creds work,
// and leases from before revoke (and renew while their sessions live).
func TestRotateRoot(t *testing.T) {
	for _, typ := range []string{"fortianalyzer", "fortimanager"} {
		for _, mode := range []fortitest.OldPasswordMode{fortitest.OldPasswordIgnored, fortitest.OldPasswordRequired, fortitest.OldPasswordOptional} {
			for _, ends := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/old-password mode %d/change ends sessions %v", typ, mode, ends), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					e.fake.SetOldPasswordMode(mode)
					e.fake.SetPasswordChangeEndsSessions(ends)
					cfg := e.fazLocal()
					cfg["type"] = typ
					e.ok(logical.UpdateOperation, "config/c", cfg)
					e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
					before := e.creds("r")

					resp := e.ok(logical.UpdateOperation, "rotate-root/c", nil)
					if resp.Data["last_rotated"] == "" || resp.Data["password_set"] != true {
						t.Fatalf("answer %v: want last_rotated and password_set", resp.Data)
					}
					for k, v := range resp.Data {
						if s, ok := v.(string); ok && (strings.Contains(s, e.stored("c").Password) || k == "password") {
							t.Fatalf("answer shows the password in %q", k)
						}
					}
					if !strings.Contains(e.metrics(), `forticloud_rotations_total{config="c",outcome="success",scheduler="manual"} 1`) {
						t.Fatal("the rotation is not counted in the metrics")
					}
					if e.stored("c").Password == adminPassword || e.takes(adminPassword) {
						t.Fatal("the old password is still stored or taken upstream")
					}
					after := e.creds("r")
					r, err := e.renew(before)
					if refused := err != nil || r == nil || r.IsError(); refused != ends {
						t.Fatalf("renew of a lease from before, its session ended %v: refused %v (%v %v)", ends, refused, r, err)
					}
					e.revokeAllNoneLive(t, before, after)
					e.agree("c", adminPassword)
				})
			}
		}
	}
}

// What cannot rotate says why and what to do, and changes nothing.
func TestRotateRootRefused(t *testing.T) {
	e := newEnv(t)
	for name, cfg := range map[string]map[string]any{
		"cloud": e.fazCloud(), "apiuser": e.fazAPIUser(), "lan": e.lanEmail(), "iam": e.lanIAM(),
		"lanapi": e.lanAPIUser(), "forticloud": e.cloudAPIUser(),
	} {
		e.ok(logical.UpdateOperation, "config/"+name, cfg)
		msg := e.fails(logical.UpdateOperation, "rotate-root/"+name, nil, "cannot be rotated")
		if !strings.Contains(msg, "portal") && !strings.Contains(msg, "write a new") {
			t.Errorf("%s: %q does not say what to do instead", name, msg)
		}
	}
	e.fails(logical.UpdateOperation, "rotate-root/nope", nil, `config "nope" does not exist`)

	// An admin whose profile may not manage admins: refused upstream, nothing changed.
	e.fake.AddAdminProfile("weak", adminPassword, fortitest.ProfileNoSystemSettings)
	cfg := e.fazLocal()
	cfg["username"] = "weak"
	e.ok(logical.UpdateOperation, "config/weak", cfg)
	e.fails(logical.UpdateOperation, "rotate-root/weak", nil, "nothing changed")
	if e.stored("weak").Password != adminPassword {
		t.Fatal("a refused rotation changed the stored password")
	}
	if ids, _ := framework.ListWAL(context.Background(), e.s); len(ids) != 0 || e.fake.LiveSessions() != 0 {
		t.Fatalf("a refused rotation left %d WAL entries and %d sessions", len(ids), e.fake.LiveSessions())
	}

	e.fails(logical.UpdateOperation, "config/p", mergeMap(e.lanEmail(), map[string]any{"password_policy": "x"}), "password_policy: only used by")
	e.fails(logical.UpdateOperation, "config/c", mergeMap(e.fazLocal(), map[string]any{"password_policy": "nope"}), "password_policy", "sys/policies/password/nope")
}

func mergeMap(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// Faults at each step: afterwards upstream and Vault agree, with the WAL rollback or the next
// creds settling what the request could not.
func TestRotateRootFaults(t *testing.T) {
	tests := []struct {
		name     string
		faults   []fortitest.Fault
		failPut  string // storage key prefix whose Put fails
		failDel  string
		wantErr  string // "" for success
		settleBy string // "", "rollback" or "creds": what settles it after the request
	}{
		{name: "answer to the change lost, change made", faults: []fortitest.Fault{{Path: setAdminPath, Kind: fortitest.FaultActThen5xx}}},
		{name: "change never arrives", faults: []fortitest.Fault{{Path: setAdminPath, Kind: fortitest.FaultDown}}, wantErr: "still takes the old password"},
		{name: "change refused", faults: []fortitest.Fault{{Path: setAdminPath, Kind: fortitest.FaultCode, RPCCode: -6}}, wantErr: "nothing changed"},
		{name: "WAL write fails", failPut: framework.WALPrefix, wantErr: "write WAL"},
		{name: "config store fails, old password put back", failPut: configPrefix, wantErr: "old password was restored"},
		{name: "config store and put-back fail, rollback settles", failPut: configPrefix,
			faults: []fortitest.Fault{{Path: setAdminPath, Kind: fortitest.FaultDown, Count: 0}}, wantErr: "failed too", settleBy: "rollback"},
		{name: "config store and put-back fail, creds settle", failPut: configPrefix,
			faults: []fortitest.Fault{{Path: setAdminPath, Kind: fortitest.FaultDown, Count: 0}}, wantErr: "failed too", settleBy: "creds"},
		{name: "WAL delete fails", failDel: framework.WALPrefix, settleBy: "rollback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			fs := &faultyStorage{Storage: e.s}
			e.s = fs
			e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
			e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
			for _, f := range tt.faults {
				if f.Kind == fortitest.FaultDown && tt.failPut == configPrefix {
					continue // added once the change went through: the put-back fails
				}
				e.fake.AddFault(f)
			}
			if tt.failPut == configPrefix && len(tt.faults) > 0 {
				fs.onPut.Store(func(key string) {
					if strings.HasPrefix(key, configPrefix) {
						e.fake.AddFault(tt.faults[0])
					}
				})
			}
			fs.failPut.Store(tt.failPut)
			fs.failDelete.Store(tt.failDel)
			_, err := e.do(logical.UpdateOperation, "rotate-root/c", nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("rotate-root: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("rotate-root: error %v, want one saying %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), adminPassword) {
				t.Fatal("the error shows the old password")
			}
			fs.failPut.Store("")
			fs.failDelete.Store("")
			fs.onPut.Store(func(string) {})
			e.fake.ClearFaults()
			switch tt.settleBy {
			case "rollback":
				e.restart()
				rollback(t, e)
			case "creds":
				e.restart()
				l := e.creds("r") // refused with the stored password, settled, then logged in
				e.revokeAllNoneLive(t, l)
			}
			e.agree("c", adminPassword)
			if tt.wantErr == "" && e.stored("c").Password == adminPassword {
				t.Fatal("a rotation that succeeded left the old password stored")
			}
		})
	}
}

// A caller that leaves mid-change: the rotation runs to its end, and Vault stores what
// upstream takes.
func TestRotateRootCallerLeaves(t *testing.T) {
	e := newEnv(t)
	e.s = ctxStorage{e.s}
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
	e.fake.AddFault(fortitest.Fault{Path: setAdminPath, Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = e.b.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "rotate-root/c", Storage: e.s})
	e.agree("c", adminPassword)
	if e.stored("c").Password == adminPassword {
		t.Fatal("the rotation stopped when its caller left")
	}
}

// A caller that leaves during the root login: the change is never sent, and the login's
// session, which the fake opens anyway, is logged out.
func TestRotateRootCallerLeavesBeforeChange(t *testing.T) {
	e := newEnv(t)
	e.s = ctxStorage{e.s}
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
	e.fake.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "rotate-root/c", Storage: e.s}); err == nil {
		t.Fatal("rotate-root succeeded for a caller that left before the change")
	}
	if e.fake.Calls(setAdminPath) != 0 {
		t.Fatal("the change was sent for a caller that had left")
	}
	e.agree("c", adminPassword)
	if e.stored("c").Password != adminPassword {
		t.Fatal("the stored password changed")
	}
}

// Creds during a rotation wait for it and never fail because of it, whether or not the change
// ends the admin's sessions; none is left live.
func TestCredsDuringRotation(t *testing.T) {
	for _, ends := range []bool{false, true} {
		e := newEnv(t)
		e.fake.SetPasswordChangeEndsSessions(ends)
		e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
		e.ok(logical.UpdateOperation, "roles/r", map[string]any{"config": "c"})
		e.fake.SetLoginMax(64)
		// The change takes effect at once and answers late: logins with the old password fail
		// all that while.
		e.fake.AddFault(fortitest.Fault{Path: setAdminPath, Kind: fortitest.FaultActThenSlow, Delay: 300 * time.Millisecond, Count: 1})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); e.ok(logical.UpdateOperation, "rotate-root/c", nil) }()
		leases := make([]lease, 20)
		errs := make([]error, 20)
		for i := range leases {
			time.Sleep(20 * time.Millisecond) // spread over the rotation, before and after the change
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := e.do(logical.ReadOperation, "creds/r", nil)
				if err == nil && resp.IsError() {
					err = resp.Error()
				}
				if err == nil {
					leases[i] = lease{data: resp.Data, secret: storedSecret(t, resp.Secret)}
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("ends sessions %v: creds %d during a rotation: %v", ends, i, err)
			}
		}
		if strings.Contains(e.logs.String(), "creds: settled") {
			// Settling works, but only a rotation that died needs it: these waited instead,
			// and no login was tried with a password being replaced (admins lock out).
			t.Fatal("creds logged in with the password being replaced, and settled a live rotation")
		}
		for _, l := range leases {
			if err := e.revoke(l); err != nil {
				t.Fatal(err)
			}
		}
		e.agree("c", adminPassword)
	}
}

// The engine's passwords: their length, every class, only the symbols Fortinet takes; a
// password_policy replaces them.
func TestNewPassword(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for range 200 {
		p, err := e.b.newPassword(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != passwordLength || seen[p] {
			t.Fatalf("password of %d characters, or seen before", len(p))
		}
		seen[p] = true
		for _, class := range []string{passwordUpper, passwordLower, passwordDigits, passwordSymbol} {
			if !strings.ContainsAny(p, class) {
				t.Fatalf("a password lacks one of %q", class)
			}
		}
		for _, r := range p {
			if !strings.ContainsRune(passwordUpper+passwordLower+passwordDigits+passwordSymbol, r) {
				t.Fatalf("a password has %q", r)
			}
		}
	}
	sys := e.b.System().(*logical.StaticSystemView)
	sys.SetPasswordPolicy("fortinet", func() (string, error) { return "Policy-Made-Passw0rd!", nil })
	e.ok(logical.UpdateOperation, "config/c", mergeMap(e.fazLocal(), map[string]any{"password_policy": "fortinet"}))
	if r := e.ok(logical.ReadOperation, "config/c", nil); r.Data["password_policy"] != "fortinet" {
		t.Fatalf("read: %v", r.Data)
	}
	e.ok(logical.UpdateOperation, "rotate-root/c", nil)
	if e.stored("c").Password != "Policy-Made-Passw0rd!" {
		t.Fatal("rotate-root did not use the config's password_policy")
	}
	e.agree("c", adminPassword)
}

// A lost answer to a change that took and ended the admin's sessions: a repeat would be
// refused in the dead session, and read as "nothing changed" with the new password upstream
// and in no storage. Sent once, the loss is found out by a login instead.
func TestRotateRootAnswerLostSessionsEnded(t *testing.T) {
	for _, mode := range []fortitest.OldPasswordMode{fortitest.OldPasswordIgnored, fortitest.OldPasswordOptional, fortitest.OldPasswordRequired} {
		e := newEnv(t)
		e.fake.SetPasswordChangeEndsSessions(true)
		e.fake.SetOldPasswordMode(mode)
		e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
		if mode == fortitest.OldPasswordRequired {
			e.fake.AddFault(fortitest.Fault{Path: setAdminPath, Kind: fortitest.FaultCode, RPCCode: fortitest.CodeDataInvalid, Count: 1})
		}
		e.fake.AddFault(fortitest.Fault{Path: setAdminPath, Kind: fortitest.FaultActThen5xx, Count: 1})
		e.ok(logical.UpdateOperation, "rotate-root/c", nil)
		e.agree("c", adminPassword)
		if e.stored("c").Password == adminPassword {
			t.Fatalf("mode %d: a change that took was not stored", mode)
		}
	}
}

// A store that committed and still answered an error (a storage timeout after the write):
// read back, the new password stands; it is not undone upstream behind Vault's back.
func TestRotateRootStoreCommittedThenFailed(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
	e.s = &commitThenFail{Storage: e.s, prefix: configPrefix}
	e.ok(logical.UpdateOperation, "rotate-root/c", nil)
	e.agree("c", adminPassword)
	if e.stored("c").Password == adminPassword {
		t.Fatal("the committed new password was undone")
	}
}

// Settling from a WAL entry, case by case: the config as the entry finds it, and what upstream
// takes. Each ends with Vault and upstream agreeing, and no login tried where the config's own
// password decides.
func TestSettleRotation(t *testing.T) {
	const newPass = "New-Passw0rd-from-the-entry!"
	tests := []struct {
		name     string
		upstream string // the admin's password upstream
		stored   string // the config's; "" deletes the config
		other    bool   // the config now names another admin
		want     string // upstream and stored afterwards ("" when there is no config)
		logins   int    // logins tried
	}{
		{"change took, old stored", newPass, adminPassword, false, newPass, 1},
		{"change took, stored", newPass, newPass, false, newPass, 1},
		{"change never took, old stored", adminPassword, adminPassword, false, adminPassword, 2},
		{"change never took, new stored", adminPassword, newPass, false, adminPassword, 2},
		{"rewritten since", "Operator-Passw0rd", "Operator-Passw0rd", false, "Operator-Passw0rd", 0},
		// One login finds the new password, one more changes it back.
		{"config deleted, change took", newPass, "", false, adminPassword, 2},
		{"config now another admin's, change took", newPass, "x", true, adminPassword, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.AddAdmin("other", "Other-Passw0rd")
			cfg := e.fazLocal()
			cfg["verify_connection"] = false
			e.ok(logical.UpdateOperation, "config/c", cfg)
			c := e.stored("c")
			w := rotationWAL{Config: "c", endpoint: c.endpoint(), Username: adminUser, OldPassword: adminPassword,
				NewPassword: newPass, StartedAt: time.Now().Unix(), LastRotated: 42}
			if _, err := framework.PutWAL(context.Background(), e.s, rotationWALKind, w); err != nil {
				t.Fatal(err)
			}
			e.setUpstream(adminPassword, tt.upstream)
			switch {
			case tt.stored == "":
				e.ok(logical.DeleteOperation, "config/c", nil)
			case tt.other:
				e.ok(logical.UpdateOperation, "config/c", map[string]any{"username": "other", "password": "Other-Passw0rd"})
			default:
				c.Password = tt.stored
				if err := e.b.storeConfig(context.Background(), e.s, "c", c); err != nil {
					t.Fatal(err)
				}
			}
			e.restart()
			logins := e.fake.Calls("jsonrpc:/sys/login/user")
			rollback(t, e)
			if got := e.fake.Calls("jsonrpc:/sys/login/user") - logins; got != tt.logins {
				t.Errorf("%d logins tried, want %d", got, tt.logins)
			}
			if !e.takes(tt.want) {
				t.Fatal("upstream does not take the password it should")
			}
			if tt.stored != "" && !tt.other {
				if got := e.stored("c"); got.Password != tt.want {
					t.Fatal("the stored password is not the one upstream takes")
				} else if tt.stored == newPass && tt.want == adminPassword && got.LastRotated != 42 {
					t.Errorf("last_rotated %d after a change that never took, want the one before it", got.LastRotated)
				}
			}
		})
	}
}

// setUpstream changes the tests' admin's password upstream from one to another, behind
// Vault's back.
func (e *env) setUpstream(from, to string) {
	e.t.Helper()
	if from == to {
		return
	}
	rpc := e.fakeRPC()
	sid, err := rpc.LoginUser(context.Background(), adminUser, from)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = rpc.Logout(context.Background(), sid) }()
	if err := rpc.SetAdminPassword(context.Background(), sid, adminUser, to, from); err != nil {
		e.t.Fatal(err)
	}
}

// A rotation after one the plugin did not live to finish settles that one first, rather than
// log in with a password upstream no longer takes.
func TestRotateRootAfterUnfinishedRotation(t *testing.T) {
	e := newEnv(t)
	fs := &faultyStorage{Storage: e.s}
	e.s = fs
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
	// The store fails, and so does the change back: upstream has a password only the WAL knows.
	fs.failPut.Store(configPrefix)
	fs.onPut.Store(func(key string) {
		if strings.HasPrefix(key, configPrefix) {
			e.fake.AddFault(fortitest.Fault{Path: setAdminPath, Kind: fortitest.FaultDown})
		}
	})
	e.fails(logical.UpdateOperation, "rotate-root/c", nil, "failed too")
	fs.failPut.Store("")
	fs.onPut.Store(func(string) {})
	e.fake.ClearFaults()
	e.restart()
	logins := e.fake.Calls("jsonrpc:/sys/login/user")
	e.ok(logical.UpdateOperation, "rotate-root/c", nil)
	// settle (1), the rotation's root login, its check (1 each): no refused login.
	if got := e.fake.Calls("jsonrpc:/sys/login/user") - logins; got != 3 {
		t.Errorf("%d logins, want 3 with none refused", got)
	}
	e.agree("c", adminPassword)
}

// A write after a rotation that gives a copy of the password from before it (a Terraform
// variable) is refused saying so, and the stored one is kept.
func TestConfigWriteAfterRotationStalePassword(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/c", e.fazLocal())
	e.ok(logical.UpdateOperation, "rotate-root/c", nil)
	rotated := e.stored("c").Password
	e.fails(logical.UpdateOperation, "config/c", map[string]any{"password": adminPassword}, "rotated by Vault", "leave password out")
	e.ok(logical.UpdateOperation, "config/c", map[string]any{"request_timeout": 20})
	if e.stored("c").Password != rotated {
		t.Fatal("a write without password lost the rotated one")
	}
	e.agree("c", adminPassword)
}
