package main

import (
	"os"
	"runtime"
	"strings"
	"time"
)

// machine is what a run ran on, and the load beside it.
type machine struct {
	NProc        int    `json:"nproc"`
	CPU          string `json:"cpu_model"`
	Kernel       string `json:"kernel"`
	Go           string `json:"go_version"`
	VaultVersion string `json:"vault_version"`
	KVPlugin     string `json:"kv_plugin"`
	Date         string `json:"date"`
	LoadStart    string `json:"load_start"`
	LoadEnd      string `json:"load_end"`
}

func machineInfo() machine {
	m := machine{NProc: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load averages, as uptime shows them.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
