package client

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
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
