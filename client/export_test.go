package client

import "context"

// Refresh trades a refresh token for a new access token. Only tests use it: the engine mints
// with the password grant, and the refresh grant is tested as a call that creates.
func (c *OAuth) Refresh(ctx context.Context, clientID, refreshToken string) (Token, error) {
	return c.grant(ctx, "forticloud iam: refresh", map[string]string{
		"client_id": clientID, "grant_type": "refresh_token", "refresh_token": refreshToken,
	}, refreshToken)
}

// Status is StatusVia asking /sys/status first, as for an admin whose probe is not learnt.
func (c *JSONRPC) Status(ctx context.Context, session string) error {
	return c.StatusVia(ctx, session, ProbeUnknown)
}

// NewLoginLimiter allows n logins per rolling minute in a window of its own; n <= 0 means no
// limit (nil).
func NewLoginLimiter(n int) *LoginLimiter {
	return NewLoginWindow().Limiter(n)
}
