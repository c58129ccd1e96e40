package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// settings of one run, from the environment (see the package doc).
type settings struct {
	Latency     time.Duration `json:"-"`
	N           int           `json:"n"`
	Duration    time.Duration `json:"-"`
	Pause       time.Duration `json:"-"`
	RSSLeases   int           `json:"rss_leases"`
	Revokes     int           `json:"revoke_leases"`
	Concurrency []int         `json:"concurrency"`

	phases   []string // nil: every phase
	pprofDir string
	bDir     string
	out      string
}

// MarshalJSON gives the durations in the units the table uses.
func (s settings) MarshalJSON() ([]byte, error) {
	type plain settings // without this method
	return json.Marshal(struct {
		plain
		Latency  millis  `json:"upstream_latency_ms"`
		Duration seconds `json:"throughput_run_seconds"`
		Pause    millis  `json:"pause_between_sequential_ms"`
	}{plain(s), millis(s.Latency), seconds(s.Duration), millis(s.Pause)})
}

// loadSettings reads BENCH_* from the environment; root is the module's root.
func loadSettings(root string) (settings, error) {
	s := settings{RSSLeases: 5000, Revokes: 2000, pprofDir: os.Getenv("BENCH_PPROF"), bDir: os.Getenv("BENCH_B")}
	var err error
	if s.Latency, err = envDuration("BENCH_LATENCY", 20*time.Millisecond); err != nil {
		return s, err
	}
	if s.Latency <= 0 {
		return s, fmt.Errorf("BENCH_LATENCY must be above 0: the ideal throughput is concurrency / latency")
	}
	if s.N, err = envInt("BENCH_N", 1000); err != nil {
		return s, err
	}
	if s.Duration, err = envDuration("BENCH_DURATION", 5*time.Second); err != nil {
		return s, err
	}
	if s.Pause, err = envDuration("BENCH_PAUSE", 5*time.Millisecond); err != nil {
		return s, err
	}
	if s.Concurrency, err = envInts("BENCH_CONCURRENCY", []int{1, 16, 64}); err != nil {
		return s, err
	}
	if v := os.Getenv("BENCH_PHASES"); v != "" {
		s.phases = strings.Split(v, ",")
	}
	if s.out = os.Getenv("BENCH_OUT"); s.out == "" {
		s.out = filepath.Join(root, "bench", "results.json")
	}
	return s, nil
}

// runs reports whether BENCH_PHASES names the phase, or is unset.
func (s settings) runs(phase string) bool {
	return s.phases == nil || slices.Contains(s.phases, phase)
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: not a duration (e.g. 20ms)", name, v)
	}
	return d, nil
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: not a positive number", name, v)
	}
	return n, nil
}

func envInts(name string, def []int) ([]int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 {
			return nil, fmt.Errorf("%s=%q: a list of positive numbers, e.g. 1,16,64", name, v)
		}
		out = append(out, c)
	}
	return out, nil
}
