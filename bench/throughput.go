package main

import (
	"fmt"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

type throughputRow struct {
	Product string `json:"product"`
	loadResult
	Ideal    float64 `json:"ideal_per_second"`
	PctIdeal float64 `json:"percent_of_ideal"`
	Conns    int     `json:"upstream_connections"`
	// CPU time each process spent per request during the run.
	CPU cpuPerCreds `json:"cpu_per_creds"`
}

// throughput runs closed loops at each concurrency for FAZ and FortiLAN creds, then the floors.
func (b *bench) throughput() error {
	for _, p := range []struct {
		product, role string
		fake          *fortitest.Server
	}{{"FAZ local_user", "faz", b.fazFake}, {"FortiLAN email_user", "lan", b.lanFake}} {
		for _, c := range b.set.Concurrency {
			for _, mount := range b.mounts() {
				if err := b.throughputRun(p.product, p.role, p.fake, mount, c); err != nil {
					return err
				}
			}
		}
	}
	return b.floors()
}

// throughputRun is one closed loop of creds at concurrency c, started with no lease
// outstanding, so that the fake's session table is as small in every run.
func (b *bench) throughputRun(product, role string, fake *fortitest.Server, mount string, c int) error {
	if _, err := b.drain(); err != nil {
		return err
	}
	if mount != "forticloud" {
		product = "B " + product
	}
	creds := b.credsAt(mount, role)
	load(c, 500*time.Millisecond, 0, creds) // warm-up
	conns := fake.Connections()
	cpu := b.cpuSnapshotOf(mount)
	var prof *profiler
	if b.set.pprofDir != "" && c == 64 && role == "faz" && mount == "forticloud" {
		prof = b.startProfiles(b.set.Duration)
	}
	r := load(c, b.set.Duration, 0, creds)
	if prof != nil {
		prof.wait()
	}
	conns = fake.Connections() - conns
	cpuUsed := b.cpuSnapshotOf(mount).sub(cpu, r.Requests)
	if r.Errors > 0 {
		return fmt.Errorf("%s/creds/%s at concurrency %d: %d errors, first: %s", mount, role, c, r.Errors, r.FirstError)
	}
	ideal := float64(c) / b.set.Latency.Seconds()
	b.res.Throughput = append(b.res.Throughput, throughputRow{Product: product, loadResult: r,
		Ideal: ideal, PctIdeal: 100 * r.PerSecond / ideal, Conns: conns, CPU: cpuUsed})
	b.res.Connections = append(b.res.Connections, newConnRow(product+" fake", fmt.Sprintf("concurrency %d", c), r.Requests, conns))
	logf("%s concurrency %d: %.0f/s (ideal %.0f/s), p50 %.1f ms", product, c, r.PerSecond, ideal, r.Latency.P50.ms())
	return nil
}

// floors are what Vault and an external plugin sustain on this machine for the least request
// there is, with no upstream call: the external-KV read at each concurrency, the builtin at 64.
func (b *bench) floors() error {
	for _, f := range []struct {
		name, mount string
		cs          []int
	}{{extKVRead, "kv-ext", b.set.Concurrency}, {"kv read, builtin", "kv-builtin", []int{64}}} {
		for _, c := range f.cs {
			read := func() error { return b.vh.read(f.mount + "/bench") }
			load(c, 500*time.Millisecond, 0, read)
			cpu := b.cpuSnapshotOf(f.mount)
			r := load(c, b.set.Duration, 0, read)
			if r.Errors > 0 {
				return fmt.Errorf("%s/bench at concurrency %d: %d errors, first: %s", f.mount, c, r.Errors, r.FirstError)
			}
			b.res.Throughput = append(b.res.Throughput, throughputRow{Product: f.name, loadResult: r, CPU: b.cpuSnapshotOf(f.mount).sub(cpu, r.Requests)})
			logf("%s concurrency %d: %.0f/s, p50 %.1f ms", f.name, c, r.PerSecond, r.Latency.P50.ms())
		}
	}
	return nil
}

// extKVRead names the external-KV read's rows: the floor the engine is compared with.
const extKVRead = "kv read, external plugin"
