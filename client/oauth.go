package client

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// DefaultAuthURL is FortiCloud IAM's base URL.
const DefaultAuthURL = "https://customerapiauth.fortinet.com"

// OAuth is a FortiCloud IAM client: API users' password grant and revoke.
type OAuth struct {
	base string
	t    *Transport
	now  func() time.Time
}

// NewOAuth returns a client for base (https://customerapiauth.fortinet.com).
func NewOAuth(base string, t *Transport) *OAuth {
	return &OAuth{base: strings.TrimRight(base, "/"), t: t, now: time.Now}
}

// Token runs the password grant for an API user.
func (c *OAuth) Token(ctx context.Context, apiID, password, clientID string) (Token, error) {
	return c.grant(ctx, "forticloud iam: token", map[string]string{
		"username": apiID, "password": password, "client_id": clientID, "grant_type": "password",
	}, password)
}

func (c *OAuth) grant(ctx context.Context, op string, body map[string]string, secret string) (Token, error) {
	r := request{op: op, url: c.base + "/api/v1/oauth/token/", body: body, secrets: []string{secret}, creates: true}
	resp, err := c.t.post(ctx, r)
	if err != nil {
		return Token{}, err
	}
	if resp.status != http.StatusOK {
		return Token{}, statusError(r, resp)
	}
	tok, err := ParseToken(resp.body, c.now())
	if err != nil {
		return Token{}, &Error{Op: op, Kind: parseKind(err), Status: resp.status, Message: scrub(err.Error(), secret)}
	}
	if tok.TokenType == "" {
		tok.TokenType = "Bearer"
	}
	return tok, nil
}

// Revoke ends an access token. IAM answers 200 whether or not the token still existed; an
// answer that says the token is unknown, invalid or expired (see iamTokenGone) is ErrGone.
func (c *OAuth) Revoke(ctx context.Context, clientID, token string) error {
	const op = "forticloud iam: revoke token"
	r := request{op: op, url: c.base + "/api/v1/oauth/revoke_token/",
		body: map[string]string{"client_id": clientID, "token": token}, secrets: []string{token}}
	return c.t.endToken(ctx, r, token, iamTokenGone)
}
