package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// Credentials the fakes are seeded with. They are long enough for scrub to redact them.
const (
	adminUser   = "admin"
	adminPass   = "Adm1n-Passw0rd!xyz"
	apiID       = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
	apiPass     = "Api-Passw0rd-7b1e4c"
	lanAccount  = "acct1@example.com"
	lanEmail    = "user1@example.com"
	lanEmailPwd = "Lan-Email-Pw-0001"
	lanIAM      = "iamuser1"
	lanIAMPwd   = "Lan-IAM-Pw-0002"
	cloudToken  = "Static-Cloud-Token-4f1e9a0b2c"
)

// fastOptions keep the tests quick: short timeouts, a small retry budget.
func fastOptions(s *fortitest.Server) client.Options {
	return client.Options{
		TLS:         client.TLSConfig{CACert: s.CACertPEM},
		Timeout:     2 * time.Second,
		RetryBudget: 3 * time.Second,
		MaxAttempts: 3,
	}
}

// newFake starts a fake seeded with every kind of user, with the auth rate limit off.
func newFake(t *testing.T) *fortitest.Server {
	t.Helper()
	s := fortitest.NewServerT(t)
	s.AddAdmin(adminUser, adminPass)
	s.AddAPIUser(apiID, apiPass)
	s.AddLANUser(lanAccount, lanEmail, lanEmailPwd, false)
	s.AddLANUser(lanAccount, lanIAM, lanIAMPwd, true)
	s.AddCloudToken(cloudToken, 0)
	s.SetAuthRateLimit(0)
	return s
}

func newTransport(t *testing.T, o client.Options) *client.Transport {
	t.Helper()
	tr, err := client.NewTransport(o)
	if err != nil {
		t.Fatalf("NewTransport: %v", err)
	}
	t.Cleanup(tr.Close)
	return tr
}

// clients bundles the three clients of one fake over one transport.
type clients struct {
	s     *fortitest.Server
	t     *client.Transport
	faz   *client.JSONRPC
	lan   *client.FortiLAN
	oauth *client.OAuth
}

func newClients(t *testing.T, s *fortitest.Server, o client.Options) clients {
	t.Helper()
	tr := newTransport(t, o)
	return clients{
		s: s, t: tr,
		faz:   client.NewJSONRPC("fortianalyzer", s.URL+"/", tr),
		lan:   client.NewFortiLAN(s.URL, tr, nil),
		oauth: client.NewOAuth(s.URL, tr),
	}
}

func setup(t *testing.T) clients {
	t.Helper()
	s := newFake(t)
	return newClients(t, s, fastOptions(s))
}

// wantKind fails unless err is a *client.Error of the given kind.
func wantKind(t *testing.T, err, kind error) *client.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *client.Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q: kind %v, want %v", err, e.Kind, kind)
	}
	return e
}

// noSecrets fails if err's text holds any of the secrets.
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains the secret %q", msg, s)
		}
	}
}

// within fails unless got is d from now, give or take slack.
func within(t *testing.T, what string, got time.Time, d, slack time.Duration) {
	t.Helper()
	want := time.Now().Add(d)
	if got.Before(want.Add(-slack)) || got.After(want.Add(slack)) {
		t.Errorf("%s = %v, want about %v", what, got, want)
	}
}

func newBearerRequest(ctx context.Context, url, token string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req, nil
}
