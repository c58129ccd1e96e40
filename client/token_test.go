package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

func TestParseToken(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		body    string
		kind    error // nil: parsed
		token   string
		expires time.Time
	}{
		{"fortilan absolute", `{"access_token":"abc","expires_in":1593739101}`, nil, "abc", time.Unix(1593739101, 0).UTC()},
		{"iam relative", `{"access_token":"abc","expires_in":14400,"status":"success","token_type":"Bearer"}`, nil, "abc", now.Add(4 * time.Hour)},
		{"string expires_in", `{"access_token":"abc","expires_in":"3600"}`, nil, "abc", now.Add(time.Hour)},
		{"unreadable expires_in keeps the token", `{"access_token":"abc","expires_in":"soon"}`, nil, "abc", time.Time{}},
		{"no expires_in", `{"access_token":"abc"}`, nil, "abc", time.Time{}},
		{"iam error", `{"status":"error","error":"invalid_grant","error_description":"Invalid credentials given."}`, client.ErrRefused, "", time.Time{}},
		{"success without a token", `{"status":"success","message":"successfully authenticated"}`, client.ErrProtocol, "", time.Time{}},
		{"empty object", `{}`, client.ErrProtocol, "", time.Time{}},
		{"html", `<html><body>Login</body></html>`, client.ErrProtocol, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := client.ParseToken([]byte(tc.body), now)
			if tc.kind != nil {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", tok)
				}
				if got := errors.Is(err, client.ErrProtocol); got != (tc.kind == client.ErrProtocol) {
					t.Fatalf("error %v: protocol %v, want %v", err, got, tc.kind == client.ErrProtocol)
				}
				return
			}
			if err != nil || tok.AccessToken != tc.token || !tok.ExpiresAt.Equal(tc.expires) {
				t.Fatalf("got %+v, %v; want %s expiring %s", tok, err, tc.token, tc.expires)
			}
		})
	}
}
