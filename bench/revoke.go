package main

import (
	"fmt"
	"net/http"
	"time"
)

type revokeRow struct {
	Leases      int     `json:"leases"`
	LiveBefore  int     `json:"live_upstream_before"`
	Elapsed     seconds `json:"seconds"`
	LiveAfter   int     `json:"live_upstream_after"`
	LeasesAfter int     `json:"leases_after"`
	// The RSS phase's leases, ended with revoke-prefix sync=false: Vault's expiration manager
	// revokes them with its worker pool. Seconds until Vault held none and none was alive.
	AsyncLeases  int     `json:"async_leases"`
	AsyncElapsed seconds `json:"async_seconds_to_zero"`
}

// revoke issues 2,000 leases and times a synchronous revoke-prefix of them (the API default),
// then counts what is left alive upstream.
func (b *bench) revoke() error {
	r := load(16, 0, b.set.Revokes, b.creds("faz-revoke"))
	if r.Errors > 0 {
		return fmt.Errorf("%d errors issuing leases, first: %s", r.Errors, r.FirstError)
	}
	n, err := b.leases()
	if err != nil {
		return err
	}
	liveBefore := b.fazFake.LiveSessions()
	start := time.Now()
	if _, err := b.vh.do(http.MethodPut, "sys/leases/revoke-prefix/forticloud/creds/faz-revoke", []byte(`{"sync":true}`)); err != nil {
		return err
	}
	el := time.Since(start)
	left, err := b.leases()
	if err != nil {
		return err
	}
	b.res.Revoke.Leases, b.res.Revoke.LiveBefore, b.res.Revoke.Elapsed = n, liveBefore, seconds(el)
	b.res.Revoke.LiveAfter, b.res.Revoke.LeasesAfter = b.fazFake.LiveSessions(), left
	return nil
}

// perLease is the time of a revoke-prefix over its leases, in ms.
func perLease(d seconds, leases int) float64 {
	return 1000 * d.seconds() / float64(max(leases, 1))
}
