package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/api"
)

// credKind is what a config leases, and so what its data holds and how the fake checks it.
type credKind int

const (
	kindSession credKind = iota + 1 // fortianalyzer, fortimanager: session, url
	kindLAN                         // fortilan: access_token, expires_at, url
	kindCloud                       // forticloud: access_token, expires_at, token_type
)

type authCase struct {
	name   string
	config func(*fortitest.Server) map[string]any
	kind   credKind
	shared bool // an API user's OAuth token, shared by the config's leases
	// secretField is the config field that holds the root secret.
	secretField string
}

var authCases = []authCase{
	{"fortianalyzer-local_user", fazLocal, kindSession, false, "password"},
	{"fortianalyzer-forticloud_token", fazCloudToken, kindSession, false, "token"},
	{"fortianalyzer-forticloud_api_user", fazAPIUser, kindSession, false, "password"},
	{"fortimanager-local_user", fmgLocal, kindSession, false, "password"},
	{"fortilan-email_user", lanEmail, kindLAN, false, "password"},
	{"fortilan-iam_user", lanIAM, kindLAN, false, "password"},
	{"fortilan-forticloud_api_user", lanAPIUser, kindLAN, true, "password"},
	{"forticloud-forticloud_api_user", cloudAPIUser, kindCloud, true, "password"},
}

// credential returns the leased credential and checks the data fields the contract gives.
func (c authCase) credential(t *testing.T, f *fortitest.Server, s *api.Secret) string {
	t.Helper()
	want := map[credKind][]string{
		kindSession: {"session", "url"},
		kindLAN:     {"access_token", "expires_at", "url"},
		kindCloud:   {"access_token", "expires_at", "token_type"},
	}[c.kind]
	// The contract allows more fields, never a root secret.
	for _, k := range []string{"password", "token", "api_id", "username"} {
		if _, ok := s.Data[k]; ok {
			t.Errorf("creds data holds the config's %q", k)
		}
	}
	for _, k := range want {
		str(t, s, k)
	}
	if c.kind == kindSession || c.kind == kindLAN {
		if u := str(t, s, "url"); u != f.URL {
			t.Errorf("url %q, want %q", u, f.URL)
		}
	}
	if c.kind == kindSession {
		return str(t, s, "session")
	}
	exp, err := time.Parse(time.RFC3339, str(t, s, "expires_at"))
	if err != nil {
		t.Errorf("expires_at is not RFC 3339: %v", err)
	} else if d := time.Until(exp); d < 30*time.Minute || d > 5*time.Hour {
		t.Errorf("expires_at %s is %s away, want the upstream expiry (1h FortiLAN, 4h IAM)", exp, d)
	}
	if c.kind == kindCloud {
		if tt := str(t, s, "token_type"); tt != "Bearer" {
			t.Errorf("token_type %q, want Bearer", tt)
		}
	}
	return str(t, s, "access_token")
}

// alive asks the fake whether the credential still works upstream.
func (c authCase) alive(f *fortitest.Server, cred string) bool {
	switch {
	case c.kind == kindSession:
		return f.SessionAlive(cred)
	case c.shared:
		return f.OAuthTokenAlive(cred)
	default:
		return f.LANTokenAlive(cred)
	}
}

// TestAuthMethods runs every auth method through Vault end to end: config, role, creds by read
// and by write, renew and revoke through sys/leases, with the fake confirming that each
// credential is live while leased and dead once its lease is revoked.
func TestAuthMethods(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	v := newDevServer(t, serverOpts{})
	const mount = "forticloud"

	// The group returns once every parallel subtest in it finished.
	t.Run("group", func(t *testing.T) {
		for _, tc := range authCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				c := v.client
				configure(t, c, mount, tc.name, tc.config(f))

				// The config reads back without its secret.
				cfg, err := c.Logical().ReadWithContext(ctx, mount+"/config/"+tc.name)
				if err != nil || cfg == nil {
					t.Fatalf("read config: %v", err)
				}
				if _, ok := cfg.Data[tc.secretField]; ok {
					t.Errorf("config read returns the secret field %q", tc.secretField)
				}
				role, err := c.Logical().ReadWithContext(ctx, mount+"/roles/"+tc.name)
				if err != nil || role == nil || role.Data["config"] != tc.name {
					t.Fatalf("read role: %v %v", role, err)
				}

				statusBefore := f.Calls("jsonrpc:/sys/status")
				s1 := readCreds(t, c, mount, tc.name)
				if s1.LeaseDuration != 600 {
					t.Errorf("lease_duration %d, want the role's ttl, 600", s1.LeaseDuration)
				}
				cred1 := tc.credential(t, f, s1)
				if !tc.alive(f, cred1) {
					t.Fatalf("the fake does not know the credential read from creds/%s", tc.name)
				}

				// A write to creds/<role> issues credentials like a read.
				s2 := writeCreds(t, c, mount, tc.name)
				cred2 := tc.credential(t, f, s2)
				if s2.LeaseID == s1.LeaseID {
					t.Fatalf("read and write gave the same lease %s", s1.LeaseID)
				}
				if tc.shared {
					if cred2 != cred1 {
						t.Errorf("two leases of one API user's token carry different tokens")
					}
				} else if cred2 == cred1 {
					t.Errorf("two leases carry the same credential")
				}
				if !tc.alive(f, cred2) || !tc.alive(f, cred1) {
					t.Fatalf("credentials not both alive after the second creds")
				}

				r := renew(t, c, s1.LeaseID)
				if r.LeaseDuration != 600 || !r.Renewable {
					t.Errorf("renew: lease_duration %d renewable %v, want 600 true", r.LeaseDuration, r.Renewable)
				}
				if tc.kind == kindSession {
					if f.Calls("jsonrpc:/sys/status") <= statusBefore {
						t.Errorf("renewing a session did not probe /sys/status upstream")
					}
				}

				revoke(t, c, s1.LeaseID)
				if tc.shared {
					// The other lease still holds the token.
					time.Sleep(200 * time.Millisecond)
					if !tc.alive(f, cred1) {
						t.Fatalf("revoking one of two leases of a shared token killed the token")
					}
				} else {
					eventuallyDead(t, "the revoked lease's credential", func() bool { return tc.alive(f, cred1) })
					if !tc.alive(f, cred2) {
						t.Fatalf("revoking one lease killed the other lease's credential")
					}
				}
				if !leaseGone(c, s1.LeaseID) {
					t.Errorf("Vault still knows the revoked lease %s", s1.LeaseID)
				}

				// The second lease renews too, then goes.
				renew(t, c, s2.LeaseID)
				revoke(t, c, s2.LeaseID)
				eventuallyDead(t, "the last lease's credential", func() bool { return tc.alive(f, cred2) })
				if !leaseGone(c, s2.LeaseID) {
					t.Errorf("Vault still knows the revoked lease %s", s2.LeaseID)
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	if n, l, o := f.LiveSessions(), f.LiveLANTokens(), f.LiveOAuthTokens(); n+l+o != 0 {
		t.Errorf("after every lease was revoked the fake still has %d sessions, %d FortiLAN tokens, %d OAuth tokens live", n, l, o)
	}
	if ls := leasesUnder(t, v.client, mount+"/creds/"); len(ls) != 0 {
		t.Errorf("Vault still holds leases: %v", ls)
	}
}
