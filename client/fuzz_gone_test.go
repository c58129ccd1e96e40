package client

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzTokenGone: whatever the answer, "already gone" is read only from a status that may say it
// and a JSON body; never against an OAuth code about the request; and IAM, whose 401 also means
// a wrong client_id, never reads gone where FortiLAN would not.
func FuzzTokenGone(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, body []byte, token string) {
		lan, iam := lanTokenGone(status, body, token), iamTokenGone(status, body, token)
		if iam && !lan {
			t.Fatalf("gone at IAM but not at FortiLAN: %d %q", status, body)
		}
		if !lan {
			return
		}
		switch status {
		case 400, 401, 403, 404:
		default:
			t.Fatalf("gone on status %d", status)
		}
		var m map[string]any
		if len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &m) != nil {
			t.Fatalf("gone from a body that is not a JSON object: %q", body)
		}
		switch m["error"] {
		case "invalid_request", "invalid_client", "invalid_grant", "unsupported_token_type", "access_denied":
			t.Fatalf("gone against the OAuth code %q", m["error"])
		}
	})
}
