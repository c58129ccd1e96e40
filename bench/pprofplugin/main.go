// Command pprofplugin is the plugin binary with a pprof listener, for profiling the plugin
// process under `make bench` (BENCH_PPROF=dir). It is cmd/vault-plugin-secrets-forticloud plus
// net/http/pprof served on BENCH_PPROF_ADDR, which must be a loopback address. Never ship it.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiling handlers, on http.DefaultServeMux
	"os"

	"github.com/forticloud/vault-plugin-secrets-forticloud/backend"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/sdk/plugin"
)

func main() {
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || !net.ParseIP(host).IsLoopback() {
			fatal(fmt.Errorf("BENCH_PPROF_ADDR=%q: must be a loopback address", addr))
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fatal(err)
		}
		go func() { _ = http.Serve(ln, nil) }() //nolint:gosec // loopback, bench builds only
	}
	meta := &api.PluginAPIClientMeta{}
	flags := meta.FlagSet()
	if err := flags.Parse(os.Args[1:]); err != nil {
		fatal(err)
	}
	err := plugin.ServeMultiplex(&plugin.ServeOpts{
		BackendFactoryFunc: backend.Factory,
		TLSProviderFunc:    api.VaultPluginTLSProvider(meta.GetTLSConfig()),
	})
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
	os.Exit(1)
}
