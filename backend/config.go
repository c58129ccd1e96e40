package backend

import (
	"context"
	"fmt"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// configPrefix is where configs live in storage: config/<name>.
const configPrefix = "config/"

// configEntry is a stored config. Token and Password are secrets: never returned, logged or
// put in an error.
type configEntry struct {
	Type           string        `json:"type"`
	URL            string        `json:"url,omitempty"`
	AuthMethod     string        `json:"auth_method"`
	Token          string        `json:"token,omitempty"`
	APIID          string        `json:"api_id,omitempty"`
	ClientID       string        `json:"client_id,omitempty"`
	AuthURL        string        `json:"auth_url,omitempty"`
	Username       string        `json:"username,omitempty"`
	Password       string        `json:"password,omitempty"`
	AccountID      string        `json:"account_id,omitempty"`
	CACert         string        `json:"ca_cert,omitempty"`
	TLSServerName  string        `json:"tls_server_name,omitempty"`
	TLSSkipVerify  bool          `json:"tls_skip_verify,omitempty"`
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
	LoginRateLimit int           `json:"login_rate_limit,omitempty"` // fortilan: logins a minute; 0 none
	CallRateLimit  int           `json:"call_rate_limit,omitempty"`  // fortilan: other calls a minute; 0 none
	TokenStoredAt  int64         `json:"token_stored_at,omitempty"`  // UNIX seconds: FortiCloud tokens die within hours
	// RenewProbe is the status call that tells this admin's live sessions from gone ones
	// (client.Probe), as verify_connection found it; "" when not learnt.
	RenewProbe string `json:"renew_probe,omitempty"`
}

// settings is how the client reaches c's product and logs in to it.
func (c *configEntry) settings() client.Settings {
	s := c.endpoint().settings()
	s.Token, s.APIID, s.Username, s.Password, s.AccountID = c.Token, c.APIID, c.Username, c.Password, c.AccountID
	return s
}

// cachedConfig is a config with its live connection, built once and dropped on any change.
type cachedConfig struct {
	entry *configEntry
	conn  *client.Client
}

func (c *cachedConfig) close() {
	if c.conn != nil {
		c.conn.Close()
	}
}

func readConfig(ctx context.Context, s logical.Storage, name string) (*configEntry, error) {
	e, err := s.Get(ctx, configPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("read config %q: %w", name, err)
	}
	if e == nil {
		return nil, nil
	}
	var c configEntry
	if err := e.DecodeJSON(&c); err != nil {
		return nil, fmt.Errorf("decode config %q: %w", name, err)
	}
	return &c, nil
}

// config returns the named config and its connection, from the cache when it can.
func (b *backend) config(ctx context.Context, s logical.Storage, name string) (*cachedConfig, error) {
	b.mu.RLock()
	c := b.configs[name]
	b.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.configs[name]; c != nil {
		return c, nil
	}
	entry, err := readConfig(ctx, s, name)
	if err != nil || entry == nil {
		return nil, err
	}
	conn, err := b.dial(entry)
	if err != nil {
		return nil, fmt.Errorf("config %q: %w", name, err)
	}
	c = &cachedConfig{entry: entry, conn: conn}
	b.configs[name] = c
	return c, nil
}

// dial connects to a config's product, its logins and other calls paced by the windows of its
// base URL.
func (b *backend) dial(c *configEntry) (*client.Client, error) {
	s := c.settings()
	s.Observer = b.metrics.observe
	s.Limiter = b.loginWindow(c.URL).Limiter(c.LoginRateLimit)
	s.CallLimiter = b.callWindow(c.URL).Limiter(c.CallRateLimit)
	return client.New(s)
}

// loginWindow returns the record of logins to one base URL, shared by every config of this
// mount that logs in there (each within its own login_rate_limit, counting all of them), and
// kept across config changes so that a rewrite cannot reset it.
func (b *backend) loginWindow(url string) *client.LoginWindow {
	return b.window(b.loginWindows, url, client.NewLoginWindow)
}

// callWindow is loginWindow for FortiLAN's other calls (invalidate_token), within each
// config's call_rate_limit.
func (b *backend) callWindow(url string) *client.LoginWindow {
	return b.window(b.callWindows, url, client.NewCallWindow)
}

// window returns m's record for url, started on first use; b.windowMu guards every such map.
func (b *backend) window(m map[string]*client.LoginWindow, url string, start func() *client.LoginWindow) *client.LoginWindow {
	b.windowMu.Lock()
	defer b.windowMu.Unlock()
	w := m[url]
	if w == nil {
		w = start()
		m[url] = w
	}
	return w
}

func (b *backend) dropConfig(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropConfigLocked(name)
}

func (b *backend) dropConfigLocked(name string) {
	if c := b.configs[name]; c != nil {
		c.close()
		delete(b.configs, name)
	}
}
