package client

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// DefaultFortiLANURL is FortiLAN Cloud's global region.
const DefaultFortiLANURL = "https://fortilan.forticloud.com"

// FortiLAN is a FortiLAN Cloud (FortiEdge Cloud) client for one regional base URL.
type FortiLAN struct {
	base    string
	t       *Transport
	now     func() time.Time
	limiter *LoginLimiter // logins; nil: no limit
	calls   *LoginLimiter // every other call; nil: no limit
}

// NewFortiLAN returns a client for base (https://fortilan.forticloud.com or a region). Logins
// wait on limiter, which may be shared by every client of one base URL, or be nil.
func NewFortiLAN(base string, t *Transport, limiter *LoginLimiter) *FortiLAN {
	return &FortiLAN{base: strings.TrimRight(base, "/"), t: t, now: time.Now, limiter: limiter}
}

// SetCallLimiter makes every call but logins (invalidate_token) wait on l, which may be shared
// by every client of one base URL, or be nil (no limit, the default). FortiLAN counts these
// calls apart from logins [docs/upstream.md §2]. Call it before the client is used.
func (c *FortiLAN) SetCallLimiter(l *LoginLimiter) { c.calls = l }

// LANUser is an email or IAM user's login.
type LANUser struct {
	AccountID string
	UserName  string
	Password  string
	IAM       bool // adds "type":"iamuser"
}

// Login gets an access token (/api/v1/auth).
func (c *FortiLAN) Login(ctx context.Context, u LANUser) (Token, error) {
	const op = "fortilan: login"
	body := map[string]string{"accountId": u.AccountID, "userName": u.UserName, "password": u.Password}
	if u.IAM {
		body["type"] = "iamuser"
	}
	// Every attempt, retries included, counts against FortiLAN's logins a minute. The first
	// queues within the caller's deadline, before the call's own budget starts.
	r := request{op: op, url: c.base + "/api/v1/auth", body: body, secrets: []string{u.Password}, creates: true,
		beforeRetry: func(ctx context.Context) error { return c.limiter.Wait(ctx, op) },
		rateLimited: c.limiter.HoldOff}
	if err := c.limiter.Wait(ctx, op); err != nil {
		return Token{}, err
	}
	resp, err := c.t.post(ctx, r)
	if err != nil {
		return Token{}, err
	}
	if resp.status != http.StatusOK && resp.status != http.StatusCreated {
		return Token{}, statusError(r, resp)
	}
	tok, err := ParseToken(resp.body, c.now())
	if err != nil {
		return Token{}, &Error{Op: op, Kind: parseKind(err), Status: resp.status, Message: scrub(err.Error(), u.Password)}
	}
	return tok, nil
}

// Invalidate ends a token (/api/v1/auth/invalidate_token). An answer that says the token is
// unknown, invalid or expired (see lanTokenGone) is ErrGone.
func (c *FortiLAN) Invalidate(ctx context.Context, token string) error {
	const op = "fortilan: invalidate token"
	// Every attempt, retries included, counts against FortiLAN's other calls a minute; the
	// first queues within the caller's deadline (a mass revoke queues here), and a 429's
	// Retry-After holds back the other calls to this base URL too.
	r := request{op: op, url: c.base + "/api/v1/auth/invalidate_token", bearer: token,
		body: map[string]string{"access_token": token}, secrets: []string{token},
		beforeRetry: func(ctx context.Context) error { return c.calls.Wait(ctx, op) },
		rateLimited: c.calls.HoldOff}
	if err := c.calls.Wait(ctx, op); err != nil {
		return err
	}
	return c.t.endToken(ctx, r, token, lanTokenGone)
}
