package integration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// Credentials the fake knows. Each is distinctive, so that a leak is easy to find in a log.
const (
	adminUser     = "e2e-admin"
	adminPassword = "E2eAdm1nPassw0rd-do-not-leak"
	cloudToken    = "E2eCloudTok3n-do-not-leak-0123456789"
	lanAccount    = "e2e-acct@example.com"
	lanUser       = "e2e-user@example.com"
	lanPassword   = "E2eLanPassw0rd-do-not-leak"
	iamUser       = "e2e-iam@example.com"
	iamPassword   = "E2eIamPassw0rd-do-not-leak"
	// One API user per config that uses one: an API user has one live OAuth token at a time,
	// so configs sharing one would kill each other's tokens.
	fazAPIID       = "E2E-API-FAZ"
	fazAPIPassword = "E2eFazApiPassw0rd-do-not-leak"
	lanAPIID       = "E2E-API-LAN"
	lanAPIPassword = "E2eLanApiPassw0rd-do-not-leak"
	gcAPIID        = "E2E-API-GATECLOUD"
	gcAPIPassword  = "E2eGcApiPassw0rd-do-not-leak"
	// Admins whose profiles let fewer status calls answer (docs/upstream.md §1): no System
	// Settings access (/sys/status answers -11), and no status call at all.
	restrictedUser     = "e2e-restricted-admin"
	restrictedPassword = "E2eRestr1ctedPassw0rd-do-not-leak"
	blindUser          = "e2e-blind-admin"
	blindPassword      = "E2eBl1ndPassw0rd-do-not-leak"
)

// rootSecrets are every root credential the tests write into Vault.
var rootSecrets = []string{adminPassword, cloudToken, lanPassword, iamPassword, fazAPIPassword, lanAPIPassword, gcAPIPassword,
	restrictedPassword, blindPassword}

// newFake starts the fake Fortinet API in the test process, with every credential above, no
// FortiLAN auth rate limit and room for many sessions. Create it before the Vault server, so
// that it closes after the server stopped: the admins Vault made on it are tallied then
// (tallyAdmins), and any left fails the test.
func newFake(t *testing.T) *fortitest.Server {
	t.Helper()
	requireVault(t)
	f := fortitest.NewServer()
	t.Cleanup(f.Close)
	tallyAdmins(t, f)
	f.AddAdmin(adminUser, adminPassword)
	f.AddAdminProfile(restrictedUser, restrictedPassword, fortitest.ProfileNoSystemSettings)
	f.AddAdminProfile(blindUser, blindPassword, fortitest.ProfileNoStatus)
	f.AddCloudToken(cloudToken, 0)
	f.AddLANUser(lanAccount, lanUser, lanPassword, false)
	f.AddLANUser(lanAccount, iamUser, iamPassword, true)
	f.AddAPIUser(fazAPIID, fazAPIPassword)
	f.AddAPIUser(lanAPIID, lanAPIPassword)
	f.AddAPIUser(gcAPIID, gcAPIPassword)
	f.AddADOM(socADOM)
	f.SetAuthRateLimit(0)
	f.SetLoginMax(200)
	return f
}

// ---- configs the fake accepts, one per auth method ----
//
// FortiLAN configs set login_rate_limit 0: the plugin paces FortiLAN logins (6 a minute by
// default, FortiLAN's own limit), and these tests log in far more often against a fake that
// does not limit them.

func fazLocal(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "fortianalyzer", "url": f.URL, "auth_method": "local_user",
		"username": adminUser, "password": adminPassword, "ca_cert": f.CACertPEM}
}

func fazCloudToken(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "fortianalyzer", "url": f.URL, "auth_method": "forticloud_token",
		"token": cloudToken, "ca_cert": f.CACertPEM}
}

func fazAPIUser(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "fortianalyzer", "url": f.URL, "auth_method": "forticloud_api_user",
		"api_id": fazAPIID, "password": fazAPIPassword, "auth_url": f.URL, "ca_cert": f.CACertPEM}
}

func fmgLocal(f *fortitest.Server) map[string]any {
	m := fazLocal(f)
	m["type"] = "fortimanager"
	return m
}

func lanEmail(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "fortilan", "url": f.URL, "auth_method": "email_user", "account_id": lanAccount,
		"username": lanUser, "password": lanPassword, "ca_cert": f.CACertPEM,
		"login_rate_limit": 0}
}

func lanIAM(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "fortilan", "url": f.URL, "auth_method": "iam_user", "account_id": lanAccount,
		"username": iamUser, "password": iamPassword, "ca_cert": f.CACertPEM,
		"login_rate_limit": 0}
}

func lanAPIUser(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "fortilan", "url": f.URL, "auth_method": "forticloud_api_user",
		"api_id": lanAPIID, "password": lanAPIPassword, "auth_url": f.URL, "ca_cert": f.CACertPEM,
		"login_rate_limit": 0}
}

func cloudAPIUser(f *fortitest.Server) map[string]any {
	return map[string]any{"type": "forticloud", "auth_method": "forticloud_api_user", "client_id": "fortigatecloud",
		"api_id": gcAPIID, "password": gcAPIPassword, "auth_url": f.URL, "ca_cert": f.CACertPEM}
}

// ---- Vault requests ----

func write(t *testing.T, c *api.Client, path string, data map[string]any) *api.Secret {
	t.Helper()
	s, err := c.Logical().WriteWithContext(context.Background(), path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

// writeFails writes and expects a refusal; it returns the error text.
func writeFails(t *testing.T, c *api.Client, path string, data map[string]any) string {
	t.Helper()
	_, err := c.Logical().WriteWithContext(context.Background(), path, data)
	if err == nil {
		t.Fatalf("write %s: succeeded, want a refusal", path)
	}
	return err.Error()
}

// configure writes config/<name> and roles/<name> naming it, with ttl 10m and max_ttl 1h.
func configure(t *testing.T, c *api.Client, mount, name string, config map[string]any) {
	t.Helper()
	write(t, c, mount+"/config/"+name, config)
	write(t, c, mount+"/roles/"+name, map[string]any{"config": name, "ttl": "10m", "max_ttl": "1h"})
}

// readCreds reads creds/<role> and checks that a lease came with it.
func readCreds(t *testing.T, c *api.Client, mount, role string) *api.Secret {
	t.Helper()
	s, err := c.Logical().ReadWithContext(context.Background(), mount+"/creds/"+role)
	return checkLease(t, mount, role, s, err)
}

// writeCreds issues creds with a write, for clients that only write.
func writeCreds(t *testing.T, c *api.Client, mount, role string) *api.Secret {
	t.Helper()
	s, err := c.Logical().WriteWithContext(context.Background(), mount+"/creds/"+role, nil)
	return checkLease(t, mount, role, s, err)
}

func checkLease(t *testing.T, mount, role string, s *api.Secret, err error) *api.Secret {
	t.Helper()
	if err != nil {
		t.Fatalf("creds/%s: %v", role, err)
	}
	if s == nil || s.Data == nil {
		t.Fatalf("creds/%s: no data", role)
	}
	if want := mount + "/creds/" + role + "/"; !strings.HasPrefix(s.LeaseID, want) {
		t.Fatalf("creds/%s: lease_id %q, want one under %s", role, s.LeaseID, want)
	}
	if s.LeaseDuration <= 0 || !s.Renewable {
		t.Fatalf("creds/%s: lease_duration %d renewable %v, want a renewable lease", role, s.LeaseDuration, s.Renewable)
	}
	return s
}

func str(t *testing.T, s *api.Secret, key string) string {
	t.Helper()
	v, ok := s.Data[key].(string)
	if !ok || v == "" {
		t.Fatalf("data lacks a string %q: %v", key, keys(s.Data))
	}
	return v
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func renew(t *testing.T, c *api.Client, leaseID string) *api.Secret {
	t.Helper()
	s, err := c.Sys().RenewWithContext(context.Background(), leaseID, 0)
	if err != nil {
		t.Fatalf("renew %s: %v", leaseID, err)
	}
	if s == nil || s.LeaseID != leaseID || s.LeaseDuration <= 0 {
		t.Fatalf("renew %s: answered %+v", leaseID, s)
	}
	return s
}

func revoke(t *testing.T, c *api.Client, leaseID string) {
	t.Helper()
	if err := c.Sys().RevokeWithContext(context.Background(), leaseID); err != nil {
		t.Fatalf("revoke %s: %v", leaseID, err)
	}
}

// leaseGone reports whether Vault no longer knows a lease.
func leaseGone(c *api.Client, leaseID string) bool {
	_, err := c.Sys().LookupWithContext(context.Background(), leaseID)
	var re *api.ResponseError
	return err != nil && errors.As(err, &re) && re.StatusCode == 400
}

// leasesUnder lists the lease ids Vault holds under prefix (e.g. "forticloud/creds/").
func leasesUnder(t *testing.T, c *api.Client, prefix string) []string {
	t.Helper()
	var out []string
	var walk func(p string)
	walk = func(p string) {
		s, err := c.Logical().ListWithContext(context.Background(), "sys/leases/lookup/"+p)
		if err != nil {
			t.Fatalf("list leases under %s: %v", p, err)
		}
		if s == nil {
			return
		}
		ks, _ := s.Data["keys"].([]any)
		for _, k := range ks {
			k := k.(string)
			if strings.HasSuffix(k, "/") {
				walk(p + k)
			} else {
				out = append(out, p+k)
			}
		}
	}
	walk(prefix)
	return out
}

// eventuallyDead waits until the fake says a credential is no longer alive.
func eventuallyDead(t *testing.T, what string, alive func() bool) {
	t.Helper()
	waitFor(t, 10*time.Second, what+" no longer alive upstream", func() bool { return !alive() })
}
