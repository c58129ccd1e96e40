package main

import "fmt"

// warmup sends every kind of request a few times, and fills the connection pools at the
// highest concurrency measured, then ends every lease it made.
func (b *bench) warmup() error {
	if _, err := sequential(b.sequentialOps(), 20, 0); err != nil {
		return err
	}
	for _, mount := range b.mounts() {
		for _, role := range []string{"faz", "lan"} {
			if r := load(64, 0, 640, b.credsAt(mount, role)); r.Errors > 0 {
				return fmt.Errorf("%s/creds/%s at concurrency 64: %d errors, first: %s", mount, role, r.Errors, r.FirstError)
			}
		}
	}
	if err := b.cleanupUpstream(); err != nil {
		return err
	}
	_, err := b.drain()
	return err
}
