package main

import (
	"fmt"
	"time"
)

type rssRow struct {
	PluginPID int   `json:"plugin_pid"`
	Leases    int   `json:"leases"`
	PluginKB0 int64 `json:"plugin_rss_kb_0_leases"`
	PluginKBN int64 `json:"plugin_rss_kb_n_leases"`
	GrowthKB  int64 `json:"plugin_rss_growth_kb"`
	VaultKB0  int64 `json:"vault_rss_kb_0_leases"`
	VaultKBN  int64 `json:"vault_rss_kb_n_leases"`
}

// rss reads the plugin's RSS with no lease, then with 5,000 outstanding leases, and ends them
// with revoke-prefix sync=false, timed.
func (b *bench) rss() error {
	if _, err := b.drain(); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	pid, before, err := b.pluginRSS()
	if err != nil {
		return err
	}
	vaultBefore, _ := rssKB(b.vault.pid())
	r := load(16, 0, b.set.RSSLeases, b.creds("faz"))
	if r.Errors > 0 {
		return fmt.Errorf("%d errors issuing leases, first: %s", r.Errors, r.FirstError)
	}
	time.Sleep(2 * time.Second)
	pid2, after, err := b.pluginRSS()
	if err != nil {
		return err
	}
	if pid2 != pid {
		return fmt.Errorf("the plugin process changed (%d, then %d): it restarted", pid, pid2)
	}
	vaultAfter, _ := rssKB(b.vault.pid())
	n, err := b.leases()
	if err != nil {
		return err
	}
	b.res.RSS = rssRow{PluginPID: pid, Leases: n, PluginKB0: before, PluginKBN: after, GrowthKB: after - before,
		VaultKB0: vaultBefore, VaultKBN: vaultAfter}
	d, err := b.drain()
	if err != nil {
		return err
	}
	b.res.Revoke.AsyncLeases, b.res.Revoke.AsyncElapsed = n, seconds(d)
	return nil
}

func (b *bench) pluginRSS() (int, int64, error) {
	pids := b.vault.childPIDs(pluginName)
	if len(pids) != 1 {
		return 0, 0, fmt.Errorf("want one plugin process, found %v", pids)
	}
	kb, err := rssKB(pids[0])
	return pids[0], kb, err
}
