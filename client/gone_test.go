package client

import (
	"fmt"
	"slices"
	"testing"
)

// The answers a revoke may meet, and which ones say the credential is already gone. Every body
// is tried with every status: a body that says "gone" counts only on a status that may carry
// it, and a status counts only with a body that allows it.
func TestTokenGoneShapes(t *testing.T) {
	const tok = "Live-Token-0123456789abcdef"
	type want struct{ lan, iam bool } // gone at FortiLAN's invalidate_token, at IAM's revoke_token
	bodies := []struct {
		name string
		body string
		// by status: 400, 401, 403, 404; any other status is never gone
		at map[int]want
	}{
		{"oauth invalid_token", `{"error":"invalid_token","error_description":"The access token is invalid or has expired."}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"oauth invalid_token, RFC 6750 wording", `{"error":"invalid_token","error_description":"The access token provided is expired, revoked, malformed, or invalid for other reasons."}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"oauth expired_token", `{"error":"expired_token"}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"invalid token", `{"error":"invalid token"}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"token expired", `{"message":"Token expired"}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"token not found", `{"error":"token not found"}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"unknown token in detail", `{"detail":"Unknown access token."}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"token does not exist", `{"status":"error","msg":"The token does not exist"}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},
		{"token echoed", `{"error":"token ` + tok + ` has expired"}`,
			map[int]want{400: {true, true}, 401: {true, true}, 403: {true, true}, 404: {true, true}}},

		// The request, not the token: kept everywhere but FortiLAN's 401, whose Bearer is the
		// token (a body without an OAuth code says nothing else).
		{"oauth invalid_request", `{"error":"invalid_request","error_description":"Invalid request body."}`,
			map[int]want{}},
		{"oauth invalid_request about the token", `{"error":"invalid_request","error_description":"The token is invalid."}`,
			map[int]want{}},
		{"oauth invalid_client", `{"status":"error","error":"invalid_client","error_description":"Invalid client_id for this token."}`,
			map[int]want{}},
		{"oauth unsupported_token_type", `{"error":"unsupported_token_type"}`,
			map[int]want{}},
		{"malformed body", `{"error":"invalid request body"}`,
			map[int]want{401: {lan: true}}},
		{"token required", `{"error":"invalid_request","error_description":"Token is required."}`,
			map[int]want{}},
		{"token required, no code", `{"message":"access_token is required"}`,
			map[int]want{401: {lan: true}}},
		{"token mismatch", `{"error":"access_token does not match"}`,
			map[int]want{401: {lan: true}}},
		{"invalid client for the token", `{"message":"Invalid client_id for this token"}`,
			map[int]want{401: {lan: true}}},
		{"bad token parameter", `{"message":"Invalid token parameter in request"}`,
			map[int]want{401: {lan: true}}},
		{"path not found", `{"error":"not found"}`,
			map[int]want{401: {lan: true}}},
		{"unauthorized", `{"error":"unauthorized"}`,
			map[int]want{401: {lan: true}}},
		{"permission", `{"message":"Permission denied"}`,
			map[int]want{401: {lan: true}}},
		{"token rejected", `{"error":"token ` + tok + ` rejected"}`,
			map[int]want{401: {lan: true}}},
		{"empty", ``,
			map[int]want{401: {lan: true}}},
		{"empty object", `{}`,
			map[int]want{401: {lan: true}}},
		{"oauth access_denied", `{"error":"access_denied"}`,
			map[int]want{}},
		{"HTML page", `<html><body>Invalid token</body></html>`,
			map[int]want{}},
		{"not JSON", `invalid token`,
			map[int]want{}},
		{"JSON list", `["invalid token"]`,
			map[int]want{}},
	}
	for _, b := range bodies {
		for _, status := range []int{200, 201, 204, 302, 400, 401, 403, 404, 405, 409, 410, 422, 429, 500, 502, 503} {
			t.Run(fmt.Sprintf("%s/%d", b.name, status), func(t *testing.T) {
				w := b.at[status]
				if got := lanTokenGone(status, []byte(b.body), tok); got != w.lan {
					t.Errorf("fortilan: gone = %v, want %v", got, w.lan)
				}
				if got := iamTokenGone(status, []byte(b.body), tok); got != w.iam {
					t.Errorf("forticloud iam: gone = %v, want %v", got, w.iam)
				}
			})
		}
	}
}

func TestRPCGone(t *testing.T) {
	for _, code := range []int{0, -1, -2, -3, -6, -10, -11, -20, -22, -20020, 1} {
		for _, tc := range []struct {
			target rpcTarget
			gone   []int
		}{
			{endSession, []int{-11}}, // logout: the session is gone
			{endObject, []int{-3}},   // delete: the object does not exist; -11 is a missing permission
			{0, nil},                 // nothing to end: never gone
		} {
			if got, want := rpcGone(tc.target, code), slices.Contains(tc.gone, code); got != want {
				t.Errorf("rpcGone(%d, %d) = %v, want %v", tc.target, code, got, want)
			}
		}
	}
}

// The message of an answer read as gone is scrubbed like any other.
func TestGoneErrorScrubbed(t *testing.T) {
	const tok = "Live-Token-0123456789abcdef"
	err := goneError(request{op: "fortilan: invalidate token", secrets: []string{tok}},
		&response{status: 400, body: []byte(`{"error":"invalid_token","error_description":"token ` + tok + ` expired"}`)})
	want := "fortilan: invalidate token: already gone (HTTP 400): token [redacted] expired"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
