package client

import (
	"strings"
	"testing"
	"time"
)

func TestScrub(t *testing.T) {
	for _, tc := range []struct {
		msg, secret string
	}{
		{"bad password abc for user", "abc"},                // short secrets too
		{"login failed: p%40ss+w%2Frd", "p@ss w/rd"},        // echoed URL-encoded
		{"token eyJhbGciOi.x.y rejected", "eyJhbGciOi.x.y"}, // plain
		{"two: s3cr3t and s3cr3t", "s3cr3t"},                // every occurrence
	} {
		if out := scrub(tc.msg, tc.secret); strings.Contains(out, tc.secret) || !strings.Contains(out, "[redacted]") {
			t.Errorf("scrub(%q, %q) = %q", tc.msg, tc.secret, out)
		}
	}
	if out := scrub("nothing to hide", ""); out != "nothing to hide" {
		t.Errorf("an empty secret changed the message: %q", out)
	}
}

func TestParseRetryAfterLong(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"99999999999999999999": time.Hour, // past uint64: still an hour, not 0
		"0000007":              7 * time.Second,
		"-5":                   0,
	} {
		if got := parseRetryAfter(v, time.Now()); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
