package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for every parser of upstream answers. Their seed corpora, under
// testdata/fuzz/<FuzzName>/, hold the real-shaped answers of docs/upstream.md and malformed ones.
// They sit in package client to reach the unexported parsers; the exported ones are fuzzed as a
// caller sees them.

// fuzzNow is the clock of the parsers under fuzzing.
var fuzzNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// rpcParseErrors is every error text ParseRPC may return: fixed, so that no part of an answer
// (a session above all) can reach an error.
var rpcParseErrors = map[string]bool{
	"an HTML page instead of JSON-RPC":                true,
	"an answer that is not JSON-RPC":                  true,
	"a JSON-RPC answer without a result":              true,
	"a JSON-RPC result that is not a list of objects": true,
	"a JSON-RPC answer with an empty result":          true,
	"a JSON-RPC result that is not an object":         true,
	"a JSON-RPC result without a status":              true,
	"a JSON-RPC status without a numeric code":        true,
}

func FuzzParseRPC(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := ParseRPC(body)
		// The one decode reads an answer as the steps do, or leaves it to them.
		steps, stepsErr := rpcInSteps(body)
		if one, ok := rpcInOnePass(body); ok && (stepsErr != nil || !reflect.DeepEqual(one, steps)) {
			t.Fatalf("one pass %+v; steps %+v, %v", one, steps, stepsErr)
		}
		if !reflect.DeepEqual(res, steps) || errText(err) != errText(stepsErr) {
			t.Fatalf("ParseRPC = %+v, %v; steps %+v, %v", res, err, steps, stepsErr)
		}
		if err != nil {
			if res != nil {
				t.Fatalf("a result with an error: %+v", res)
			}
			if !rpcParseErrors[err.Error()] {
				t.Fatalf("error text %q is not one of the fixed texts", err)
			}
			return
		}
		if res == nil {
			t.Fatal("no result and no error")
		}
		if !utf8.ValidString(res.Message) || !utf8.ValidString(res.Session) {
			t.Fatalf("invalid UTF-8 in %+v", res)
		}
		// the session is the string the answer holds
		var v struct {
			Session *string `json:"session"`
		}
		if json.Unmarshal(body, &v) == nil && v.Session != nil && *v.Session != res.Session {
			t.Fatalf("session %q, the answer holds %q", res.Session, *v.Session)
		}
		// what was read survives a round trip through the canonical shape
		canon, err := json.Marshal(map[string]any{
			"id":      1,
			"result":  []any{map[string]any{"status": map[string]any{"code": res.Code, "message": res.Message}, "data": res.Data}},
			"session": res.Session,
		})
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", res, err)
		}
		again, err := ParseRPC(canon)
		if err != nil || again.Code != res.Code || again.Message != res.Message || again.Session != res.Session {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, res)
		}
	})
}

var exchangeProtocolErrors = map[string]bool{
	"an HTML page instead of a session": true,
	"an answer that is not JSON":        true,
	"no session in the answer":          true,
}

func FuzzParseExchange(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		sid, err := ParseExchange(body)
		if err != nil {
			if sid != "" {
				t.Fatalf("session %q with an error", sid)
			}
			msg := err.Error()
			switch {
			case exchangeProtocolErrors[msg]:
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("%q does not match ErrProtocol", msg)
				}
			case strings.HasPrefix(msg, "no session in the answer: "):
				// the upstream's own words, and nothing else from the answer
				if m := strings.TrimPrefix(msg, "no session in the answer: "); m == "" || m != upstreamMessage(body) {
					t.Fatalf("error %q is not the upstream's message %q", msg, upstreamMessage(body))
				}
				if errors.Is(err, ErrProtocol) {
					t.Fatalf("a refusal %q matches ErrProtocol", msg)
				}
			default:
				t.Fatalf("unexpected error text %q", msg)
			}
			return
		}
		if sid == "" {
			t.Fatal("empty session without an error")
		}
		var v struct {
			Session string `json:"session"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.Session != sid {
			t.Fatalf("session %q, the answer holds %q (%v)", sid, v.Session, err)
		}
	})
}

var tokenProtocolErrors = map[string]bool{
	"an HTML page instead of a token":             true,
	"an answer that is not JSON":                  true,
	"no access_token in the answer":               true,
	"expires_in is not a usable number":           true,
	"a successful answer without an access_token": true,
}

func FuzzParseToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := ParseToken(body, fuzzNow)
		if err != nil {
			if tok != (Token{}) {
				t.Fatalf("token %+v with an error", tok)
			}
			msg := err.Error()
			if errors.Is(err, ErrProtocol) {
				if !tokenProtocolErrors[msg] {
					t.Fatalf("protocol error with text %q", msg)
				}
				return
			}
			// a refusal: the upstream's own words (scrubbed by the caller), or a fixed text
			if msg != "no access_token in the answer" && msg != upstreamMessage(body) {
				t.Fatalf("error %q is neither fixed nor the upstream's message %q", msg, upstreamMessage(body))
			}
			return
		}
		if tok.AccessToken == "" {
			t.Fatal("empty access token without an error")
		}
		var v struct {
			AccessToken string `json:"access_token"`
			Status      string `json:"status"`
		}
		_ = json.Unmarshal(body, &v)
		if v.AccessToken != tok.AccessToken {
			t.Fatalf("access token %q, the answer holds %q", tok.AccessToken, v.AccessToken)
		}
		if v.Status != "" && !strings.EqualFold(v.Status, "success") {
			t.Fatalf("a token from an answer with status %q", v.Status)
		}
		if !tok.ExpiresAt.IsZero() {
			if tok.ExpiresAt.Location() != time.UTC {
				t.Fatalf("ExpiresAt %v not in UTC", tok.ExpiresAt)
			}
			// either seconds from now (below 10^9 s) or a UNIX time (at most 10^12)
			if u := tok.ExpiresAt.Unix(); u < absoluteAfter || u > 1e12 {
				t.Fatalf("ExpiresAt %v out of range", tok.ExpiresAt)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, fuzzNow)
		if d < 0 || d > time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v, out of [0, 1h]", v, d)
		}
		if v != "" && strings.Trim(v, "0123456789") == "" {
			// Seconds, capped at an hour however many digits.
			digits := strings.TrimLeft(v, "0")
			n := 3600
			if len(digits) <= 4 {
				n = 0
				for _, c := range digits {
					n = n*10 + int(c-'0')
				}
			}
			want := time.Duration(min(n, 3600)) * time.Second
			if d != want {
				t.Fatalf("parseRetryAfter(%q) = %v, want %v", v, d, want)
			}
		}
	})
}

func FuzzUpstreamMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		m := upstreamMessage(body)
		var obj map[string]any
		if json.Unmarshal(body, &obj) != nil {
			switch m {
			case "", "an HTML page instead of JSON", "an answer that is not JSON":
			default:
				t.Fatalf("upstreamMessage of a non-JSON answer = %q", m)
			}
			if m == "" && len(bytes.TrimSpace(body)) != 0 {
				t.Fatalf("a non-empty non-JSON answer gave no description")
			}
			return
		}
		// the first non-empty string among the known keys, or nothing
		want := ""
		for _, k := range []string{"message", "error_description", "error", "detail", "msg"} {
			if s, ok := obj[k].(string); ok && s != "" {
				want = s
				break
			}
		}
		if m != want {
			t.Fatalf("upstreamMessage = %q, want %q", m, want)
		}
	})
}

func FuzzScrub(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg, secret string) {
		out := scrub(msg, secret)
		if len(out) > maxMessage+len("...") {
			t.Fatalf("scrub gave %d bytes", len(out))
		}
		if !utf8.ValidString(out) {
			t.Fatalf("scrub gave invalid UTF-8 %q", out)
		}
		if strings.ContainsFunc(out, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("scrub left a control character in %q", out)
		}
		// A token-like secret (base64 characters, at least 4) never survives, unless it is part
		// of the "[redacted]" or withheld marker itself.
		tokenLike := len(secret) >= 4 && strings.Trim(secret,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=") == ""
		if tokenLike && !strings.Contains("[redacted]", secret) && !strings.Contains(withheld, secret) && strings.Contains(out, secret) {
			t.Fatalf("scrub(%q, %q) = %q holds the secret", msg, secret, out)
		}
	})
}

func TestBackoff(t *testing.T) {
	for attempt := 0; attempt < 100; attempt++ {
		d := backoff(attempt)
		if d <= 0 || d > 5*time.Second {
			t.Fatalf("backoff(%d) = %v", attempt, d)
		}
	}
	if d := backoff(0); d < 187*time.Millisecond || d > 313*time.Millisecond {
		t.Errorf("backoff(0) = %v, want 250ms ± 25%%", d)
	}
}

func TestIsLoginLimit(t *testing.T) {
	for msg, want := range map[string]bool{
		"Maximum number of login sessions reached (login-max)": true,
		"Too many sessions":     true,
		"Login fail":            false,
		"No permission":         false,
		"":                      false,
		"MAX SESSIONS EXCEEDED": true,
	} {
		if got := isLoginLimit(msg); got != want {
			t.Errorf("isLoginLimit(%q) = %v, want %v", msg, got, want)
		}
	}
}
