package fortitest_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// FortiLAN's other calls: 60 a rolling minute by default, invalidate_token and the rest of
// /api/v1/ together, counted apart from auth and not for IAM's oauth; past it, 429 with
// Retry-After, counted by TooManyRequests.
func TestCallRateLimit(t *testing.T) {
	s := fortitest.NewServerT(t)
	s.AddAPIUser("API-1", "api-password-1")
	invalidate := func() answer {
		return post(t, s.Client(), s.URL+"/api/v1/auth/invalidate_token", `{}`, "Authorization", "Bearer x")
	}
	const inv = "/api/v1/auth/invalidate_token"
	for i := range fortitest.DefaultCallRateLimit {
		var a answer
		if i%2 == 0 {
			a = invalidate()
		} else {
			a = post(t, s.Client(), s.URL+"/api/v1/fortiswitch/list", `{}`, "Authorization", "Bearer x")
		}
		if a.status != 401 {
			t.Fatalf("call %d answered %d, want 401 (an unknown token, within the limit)", i+1, a.status)
		}
	}
	a := invalidate()
	ra, err := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != 429 || err != nil || ra < 55 || ra > 60 {
		t.Fatalf("call 61: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	if a := post(t, s.Client(), s.URL+"/api/v1/fortiswitch/list", `{}`, "Authorization", "Bearer x"); a.status != 429 {
		t.Fatalf("another call past the limit: %d", a.status)
	}
	// Logins and IAM are counted apart.
	if a := post(t, s.Client(), s.URL+"/api/v1/auth", `{"accountId":"a","userName":"u","password":"p"}`); a.status != 401 {
		t.Errorf("login while calls are limited: %d", a.status)
	}
	if a := post(t, s.Client(), s.URL+"/api/v1/oauth/token/", map[string]string{"username": "API-1", "password": "api-password-1",
		"client_id": "fortilancloud", "grant_type": "password"}); a.status != 200 {
		t.Errorf("IAM token while FortiLAN calls are limited: %d", a.status)
	}
	if n, m := s.TooManyRequests(inv), s.TooManyRequests("/api/v1/fortiswitch/list"); n != 1 || m != 1 {
		t.Fatalf("TooManyRequests: invalidate %d, other %d; want 1 and 1", n, m)
	}
	// The window slides; refused calls did not count.
	s.Advance(61 * time.Second)
	for i := range fortitest.DefaultCallRateLimit {
		if a := invalidate(); a.status != 401 {
			t.Fatalf("a minute later, call %d answered %d", i+1, a.status)
		}
	}

	s.SetCallRateLimit(2)
	invalidate()
	invalidate()
	if a := invalidate(); a.status != 429 {
		t.Errorf("limit 2: third call %d", a.status)
	}
	s.SetCallRateLimit(0)
	for i := range 100 {
		if a := invalidate(); a.status != 401 {
			t.Fatalf("limit off: call %d answered %d", i+1, a.status)
		}
	}
	if n := s.TooManyRequests(inv); n != 2 {
		t.Errorf("TooManyRequests(invalidate) = %d, want 2", n)
	}
	// Auth's 429s are counted at their path.
	s.SetAuthRateLimit(1)
	post(t, s.Client(), s.URL+"/api/v1/auth", `{}`)
	post(t, s.Client(), s.URL+"/api/v1/auth", `{}`)
	if n := s.TooManyRequests("/api/v1/auth"); n != 1 {
		t.Errorf("TooManyRequests(/api/v1/auth) = %d, want 1", n)
	}
	s.ResetCalls()
	if n := s.TooManyRequests(inv); n != 0 {
		t.Errorf("after ResetCalls, TooManyRequests = %d", n)
	}
}
