package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stats summarises latency samples.
type stats struct {
	N    int    `json:"n"`
	P50  millis `json:"p50_ms"`
	P99  millis `json:"p99_ms"`
	Mean millis `json:"mean_ms"`
	Min  millis `json:"min_ms"`
	Max  millis `json:"max_ms"`
}

func summarise(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return stats{N: len(s), P50: millis(quantile(s, 0.50)), P99: millis(quantile(s, 0.99)),
		Mean: millis(sum / time.Duration(len(s))), Min: millis(s[0]), Max: millis(s[len(s)-1])}
}

// quantile of sorted samples, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// op is one measured operation.
type op struct {
	name string
	fn   func() error
}

// sequential runs every op n times, one at a time, so that each sees the machine in the same
// state: round robin, since load from other processes drifts and blocks would each see a
// different part of it; in a new random order each round, and each after the same pause. An
// op that follows another closely finds Vault and the plugin still awake (threads spinning,
// virtual CPUs not halted), and one that follows a pause, or a 20 ms upstream wait, pays for
// waking them: measured in a fixed order, the op after a fast one would look faster than it is.
func sequential(ops []op, n int, pause time.Duration) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	order := slices.Clone(ops)
	for i := range n {
		rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, o := range order {
			time.Sleep(pause)
			start := time.Now()
			if err := o.fn(); err != nil {
				return nil, fmt.Errorf("%s (#%d): %w", o.name, i+1, err)
			}
			out[o.name] = append(out[o.name], time.Since(start))
		}
	}
	return out, nil
}

// loadResult is one closed-loop load run.
type loadResult struct {
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Elapsed     seconds `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	Latency     stats   `json:"latency"`
	FirstError  string  `json:"first_error,omitempty"`
}

// load runs fn from c workers until d has passed (d > 0) or n calls were made (n > 0).
func load(c int, d time.Duration, n int, fn func() error) loadResult {
	var (
		wg    sync.WaitGroup
		run   loadRun
		taken atomic.Int64
	)
	start := time.Now()
	deadline := start.Add(d)
	more := func() bool {
		return (d <= 0 || time.Now().Before(deadline)) && (n <= 0 || taken.Add(1) <= int64(n))
	}
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.work(more, fn)
		}()
	}
	wg.Wait()
	el := time.Since(start)
	return loadResult{Concurrency: c, Requests: len(run.lat), Errors: run.errs, Elapsed: seconds(el),
		PerSecond: float64(len(run.lat)) / el.Seconds(), Latency: summarise(run.lat), FirstError: run.firstErr}
}

// loadRun gathers what the workers of one load run measured.
type loadRun struct {
	mu       sync.Mutex
	lat      []time.Duration
	errs     int
	firstErr string
}

// work is one worker: it calls fn while more says so, timing each call that succeeds.
func (r *loadRun) work(more func() bool, fn func() error) {
	var mine []time.Duration
	for more() {
		t0 := time.Now()
		if err := fn(); err != nil {
			r.mu.Lock()
			r.errs++
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
			r.mu.Unlock()
			continue
		}
		mine = append(mine, time.Since(t0))
	}
	r.mu.Lock()
	r.lat = append(r.lat, mine...)
	r.mu.Unlock()
}
