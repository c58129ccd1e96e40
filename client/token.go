package client

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Token is an access token with its expiry, as FortiLAN and FortiCloud IAM issue them.
type Token struct {
	AccessToken  string
	RefreshToken string
	TokenType    string
	ExpiresAt    time.Time // zero when the upstream gave no lifetime
}

// protocolError is a parse failure that means the answer was not understood (not JSON, an HTML
// page, no token and no message), as opposed to an answer that names an error. errors.Is
// matches it with ErrProtocol, so callers can tell the two apart.
type protocolError string

func (e protocolError) Error() string        { return string(e) }
func (e protocolError) Is(target error) bool { return target == ErrProtocol }

// parseKind is the Kind of an Error built from a parse failure: ErrProtocol when the answer
// was not understood, ErrRefused when it named an error.
func parseKind(err error) error {
	if errors.Is(err, ErrProtocol) {
		return ErrProtocol
	}
	return ErrRefused
}

// absoluteAfter is the expires_in from which it reads as a UNIX time rather than seconds from
// now: FortiLAN's documented example (1593739101) is a UNIX time, IAM's (14400) is seconds from
// now [docs/upstream.md §2, §3].
const absoluteAfter = 1_000_000_000

// expiry reads an expires_in value given as a number or a numeric string.
func expiry(raw json.RawMessage, now time.Time) (time.Time, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != f || f < 0 || f > 1e12 {
		return time.Time{}, protocolError("expires_in is not a usable number")
	}
	if f >= absoluteAfter {
		return time.Unix(int64(f), 0).UTC(), nil
	}
	return now.Add(time.Duration(f * float64(time.Second))).UTC().Truncate(time.Second), nil
}

// ParseToken reads an access-token answer from FortiLAN (/api/v1/auth) or FortiCloud IAM
// (/api/v1/oauth/token/). An answer that names an error, or lacks a token, is an error whose
// text is the upstream's message, unscrubbed: callers scrub it. An answer that cannot be
// understood (not JSON, no token and no message, a bad expires_in) is an error that matches
// ErrProtocol under errors.Is.
func ParseToken(body []byte, now time.Time) (Token, error) {
	var v struct {
		AccessToken  json.RawMessage `json:"access_token"`
		RefreshToken json.RawMessage `json:"refresh_token"`
		TokenType    json.RawMessage `json:"token_type"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		Status       json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		if looksLikeHTML(body) {
			return Token{}, protocolError("an HTML page instead of a token")
		}
		return Token{}, protocolError("an answer that is not JSON")
	}
	t := Token{AccessToken: rawString(v.AccessToken), RefreshToken: rawString(v.RefreshToken), TokenType: rawString(v.TokenType)}
	status := strings.ToLower(rawString(v.Status))
	if t.AccessToken == "" || (status != "" && status != "success") {
		if status == "success" {
			// A success without a token: its message ("successfully authenticated") is no reason.
			return Token{}, protocolError("a successful answer without an access_token")
		}
		if m := upstreamMessage(body); m != "" {
			return Token{}, errors.New(m)
		}
		if status != "" && status != "success" {
			return Token{}, errors.New("no access_token in the answer")
		}
		return Token{}, protocolError("no access_token in the answer")
	}
	// The token exists upstream whatever its lifetime says: an unreadable expires_in leaves the
	// expiry unknown rather than dropping a token nobody could then invalidate.
	if exp, err := expiry(v.ExpiresIn, now); err == nil {
		t.ExpiresAt = exp
	}
	return t, nil
}
