// Package client speaks to the Fortinet APIs: FortiAnalyzer/FortiManager JSON-RPC, FortiLAN
// Cloud and FortiCloud IAM OAuth. It knows nothing of Vault.
package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Kinds of failure the backend must tell apart. Every *Error wraps exactly one of them.
var (
	// ErrRefused is the upstream refusing the credentials or the request. Retrying will not help,
	// and for logins may lock the account out.
	ErrRefused = errors.New("refused")
	// ErrGone is a session, token or object that no longer exists upstream, as gone.go reads the
	// answers (FAZ -11 on logout, FortiLAN 401, 400 invalid_token, ...). For a logout, an
	// invalidation or a revoke this means the work is already done.
	ErrGone = errors.New("already gone")
	// ErrRetryLater is a transient failure (network, 5xx, 429, timeout): the same call may
	// succeed later.
	ErrRetryLater = errors.New("try again later")
	// ErrProtocol is an answer that could not be understood (HTML page, broken JSON, too large).
	ErrProtocol = errors.New("unexpected answer")
	// ErrLoginLimit: FortiAnalyzer/FortiManager refused a login because the admin already holds
	// its maximum number of sessions (login-max).
	ErrLoginLimit = errors.New("too many sessions")
	// ErrExists is an object the call was to create that exists already upstream (FAZ/FMG -2,
	// FortiOS -5).
	// Whose it is, the call cannot tell: see the call's own documentation.
	ErrExists = errors.New("already exists")
)

// Error is a failed upstream call. It never holds a secret: messages from upstream are scrubbed
// of every secret the call sent, and truncated.
type Error struct {
	Op         string        // what was attempted, e.g. "fortianalyzer: login"
	Kind       error         // one of the Err* values above
	Status     int           // HTTP status, when one was received
	Code       int           // JSON-RPC status code, when one was read
	Message    string        // the upstream's own words, scrubbed
	RetryAfter time.Duration // from Retry-After, when the upstream sent one
	Err        error         // the underlying error, if any (network, decoding)
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter.Round(time.Second))
	}
	return b.String()
}

// Unwrap lets errors.Is match both the kind and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// RetryAfter reports how long the upstream asked to wait, if err carries that.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// RateLimited reports whether err is a rate limit: the upstream's HTTP 429, with or without
// Retry-After, or the client's own login limiter (no HTTP status, a time to come back).
func RateLimited(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusTooManyRequests || e.Status == 0 && e.RetryAfter > 0)
}

// maxMessage is the longest upstream message an error keeps, in bytes.
const maxMessage = 200

const (
	// minRedactable is the shortest secret cut out of a message: a message holding a shorter
	// one is withheld whole.
	minRedactable = 8
	// withheld is what a withheld message reads.
	withheld = "[upstream message withheld]"
)

// scrub removes every secret from an upstream message and shortens it, so that nothing the
// call sent can come back in an error.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
		if j, err := json.Marshal(s); err == nil {
			forms = append(forms, string(j[1:len(j)-1]))
		}
		for _, f := range forms {
			if !strings.Contains(msg, f) {
				continue
			}
			if len(s) < minRedactable {
				// Cut out of a known text, a short secret shows through: withhold it all.
				return withheld
			}
			msg = strings.ReplaceAll(msg, f, "[redacted]")
		}
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	msg = strings.TrimSpace(msg)
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !isRuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// noTokenMinted marks an API user's login that IAM refused: no OAuth token was minted, so the
// user's live token, if any, still lives.
type noTokenMinted struct{ error }

func (e noTokenMinted) Unwrap() error { return e.error }

// TokenMayBeMinted reports whether an API user's login that ended with err (nil included) may
// have minted an OAuth token, which ends the user's previous one.
func TokenMayBeMinted(err error) bool {
	var n noTokenMinted
	return !errors.As(err, &n)
}

// UnrevokedToken is what a FortiAnalyzer/FortiManager Cloud login answers when the OAuth token
// it minted for the exchange could not be revoked: alone when the session is good (the caller
// holds it), joined to the exchange's error when not. Either way the caller must see that
// Token is revoked later. Its text never holds the token.
type UnrevokedToken struct {
	Token    string
	ClientID string
	Err      error
}

func (e *UnrevokedToken) Error() string {
	return "forticloud iam: revoke the token after the session exchange: " + e.Err.Error()
}

func (e *UnrevokedToken) Unwrap() error { return e.Err }
