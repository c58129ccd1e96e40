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
}

// TokenIssuer issues access tokens (FortiLAN users, FortiCloud API users).
type TokenIssuer interface {
	Issue(ctx context.Context) (Token, error)
	Revoke(ctx context.Context, token string) error
}

// Conn is one config's connection to its product: a transport and the issuer it feeds.
type Conn struct {
	Product   Product
	Transport *Transport
	OAuth     *OAuth        // FortiCloud IAM, for forticloud_api_user
	Sessions  SessionIssuer // set for FamilySession
	Tokens    TokenIssuer   // set for FamilyToken

	oauthT *Transport // IAM's own, when url's TLS settings must not apply to auth_url
}

// Close drops the connection's idle connections.
func (c *Conn) Close() {
	c.Transport.Close()
	if c.oauthT != nil {
		c.oauthT.Close()
	}
}

// Dial builds the connection for s. Nothing is sent upstream.
func Dial(s Settings) (*Conn, error) {
	p, ok := LookupProduct(s.Type)
	if !ok {
		return nil, fmt.Errorf("unknown product type %q", s.Type)
	}
	t, err := NewTransport(Options{TLS: s.TLS, Timeout: s.Timeout, RetryBudget: retryBudget(s.Timeout)})
	if err != nil {
		return nil, err
	}
	c := &Conn{Product: p, Transport: t}
	authURL := s.AuthURL
	if authURL == "" {
		authURL = DefaultAuthURL
	}
	clientID := s.ClientID
	if clientID == "" {
		clientID = p.DefaultClientID
	}
	oauthT := t
	if p.UsesURL && (s.TLS.ServerName != "" || s.TLS.SkipVerify) {
		// tls_server_name and tls_skip_verify are for url; FortiCloud IAM keeps its own name
		// and full checks (the API user's password goes there).
		if oauthT, err = NewTransport(Options{TLS: TLSConfig{CACert: s.TLS.CACert}, Timeout: s.Timeout, RetryBudget: retryBudget(s.Timeout)}); err != nil {
			return nil, err
		}
		c.oauthT = oauthT
	}
	c.OAuth = NewOAuth(authURL, oauthT)
	switch p.Family {
	case FamilySession:
		c.Sessions = &sessionIssuer{s: s, clientID: clientID, rpc: NewJSONRPC(p.Type, s.URL, t), oauth: c.OAuth}
	case FamilyToken:
		if s.AuthMethod == AuthAPIUser {
			c.Tokens = &oauthIssuer{s: s, clientID: clientID, oauth: c.OAuth}
		} else {
			base := s.URL
			if base == "" {
				base = p.DefaultURL
			}
			lan := NewFortiLAN(base, t, s.Limiter)
			lan.SetCallLimiter(s.CallLimiter)
			c.Tokens = &lanIssuer{s: s, lan: lan}
		}
	}
	if s.Observer != nil {
		if c.Sessions != nil {
			c.Sessions = observedSessions{SessionIssuer: c.Sessions, product: p.Type, obs: s.Observer}
		}
		if c.Tokens != nil {
			c.Tokens = observedTokens{TokenIssuer: c.Tokens, product: p.Type, obs: s.Observer}
		}
	}
	return c, nil
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

func (i *sessionIssuer) Logout(ctx context.Context, session string) error {
	return i.rpc.Logout(ctx, session)
}

func (i *sessionIssuer) Status(ctx context.Context, session string, first Probe) error {
	return i.rpc.StatusVia(ctx, session, first)
}

func (i *sessionIssuer) LearnProbe(ctx context.Context, session string) (Probe, error) {
	return i.rpc.LearnProbe(ctx, session)
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
