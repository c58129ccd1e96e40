package fortitest

import "net/http"

// GoneAnswer picks how the fake says that a token it was asked to end does not exist: unknown,
// expired, or ended already. Neither FortiLAN nor FortiCloud IAM publishes a shape for this
// beyond IAM's 200, and other engines' upstreams have said it with each of these
// [docs/upstream.md §5]: every shape but GoneDefault is a guess, for tests that the client
// reads them all as "already gone".
type GoneAnswer int

const (
	// GoneDefault is the endpoint's own answer: FortiLAN's invalidate_token 401
	// {"error":"invalid token"} (not published: a guess), IAM's revoke_token 200 success
	// (documented).
	GoneDefault GoneAnswer = iota
	// Gone401 answers 401 {"error":"invalid token"}.
	Gone401
	// Gone400InvalidToken answers 400 {"error":"invalid_token","error_description":"The access
	// token is invalid or has expired."}: the OAuth error code (RFC 6750), which another
	// engine's upstream answered on a 400.
	Gone400InvalidToken
	// Gone403Expired answers 403 {"error":"token expired"}.
	Gone403Expired
	// Gone404 answers 404 {"error":"token not found"}.
	Gone404
)

// SetLANGone sets how POST /api/v1/auth/invalidate_token answers a token that is not live.
func (s *Server) SetLANGone(a GoneAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.lanGone = a
}

// SetOAuthGone sets how IAM's POST /api/v1/oauth/revoke_token/ answers a token it does not
// know (IAM's documented answer, 200, is GoneDefault).
func (s *Server) SetOAuthGone(a GoneAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.oauthGone = a
}

// writeGone answers that a token does not exist, as a picks; def is GoneDefault's answer.
func writeGone(w http.ResponseWriter, a GoneAnswer, def func()) {
	switch a {
	case Gone401:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
	case Gone400InvalidToken:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_token", "error_description": "The access token is invalid or has expired."})
	case Gone403Expired:
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "token expired"})
	case Gone404:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "token not found"})
	default:
		def()
	}
}
