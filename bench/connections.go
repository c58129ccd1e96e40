package main

type connRow struct {
	Host    string  `json:"host"`
	Phase   string  `json:"phase"`
	Creds   int     `json:"creds"`
	Conns   int     `json:"connections_opened"`
	Per1000 float64 `json:"per_1000_creds"`
}

func newConnRow(host, phase string, creds, conns int) connRow {
	return connRow{Host: host, Phase: phase, Creds: creds, Conns: conns, Per1000: per1000(conns, creds)}
}

func per1000(conns, creds int) float64 {
	if creds == 0 {
		return 0
	}
	return float64(conns) * 1000 / float64(creds)
}

// sequentialConnections records the connections each fake accepted over the sequential
// samples, and since it started.
func (b *bench) sequentialConnections(fazConns, lanConns int) {
	n := b.set.N * len(b.mounts()) // creds of each mount reach the same fakes
	// Every connection since the fakes started, for comparison: each config write's
	// verify_connection (a transport of its own), then the warm-up, at concurrency 64 too.
	b.res.Connections = append(b.res.Connections,
		connRow{Host: "FAZ fake", Phase: "since start", Conns: b.fazFake.Connections()},
		connRow{Host: "FortiLAN fake", Phase: "since start", Conns: b.lanFake.Connections()},
		newConnRow("FAZ fake (configs faz, faz-token, faz-key, fgt)", "sequential", 5*n, fazConns),
		// lan-api's creds mostly reuse the shared token: only lan's logins surely reach the host.
		newConnRow("FortiLAN fake (configs lan, lan-api)", "sequential", 2*n, lanConns),
	)
}
