package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// TestCallerLeavesMidLogin: a client whose timeout is shorter than a slow login gives up; the
// upstream creates the credential anyway, as a real server does. Within seconds it is ended
// upstream and no lease is left.
func TestCallerLeavesMidLogin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config func(*fortitest.Server) map[string]any
		login  string // the creating call, made slow
		end    string // the call that ends the credential
		live   func(*fortitest.Server) int
	}{
		{"fortianalyzer local user", fazLocal, "jsonrpc:/sys/login/user", "jsonrpc:/sys/logout", (*fortitest.Server).LiveSessions},
		{"fortimanager local user", fmgLocal, "jsonrpc:/sys/login/user", "jsonrpc:/sys/logout", (*fortitest.Server).LiveSessions},
		{"fortilan email user", lanEmail, "/api/v1/auth", "/api/v1/auth/invalidate_token", (*fortitest.Server).LiveLANTokens},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			v := newDevServer(t, serverOpts{})
			configure(t, v.client, "forticloud", "slow", tc.config(f))
			f.ResetCalls()
			f.AddFault(fortitest.Fault{Path: tc.login, Kind: fortitest.FaultSlow, Delay: 4 * time.Second, Count: 1})

			impatient, err := v.client.Clone()
			if err != nil {
				t.Fatal(err)
			}
			impatient.SetToken(v.client.Token())
			impatient.SetClientTimeout(time.Second)
			impatient.SetMaxRetries(0)
			if _, err := impatient.Logical().ReadWithContext(context.Background(), "forticloud/creds/slow"); err == nil {
				t.Fatal("creds answered within a second although the login takes four")
			}
			waitFor(t, 20*time.Second, "the credential made for the client that left to be created and ended upstream", func() bool {
				return f.Calls(tc.login) == 1 && f.Calls(tc.end) >= 1 && tc.live(f) == 0
			})
			if ls := leasesUnder(t, v.client, "forticloud/creds/"); len(ls) != 0 {
				t.Errorf("leases left for a client that gave up: %v", ls)
			}
			// A credential created late would show now: the fake's 4 s are long past.
			time.Sleep(time.Second)
			if n := tc.live(f); n != 0 {
				t.Errorf("%d credentials live upstream for a client that gave up", n)
			}
		})
	}
}
