package client

import (
	"context"
	"errors"
	"slices"
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
