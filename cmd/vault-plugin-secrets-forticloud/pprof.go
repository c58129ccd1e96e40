//go:build pprof

// Built only with -tags pprof, for `make bench` (BENCH_PPROF=dir): net/http/pprof served on
// BENCH_PPROF_ADDR, which must be a loopback address. Release builds never carry it.

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiling handlers, on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("BENCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fatal(fmt.Errorf("BENCH_PPROF_ADDR=%q: must be a loopback address", addr))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fatal(err)
	}
	go func() { _ = http.Serve(ln, nil) }()
}
