package fortitest

import (
	"fmt"
	"net/http"
	"time"
)

// serveLANAuth is FortiLAN's POST /api/v1/auth:
// {"accountId","userName","password"[,"type":"iamuser"]} -> {"access_token","expires_in"}.
// Bad credentials answer 401 {"error": ...} (the body is not published: a guess).
func (s *Server) serveLANAuth(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return
	}
	if !s.withinRate(w, r.URL.Path, &s.state.authRateLimit, &s.state.authTimes) {
		return
	}

	m, ok := decodeObject(body)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid request body"})
		return
	}
	typ := str(m, "type")
	if typ != "" && typ != "iamuser" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid user type"})
		return
	}
	key := lanKey{account: str(m, "accountId"), user: str(m, "userName"), iam: typ == "iamuser"}
	pass := str(m, "password")

	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.state.lanUsers[key]
	if !ok || pass == "" || want != pass {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid username or password"})
		return
	}
	tok := secret()
	now := s.now()
	exp := now.Add(s.state.lanTTL)
	s.state.lanTokens[tok] = exp
	expiresIn := exp.Unix()
	if s.state.lanRelative {
		expiresIn = int64(s.state.lanTTL / time.Second)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": expiresIn})
}

// withinRate counts one request to path against a per-minute limit and its record of the
// minute (FortiLAN's auth requests, or its other calls: fields of s.state, read under s.mu), or
// answers it 429 with Retry-After in seconds and reports false. Refused requests do not count.
func (s *Server) withinRate(w http.ResponseWriter, path string, limit *int, times *[]time.Time) bool {
	s.mu.Lock()
	wait, limited := s.rateLimited(*limit, times)
	if limited {
		s.state.tooMany[path]++
	}
	s.mu.Unlock()
	if limited {
		w.Header().Set("Retry-After", fmt.Sprint(int64((wait+time.Second-1)/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many requests"})
	}
	return !limited
}

// rateLimited counts one request in the rolling minute of times, or says how long to wait;
// s.mu must be held.
func (s *Server) rateLimited(limit int, times *[]time.Time) (time.Duration, bool) {
	if limit <= 0 {
		return 0, false
	}
	now := s.now()
	keep := (*times)[:0]
	for _, t := range *times {
		if now.Sub(t) < time.Minute {
			keep = append(keep, t)
		}
	}
	*times = keep
	if len(keep) >= limit {
		wait := keep[0].Add(time.Minute).Sub(now)
		if wait < time.Second {
			wait = time.Second
		}
		return wait, true
	}
	*times = append(keep, now)
	return 0, false
}

// withinCallRate counts one of FortiLAN's calls other than auth (invalidate_token and the rest
// of /api/v1/) against its own limit; see withinRate.
func (s *Server) withinCallRate(w http.ResponseWriter, path string) bool {
	return s.withinRate(w, path, &s.state.callRateLimit, &s.state.callTimes)
}

// serveLANInvalidate is POST /api/v1/auth/invalidate_token with Authorization: Bearer <token>
// and {"access_token": <token>}: 200 {} when the token was live; for a token that is unknown,
// expired or already invalidated, 401 {"error":"invalid token"} or the shape SetLANGone picks;
// 400 {"error":"invalid request body"} when the body is not an object naming access_token, 400
// {"error":"access_token does not match"} when it names another token (the Bearer is checked
// first, as an API's authentication runs before its handler). Not published: guesses.
func (s *Server) serveLANInvalidate(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return
	}
	tok := bearer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == "" || !s.lanTokenLive(tok) {
		writeGone(w, s.state.lanGone, func() {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
		})
		return
	}
	m, ok := decodeObject(body)
	named := str(m, "access_token")
	if !ok || named == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid request body"})
		return
	}
	if named != tok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "access_token does not match"})
		return
	}
	delete(s.state.lanTokens, tok)
	writeJSON(w, http.StatusOK, map[string]any{})
}

// serveLANCall stands for any other FortiLAN API call: 200 {"ok":true} with a live FortiLAN
// token, or a live IAM token for client_id fortilancloud or fortiedgecloud; 401 otherwise.
func (s *Server) serveLANCall(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r)
	s.mu.Lock()
	ok := tok != "" && s.lanTokenLive(tok)
	if !ok && tok != "" {
		if t := s.oauthLive(tok); t != nil && (t.clientID == "fortilancloud" || t.clientID == "fortiedgecloud") {
			ok = true
		}
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// lanTokenLive reports whether a FortiLAN token is live, dropping it if expired; s.mu must be
// held.
func (s *Server) lanTokenLive(tok string) bool {
	exp, ok := s.state.lanTokens[tok]
	if !ok {
		return false
	}
	if !s.now().Before(exp) {
		delete(s.state.lanTokens, tok)
		return false
	}
	return true
}
