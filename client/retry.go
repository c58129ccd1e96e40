package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The retry policy of Transport.post, one decision a function: when a call must be over, what
// it is sent on, which answers end it, which failures are tried again, how long to wait, and
// whether the wait fits.

// callDeadline is when a call must be over, its waits and last attempt included: its budget
// from now, or the caller's deadline when sooner. A call that creates ignores the caller's
// deadline: once sent, it waits for its answer within its own budget (see request.creates).
func callDeadline(ctx context.Context, now time.Time, budget time.Duration, creates bool) time.Time {
	deadline := now.Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) && !creates {
		deadline = d
	}
	return deadline
}

// sendContext is what a call's requests are sent on: the caller's ctx, or, for a call that
// creates, ctx without its cancellation, so that a request sent runs to its answer.
func sendContext(ctx context.Context, creates bool) context.Context {
	if creates {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// isAnswer reports whether resp is r's answer rather than a failure to retry: any status but
// 429 and 5xx. A JSON-RPC result, or a FortiOS answer naming a CLI error (a refusal, not a
// failure), on a 5xx is the answer too, but not on a 503, whose status is about load whatever
// the body says [docs/upstream.md §1, §6].
func isAnswer(r request, resp *response) bool {
	if resp.status != http.StatusTooManyRequests && resp.status < 500 {
		return true
	}
	if resp.status < 500 || resp.status == http.StatusServiceUnavailable {
		return false
	}
	switch {
	case r.rpc:
		_, err := ParseRPC(resp.body)
		return err == nil
	case r.fortios:
		a, err := ParseFortiOS(resp.body)
		return err == nil && a.Code != 0
	}
	return false
}

// statusError turns an HTTP status the caller did not expect into an Error: 429 and 5xx are
// ErrRetryLater, with their Retry-After; any other is ErrRefused.
func statusError(r request, resp *response) error {
	e := &Error{Op: r.op, Status: resp.status, Kind: ErrRefused, Message: scrub(upstreamMessage(resp.body), r.secrets...)}
	if resp.status == http.StatusTooManyRequests || resp.status >= 500 {
		e.Kind = ErrRetryLater
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
	}
	if resp.status == http.StatusTooManyRequests {
		e.Message = "rate limited"
	}
	return e
}

// retryable reports whether a failed attempt may be tried again: a transient failure
// (ErrRetryLater), which for a call that creates must also surely have created nothing.
func retryable(creates bool, err error) bool {
	return errors.Is(err, ErrRetryLater) && (!creates || safeToRepeat(err))
}

// safeToRepeat reports whether a failed call that creates surely created nothing upstream: it
// was refused before being handled (429, 503) or never reached the upstream (no connection).
// Not 502 or 504: a gateway says those when the server behind it may have handled the request,
// too slowly or with a broken answer; nor a timeout after the request went out.
func safeToRepeat(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case 0:
		var op *net.OpError
		return errors.As(e.Err, &op) && op.Op == "dial"
	}
	return false
}

// retryWait is the wait before the attempt after attempt (0 for the first) failed with err: the
// backoff, or the upstream's Retry-After when longer.
func retryWait(attempt int, err error) time.Duration {
	return max(backoff(attempt), RetryAfter(err))
}

// backoff is 250ms, 500ms, 1s, ... with ±25% jitter, so that nodes do not retry in step.
func backoff(attempt int) time.Duration {
	d := 4 * time.Second
	if attempt < 4 { // 250ms << attempt overflows, and rand.N panics, from attempt 36 on
		d = 250 * time.Millisecond << attempt
	}
	return d*3/4 + rand.N(d/2)
}

// retryFits reports whether another attempt follows attempt (0 for the first): one is left of
// maxAttempts, and waiting wait from now ends by the call's deadline.
func retryFits(attempt, maxAttempts int, now time.Time, wait time.Duration, deadline time.Time) bool {
	return attempt+1 < maxAttempts && !now.Add(wait).After(deadline)
}

// cancelled is a call's error once its caller left: the last attempt's, or, when none was
// made, one that says so.
func cancelled(op string, last, ctxErr error) error {
	if last != nil {
		return last
	}
	return &Error{Op: op, Kind: ErrRetryLater, Err: ctxErr, Message: "request cancelled"}
}

// parseRetryAfter reads either form of Retry-After: seconds, or an HTTP date; capped at an
// hour, and 0 when absent, unreadable or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// Digits only: seconds, capped at an hour, however many.
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}
