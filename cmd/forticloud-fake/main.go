// Command forticloud-fake serves client/fortitest, the fake Fortinet APIs, on a loopback port,
// for `make dev`, benchmarks and hand testing. It knows a fixed set of demo credentials.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// Demo credentials: what `make dev` writes into Vault. They open nothing but this fake.
const (
	DemoAdmin       = "demo-admin"
	DemoPassword    = "demo-password"
	DemoCloudToken  = "demo-forticloud-token"
	DemoLANAccount  = "acct@example.com"
	DemoLANUser     = "ops@example.com"
	DemoLANPassword = "demo-lan-password"
	DemoAPIID       = "DEMO-API-USER"
	DemoAPIPassword = "demo-api-password"
)

// DemoRestrictedAdmin (password DemoPassword) has a profile without system settings access:
// /sys/status answers -11 to its live sessions, /cli/global/system/status answers 0.
const DemoRestrictedAdmin = "demo-restricted-admin"

type info struct {
	URL    string `json:"url"`
	CAFile string `json:"ca_file"`
	PID    int    `json:"pid"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	caOut := flag.String("ca-out", "fortitest-ca.pem", "file to write the fake's CA certificate to")
	infoOut := flag.String("info-out", "", "file to write {url, ca_file, pid} to once serving")
	latency := flag.Duration("latency", 0, "delay added to every answer")
	idle := flag.Duration("session-idle", fortitest.DefaultSessionIdle, "FAZ session idle timeout")
	rate := flag.Int("auth-rate", fortitest.DefaultAuthRateLimit, "FortiLAN logins per minute (0: no limit)")
	callRate := flag.Int("call-rate", fortitest.DefaultCallRateLimit, "FortiLAN calls but logins (invalidate_token) per minute (0: no limit)")
	loginMax := flag.Int("login-max", fortitest.DefaultLoginMax, "FAZ sessions per admin")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fatal(fmt.Errorf("-addr %q: must be a loopback address", *addr))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fatal(err)
	}
	s := fortitest.NewUnstartedServer()
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	defer s.Close()

	s.AddAdmin(DemoAdmin, DemoPassword)
	s.AddAdminProfile(DemoRestrictedAdmin, DemoPassword, fortitest.ProfileNoSystemSettings)
	s.AddCloudToken(DemoCloudToken, 0)
	s.AddLANUser(DemoLANAccount, DemoLANUser, DemoLANPassword, false)
	s.AddAPIUser(DemoAPIID, DemoAPIPassword)
	s.SetLatency(*latency)
	s.SetSessionIdle(*idle)
	s.SetAuthRateLimit(*rate)
	s.SetCallRateLimit(*callRate)
	s.SetLoginMax(*loginMax)

	if err := os.WriteFile(*caOut, []byte(s.CACertPEM), 0o644); err != nil {
		fatal(err)
	}
	out, _ := json.Marshal(info{URL: s.URL, CAFile: *caOut, PID: os.Getpid()})
	if *infoOut != "" {
		if err := os.WriteFile(*infoOut+".tmp", out, 0o644); err != nil {
			fatal(err)
		}
		if err := os.Rename(*infoOut+".tmp", *infoOut); err != nil {
			fatal(err)
		}
	}
	fmt.Println(string(out))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			return
		case <-tick.C:
			fmt.Fprintf(os.Stderr, "forticloud-fake: live sessions %d, FortiLAN tokens %d, OAuth tokens %d\n",
				s.LiveSessions(), s.LiveLANTokens(), s.LiveOAuthTokens())
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "forticloud-fake:", err)
	os.Exit(1)
}
