package main

import (
	"os"
	"time"
)

// cpuSnap is the CPU time used so far by Vault, the plugin and this process (the fakes and
// the load generator).
type cpuSnap struct{ vault, plugin, bench time.Duration }

// cpuSnapshotOf counts the plugin process that serves mount.
func (b *bench) cpuSnapshotOf(mount string) cpuSnap {
	bin := pluginName
	switch mount {
	case "forticloud-b":
		bin += "-b"
	case "kv-ext":
		bin = kvPluginName
	case "kv-builtin":
		bin = ""
	}
	s := cpuSnap{vault: cpuTime(b.vault.pid()), bench: cpuTime(os.Getpid())}
	for _, pid := range b.vault.childPIDs(bin) {
		s.plugin += cpuTime(pid)
	}
	return s
}

// cpuPerCreds is CPU time per request, by process.
type cpuPerCreds struct {
	Vault  millis `json:"vault_ms"`
	Plugin millis `json:"plugin_ms"`
	Bench  millis `json:"fake_and_load_ms"`
}

// sub is the CPU time per request of n requests made since before.
func (s cpuSnap) sub(before cpuSnap, n int) cpuPerCreds {
	if n == 0 {
		return cpuPerCreds{}
	}
	per := func(d time.Duration) millis { return millis(d / time.Duration(n)) }
	return cpuPerCreds{Vault: per(s.vault - before.vault), Plugin: per(s.plugin - before.plugin), Bench: per(s.bench - before.bench)}
}

// engine is the CPU time per request of Vault and the plugin: what serving it costs, without
// the fakes and the load.
func (c cpuPerCreds) engine() time.Duration { return time.Duration(c.Vault + c.Plugin) }
