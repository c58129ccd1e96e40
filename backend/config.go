package backend

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/helper/automatedrotationutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// configPrefix is where configs live in storage: config/<name>.
const configPrefix = "config/"

// configEntry is a stored config. Token, Password and APIKey are secrets: never returned,
// logged or put in an error.
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
	APIKey         string        `json:"api_key,omitempty"`
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
	// PasswordPolicy names the Vault password policy for every password the engine makes;
	// "" for the engine's own generator.
	PasswordPolicy string `json:"password_policy,omitempty"`
	// LastRotated is when rotate-root last changed the root credential (UNIX seconds; 0 never).
	LastRotated int64 `json:"last_rotated,omitempty"`

	// The automated rotation schedule (rotation_period, rotation_schedule, rotation_window,
	// disable_automated_rotation, rotation_policy) and its state: rotation.go.
	automatedrotationutil.AutomatedRotationParams
	// RotationScheduler is who runs the schedule: schedulerVault, schedulerEngine, or "" when
	// no job may be registered.
	RotationScheduler string `json:"rotation_scheduler,omitempty"`
	// NextRotation is the schedule's next due time (UNIX seconds; 0 none).
	NextRotation int64 `json:"next_rotation,omitempty"`
	// RotationRetryAt is when the engine tries again after a failed scheduled rotation (UNIX
	// seconds; 0 none). A rotation is due at the later of it and NextRotation.
	RotationRetryAt int64 `json:"rotation_retry_at,omitempty"`
	// RotationFailures counts the scheduled rotations failed since the last one that went
	// through; RotationLastError is the last one's error (no secrets, as every error here).
	RotationFailures  int    `json:"rotation_failures,omitempty"`
	RotationLastError string `json:"rotation_last_error,omitempty"`
}

// settings is how the client reaches c's product and logs in to it.
func (c *configEntry) settings() client.Settings {
	s := c.endpoint().settings()
	s.Token, s.APIID, s.Username, s.Password, s.AccountID = c.Token, c.APIID, c.Username, c.Password, c.AccountID
	s.APIKey = c.APIKey
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
	return readEntry[configEntry](ctx, s, configPrefix, name)
}

// config returns the named config and its connection, from the cache when it can.
func (b *backend) config(ctx context.Context, s logical.Storage, name string) (*cachedConfig, error) {
	return cacheThrough(b, b.configs, name, func() (*cachedConfig, error) {
		entry, err := readConfig(ctx, s, name)
		if err != nil || entry == nil {
			return nil, err
		}
		conn, err := b.dial(name, entry, b.rootNotes(s, name, entry))
		if err != nil {
			return nil, fmt.Errorf("config %q: %w", name, err)
		}
		return &cachedConfig{entry: entry, conn: conn}, nil
	})
}

// readEntry reads the JSON entry prefix+name (configs, roles); nil when there is none.
func readEntry[T any](ctx context.Context, s logical.Storage, prefix, name string) (*T, error) {
	what := strings.TrimSuffix(strings.TrimSuffix(prefix, "/"), "s") // "config", "role"
	e, err := s.Get(ctx, prefix+name)
	if err != nil {
		return nil, fmt.Errorf("read %s %q: %w", what, name, err)
	}
	if e == nil {
		return nil, nil
	}
	var v T
	if err := e.DecodeJSON(&v); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", what, name, err)
	}
	return &v, nil
}

// storeConfig stores c as config name and drops its cached connection.
func (b *backend) storeConfig(ctx context.Context, s logical.Storage, name string, c *configEntry) error {
	entry, err := logical.StorageEntryJSON(configPrefix+name, c)
	if err != nil {
		return fmt.Errorf("encode config %q: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Dropped even when the write answers an error: it may have committed all the same.
	defer b.dropConfigLocked(name)
	if err := s.Put(ctx, entry); err != nil {
		return fmt.Errorf("store config %q: %w", name, err)
	}
	return nil
}

// cacheThrough returns cache[name], or what load reads, kept in cache when found. load runs
// under b.mu, so that a write, which drops the entry under b.mu after storing, can never see
// its entry put back from before it.
func cacheThrough[T any](b *backend, cache map[string]*T, name string, load func() (*T, error)) (*T, error) {
	b.mu.RLock()
	v := cache[name]
	b.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if v := cache[name]; v != nil {
		return v, nil
	}
	v, err := load()
	if err != nil || v == nil {
		return nil, err
	}
	cache[name] = v
	return v, nil
}

// dial connects to a config's product, its logins and other calls paced by the windows of its
// base URL; notes hears of the root sessions it keeps (nil: kept unnoted, for a client closed
// after one call), within config name's slots.
func (b *backend) dial(name string, c *configEntry, notes client.RootSessionNotes) (*client.Client, error) {
	s := c.settings()
	s.RootSessionIdle, s.RootSessionMaxAge, s.RootSessionNotes = rootIdle(), rootMaxAge(), notes
	s.RootSessionSlots = b.rootSlotsOf(name)
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
	return firstUse(&b.windowMu, m, url, start)
}

// firstUse returns m[key], made by start on first use; mu guards m.
func firstUse[V any](mu *sync.Mutex, m map[string]V, key string, start func() V) V {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[key]
	if !ok {
		v = start()
		m[key] = v
	}
	return v
}

func (b *backend) dropConfig(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropConfigLocked(name)
}

// closeConfig drops config name's cached client and closes it, its kept root sessions logged
// out before it returns, with those of clients dropped before.
func (b *backend) closeConfig(name string) {
	b.dropConfig(name)
	b.closing.Wait()
}

// dropConfigLocked drops config name's cached client, closed in the background: its kept root
// sessions are logged out, which must not hold b.mu for a round trip.
func (b *backend) dropConfigLocked(name string) {
	if c := b.configs[name]; c != nil {
		b.closing.Go(c.close)
		delete(b.configs, name)
	}
}
