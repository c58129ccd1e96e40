package integration_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVaultAgent: a real Vault Agent (auto_auth token_file, a template) renders a FortiAnalyzer
// session from creds/demo into a file; the fake confirms the session is alive; the agent holds
// one lease and does not keep issuing; revoking it ends the session.
func TestVaultAgent(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	configure(t, v.client, "forticloud", "demo", fazLocal(f))

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	out := filepath.Join(dir, "session.txt")
	writeFile(t, tokenFile, rootToken+"\n")
	// token_file has no remove_token_after_reading in Vault 1.21 (it never removes the file),
	// so there is nothing to turn off.
	agent := startAgent(t, dir, fmt.Sprintf(`
pid_file = %q
exit_after_auth = false

vault {
  address = %q
}

auto_auth {
  method {
    type = "token_file"
    config = {
      token_file_path = %q
    }
  }
}

template_config {
  exit_on_retry_failure = true
}

template {
  contents    = "{{ with secret \"forticloud/creds/demo\" }}{{ .Data.session }}{{ end }}"
  destination = %q
  perms       = "0600"
}
`, filepath.Join(dir, "agent.pid"), v.addr, tokenFile, out))

	var session string
	waitFor(t, 60*time.Second, "the agent to render "+out, func() bool {
		if agent.exited() {
			t.Fatalf("the agent exited: %v", agent.proc.Err())
		}
		b, err := os.ReadFile(out)
		session = strings.TrimSpace(string(b))
		return err == nil && session != ""
	})
	if !f.SessionAlive(session) {
		t.Fatalf("the agent rendered %q, which the fake does not know as a live session", session)
	}
	ls := leasesUnder(t, v.client, "forticloud/creds/demo/")
	if len(ls) != 1 {
		t.Fatalf("Vault holds %d leases of creds/demo, want the agent's one: %v", len(ls), ls)
	}
	// A renewable lease with a 10m TTL: the agent keeps it, and issues nothing more.
	time.Sleep(3 * time.Second)
	if n := f.LiveSessions(); n != 1 {
		t.Errorf("the fake has %d live sessions, want the agent's one", n)
	}
	if n := len(leasesUnder(t, v.client, "forticloud/creds/demo/")); n != 1 {
		t.Errorf("Vault holds %d leases of creds/demo after 3s, want 1", n)
	}

	if !agent.stop(20 * time.Second) {
		t.Errorf("the agent did not stop within 20s of SIGTERM")
	}
	if err := v.client.Sys().RevokePrefixWithContext(context.Background(), "forticloud/creds/"); err != nil {
		t.Fatal(err)
	}
	eventuallyDead(t, "the agent's session", func() bool { return f.SessionAlive(session) })
}
