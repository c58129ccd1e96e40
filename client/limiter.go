package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultFortiLANLoginsPerMinute is FortiLAN Cloud's documented limit on auth requests from
// one source IP [docs/upstream.md §2].
const DefaultFortiLANLoginsPerMinute = 6

// DefaultFortiLANCallsPerMinute is FortiLAN Cloud's documented limit on its other calls from
// one source IP, invalidate_token among them [docs/upstream.md §2].
const DefaultFortiLANCallsPerMinute = 60

// slotTime is how long a request stays in a window: the upstream's rolling minute, and a second
// for the trip. The upstream counts a request when it arrives, a little after it took its slot
// here, and requests sent together arrive spread out: without the second, a request sent a
// minute after a burst can arrive before the burst's last one leaves the upstream's minute.
const slotTime = time.Minute + time.Second

// LoginWindow is the record of the requests of one kind made to one base URL in the last
// rolling minute: logins (NewLoginWindow), or FortiLAN's other calls (NewCallWindow), which the
// upstream counts apart. It is shared by the limiters of every config that calls there: the
// upstream counts per source address, whichever config made the request. It is a sliding window
// rather than a token bucket (golang.org/x/time/rate): a bucket of n refilled at n a minute lets
// 2n through in the first minute, which an upstream counting per rolling minute answers with 429.
type LoginWindow struct {
	window   time.Duration
	now      func() time.Time
	noun     string        // what it counts, for errors: "logins", "calls"
	maxQueue time.Duration // the longest wait of a request without a deadline

	mu        sync.Mutex
	times     []time.Time // start of each request in the window, in order; pending ones included
	heldUntil time.Time   // no request starts before: the upstream answered 429 with Retry-After
}

// NewLoginWindow starts an empty record of logins.
func NewLoginWindow() *LoginWindow {
	// Vault passes creds requests to the plugin without a deadline (1.21): a login queues up to a
	// window, the longest a slot can take to free, and a caller that leaves frees its place.
	return &LoginWindow{window: slotTime, now: time.Now, noun: "logins", maxQueue: slotTime}
}

// NewCallWindow starts an empty record of FortiLAN's calls other than logins. A call without a
// deadline queues up to one window, all a lone caller ever waits: Vault's synchronous
// revoke-prefix revokes one lease after another on a context without a deadline, and stops at
// the first failure.
func NewCallWindow() *LoginWindow {
	return &LoginWindow{window: slotTime, now: time.Now, noun: "calls", maxQueue: slotTime}
}

// Limiter returns a limiter that lets a request through while fewer than n requests are in the
// window; n <= 0 means no limit (nil).
func (w *LoginWindow) Limiter(n int) *LoginLimiter {
	if n <= 0 {
		return nil
	}
	return &LoginLimiter{n: n, LoginWindow: w}
}

// LoginLimiter keeps requests within n per rolling minute, counting every request of its window.
type LoginLimiter struct {
	n int
	*LoginWindow
}

// HoldOff keeps every request of the window, queued ones included, from starting in the next d:
// the upstream answered 429 with Retry-After d, and it counts the requests of this address
// together, whichever caller sent them. A nil limiter holds nothing.
func (l *LoginLimiter) HoldOff(d time.Duration) {
	if l == nil || d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.heldUntil) {
		l.heldUntil = until
	}
}

// Wait takes a slot, queueing while the wait fits in ctx's deadline. When it does not, it
// answers at once with an ErrRetryLater error that says when to come back; without a deadline,
// it queues at most the window's maxQueue.
func (l *LoginLimiter) Wait(ctx context.Context, op string) error {
	if l == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Nobody will make the request: take no slot. (A deadline already past still gets a
		// free slot: the caller gives the attempt its own time.)
		return &Error{Op: op, Kind: ErrRetryLater, Err: ctx.Err(), Message: "request cancelled"}
	}
	l.mu.Lock()
	at, err := l.reserve(ctx, op)
	l.mu.Unlock()
	for err == nil {
		if wait := at.Sub(l.now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				l.release(at)
				return &Error{Op: op, Kind: ErrRetryLater, Err: ctx.Err(), Message: "rate limited",
					RetryAfter: time.Until(at).Round(time.Second) + time.Second}
			}
		}
		l.mu.Lock()
		if !l.heldUntil.After(at) {
			l.mu.Unlock()
			return nil
		}
		// The upstream asked to hold off while this request queued: queue again, after the hold.
		l.remove(at)
		at, err = l.reserve(ctx, op)
		l.mu.Unlock()
	}
	return err
}

// reserve records the next free slot and returns it, or an ErrRetryLater error when that slot
// is past ctx's deadline; l.mu must be held.
func (l *LoginLimiter) reserve(ctx context.Context, op string) (time.Time, error) {
	now := l.now()
	// Drop what left the window.
	i := 0
	for i < len(l.times) && !l.times[i].Add(l.window).After(now) {
		i++
	}
	l.times = l.times[i:]
	at := now
	if len(l.times) >= l.n {
		// The slot frees when the request n places back leaves the window.
		at = l.times[len(l.times)-l.n].Add(l.window)
	}
	if k := len(l.times); k > 0 && at.Before(l.times[k-1]) {
		// First come, first served: a higher limit never overtakes a request queued under a
		// lower one, whose window would then hold more than its limit.
		at = l.times[k-1]
	}
	if at.Before(l.heldUntil) {
		at = l.heldUntil
	}
	wait := at.Sub(now)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(l.maxQueue)
	}
	if wait > 0 && at.After(deadline) {
		return time.Time{}, &Error{Op: op, Kind: ErrRetryLater, RetryAfter: wait.Round(time.Second) + time.Second,
			Message: fmt.Sprintf("rate limited: at most %d %s a minute, and the next slot is past this request's deadline", l.n, l.noun)}
	}
	l.times = append(l.times, at) // never before the last one: the times stay in order
	return at, nil
}

// release gives back a slot that was never used.
func (w *LoginWindow) release(at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.remove(at)
}

// remove drops one slot at the given time; w.mu must be held.
func (w *LoginWindow) remove(at time.Time) {
	for i, t := range w.times {
		if t.Equal(at) {
			w.times = append(w.times[:i], w.times[i+1:]...)
			return
		}
	}
}
