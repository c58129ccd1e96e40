package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a child started in a process group of its own, its output appended to a log
// file, so that what it starts (Vault's plugin processes) can be found and stopped with it.
type Process struct {
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error

	stopOnce  sync.Once
	stopClean bool
}

// ChildEnv is this process's environment without VAULT_* variables, which would steer a child
// Vault (VAULT_ADDR, VAULT_TOKEN, ...), and with HOME set to home, so that a dev server's
// ~/.vault-token lands there and not in the user's home.
func ChildEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// StartProcess starts bin with args in dir (relative paths in a config are taken from there),
// with ChildEnv(dir), its stdout and stderr appended to logPath after a line naming the command.
// The child gets SIGTERM if this process dies (a test's timeout panic), so that nothing outlives
// it. Stop it with Stop.
func StartProcess(bin, logPath, dir string, args ...string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "==== %s: %s %s\n", time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = ChildEnv(dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process's id, which is also its process group's.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogPath is the file its output goes to.
func (p *Process) LogPath() string { return p.logPath }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended (exec.Cmd.Wait's error); nil while it runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.waitErr
}

// Stop sends SIGTERM and waits; past grace it kills the whole group. Whatever the process left
// behind in its group (a plugin) is reaped too (ReapGroup). It reports whether the process
// stopped on SIGTERM alone. Only the first call acts; later ones report the same.
func (p *Process) Stop(grace time.Duration) bool {
	p.stopOnce.Do(func() { p.stopClean = p.stop(grace) })
	return p.stopClean
}

func (p *Process) stop(grace time.Duration) bool {
	defer p.logFile.Close()
	pgid := p.PID()
	clean := true
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			clean = false
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	ReapGroup(pgid)
	return clean
}
