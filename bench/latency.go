package main

import "time"

// sequentialOps are the operations measured one at a time, named as the table shows them.
func (b *bench) sequentialOps() []op {
	ops := []op{
		{"kv read, builtin", func() error { return b.vh.read("kv-builtin/bench") }},
		{extKVRead, func() error { return b.vh.read("kv-ext/bench") }},
		{"upstream, fake in this process: FAZ /sys/login/user", b.upIn.fazLogin},
	}
	for _, c := range b.comparisons() {
		if c.upstream != "" && c.upstreamFn != nil {
			ops = append(ops, op{c.upstream, c.upstreamFn})
		}
		ops = append(ops, op{c.creds, b.credsAt(c.mount, c.role)})
	}
	return ops
}

// comparison pairs a product's creds with its upstream login.
type comparison struct {
	product, creds, upstream string
	mount, role              string
	upstreamFn               func() error // nil when another comparison measures it
}

func (b *bench) comparisons() []comparison {
	base := []comparison{
		{"FAZ local_user", "creds: FAZ local_user", "upstream: FAZ /sys/login/user", "forticloud", "faz", b.up.fazLogin},
		{"FAZ forticloud_token", "creds: FAZ forticloud_token", "upstream: FAZ /sys/login/cloud", "forticloud", "faz-token", b.up.fazCloudLogin},
		{"FortiLAN email_user", "creds: FortiLAN email_user", "upstream: FortiLAN /api/v1/auth", "forticloud", "lan", b.up.lanLogin},
		// A share of a live token: no upstream call at all, so the whole time is the engine's.
		{"FortiLAN api_user (shared token)", "creds: FortiLAN api_user (shared token)", "", "forticloud", "lan-api", nil},
		// An admin of its own per lease: add, get and login (with a local_user root, in the
		// root session the engine keeps between creds).
		{"FAZ dynamic_admin, api_key root", "creds: FAZ dynamic_admin, api_key root",
			"upstream: FAZ add + get admin (key), login as it", "forticloud", "faz-dyn", b.up.dynAdminKey},
		{"FAZ dynamic_admin, local_user root", "creds: FAZ dynamic_admin, local_user root",
			"upstream: FAZ add + get admin (root session kept), login as it", "forticloud", "faz-dyn-user", b.up.dynAdminUser},
		// A REST API admin of its own per lease: create and generate-key.
		{"FortiGate api_user", "creds: FortiGate api_user", "upstream: FortiGate create api-user + generate-key",
			"forticloud", "fgt", b.up.fgtAPIUser},
	}
	if b.set.bDir == "" {
		return base
	}
	var out []comparison
	for _, c := range base {
		out = append(out, c)
		cb := c
		cb.product, cb.creds, cb.mount, cb.upstreamFn = "B "+c.product, "B "+c.creds, "forticloud-b", nil
		out = append(out, cb)
	}
	return out
}

// latency takes the sequential samples, the upstream logins alone among them, and counts the
// connections the creds opened meanwhile.
func (b *bench) latency() error {
	ops := b.sequentialOps()
	fazConns, lanConns := b.fazFake.Connections(), b.lanFake.Connections()
	samples, err := sequential(ops, b.set.N, b.set.Pause)
	if err != nil {
		return err
	}
	fazConns, lanConns = b.fazFake.Connections()-fazConns, b.lanFake.Connections()-lanConns
	for _, o := range ops {
		b.res.Latency = append(b.res.Latency, latencyRow{Name: o.name, Stats: summarise(samples[o.name])})
	}
	b.overhead(samples)
	b.sequentialConnections(fazConns, lanConns)
	return b.cleanupUpstream()
}

// overhead is each product's creds less its upstream login, beside the external-KV read.
func (b *bench) overhead(samples map[string][]time.Duration) {
	get := func(name string) stats { return summarise(samples[name]) }
	ext := get(extKVRead)
	for _, c := range b.comparisons() {
		cr := get(c.creds)
		row := overheadRow{Product: c.product, CredsP50: cr.P50, CredsP99: cr.P99, ExtKVP50: ext.P50}
		if c.upstream != "" {
			up := get(c.upstream)
			row.UpstreamP50, row.UpstreamP99 = up.P50, up.P99
		}
		row.OverheadP50 = cr.P50 - row.UpstreamP50
		row.OverheadP99 = cr.P99 - row.UpstreamP99
		if ext.P50 > 0 {
			row.Ratio = float64(row.OverheadP50) / float64(ext.P50)
		}
		b.res.Overhead = append(b.res.Overhead, row)
	}
}

// cleanupUpstream ends what the upstream-alone measurements opened.
func (b *bench) cleanupUpstream() error {
	if err := b.upIn.cleanup(); err != nil {
		return err
	}
	return b.up.cleanup()
}
