package integration_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// setAdminPath is the fake's fault path of a password change of the tests' admin.
const setAdminPath = "jsonrpc:/cli/global/system/admin/user/" + adminUser

// takes reports whether f lets the tests' admin log in with password (logged out again).
func takes(t *testing.T, f *fortitest.Server, password string) bool {
	t.Helper()
	return loginAs(t, f, adminUser, password)
}

// rotateAndCheck rotates config name, checks the answer shows no secret and a last_rotated,
// and that upstream now refuses the old password.
func rotateAndCheck(t *testing.T, c *api.Client, f *fortitest.Server, mount, name string) {
	t.Helper()
	s := write(t, c, mount+"/rotate-root/"+name, nil)
	if s == nil || s.Data["last_rotated"] == "" || s.Data["password_set"] != true {
		t.Fatalf("rotate-root answered %v: want the config with last_rotated", s)
	}
	if _, ok := s.Data["password"]; ok {
		t.Fatal("rotate-root answered the password")
	}
	if takes(t, f, adminPassword) {
		t.Fatal("upstream still takes the old password after rotate-root")
	}
}

// rotate-root in a real Vault: the old password refused upstream, creds still working, leases
// from before revoking; other auth methods refused with why.
func TestRotateRoot(t *testing.T) {
	t.Parallel()
	f, g := newFake(t), newFake(t)
	g.SetPasswordChangeEndsSessions(true)
	g.SetOldPasswordMode(fortitest.OldPasswordRequired)
	v := newDevServer(t, serverOpts{})
	c := v.client
	for name, fake := range map[string]*fortitest.Server{"f": f, "g": g} {
		configure(t, c, "forticloud", name, fazLocal(fake))
		before := readCreds(t, c, "forticloud", name)
		rotateAndCheck(t, c, fake, "forticloud", name)
		after := readCreds(t, c, "forticloud", name)
		revoke(t, c, before.LeaseID)
		revoke(t, c, after.LeaseID)
		if n := fake.LiveSessions(); n != 0 {
			t.Fatalf("config %s: %d sessions live upstream after revoking every lease", name, n)
		}
		rotateAndCheck(t, c, fake, "forticloud", name) // again, from a password only Vault knew
		revoke(t, c, readCreds(t, c, "forticloud", name).LeaseID)
	}
	configure(t, c, "forticloud", "cloud", fazCloudToken(f))
	if msg := writeFails(t, c, "forticloud/rotate-root/cloud", nil); !strings.Contains(msg, "cannot be rotated") {
		t.Fatalf("rotate-root of a forticloud_token config: %s", msg)
	}
	if strings.Contains(v.log(), adminPassword) {
		t.Fatal("the Vault log shows the old root password")
	}
}

// TestKillPluginDuringRotation kills the plugin (SIGKILL) while the password change is in
// flight: the fake makes the change at once and answers 3 s late, so the plugin dies knowing its
// WAL entry written and the change sent, the old password still stored. Afterwards upstream
// and Vault agree again, settled in config a by the next creds (at once, after the restart) and
// in config b by Vault's rollback manager (the e2e build's WAL minimum age is 5 s).
func TestKillPluginDuringRotation(t *testing.T) {
	t.Parallel()
	fa, fb := newFake(t), newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	configure(t, c, "forticloud", "a", fazLocal(fa))
	configure(t, c, "forticloud", "b", fazLocal(fb))
	wal := walReader(t, c, "forticloud")
	for _, f := range []*fortitest.Server{fa, fb} {
		f.AddFault(fortitest.Fault{Path: setAdminPath, Kind: fortitest.FaultActThenSlow, Delay: 3 * time.Second, Count: 1})
	}
	for i, name := range []string{"a", "b"} {
		f := map[string]*fortitest.Server{"a": fa, "b": fb}[name]
		done := make(chan error, 1)
		go func() {
			_, err := c.Logical().WriteWithContext(context.Background(), "forticloud/rotate-root/"+name, nil)
			done <- err
		}()
		waitFor(t, 20*time.Second, "the password change of "+name+" to reach the fake", func() bool { return f.Calls(setAdminPath) > 0 })
		if es := wal.entries(); len(es) != i+1 || es[0].Kind != "rotation" || es[i].Kind != "rotation" {
			t.Fatalf("%s: WAL entries while the change is in flight: %+v, want %d rotation entries", name, es, i+1)
		}
		pid := signalPlugin(t, v, syscall.SIGKILL)
		err := <-done
		t.Logf("%s: plugin %d killed mid-rotation; the request: %v", name, pid, err)
		if takes(t, f, adminPassword) {
			t.Fatalf("%s: the fake did not make the change", name)
		}
		waitMountAnswers(t, c)
	}

	// a: the next creds is refused with the old password, settles the rotation, logs in.
	s := readCreds(t, c, "forticloud", "a")
	revoke(t, c, s.LeaseID)
	if !strings.Contains(v.log(), "creds: settled a root password change") {
		t.Error("a: creds did not say they settled the rotation")
	}

	// b: Vault's rollback manager settles it, with no creds to help.
	waitFor(t, 150*time.Second, "WAL rollback to settle the rotation of b", func() bool { return len(wal.entries()) == 0 })
	if !strings.Contains(v.log(), "WAL rollback settled a root password change") {
		t.Error("b: the plugin did not log the rollback")
	}
	s = readCreds(t, c, "forticloud", "b")
	revoke(t, c, s.LeaseID)
	for name, f := range map[string]*fortitest.Server{"a": fa, "b": fb} {
		if takes(t, f, adminPassword) {
			t.Errorf("%s: upstream takes the old password again", name)
		}
		if n := f.LiveSessions(); n != 0 {
			t.Errorf("%s: %d sessions live upstream", name, n)
		}
	}
}
