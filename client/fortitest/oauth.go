package fortitest

import (
	"encoding/json"
	"net/http"
	"time"
)

// IAM's token lifetimes per product [docs/upstream.md §3].
const (
	// DefaultOAuthTTL is the lifetime of an IAM token for most client_ids.
	DefaultOAuthTTL = 14400 * time.Second
	// DefaultOAuthTTLFortiManager is the lifetime of an IAM token for client_id FortiManager.
	DefaultOAuthTTLFortiManager = 3600 * time.Second
)

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"status": "error", "error": code, "error_description": desc})
}

// oauthRequest answers a request that is not a POST of a JSON object, as IAM does, and returns
// false; else it returns the object.
func oauthRequest(w http.ResponseWriter, r *http.Request, body []byte) (map[string]json.RawMessage, bool) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return nil, false
	}
	m, ok := decodeObject(body)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid request body.")
		return nil, false
	}
	return m, true
}

// serveOAuthToken is IAM's POST /api/v1/oauth/token/: the password grant
// {"username","password","client_id","grant_type":"password"} and the refresh grant
// {"client_id","grant_type":"refresh_token","refresh_token"}. Issuing a token kills the API
// user's previous one, whatever its client_id.
func (s *Server) serveOAuthToken(w http.ResponseWriter, r *http.Request, body []byte) {
	m, ok := oauthRequest(w, r, body)
	if !ok {
		return
	}
	clientID := str(m, "client_id")
	if clientID == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing client_id.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var apiID string
	switch str(m, "grant_type") {
	case "password":
		apiID = str(m, "username")
		want, ok := s.state.apiUsers[apiID]
		if pass := str(m, "password"); !ok || apiID == "" || pass == "" || want != pass {
			oauthError(w, http.StatusUnauthorized, "invalid_grant", "Invalid credentials given.")
			return
		}
	case "refresh_token":
		old := s.state.oauthRefresh[str(m, "refresh_token")]
		if old == nil || old.clientID != clientID {
			oauthError(w, http.StatusUnauthorized, "invalid_grant", "Invalid refresh token.")
			return
		}
		apiID = old.apiID
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type.")
		return
	}
	if prev := s.state.oauthLiveByAPI[apiID]; prev != nil {
		s.killOAuth(prev)
	}
	ttl := s.state.oauthTTL
	if ttl <= 0 {
		ttl = DefaultOAuthTTL
		if clientID == "FortiManager" {
			ttl = DefaultOAuthTTLFortiManager
		}
	}
	t := &oauthToken{apiID: apiID, clientID: clientID, access: secret(), refresh: secret(), expires: s.now().Add(ttl)}
	s.state.oauthAccess[t.access] = t
	s.state.oauthRefresh[t.refresh] = t
	s.state.oauthLiveByAPI[apiID] = t
	expiresIn := int64((ttl + time.Second - 1) / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  t.access,
		"expires_in":    expiresIn,
		"refresh_token": t.refresh,
		"scope":         "read write",
		"status":        "success",
		"message":       "successfully authenticated",
		"token_type":    "Bearer",
	})
}

// serveOAuthRevoke is IAM's POST /api/v1/oauth/revoke_token/ {"client_id","token"}: 200 whether
// or not the token existed (or the shape SetOAuthGone picks for one that did not), 400 for an
// empty token, 401 when client_id is not the one the token was issued for. Either token of a
// pair revokes both.
func (s *Server) serveOAuthRevoke(w http.ResponseWriter, r *http.Request, body []byte) {
	m, ok := oauthRequest(w, r, body)
	if !ok {
		return
	}
	tok := str(m, "token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Token is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.state.oauthAccess[tok]
	if t == nil {
		t = s.state.oauthRefresh[tok]
	}
	live := false
	if t != nil {
		if t.clientID != str(m, "client_id") {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client_id for this token.")
			return
		}
		live = tok == t.refresh || s.now().Before(t.expires)
		s.killOAuth(t)
	}
	revoked := func() {
		writeJSON(w, http.StatusOK, map[string]string{"status": "success", "message": "token revoked"})
	}
	if !live {
		writeGone(w, s.state.oauthGone, revoked)
		return
	}
	revoked()
}

// killOAuth ends a token pair; s.mu must be held.
func (s *Server) killOAuth(t *oauthToken) {
	delete(s.state.oauthAccess, t.access)
	delete(s.state.oauthRefresh, t.refresh)
	if s.state.oauthLiveByAPI[t.apiID] == t {
		delete(s.state.oauthLiveByAPI, t.apiID)
	}
}

// oauthLive returns a live access token, dropping it if expired; s.mu must be held.
func (s *Server) oauthLive(tok string) *oauthToken {
	t := s.state.oauthAccess[tok]
	if t == nil {
		return nil
	}
	if !s.now().Before(t.expires) {
		delete(s.state.oauthAccess, tok)
		return nil
	}
	return t
}
