package integration_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// Wrong credentials the tests try; they must not leak either.
const (
	wrongPassword = "E2eWrongPassw0rd-do-not-leak"
	wrongToken    = "E2eWrongCloudTok3n-do-not-leak"
)

// exercise drives a mount through successes and failures and returns every issued credential.
// Failures include upstream answers that echo the secret the request sent, which the plugin
// must scrub before the text reaches an error (audited in clear) or a log line.
func exercise(t *testing.T, f *fortitest.Server, c *api.Client) []string {
	t.Helper()
	const mount = "forticloud"
	var issued []string

	// Successes: every auth method, with creds read, renewed and revoked.
	for _, tc := range authCases {
		configure(t, c, mount, tc.name, tc.config(f))
		s := readCreds(t, c, mount, tc.name)
		issued = append(issued, tc.credential(t, f, s))
		renew(t, c, s.LeaseID)
		revoke(t, c, s.LeaseID)
	}

	// Dynamic admins, made by the local admin and by an API key: their passwords and sessions,
	// and the key.
	keyed := fazAPIKey(t, f)
	write(t, c, mount+"/config/faz-key", keyed)
	issued = append(issued, keyed["api_key"].(string))
	for _, cfg := range []string{"fortianalyzer-local_user", "faz-key"} {
		write(t, c, mount+"/roles/dyn-"+cfg, dynamicRole(cfg, nil))
		s := readCreds(t, c, mount, "dyn-"+cfg)
		issued = append(issued, str(t, s, "password"), str(t, s, "session"))
		renew(t, c, s.LeaseID)
		revoke(t, c, s.LeaseID)
	}

	// Refused writes: wrong secrets, checked by verify_connection.
	bad := fazLocal(f)
	bad["password"] = wrongPassword
	checkClean(t, "wrong FAZ password", writeFails(t, c, mount+"/config/bad-faz", bad))
	bad = fazCloudToken(f)
	bad["token"] = wrongToken
	checkClean(t, "wrong FortiCloud token", writeFails(t, c, mount+"/config/bad-cloud", bad))
	bad = lanEmail(f)
	bad["password"] = wrongPassword
	checkClean(t, "wrong FortiLAN password", writeFails(t, c, mount+"/config/bad-lan", bad))
	bad = cloudAPIUser(f)
	bad["password"] = wrongPassword
	checkClean(t, "wrong API user password", writeFails(t, c, mount+"/config/bad-api", bad))

	// Upstreams that echo the secret they were sent.
	f.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultCode, RPCCode: -22, Count: 1,
		Message: "login failed for passwd " + adminPassword})
	checkClean(t, "FAZ login echoing the password", writeFails(t, c, mount+"/config/echo-faz", fazLocal(f)))
	f.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/login/cloud", Kind: fortitest.FaultCode, RPCCode: -22, Count: 1,
		Message: "bad token " + cloudToken})
	checkClean(t, "FAZ cloud login echoing the token", writeFails(t, c, mount+"/config/echo-cloud", fazCloudToken(f)))
	f.AddFault(fortitest.Fault{Path: "/api/v1/auth", Kind: fortitest.Fault401, Count: 1,
		Message: "wrong password " + lanPassword})
	checkClean(t, "FortiLAN login echoing the password", writeFails(t, c, mount+"/config/echo-lan", lanEmail(f)))
	f.AddFault(fortitest.Fault{Path: "/api/v1/oauth/token", Kind: fortitest.Fault401, Count: 1,
		Message: "invalid credentials " + gcAPIPassword})
	checkClean(t, "IAM token echoing the password", writeFails(t, c, mount+"/config/echo-iam", cloudAPIUser(f)))
	f.ClearFaults()

	// Revocations that fail with an answer echoing the credential: Vault keeps the lease (and,
	// for an expiring one, logs the error), and revokes it once the upstream recovers.
	write(t, c, mount+"/roles/faz-fail", map[string]any{"config": "fortianalyzer-local_user", "ttl": "10m"})
	s := readCreds(t, c, mount, "faz-fail")
	sid := str(t, s, "session")
	issued = append(issued, sid)
	f.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.FaultCode, RPCCode: -1,
		Message: "cannot log out session " + sid})
	err := c.Sys().RevokeWithContext(context.Background(), s.LeaseID)
	if err == nil {
		t.Fatalf("revoke succeeded while the upstream failed every logout")
	}
	checkClean(t, "failed logout", err.Error())
	if !f.SessionAlive(sid) {
		t.Fatalf("the session died though its logout failed")
	}
	f.ClearFaults()
	revoke(t, c, s.LeaseID)
	eventuallyDead(t, "the session after the upstream recovered", func() bool { return f.SessionAlive(sid) })

	write(t, c, mount+"/roles/lan-fail", map[string]any{"config": "fortilan-email_user", "ttl": "10m"})
	s = readCreds(t, c, mount, "lan-fail")
	tok := str(t, s, "access_token")
	issued = append(issued, tok)
	f.AddFault(fortitest.Fault{Path: "/api/v1/auth/invalidate_token", Kind: fortitest.FaultCode, Status: 400,
		Message: "cannot invalidate " + tok})
	err = c.Sys().RevokeWithContext(context.Background(), s.LeaseID)
	if err == nil {
		t.Fatalf("revoke succeeded while the upstream refused every invalidation")
	}
	checkClean(t, "failed invalidation", err.Error())
	f.ClearFaults()
	revoke(t, c, s.LeaseID)
	eventuallyDead(t, "the token after the upstream recovered", func() bool { return f.LANTokenAlive(tok) })
	return issued
}

// expireWithFailingRevoke lets a short lease expire while its logout fails, so that Vault's
// expiration manager logs the revoke error, then lets the upstream recover and revokes it.
func expireWithFailingRevoke(t *testing.T, f *fortitest.Server, v *vaultServer) string {
	t.Helper()
	c := v.client
	write(t, c, "forticloud/roles/short", map[string]any{"config": "fortianalyzer-local_user", "ttl": "2s", "max_ttl": "1h"})
	s := readCreds(t, c, "forticloud", "short")
	sid := str(t, s, "session")
	f.AddFault(fortitest.Fault{Path: "jsonrpc:/sys/logout", Kind: fortitest.FaultCode, RPCCode: -1,
		Message: "session " + sid + " is busy"})
	waitFor(t, 60*time.Second, "Vault to log the failed revocation of the expired lease", func() bool {
		return strings.Contains(v.log(), "failed to revoke lease")
	})
	if !f.SessionAlive(sid) {
		t.Fatalf("the session died though its logout failed")
	}
	f.ClearFaults()
	revoke(t, c, s.LeaseID)
	eventuallyDead(t, "the expired lease's session", func() bool { return f.SessionAlive(sid) })
	return sid
}

// checkClean fails the test if text holds any secret the tests use.
func checkClean(t *testing.T, what, text string, more ...string) {
	t.Helper()
	for _, s := range append(append([]string{wrongPassword, wrongToken}, rootSecrets...), more...) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s: the text holds a secret in clear (%.8s...):\n%s", what, s, excerpt(text, s))
		}
	}
}

// excerpt shows where s occurs in text, the secret itself masked.
func excerpt(text, s string) string {
	i := strings.Index(text, s)
	lo, hi := max(0, i-200), min(len(text), i+len(s)+100)
	return strings.ReplaceAll(text[lo:hi], s, "<SECRET>")
}

// TestAuditLogHasNoSecrets: with a file audit device on, configs with known secrets, creds,
// renewals, revocations and failures (some echoing secrets upstream) leave no root secret and
// no issued session or token in clear text in the audit log, which did record the requests.
func TestAuditLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	c := v.client
	ctx := context.Background()
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	err := c.Sys().EnableAuditWithOptionsWithContext(ctx, "file", &api.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": auditLog},
	})
	if err != nil {
		t.Fatalf("enable the audit device: %v", err)
	}

	issued := exercise(t, f, c)
	b, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)

	// The log is there and recorded what happened, hashed.
	if len(log) < 1000 {
		t.Fatalf("the audit log holds %d bytes", len(log))
	}
	for _, want := range []string{
		`"path":"forticloud/config/fortianalyzer-local_user"`,
		`"path":"forticloud/creds/fortianalyzer-local_user"`,
		`"path":"forticloud/creds/fortilan-email_user"`,
		`"path":"forticloud/config/bad-faz"`,
		`"path":"sys/leases/revoke"`,
		`"path":"sys/leases/renew"`,
		"hmac-sha256:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %s", want)
		}
	}
	checkClean(t, "the audit log", log, issued...)

	// Each secret did pass through the audit device, as its HMAC.
	for _, s := range []string{adminPassword, cloudToken, lanPassword, issued[0]} {
		h, err := c.Sys().AuditHashWithContext(ctx, "file", s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, h) {
			t.Errorf("the audit log lacks the HMAC %s of a secret the tests sent or received (%.8s...)", h, s)
		}
	}
}

// TestServerLogHasNoSecrets: Vault's own output, at trace level with the plugin's logs in it,
// holds no root secret and no issued credential after successes, refusals, upstream answers
// echoing secrets, and revocations that failed (logged by Vault's expiration manager).
func TestServerLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{logLevel: "trace"})
	issued := exercise(t, f, v.client)
	issued = append(issued, expireWithFailingRevoke(t, f, v))

	log := v.log()
	for _, want := range []string{
		"secrets.vault-plugin-secrets-forticloud", // the plugin's own log lines are in it
		"failed to revoke lease",                  // and the revoke error
	} {
		if !strings.Contains(log, want) {
			t.Errorf("Vault's log lacks %q: the test would prove nothing", want)
		}
	}
	checkClean(t, "Vault's log", log, issued...)
}
