package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for the parsers of FortiOS answers. Their seed corpora, under
// testdata/fuzz/<FuzzName>/, hold the answer shapes of docs/upstream.md §6 and malformed ones.

// fosParseErrors is every error text ParseFortiOS may return: fixed, so that no part of an
// answer (a key above all) can reach an error.
var fosParseErrors = map[string]bool{
	"an HTML page instead of a FortiOS answer":    true,
	"an answer that is not a FortiOS JSON object": true,
	"a FortiOS answer without a status":           true,
}

func FuzzParseFortiOS(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseFortiOS(body)
		if err != nil {
			if a != nil {
				t.Fatalf("an answer with an error: %+v", a)
			}
			if !fosParseErrors[err.Error()] || !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %q is not one of the fixed texts matching ErrProtocol", err)
			}
			return
		}
		if a.Status != fosSuccess && a.Status != fosFailure {
			t.Fatalf("status %q", a.Status)
		}
		for _, s := range []string{a.Message, a.Mkey, a.Version, a.Serial} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %+v", a)
			}
		}
		// What was read survives a round trip through the canonical shape.
		canon, err := json.Marshal(map[string]any{
			"status": a.Status, "http_status": a.HTTPStatus, "error": a.Code, "cli_error": a.Message,
			"mkey": a.Mkey, "version": a.Version, "serial": a.Serial, "build": a.Build,
		})
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", a, err)
		}
		again, err := ParseFortiOS(canon)
		if err != nil || again.Status != a.Status || again.HTTPStatus != a.HTTPStatus || again.Code != a.Code ||
			again.Mkey != a.Mkey || again.Version != a.Version || again.Serial != a.Serial || again.Build != a.Build ||
			strings.TrimSpace(a.Message) != "" && again.Message != a.Message {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, a)
		}
		// The answer is never taken for a success it does not say.
		var v struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(body, &v) == nil && (a.Status == fosSuccess) != strings.EqualFold(strings.TrimSpace(v.Status), fosSuccess) {
			t.Fatalf("status %q read as %q", v.Status, a.Status)
		}
	})
}

func FuzzReadGeneratedKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, results []byte) {
		key, err := ReadGeneratedKey(results)
		if err != nil {
			if key != "" {
				t.Fatalf("key %q with an error", key)
			}
			if err != errNoKey && err != errBadKey {
				t.Fatalf("error %v is not one of the fixed ones", err)
			}
			return
		}
		if key == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) {
			t.Fatalf("key %q cannot travel in a header", key)
		}
		// The key is the answer's own access_token or api_key.
		m, _ := resultObject(results)
		if rawString(m["access_token"]) != key && rawString(m["api_key"]) != key {
			t.Fatalf("key %q is not in the answer's results", key)
		}
	})
}

func FuzzReadAPIUser(f *testing.F) {
	f.Fuzz(func(t *testing.T, results []byte) {
		u, err := readAPIUser(results)
		if err != nil {
			if u != nil {
				t.Fatalf("an api-user with an error: %+v", u)
			}
			return
		}
		// Every trusthost reads as a CIDR or as FortiOS spelled it, never as nothing wider.
		for _, h := range u.TrustedHosts {
			if !utf8.ValidString(h) {
				t.Fatalf("trusthost %q is not UTF-8", h)
			}
		}
		raw, _ := resultRaw(results)
		var v struct {
			TrustHost []json.RawMessage `json:"trusthost"`
		}
		if json.Unmarshal(raw, &v) == nil && len(v.TrustHost) != len(u.TrustedHosts) {
			t.Fatalf("%d trusthosts read, the answer holds %d", len(u.TrustedHosts), len(v.TrustHost))
		}
	})
}
