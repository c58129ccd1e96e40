package client

import (
	"net/http"
	"testing"
	"time"
)

func TestScrub(t *testing.T) {
	for _, tc := range []struct {
		msg, secret, want string
	}{
		{"bad password abc for user", "abc", withheld},                                   // short: the whole message
		{"invalid password for user admin", "a", withheld},                               // cut out, it would show through
		{"login failed: p%40ss+w%2Frd%21%21", "p@ss w/rd!!", "login failed: [redacted]"}, // query-escaped
		{"login failed: p%20w0rd-long", "p w0rd-long", "login failed: [redacted]"},       // path-escaped
		{`echo "\u003cs3cr3t-long\u003e"`, "<s3cr3t-long>", `echo "[redacted]"`},         // JSON-escaped
		{"token eyJhbGciOi.x.y rejected", "eyJhbGciOi.x.y", "token [redacted] rejected"}, // plain
		{"two: s3cr3t-9 and s3cr3t-9", "s3cr3t-9", "two: [redacted] and [redacted]"},     // every occurrence
		{"nothing to hide", "a-long-secret", "nothing to hide"},
		{"nothing to hide", "", "nothing to hide"},
	} {
		if out := scrub(tc.msg, tc.secret); out != tc.want {
			t.Errorf("scrub(%q, %q) = %q, want %q", tc.msg, tc.secret, out, tc.want)
		}
	}
}

func TestParseRetryAfterLong(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"99999999999999999999": time.Hour, // past uint64: still an hour, not 0
		"0000007":              7 * time.Second,
		"-5":                   0,
		now.Add(24 * time.Hour).Format(http.TimeFormat):   time.Hour, // a date a day ahead: an hour
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
