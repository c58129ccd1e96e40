// Command forticloud-fake serves client/fortitest, the fake Fortinet APIs, on a loopback port,
// for `make dev`, benchmarks and hand testing. It knows a fixed set of demo credentials.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// Demo credentials: what `make dev` writes into Vault. They open nothing but this fake.
const (
	// DemoAdmin is a FAZ/FMG admin whose profile reads everything.
	DemoAdmin = "demo-admin"
	// DemoPassword is DemoAdmin's and DemoRestrictedAdmin's password.
	DemoPassword = "demo-password"
	// DemoCloudToken is a FortiCloud token /sys/login/cloud takes.
	DemoCloudToken = "demo-forticloud-token"
	// DemoLANAccount is DemoLANUser's FortiLAN account.
	DemoLANAccount = "acct@example.com"
	// DemoLANUser is a FortiLAN email user.
	DemoLANUser = "ops@example.com"
	// DemoLANPassword is DemoLANUser's password.
	DemoLANPassword = "demo-lan-password"
	// DemoAPIID is a FortiCloud IAM API user's id.
	DemoAPIID = "DEMO-API-USER"
	// DemoAPIPassword is DemoAPIID's password.
	DemoAPIPassword = "demo-api-password"
)

// DemoRestrictedAdmin (password DemoPassword) has a profile without system settings access:
// /sys/status answers -11 to its live sessions, /cli/global/system/status answers 0.
const DemoRestrictedAdmin = "demo-restricted-admin"

// DemoADOM is an ADOM besides root that dynamic admins may be given.
const DemoADOM = "soc"

// The fake FortiGate's demo: the root api-user whose key a fortigate config holds (profile
// super_admin, VDOM root, trusting loopback), and the profile of the api-users Vault makes.
const (
	DemoFortiGateRoot    = "vault-root"
	DemoFortiGateProfile = "demo_read_only"
)

type info struct {
	URL    string `json:"url"`
	CAFile string `json:"ca_file"`
	PID    int    `json:"pid"`
	// APIKey is DemoAdmin's API key, for an api_key config; a new one each start.
	APIKey string `json:"api_key"`
	// FortiGateKey is DemoFortiGateRoot's key, for a fortigate config; a new one each start.
	FortiGateKey string `json:"fortigate_key"`
}

// config is what the flags ask for.
type config struct {
	addr, caOut, infoOut         string
	latency, idle                time.Duration
	authRate, callRate, loginMax int
	adomFirmware                 fortitest.ADOMFirmware
}

// adomFirmwares are the -adom-firmware values.
var adomFirmwares = map[string]fortitest.ADOMFirmware{
	"new": fortitest.ADOMAccessKnown, "old": fortitest.ADOMAccessRefused, "unbound": fortitest.ADOMAccessIgnored,
}

// adomFirmwareFlag is -adom-firmware, one of adomFirmwares' names.
type adomFirmwareFlag struct{ to *fortitest.ADOMFirmware }

func (f adomFirmwareFlag) String() string {
	for name, v := range adomFirmwares {
		if f.to != nil && v == *f.to {
			return name
		}
	}
	return ""
}

func (f adomFirmwareFlag) Set(v string) error {
	m, ok := adomFirmwares[v]
	if !ok {
		return fmt.Errorf("want new, old or unbound")
	}
	*f.to = m
	return nil
}

func main() {
	c := parseFlags(flag.CommandLine, os.Args[1:])
	s, err := serve(c.addr)
	if err != nil {
		fatal(err)
	}
	defer s.Close()
	seed(s, c)
	out, err := announce(s, c)
	if err != nil {
		fatal(err)
	}
	fmt.Println(string(out))
	report(s)
}

// parseFlags reads the command line; a bad one exits, as flag.ExitOnError does.
func parseFlags(fs *flag.FlagSet, args []string) config {
	var c config
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	fs.StringVar(&c.caOut, "ca-out", "fortitest-ca.pem", "file to write the fake's CA certificate to")
	fs.StringVar(&c.infoOut, "info-out", "", "file to write {url, ca_file, pid} to once serving")
	fs.DurationVar(&c.latency, "latency", 0, "delay added to every answer")
	fs.DurationVar(&c.idle, "session-idle", fortitest.DefaultSessionIdle, "FAZ session idle timeout")
	fs.IntVar(&c.authRate, "auth-rate", fortitest.DefaultAuthRateLimit, "FortiLAN logins per minute (0: no limit)")
	fs.IntVar(&c.callRate, "call-rate", fortitest.DefaultCallRateLimit, "FortiLAN calls but logins (invalidate_token) per minute (0: no limit)")
	fs.IntVar(&c.loginMax, "login-max", fortitest.DefaultLoginMax, "FAZ sessions per admin")
	fs.Var(adomFirmwareFlag{&c.adomFirmware}, "adom-firmware",
		"how adding an admin binds its ADOM list: new (adom-access known), old (adom-access refused with -10), unbound (adom-access ignored, every ADOM)")
	_ = fs.Parse(args)
	return c
}

// serve starts the fake on addr, which must be a loopback address.
func serve(addr string) (*fortitest.Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("-addr %q: must be a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := fortitest.NewUnstartedServer()
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	return s, nil
}

// seed gives the fake the demo credentials and c's settings.
func seed(s *fortitest.Server, c config) {
	s.AddAdmin(DemoAdmin, DemoPassword)
	s.AddAdminProfile(DemoRestrictedAdmin, DemoPassword, fortitest.ProfileNoSystemSettings)
	s.AddCloudToken(DemoCloudToken, 0)
	s.AddLANUser(DemoLANAccount, DemoLANUser, DemoLANPassword, false)
	s.AddAPIUser(DemoAPIID, DemoAPIPassword)
	s.AddADOM(DemoADOM)
	s.SetADOMFirmware(c.adomFirmware)
	s.AddFortiOSProfile(DemoFortiGateProfile, fortitest.FortiOSNoAccess)
	s.SetLatency(c.latency)
	s.SetSessionIdle(c.idle)
	s.SetAuthRateLimit(c.authRate)
	s.SetCallRateLimit(c.callRate)
	s.SetLoginMax(c.loginMax)
}

// announce writes the CA certificate to c.caOut and, when c.infoOut is set, {url, ca_file, pid,
// api_key, fortigate_key} there, whole or not at all (a reader polls for it); it returns the latter.
func announce(s *fortitest.Server, c config) ([]byte, error) {
	if err := os.WriteFile(c.caOut, []byte(s.CACertPEM), 0o644); err != nil {
		return nil, err
	}
	root := fortitest.FortiOSAPIUser{Name: DemoFortiGateRoot, Profile: fortitest.FortiOSSuperAdmin,
		VDOMs: []string{fortitest.FortiOSRootVDOM}, TrustHosts: loopback}
	out, _ := json.Marshal(info{URL: s.URL, CAFile: c.caOut, PID: os.Getpid(), APIKey: s.AddAPIKey(DemoAdmin),
		FortiGateKey: s.AddFortiOSAPIUser(root)})
	if c.infoOut == "" {
		return out, nil
	}
	if err := os.WriteFile(c.infoOut+".tmp", out, 0o644); err != nil {
		return nil, err
	}
	return out, os.Rename(c.infoOut+".tmp", c.infoOut)
}

// report logs what lives upstream every minute until SIGINT or SIGTERM.
func report(s *fortitest.Server) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			return
		case <-tick.C:
			fmt.Fprintf(os.Stderr, "forticloud-fake: live sessions %d, admins %d, FortiLAN tokens %d, OAuth tokens %d, FortiGate api-users %d\n",
				s.LiveSessions(), len(s.Admins()), s.LiveLANTokens(), s.LiveOAuthTokens(), len(s.FortiOSAPIUsers()))
		}
	}
}

// loopback is where the demo FortiGate root may connect from: Vault runs beside the fake.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "forticloud-fake:", err)
	os.Exit(1)
}
