// Package e2e holds what the end-to-end tests (integration/) and the benchmark harness (bench/)
// both need around the real processes they start: the module's root, a plugin binary's SHA-256
// for the catalog, processes in groups of their own with their environment filtered (Process),
// free loopback ports (Ports), a Vault server's readiness (WaitVault) and its plugin processes.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Module is this repository's Go module path.
const Module = "github.com/forticloud/vault-plugin-secrets-forticloud"

// ModuleRoot finds the directory of this module's go.mod, up from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+Module+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + Module + " above the working directory")
		}
		dir = parent
	}
}

// FileSHA256 is the hex SHA-256 of a file, as `vault plugin register -sha256` wants it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ChildPIDs lists the live (not zombie) children of parent whose executable's base name is
// binary, read from /proc: Vault's plugin processes, for tests that kill or measure them.
func ChildPIDs(parent int, binary string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(parent) || f[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		first, _, _ := bytes.Cut(cmdline, []byte{0})
		if filepath.Base(string(first)) == binary {
			out = append(out, pid)
		}
	}
	return out, nil
}

// ReapGroup gives the processes left in process group pgid, once its leader is gone, a few
// seconds to follow it, then kills what is left: Vault's plugin processes must not outlive it.
func ReapGroup(pgid int) {
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if syscall.Kill(-pgid, 0) == nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
