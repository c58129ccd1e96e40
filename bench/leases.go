package main

import (
	"fmt"
	"net/http"
	"time"
)

// live counts what is alive on the plugin's fakes: sessions, admins and FortiGate api-users Vault
// made (all but the bench's roots), FortiLAN tokens, IAM tokens.
func (b *bench) live() int {
	return b.fazFake.LiveSessions() + len(b.fazFake.Admins()) - 1 + fgtMade(b.fazFake) + b.lanFake.LiveLANTokens() + b.lanFake.LiveOAuthTokens()
}

// leases counts Vault's leases under <mount>/creds/ of every mount of the plugin.
func (b *bench) leases() (int, error) {
	n := 0
	for _, mount := range b.mounts() {
		roles, err := b.vault.client.Logical().List("sys/leases/lookup/" + mount + "/creds/")
		if err != nil {
			return 0, err
		}
		if roles == nil {
			continue
		}
		keys, _ := roles.Data["keys"].([]any)
		for _, k := range keys {
			s, err := b.vault.client.Logical().List("sys/leases/lookup/" + mount + "/creds/" + fmt.Sprint(k))
			if err != nil {
				return 0, err
			}
			if s != nil {
				ids, _ := s.Data["keys"].([]any)
				n += len(ids)
			}
		}
	}
	return n, nil
}

// drain revokes every lease under forticloud/creds/ in the background (revoke-prefix with
// sync=false: Vault's expiration manager revokes them with its pool of workers) and waits until
// Vault holds none and nothing is left alive upstream. It returns how long that took.
func (b *bench) drain() (time.Duration, error) {
	start := time.Now()
	for _, mount := range b.mounts() {
		if _, err := b.vh.do(http.MethodPut, "sys/leases/revoke-prefix/"+mount+"/creds", []byte(`{"sync":false}`)); err != nil {
			return 0, err
		}
	}
	deadline := start.Add(10 * time.Minute)
	for {
		n, err := b.leases()
		if err != nil {
			return 0, err
		}
		if n == 0 && b.live() == 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("after 10 minutes, %d leases and %d live upstream credentials remain", n, b.live())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
