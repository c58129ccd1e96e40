package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProcessEnvAndLog(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://steered:8200")
	t.Setenv("VAULT_TOKEN", "s.steered")
	dir := t.TempDir()
	logPath := filepath.Join(dir, "out.log")
	p, err := StartProcess("/bin/sh", logPath, dir, "-c", `echo "home=$HOME addr=${VAULT_ADDR:-none} token=${VAULT_TOKEN:-none} pwd=$(pwd)"; exit 3`)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("sh did not exit")
	}
	if !p.Exited() || p.Err() == nil || !strings.Contains(p.Err().Error(), "exit status 3") {
		t.Errorf("Exited %v, Err %v; want exit status 3", p.Exited(), p.Err())
	}
	if !p.Stop(time.Second) {
		t.Error("Stop of an exited process: not clean")
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "==== ") || !strings.Contains(lines[0], "/bin/sh -c") {
		t.Fatalf("log = %q; want the command's line, then its output", b)
	}
	if want := "home=" + dir + " addr=none token=none pwd=" + dir; lines[1] != want {
		t.Errorf("child saw %q; want %q", lines[1], want)
	}
}

func TestProcessStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		clean  bool
	}{
		{"leaves on SIGTERM", "exec sleep 60", true},
		{"ignores SIGTERM", `trap "" TERM; sleep 60; sleep 60`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := StartProcess("/bin/sh", filepath.Join(dir, "log"), dir, "-c", tc.script)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // let sh set its trap
			if got := p.Stop(time.Second); got != tc.clean {
				t.Errorf("Stop = %v, want %v", got, tc.clean)
			}
			if !p.Exited() {
				t.Error("still running after Stop")
			}
			if got := p.Stop(time.Second); got != tc.clean {
				t.Errorf("second Stop = %v, want the first's answer, %v", got, tc.clean)
			}
		})
	}
}
