package client

import (
	"context"
	"errors"
)

// Probe names the status call that tells a live session of one admin from a gone one. Which
// answers depends on the admin's profile: /sys/status answers -11, the code of a gone session,
// to a live session whose admin lacks system settings access; Fortinet's Ansible client then
// asks /cli/global/system/status [docs/upstream.md §1].
type Probe string

const (
	// ProbeUnknown is a probe not learnt: Status asks /sys/status first.
	ProbeUnknown Probe = ""
	// ProbeSysStatus is /sys/status, which answers the admin's live sessions.
	ProbeSysStatus Probe = "sys_status"
	// ProbeCLIStatus is /cli/global/system/status, which answers the admin's live sessions
	// where /sys/status does not.
	ProbeCLIStatus Probe = "cli_status"
	// ProbeNone is neither answering, so that nothing tells the admin's live sessions from gone
	// ones.
	ProbeNone Probe = "none"
)

// The JSON-RPC urls of the status calls.
const (
	// urlSysStatus is the status call every client uses.
	urlSysStatus = "/sys/status"
	// urlCLIStatus is the one Fortinet's Ansible client falls back to.
	urlCLIStatus = "/cli/global/system/status"
)

// StatusVia reports whether a session is alive, asking first the call that first names
// (ProbeCLIStatus: /cli/global/system/status; any other: /sys/status), then, on -11, the other;
// a call that answers also resets the session's idle timer. The session is ErrGone when the
// first answers -11 and the other cannot show it alive (-11, or another refusal such as -6 from
// firmware that lacks the url), as is a live session of an admin that may ask neither
// (LearnProbe tells which admins those are); a transient or unreadable answer from the other is
// its own error.
func (c *JSONRPC) StatusVia(ctx context.Context, session string, first Probe) error {
	urls := [2]string{urlSysStatus, urlCLIStatus}
	if first == ProbeCLIStatus {
		urls[0], urls[1] = urls[1], urls[0]
	}
	err := c.sessionCall(ctx, "status", "get", urls[0], session)
	if !errors.Is(err, ErrGone) {
		return err
	}
	// -11 also says "no permission": the other call may show the session alive.
	switch other := c.sessionCall(ctx, "status", "get", urls[1], session); {
	case other == nil:
		return nil
	case errors.Is(other, ErrGone), errors.Is(other, ErrRefused):
		return err
	default:
		return other
	}
}

// LearnProbe finds which status call answers for the admin of session, which must be alive (a
// fresh login's): ProbeSysStatus, ProbeCLIStatus, or ProbeNone when both answer -11 or refuse.
// A transient or unreadable answer is an error, and nothing was learnt.
func (c *JSONRPC) LearnProbe(ctx context.Context, session string) (Probe, error) {
	for _, p := range []struct {
		probe Probe
		url   string
	}{{ProbeSysStatus, urlSysStatus}, {ProbeCLIStatus, urlCLIStatus}} {
		err := c.sessionCall(ctx, "status", "get", p.url, session)
		if err == nil {
			return p.probe, nil
		}
		if !errors.Is(err, ErrGone) && !errors.Is(err, ErrRefused) {
			return ProbeUnknown, err
		}
	}
	return ProbeNone, nil
}
