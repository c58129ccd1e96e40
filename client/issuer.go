package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SessionIssuer issues JSON-RPC sessions (FortiAnalyzer, FortiManager). Login may answer a
// session together with an *UnrevokedToken error: the session is good, the token must be revoked.
type SessionIssuer interface {
	Login(ctx context.Context) (string, error)
	Logout(ctx context.Context, session string) error
	// Status reports whether a session is alive (ErrGone when not), asking first the status
	// call the probe names (see JSONRPC.StatusVia).
	Status(ctx context.Context, session string, first Probe) error
	// LearnProbe finds which status call answers for the admin of a live session.
	LearnProbe(ctx context.Context, session string) (Probe, error)
	// LoginAs opens a session as another local admin of the same product, over the same
	// connection (a dynamic admin, just created): a call that creates, like Login.
	LoginAs(ctx context.Context, user, password string) (string, error)
}

// AdminTable manages the local admins of a FortiAnalyzer/FortiManager with the config's root
// credential, for dynamic_admin roles [docs/upstream.md §1]. The admin calls are JSONRPC's.
type AdminTable interface {
	// RootAuth is how admin calls authenticate as the config's root: its API key (auth_method
	// api_key; no call is made), or a root session lent for the caller's calls (local_user: one
	// kept from an earlier caller, else a login once fewer than the config's root sessions are
	// live, waiting while ctx lasts; rootpool.go). Other auth methods cannot manage admins:
	// ErrRefused.
	RootAuth(ctx context.Context) (Auth, error)
	// EndRootAuth ends what RootAuth gave: a lent session is given back, to be kept or logged
	// out; any other session is logged out (one already gone is ended); a key needs nothing.
	EndRootAuth(ctx context.Context, auth Auth) error
	AddAdmin(ctx context.Context, auth Auth, a Admin) error
	GetAdmin(ctx context.Context, auth Auth, name string) (*Admin, error)
	DeleteAdmin(ctx context.Context, auth Auth, name string) error
	CheckAdminAccess(ctx context.Context, auth Auth) error
}

// TokenIssuer issues access tokens (FortiLAN users, FortiCloud API users).
type TokenIssuer interface {
	Issue(ctx context.Context) (Token, error)
	Revoke(ctx context.Context, token string) error
}

// APIUserIssuer creates and ends a REST API admin of its own per lease, with its key (FortiGate
// api-users; FortiOS implements it). The caller runs the steps, so that it can note the name it
// chose (a WAL entry) before the first: CreateAPIUser, GenerateKey, and DeleteAPIUser if anything
// fails after the create was sent. Errors as FortiOS's methods say.
type APIUserIssuer interface {
	// Status asks the FortiGate's status with the config's key.
	Status(ctx context.Context) (StatusInfo, error)
	// CheckKey asks it with key instead: a new root key is checked so before it is stored.
	CheckKey(ctx context.Context, key string) (StatusInfo, error)
	// MayManageAPIUsers reports whether the api-user name (the config's own) may create and
	// delete api-users.
	MayManageAPIUsers(ctx context.Context, name string) error
	CreateAPIUser(ctx context.Context, u APIUser) error
	GenerateKey(ctx context.Context, name string, expiryMinutes int) (string, error)
	GetAPIUser(ctx context.Context, name string) (*APIUser, error)
	DeleteAPIUser(ctx context.Context, name string) error
}

// Client is one config's client of its product: a transport and the issuer it feeds.
type Client struct {
	Product   Product
	Transport *Transport
	OAuth     *OAuth        // FortiCloud IAM, for forticloud_api_user
	Sessions  SessionIssuer // set for FamilySession
	Admins    AdminTable    // set for FamilySession
	Tokens    TokenIssuer   // set for FamilyToken
	APIUsers  APIUserIssuer // set for FamilyAPIUser

	oauthT *Transport // IAM's own, when url's TLS settings must not apply to auth_url
	roots  *rootPool  // the root sessions Admins keeps (FamilySession)
}

// Close logs out the root sessions the client keeps, all at once within rootLogoutTimeout (one
// whose logout fails keeps its note, for the successor), and drops its idle connections. A root
// session lent out now is logged out when given back.
func (c *Client) Close() {
	if c.roots != nil {
		c.roots.close()
	}
	c.Transport.Close()
	if c.oauthT != nil {
		c.oauthT.Close()
	}
}

// New builds the client for s. Nothing is sent upstream.
func New(s Settings) (*Client, error) {
	p, ok := LookupProduct(s.Type)
	if !ok {
		return nil, fmt.Errorf("unknown product type %q", s.Type)
	}
	t, err := NewTransport(Options{TLS: s.TLS, Timeout: s.Timeout, RetryBudget: retryBudget(s.Timeout)})
	if err != nil {
		return nil, err
	}
	c := &Client{Product: p, Transport: t}
	oauthT := t
	if ownIAMTransport(p, s.TLS) {
		// tls_server_name and tls_skip_verify are for url; FortiCloud IAM keeps its own name
		// and full checks (the API user's password goes there).
		if oauthT, err = NewTransport(Options{TLS: TLSConfig{CACert: s.TLS.CACert}, Timeout: s.Timeout, RetryBudget: retryBudget(s.Timeout)}); err != nil {
			return nil, err
		}
		c.oauthT = oauthT
	}
	c.OAuth = NewOAuth(orDefault(s.AuthURL, DefaultAuthURL), oauthT)
	c.Sessions, c.Tokens = newIssuers(p, s, t, c.OAuth)
	if p.Family == FamilyAPIUser {
		c.APIUsers = NewFortiOS(s.URL, s.APIKey, t)
	}
	if s.Observer != nil {
		c.Sessions, c.Tokens = observe(p.Type, s.Observer, c.Sessions, c.Tokens)
		c.APIUsers = observeAPIUsers(p.Type, s.Observer, c.APIUsers)
	}
	if c.Sessions != nil {
		c.roots = newRootPool(s, c.Sessions)
		c.Admins = &adminTable{JSONRPC: NewJSONRPC(p.Type, s.URL, t), method: s.AuthMethod, apiKey: s.APIKey,
			sessions: c.Sessions, roots: c.roots}
		if s.Observer != nil {
			c.Admins = observedAdmins{AdminTable: c.Admins, product: p.Type, obs: s.Observer}
		}
	}
	return c, nil
}

// ownIAMTransport reports whether FortiCloud IAM needs a transport of its own: url's TLS
// settings that loosen or rename its checks (tls_server_name, tls_skip_verify) are for url
// alone. The CA bundle applies to both.
func ownIAMTransport(p Product, tls TLSConfig) bool {
	return p.UsesURL && (tls.ServerName != "" || tls.SkipVerify)
}

// newIssuers builds the issuer of p's family for s's auth method: sessions over t, or tokens
// from IAM (API users) or FortiLAN (its users, over t); the other is nil.
func newIssuers(p Product, s Settings, t *Transport, oauth *OAuth) (SessionIssuer, TokenIssuer) {
	clientID := orDefault(s.ClientID, p.DefaultClientID)
	switch {
	case p.Family == FamilySession:
		return &sessionIssuer{s: s, clientID: clientID, rpc: NewJSONRPC(p.Type, s.URL, t), oauth: oauth}, nil
	case p.Family == FamilyToken && s.AuthMethod == AuthAPIUser:
		return nil, &oauthIssuer{s: s, clientID: clientID, oauth: oauth}
	case p.Family == FamilyToken:
		lan := NewFortiLAN(orDefault(s.URL, p.DefaultURL), t, s.Limiter)
		lan.SetCallLimiter(s.CallLimiter)
		return nil, &lanIssuer{s: s, lan: lan}
	}
	return nil, nil
}

// observe wraps the issuers that are set so that obs hears of their every operation.
func observe(product string, obs Observer, si SessionIssuer, ti TokenIssuer) (SessionIssuer, TokenIssuer) {
	if si != nil {
		si = observedSessions{SessionIssuer: si, product: product, obs: obs}
	}
	if ti != nil {
		ti = observedTokens{TokenIssuer: ti, product: product, obs: obs}
	}
	return si, ti
}

// orDefault is v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// retryBudget bounds one call, retries included: room for a retry after a slow failure, yet
// inside Vault's own request timeout (90 s by default).
func retryBudget(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return min(2*timeout, maxRetryBudget)
}

type sessionIssuer struct {
	s        Settings
	clientID string
	rpc      *JSONRPC
	oauth    *OAuth
}

func (i *sessionIssuer) Login(ctx context.Context) (string, error) {
	switch i.s.AuthMethod {
	case AuthForticloudToken:
		return i.rpc.LoginCloudToken(ctx, i.s.Token)
	case AuthLocalUser:
		return i.rpc.LoginUser(ctx, i.s.Username, i.s.Password)
	case AuthAPIKey:
		return "", &Error{Op: i.s.Type + ": login", Kind: ErrRefused,
			Message: "auth_method api_key opens no session (the key goes with every call): it serves dynamic_admin roles only"}
	case AuthAPIUser:
		tok, err := i.oauth.Token(ctx, i.s.APIID, i.s.Password, i.clientID)
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return "", noTokenMinted{err}
			}
			return "", err
		}
		sid, err := i.rpc.ExchangeCloud(ctx, tok.AccessToken)
		// The session does not need the OAuth token once issued, and a live token is one more
		// secret to lose: revoke it now, as pyFMG does. When that fails, the caller gets the
		// token back (with the session, or with the exchange's error) and sees to it.
		rerr := i.oauth.Revoke(context.WithoutCancel(ctx), i.clientID, tok.AccessToken)
		if rerr != nil && !errors.Is(rerr, ErrGone) {
			left := &UnrevokedToken{Token: tok.AccessToken, ClientID: i.clientID, Err: rerr}
			if err != nil {
				return "", errors.Join(err, left)
			}
			return sid, left
		}
		return sid, err
	}
	return "", fmt.Errorf("%s: auth_method %q is not supported", i.s.Type, i.s.AuthMethod)
}

func (i *sessionIssuer) LoginAs(ctx context.Context, user, password string) (string, error) {
	return i.rpc.LoginUser(ctx, user, password)
}

func (i *sessionIssuer) Logout(ctx context.Context, session string) error {
	return i.rpc.Logout(ctx, session)
}

func (i *sessionIssuer) Status(ctx context.Context, session string, first Probe) error {
	return i.rpc.StatusVia(ctx, session, first)
}

func (i *sessionIssuer) LearnProbe(ctx context.Context, session string) (Probe, error) {
	return i.rpc.LearnProbe(ctx, session)
}

// adminTable is the AdminTable of a config: its JSON-RPC client, how its root authenticates
// and, for a local_user root, the sessions it keeps between callers.
type adminTable struct {
	*JSONRPC
	method, apiKey string
	sessions       SessionIssuer
	roots          *rootPool
}

// RootAuth lends a kept root session when there is one (a local_user root); else it logs in.
func (t *adminTable) RootAuth(ctx context.Context) (Auth, error) {
	switch t.method {
	case AuthAPIKey:
		if t.apiKey == "" {
			return Auth{}, &Error{Op: t.product + ": root auth", Kind: ErrRefused, Message: "api_key is empty"}
		}
		return Auth{APIKey: t.apiKey}, nil
	case AuthLocalUser:
		rs, err := t.roots.lend(ctx)
		if rs == nil {
			return Auth{}, err
		}
		return Auth{Session: rs.sid, root: rs}, err
	}
	return Auth{}, &Error{Op: t.product + ": root auth", Kind: ErrRefused,
		Message: fmt.Sprintf("auth_method %s cannot manage admins: use %s or %s", t.method, AuthLocalUser, AuthAPIKey)}
}

// EndRootAuth gives a lent root session back to be kept; it logs out any other session.
func (t *adminTable) EndRootAuth(ctx context.Context, auth Auth) error {
	if auth.root != nil {
		t.roots.put(auth.root)
		return nil
	}
	if auth.Session == "" {
		return nil
	}
	if err := t.sessions.Logout(ctx, auth.Session); err != nil && !errors.Is(err, ErrGone) {
		return err
	}
	return nil
}

func (t *adminTable) AddAdmin(ctx context.Context, auth Auth, a Admin) error {
	return t.inRoot(ctx, auth, func(auth Auth) error { return t.JSONRPC.AddAdmin(ctx, auth, a) })
}

func (t *adminTable) GetAdmin(ctx context.Context, auth Auth, name string) (a *Admin, err error) {
	err = t.inRoot(ctx, auth, func(auth Auth) error {
		a, err = t.JSONRPC.GetAdmin(ctx, auth, name)
		return err
	})
	return a, err
}

func (t *adminTable) DeleteAdmin(ctx context.Context, auth Auth, name string) error {
	return t.inRoot(ctx, auth, func(auth Auth) error { return t.JSONRPC.DeleteAdmin(ctx, auth, name) })
}

func (t *adminTable) CheckAdminAccess(ctx context.Context, auth Auth) error {
	return t.inRoot(ctx, auth, func(auth Auth) error { return t.JSONRPC.CheckAdminAccess(ctx, auth) })
}

type lanIssuer struct {
	s   Settings
	lan *FortiLAN
}

func (i *lanIssuer) Issue(ctx context.Context) (Token, error) {
	return i.lan.Login(ctx, LANUser{AccountID: i.s.AccountID, UserName: i.s.Username, Password: i.s.Password, IAM: i.s.AuthMethod == AuthIAMUser})
}

func (i *lanIssuer) Revoke(ctx context.Context, token string) error {
	return i.lan.Invalidate(ctx, token)
}

type oauthIssuer struct {
	s        Settings
	clientID string
	oauth    *OAuth
}

func (i *oauthIssuer) Issue(ctx context.Context) (Token, error) {
	tok, err := i.oauth.Token(ctx, i.s.APIID, i.s.Password, i.clientID)
	if errors.Is(err, ErrRefused) {
		return tok, noTokenMinted{err}
	}
	return tok, err
}

func (i *oauthIssuer) Revoke(ctx context.Context, token string) error {
	return i.oauth.Revoke(ctx, i.clientID, token)
}
