package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// Ports hands out free loopback ports, never one it handed out before. The zero value is ready
// to use; it is safe for concurrent use.
type Ports struct {
	mu   sync.Mutex
	used map[int]bool
}

// Pair picks a free loopback port p with p+1 free too: Vault derives its cluster port from the
// API port.
func (ps *Ports) Pair() (int, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.used == nil {
		ps.used = map[int]bool{}
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err2 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err2 != nil {
			continue
		}
		l2.Close()
		if ps.used[p] || ps.used[p+1] {
			continue
		}
		ps.used[p], ps.used[p+1] = true, true
		return p, nil
	}
	return 0, errors.New("no free pair of loopback ports")
}

// ErrAddrInUse is WaitVault's error when the server exited because its port was taken: pick
// another and start again.
var ErrAddrInUse = errors.New("vault exited: address already in use")

// WaitVault polls the Vault server p runs, through c, for up to timeout, every 100 ms: with
// active set until it is initialised, unsealed and active (a dev server), else until it
// answers at all (a server to initialise or unseal). It returns ErrAddrInUse, or another error
// naming how it ended, if p exits first.
func WaitVault(c *api.Client, p *Process, active bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			log, _ := os.ReadFile(p.LogPath())
			if bytes.Contains(log, []byte("address already in use")) {
				return ErrAddrInUse
			}
			return fmt.Errorf("vault exited at start: %v", p.Err())
		}
		if vaultReady(c, active) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vault did not answer within %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func vaultReady(c *api.Client, active bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !active {
		_, err := c.Sys().SealStatusWithContext(ctx)
		return err == nil
	}
	h, err := c.Sys().HealthWithContext(ctx)
	return err == nil && h.Initialized && !h.Sealed && !h.Standby
}
