package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultFortiLANLoginsPerMinute is FortiLAN Cloud's documented limit on auth requests from
// one source IP [fortinet-apis.md §2].
const DefaultFortiLANLoginsPerMinute = 6

// maxQueue bounds the wait of a call without a deadline.
const maxQueue = 30 * time.Second

// LoginWindow is the record of the logins made to one base URL in the last rolling minute,
// shared by the limiters of every config that logs in there: the upstream counts logins per
// source address, whichever config made them. It is a sliding window rather than a token
// bucket (golang.org/x/time/rate): a bucket of n refilled at n a minute lets 2n through in the
// first minute, which an upstream counting per rolling minute answers with 429.
type LoginWindow struct {
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	times []time.Time // start of each login in the window, in order; pending ones included
}

// NewLoginWindow starts an empty record.
func NewLoginWindow() *LoginWindow {
	return &LoginWindow{window: time.Minute, now: time.Now}
}

// Limiter returns a limiter that lets a login through while fewer than n logins are in the
// window; n <= 0 means no limit (nil).
func (w *LoginWindow) Limiter(n int) *LoginLimiter {
	if n <= 0 {
		return nil
	}
	return &LoginLimiter{n: n, LoginWindow: w}
}

// LoginLimiter keeps logins within n per rolling minute, counting every login of its window.
type LoginLimiter struct {
	n int
	*LoginWindow
}

// NewLoginLimiter allows n logins per rolling minute in a window of its own; n <= 0 means no
// limit (nil).
func NewLoginLimiter(n int) *LoginLimiter {
	return NewLoginWindow().Limiter(n)
}

// Limit reports the limiter's logins per minute; 0 for none.
func (l *LoginLimiter) Limit() int {
	if l == nil {
		return 0
	}
	return l.n
}

// Wait takes a slot, queueing while the wait fits in ctx's deadline. When it does not, it
// answers at once with an ErrRetryLater error that says when to come back.
func (l *LoginLimiter) Wait(ctx context.Context, op string) error {
	if l == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Nobody will make the login: take no slot. (A deadline already past still gets a
		// free slot: the caller gives the attempt its own time.)
		return &Error{Op: op, Kind: ErrRetryLater, Err: ctx.Err(), Message: "request cancelled"}
	}
	l.mu.Lock()
	now := l.now()
	// Drop what left the window.
	i := 0
	for i < len(l.times) && !l.times[i].Add(l.window).After(now) {
		i++
	}
	l.times = l.times[i:]
	at := now
	if len(l.times) >= l.n {
		// The slot frees when the login n places back leaves the window.
		at = l.times[len(l.times)-l.n].Add(l.window)
	}
	if k := len(l.times); k > 0 && at.Before(l.times[k-1]) {
		// First come, first served: a higher limit never overtakes a login queued under a
		// lower one, whose window would then hold more than its limit.
		at = l.times[k-1]
	}
	wait := at.Sub(now)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(maxQueue)
	}
	if wait > 0 && at.After(deadline) {
		l.mu.Unlock()
		return &Error{Op: op, Kind: ErrRetryLater, RetryAfter: wait.Round(time.Second) + time.Second,
			Message: fmt.Sprintf("rate limited: at most %d logins a minute, and the next slot is past this request's deadline", l.n)}
	}
	l.times = append(l.times, at) // never before the last one: the times stay in order
	l.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.release(at)
		return &Error{Op: op, Kind: ErrRetryLater, Err: ctx.Err(), Message: "rate limited",
			RetryAfter: time.Until(at).Round(time.Second) + time.Second}
	}
}

// release gives back a slot that was never used.
func (l *LoginWindow) release(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, t := range l.times {
		if t.Equal(at) {
			l.times = append(l.times[:i], l.times[i+1:]...)
			return
		}
	}
}
