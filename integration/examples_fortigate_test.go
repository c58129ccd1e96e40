package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/forticloud/vault-plugin-secrets-forticloud/internal/e2e"
)

// TestExampleFortiGateCurl runs examples/fortigate-curl as its comment says, against a real Vault
// and the fake FortiGate: it leases a key, asks the status with curl, and revokes the lease,
// which deletes the api-user upstream.
func TestExampleFortiGateCurl(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH", tool)
		}
	}
	f, root := newFortiGate(t)
	v := newDevServer(t, serverOpts{})
	write(t, v.client, "forticloud/config/fgt", fgtConfig(f, root))
	write(t, v.client, "forticloud/roles/fgt-ci", fgtRole("fgt", nil))
	dir, err := e2e.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, f.CACertPEM)
	statuses := f.Calls(fgtStatusPath)
	cmd := exec.Command("examples/fortigate-curl/fgt-status.sh", "fgt-ci", ca)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+v.addr, "VAULT_TOKEN="+rootToken, "VAULT="+vaultBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fgt-status.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fortitest.FortiOSSerial) {
		t.Fatalf("fgt-status.sh did not show the FortiGate's status:\n%s", out)
	}
	if f.Calls(fgtStatusPath) == statuses {
		t.Fatal("the fake saw no status call")
	}
	if fgtCreated(f) != 1 {
		t.Errorf("%d api-users created, want 1", fgtCreated(f))
	}
	if ls := leasesUnder(t, v.client, "forticloud/creds/"); len(ls) != 0 {
		t.Errorf("leases left after the example: %v", ls)
	}
	fgtFigures(t, f)
}
