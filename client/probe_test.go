package client_test

import (
	"context"
	"testing"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

const (
	callsSys = "jsonrpc:/sys/status"
	callsCLI = "jsonrpc:/cli/global/system/status"
)

// Status tells a live session from a gone one for every admin a status call answers, whichever
// call it asks first, and refuses every gone session. An admin that may ask neither looks gone:
// LearnProbe is how a caller finds those out.
func TestStatusByProfile(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	for _, tc := range []struct {
		profile fortitest.Profile
		learnt  client.Probe
		live    error // Status of a live session: nil, or the kind
	}{
		{fortitest.ProfileSuperUser, client.ProbeSysStatus, nil},
		{fortitest.ProfileNoSystemSettings, client.ProbeCLIStatus, nil},
		{fortitest.ProfileNoStatus, client.ProbeNone, client.ErrGone},
	} {
		user := "admin-" + string(tc.learnt)
		c.s.AddAdminProfile(user, adminPass, tc.profile)
		login := func(t *testing.T) string {
			t.Helper()
			sid, err := c.faz.LoginUser(ctx, user, adminPass)
			if err != nil {
				t.Fatal(err)
			}
			return sid
		}
		t.Run(string(tc.learnt)+"/learn", func(t *testing.T) {
			sid := login(t)
			p, err := c.faz.LearnProbe(ctx, sid)
			if err != nil || p != tc.learnt {
				t.Fatalf("LearnProbe = %q, %v; want %q", p, err, tc.learnt)
			}
			if !c.s.SessionAlive(sid) {
				t.Fatal("LearnProbe ended the session")
			}
			_ = c.faz.Logout(ctx, sid)
		})
		for _, first := range []client.Probe{client.ProbeUnknown, client.ProbeSysStatus, client.ProbeCLIStatus, client.ProbeNone} {
			t.Run(string(tc.learnt)+"/first="+string(first), func(t *testing.T) {
				sid := login(t)
				err := c.faz.StatusVia(ctx, sid, first)
				if tc.live == nil && err != nil {
					t.Fatalf("live session: %v", err)
				}
				if tc.live != nil {
					wantKind(t, err, tc.live)
				}
				c.s.ExpireSession(sid)
				wantKind(t, c.faz.StatusVia(ctx, sid, first), client.ErrGone)
			})
		}
	}
	// Status is StatusVia with nothing learnt.
	c.s.AddAdminProfile("restricted", adminPass, fortitest.ProfileNoSystemSettings)
	sid, err := c.faz.LoginUser(ctx, "restricted", adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.faz.Status(ctx, sid); err != nil {
		t.Fatalf("Status of a restricted admin's live session: %v", err)
	}
	c.s.ExpireSession(sid)
	wantKind(t, c.faz.Status(ctx, sid), client.ErrGone)
}

// The probe learnt is asked first, so that a renew of a live session costs one call; the other
// is asked only after -11.
func TestStatusAsksLearntProbeFirst(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	c.s.AddAdminProfile("restricted", adminPass, fortitest.ProfileNoSystemSettings)
	for _, tc := range []struct {
		user     string
		first    client.Probe
		sys, cli int // calls for one Status of a live session
	}{
		{adminUser, client.ProbeSysStatus, 1, 0},
		{adminUser, client.ProbeCLIStatus, 0, 1},
		{"restricted", client.ProbeCLIStatus, 0, 1},
		{"restricted", client.ProbeSysStatus, 1, 1},
		{"restricted", client.ProbeUnknown, 1, 1},
	} {
		t.Run(tc.user+"/"+string(tc.first), func(t *testing.T) {
			sid, err := c.faz.LoginUser(ctx, tc.user, adminPass)
			if err != nil {
				t.Fatal(err)
			}
			c.s.ResetCalls()
			if err := c.faz.StatusVia(ctx, sid, tc.first); err != nil {
				t.Fatal(err)
			}
			if sys, cli := c.s.Calls(callsSys), c.s.Calls(callsCLI); sys != tc.sys || cli != tc.cli {
				t.Errorf("calls: /sys/status %d, /cli/global/system/status %d; want %d, %d", sys, cli, tc.sys, tc.cli)
			}
			_ = c.faz.Logout(ctx, sid)
		})
	}
}

// After -11 from the first call, what the other answers decides: alive, gone, or its own
// failure when it says nothing either way. LearnProbe learns nothing from a failure.
func TestStatusFallbackAnswers(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	c.s.AddAdminProfile("restricted", adminPass, fortitest.ProfileNoSystemSettings)
	for _, tc := range []struct {
		name  string
		fault fortitest.Fault // on /cli/global/system/status
		kind  error
		learn error // LearnProbe's error kind; nil: ProbeNone
	}{
		{"code -11", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -11}, client.ErrGone, nil},
		{"code -6, firmware without the url", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -6}, client.ErrGone, nil},
		{"code -1", fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -1}, client.ErrRetryLater, client.ErrRetryLater},
		{"HTML page", fortitest.Fault{Kind: fortitest.FaultHTML}, client.ErrProtocol, client.ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sid, err := c.faz.LoginUser(ctx, "restricted", adminPass)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.faz.Logout(ctx, sid) }()
			f := tc.fault
			f.Path = callsCLI
			f.Message = "session " + sid + " says no"
			c.s.AddFault(f)
			defer c.s.ClearFaults()
			err = c.faz.Status(ctx, sid)
			wantKind(t, err, tc.kind)
			noSecrets(t, err, sid)
			p, err := c.faz.LearnProbe(ctx, sid)
			switch {
			case tc.learn == nil && (err != nil || p != client.ProbeNone):
				t.Errorf("LearnProbe = %q, %v; want none", p, err)
			case tc.learn != nil:
				wantKind(t, err, tc.learn)
				if p != client.ProbeUnknown {
					t.Errorf("LearnProbe failed yet learnt %q", p)
				}
			}
		})
	}
}
