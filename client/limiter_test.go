package client

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

func TestLoginLimiter(t *testing.T) {
	if NewLoginLimiter(0) != nil || NewLoginLimiter(-1) != nil {
		t.Fatal("a limit of 0 must mean no limiter")
	}
	var nilLimiter *LoginLimiter
	if err := nilLimiter.Wait(context.Background(), "op"); err != nil {
		t.Fatal(err)
	}

	l := NewLoginLimiter(3)
	l.window = 300 * time.Millisecond
	ctx := context.Background()
	start := time.Now()
	for range 3 {
		if err := l.Wait(ctx, "op"); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("the first n logins waited")
	}
	// The fourth queues until the first leaves the window.
	if err := l.Wait(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("fourth login after %s, want about 300ms", d)
	}
}

// Never more than n in any window, however many callers at once.
func TestLoginLimiterWindow(t *testing.T) {
	l := NewLoginLimiter(4)
	l.window = 200 * time.Millisecond
	var mu sync.Mutex
	var times []time.Time
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Wait(context.Background(), "op"); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, a := range times {
		n := 0
		for _, b := range times {
			if !b.Before(a) && b.Sub(a) < l.window-20*time.Millisecond {
				n++
			}
		}
		if n > 4 {
			t.Fatalf("%d logins within one window, limit 4", n)
		}
	}
}

// A wait that would outlast the request's deadline answers at once, saying when to retry.
func TestLoginLimiterDeadline(t *testing.T) {
	l := NewLoginLimiter(1)
	if err := l.Wait(context.Background(), "fortilan: login"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Wait(ctx, "fortilan: login")
	if !errors.Is(err, ErrRetryLater) || RetryAfter(err) < 50*time.Second {
		t.Fatalf("err %v, retry after %s", err, RetryAfter(err))
	}
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("a hopeless wait queued")
	}
	// A cancelled wait gives its slot back.
	l2 := NewLoginLimiter(1)
	l2.window = 150 * time.Millisecond
	_ = l2.Wait(context.Background(), "op")
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	if err := l2.Wait(ctx2, "op"); err == nil {
		t.Fatal("cancelled wait succeeded")
	}
	if len(l2.times) != 1 {
		t.Fatalf("cancelled wait kept its slot: %d", len(l2.times))
	}
}

// Limiters of one window count each other's logins, each against its own limit.
func TestLoginWindowShared(t *testing.T) {
	w := NewLoginWindow()
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	w.window = time.Minute
	if w.Limiter(0) != nil {
		t.Fatal("a limit of 0 must mean no limiter")
	}
	low, high := w.Limiter(2), w.Limiter(4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	noWait := func(l *LoginLimiter) error {
		// A deadline that allows no queueing: the answer is now or a Retry-After.
		c, cancel := context.WithDeadline(ctx, now)
		defer cancel()
		return l.Wait(c, "op")
	}
	for range 2 {
		if err := noWait(high); err != nil {
			t.Fatal(err)
		}
	}
	err := noWait(low)
	if RetryAfter(err) <= 0 || !RateLimited(err) {
		t.Fatalf("low limit after 2 logins by the other limiter: %v, want rate limited", err)
	}
	for range 2 {
		if err := noWait(high); err != nil {
			t.Fatal(err)
		}
	}
	if err := noWait(high); err == nil {
		t.Fatal("a fifth login within the minute went through a limit of 4")
	}
}

// A higher limit never overtakes a login queued under a lower one: at the moment that login
// goes, the window holds fewer than its limit before it.
func TestLoginWindowFirstComeFirstServed(t *testing.T) {
	w := NewLoginWindow()
	w.window = 300 * time.Millisecond
	low, high := w.Limiter(1), w.Limiter(4)
	ctx := context.Background()
	if err := low.Wait(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan time.Time, 1)
	go func() { _ = low.Wait(ctx, "op"); done <- time.Now() }() // queues for about 300ms
	for {
		w.mu.Lock()
		n := len(w.times)
		w.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := high.Wait(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	highAt := time.Now()
	lowAt := <-done
	if highAt.Sub(start) < 250*time.Millisecond {
		t.Fatalf("the higher limit went after %s, before the lower limit's queued login", highAt.Sub(start))
	}
	w.mu.Lock()
	sorted := slices.IsSortedFunc(w.times, time.Time.Compare)
	w.mu.Unlock()
	if !sorted || lowAt.Sub(start) < 250*time.Millisecond {
		t.Fatalf("record in order %v; low went after %s", sorted, lowAt.Sub(start))
	}
}

// The first login attempt queues at the limiter within the caller's deadline, whatever the
// request timeout (with the longest, a call's budget leaves no room to queue inside it).
func TestFortiLANLoginQueuesWithLongTimeout(t *testing.T) {
	s := fortitest.NewServer()
	defer s.Close()
	s.SetAuthRateLimit(0)
	s.AddLANUser("acct@example.com", "ops@example.com", "lan-password-1", false)
	tr, err := NewTransport(Options{TLS: TLSConfig{CACert: s.CACertPEM}, Timeout: 60 * time.Second, RetryBudget: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLoginLimiter(1)
	l.window = 300 * time.Millisecond
	lan := NewFortiLAN(s.URL, tr, l)
	u := LANUser{AccountID: "acct@example.com", UserName: "ops@example.com", Password: "lan-password-1"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 2 {
		if _, err := lan.Login(ctx, u); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
}

// A cancelled request takes no slot: nobody would use it.
func TestLoginLimiterCancelled(t *testing.T) {
	l := NewLoginLimiter(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, "op"); err == nil {
		t.Fatal("a cancelled request took a slot")
	}
	if err := l.Wait(context.Background(), "op"); err != nil {
		t.Fatalf("the slot a cancelled request did not use is gone: %v", err)
	}
}

// A hold (the upstream's 429 with Retry-After) keeps new requests and queued ones from starting
// before it ends, and the record stays in order with one slot per request.
func TestCallWindowHoldOff(t *testing.T) {
	var none *LoginLimiter
	hold := none.HoldOff // the request hook of a config without a limit
	hold(time.Second)

	w := NewCallWindow()
	w.window = time.Second
	l := w.Limiter(5)
	ctx := context.Background()
	start := time.Now()
	l.HoldOff(200 * time.Millisecond)
	if err := l.Wait(ctx, "op"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("a request started %s into a 200ms hold", d)
	}
	// A request queued behind a hold, when a longer hold comes, waits for that one too.
	l.HoldOff(100 * time.Millisecond)
	start = time.Now()
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx, "op") }()
	for {
		w.mu.Lock()
		n := len(w.times)
		w.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	l.HoldOff(500 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("a queued request went %s after a hold of 500ms began", d)
	}
	w.mu.Lock()
	n, sorted := len(w.times), slices.IsSortedFunc(w.times, time.Time.Compare)
	w.mu.Unlock()
	if n != 2 || !sorted {
		t.Fatalf("record of %d slots (want 2), in order %v", n, sorted)
	}
}

// A hold past the request's deadline answers at once, saying when to retry, in calls.
func TestCallWindowHoldPastDeadline(t *testing.T) {
	l := NewCallWindow().Limiter(60)
	l.HoldOff(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Wait(ctx, "fortilan: invalidate token")
	if !errors.Is(err, ErrRetryLater) || !RateLimited(err) || RetryAfter(err) < 50*time.Second ||
		!strings.Contains(err.Error(), "at most 60 calls a minute") {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("a hopeless wait queued")
	}
}

// Without a deadline, a request queues for up to a window: Vault passes creds and synchronous
// revokes to the plugin without one (1.21), and a slot frees within a window.
func TestCallWindowQueuesWithoutDeadline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		w      *LoginWindow
		queues bool
	}{
		{"login", NewLoginWindow(), true},
		{"call", NewCallWindow(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.w.Limiter(1)
			if err := l.Wait(context.Background(), "op"); err != nil {
				t.Fatal(err)
			}
			// The next slot is a minute away: the request queues (until cancelled here).
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			err := l.Wait(ctx, "op")
			if queued := errors.Is(err, context.Canceled); queued != tc.queues || !errors.Is(err, ErrRetryLater) {
				t.Fatalf("err %v; queued %v, want %v", err, queued, tc.queues)
			}
		})
	}
}

// lanTokens logs in n times to the fake and returns the tokens.
func lanTokens(t *testing.T, s *fortitest.Server, tr *Transport, n int) []string {
	t.Helper()
	s.AddLANUser("acct@example.com", "ops@example.com", "lan-password-1", false)
	lan := NewFortiLAN(s.URL, tr, nil)
	u := LANUser{AccountID: "acct@example.com", UserName: "ops@example.com", Password: "lan-password-1"}
	var out []string
	for range n {
		tok, err := lan.Login(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.AccessToken)
	}
	return out
}

// Invalidations are paced by the call window, and honour the upstream's own limit.
func TestFortiLANInvalidatePaced(t *testing.T) {
	for _, tc := range []struct {
		name string
		// upstream is the fake's limit; window the engine's. Invalidations past the first
		// ok answer "retry later" (a slot over a minute away) without calling the upstream.
		upstream, window, tokens, ok int
		timeout                      time.Duration
		calls, refused               int // what the fake saw, and answered 429
	}{
		// Past the window's limit, with no slot within the deadline: not sent.
		{"window", 3, 3, 5, 3, 200 * time.Millisecond, 3, 0},
		// A 429 with Retry-After (another client of the address spends the rest of the
		// upstream's 60) holds back the window's other calls, not only the one retried.
		{"upstream's Retry-After", 2, 60, 4, 2, 2 * time.Second, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fortitest.NewServerT(t)
			s.SetAuthRateLimit(0)
			s.SetCallRateLimit(tc.upstream)
			tr, err := NewTransport(Options{TLS: TLSConfig{CACert: s.CACertPEM}})
			if err != nil {
				t.Fatal(err)
			}
			toks := lanTokens(t, s, tr, tc.tokens)
			lan := NewFortiLAN(s.URL, tr, nil)
			lan.SetCallLimiter(NewCallWindow().Limiter(tc.window))
			for i, tok := range toks {
				ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
				err := lan.Invalidate(ctx, tok)
				cancel()
				if i < tc.ok && err != nil || i >= tc.ok && !(RateLimited(err) && RetryAfter(err) > 30*time.Second) {
					t.Fatalf("invalidation %d: %v", i+1, err)
				}
			}
			const inv = "/api/v1/auth/invalidate_token"
			if n, m := s.Calls(inv), s.TooManyRequests(inv); n != tc.calls || m != tc.refused {
				t.Fatalf("the fake saw %d invalidations and answered %d with 429; want %d and %d", n, m, tc.calls, tc.refused)
			}
		})
	}
}

// TestFortiLANLoginHonoursRetryAfter: a login answered 429 holds back the other logins to the
// base URL until its Retry-After, so that they are not sent into the same refusal.
func TestFortiLANLoginHonoursRetryAfter(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddLANUser("acct", "user", "pw-123456789", false)
	s.SetAuthRateLimit(1) // another client of the address spends the rest of the upstream's 6
	tr, err := NewTransport(Options{TLS: TLSConfig{CACert: s.CACertPEM}})
	if err != nil {
		t.Fatal(err)
	}
	lan := NewFortiLAN(s.URL, tr, NewLoginWindow().Limiter(6))
	u := LANUser{AccountID: "acct", UserName: "user", Password: "pw-123456789"}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := lan.Login(ctx, u)
		cancel()
		if i == 0 && err != nil || i > 0 && !(RateLimited(err) && RetryAfter(err) > 30*time.Second) {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	if n, m := s.Calls("/api/v1/auth"), s.TooManyRequests("/api/v1/auth"); n != 2 || m != 1 {
		t.Fatalf("the fake saw %d logins and answered %d with 429; want 2 and 1: the third was sent into the hold", n, m)
	}
}
