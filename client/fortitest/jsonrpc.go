package fortitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
)

// JSON-RPC status codes the fake answers [docs/upstream.md §1].
const (
	// CodeOK is success.
	CodeOK = 0
	// CodeInvalidURL is answered for a url the fake does not know.
	CodeInvalidURL = -6
	// CodeDataInvalid is answered for data the call cannot take.
	CodeDataInvalid = -10
	// CodeNoSession is "no permission for the resource", which is also the answer for a
	// session gone.
	CodeNoSession = -11
	// CodeLoginMax is answered when an admin holds login-max sessions. Not published: a guess.
	CodeLoginMax = -20
	// CodeLoginFail is answered for a wrong password or token. Not published: a guess.
	CodeLoginFail = -22
)

// Messages of the answers above.
const (
	// MsgLoginMax is CodeLoginMax's message.
	MsgLoginMax = "Maximum number of login sessions reached (login-max)"
	// MsgLoginFail is CodeLoginFail's message.
	MsgLoginFail = "Login fail"
)

type rpcRequest struct {
	id        json.RawMessage
	method    string
	url       string // normalised: leading slash, unescaped
	rawURL    string // as sent, echoed back
	data      map[string]json.RawMessage
	session   string
	keepIdle  bool
	verbose   bool // enum fields answered by name, not number
	malformed bool
	bearer    string     // Authorization: Bearer, an API key
	keyUser   string     // the admin whose key bearer is, once checked
	remote    netip.Addr // the client's address
}

// normURL gives a JSON-RPC url one leading slash and no escaped slashes.
func normURL(u string) string {
	u = strings.TrimSpace(strings.ReplaceAll(u, `\/`, "/"))
	return "/" + strings.TrimLeft(u, "/")
}

// parseRPCRequest reads a JSON-RPC request; a body it cannot read yields malformed.
func parseRPCRequest(body []byte) *rpcRequest {
	var raw struct {
		ID       json.RawMessage `json:"id"`
		Method   string          `json:"method"`
		Params   json.RawMessage `json:"params"`
		Session  json.RawMessage `json:"session"`
		KeepIdle json.RawMessage `json:"keep_session_idle"`
		Verbose  json.RawMessage `json:"verbose"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return &rpcRequest{malformed: true}
	}
	req := &rpcRequest{id: raw.ID, method: raw.Method, keepIdle: isOne(raw.KeepIdle), verbose: isOne(raw.Verbose)}
	_ = json.Unmarshal(raw.Session, &req.session)
	// params: a list of one object (or, leniently, the object itself)
	var param struct {
		URL      string          `json:"url"`
		Data     json.RawMessage `json:"data"`
		KeepIdle json.RawMessage `json:"keep_session_idle"`
	}
	p := bytes.TrimSpace(raw.Params)
	if len(p) > 0 && p[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(p, &list) != nil || len(list) == 0 {
			req.malformed = true
			return req
		}
		p = list[0]
	}
	if json.Unmarshal(p, &param) != nil {
		req.malformed = true
		return req
	}
	req.rawURL = param.URL
	if param.URL != "" {
		req.url = normURL(param.URL)
	}
	if isOne(param.KeepIdle) {
		req.keepIdle = true
	}
	// data: an object or a list of one object
	d := bytes.TrimSpace(param.Data)
	if len(d) > 0 && d[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(d, &list) == nil && len(list) > 0 {
			d = list[0]
		}
	}
	if len(d) > 0 && d[0] == '{' {
		_ = json.Unmarshal(d, &req.data)
	}
	return req
}

func isOne(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "1", "true", `"1"`, `"true"`:
		return true
	}
	return false
}

type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcResultItem struct {
	Status rpcStatus `json:"status"`
	URL    string    `json:"url,omitempty"`
	Data   any       `json:"data,omitempty"`
}

type rpcAnswerBody struct {
	ID      json.RawMessage `json:"id"`
	Result  []rpcResultItem `json:"result"`
	Session string          `json:"session,omitempty"`
}

func rpcAnswer(req *rpcRequest, code int, msg string, data any, session string) rpcAnswerBody {
	id := req.id
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	return rpcAnswerBody{ID: id, Result: []rpcResultItem{{
		Status: rpcStatus{Code: code, Message: msg}, URL: req.rawURL, Data: data,
	}}, Session: session}
}

// serveRPC answers one JSON-RPC call: always HTTP 200, the outcome in result[0].status, but
// for an API key it does not accept (unknown, or from an address its admin does not trust),
// which gets 401 before any JSON-RPC (not published: a guess).
func (s *Server) serveRPC(w http.ResponseWriter, req *rpcRequest) {
	if req.bearer != "" {
		user, ok := s.keyUser(req)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Unauthorized"})
			return
		}
		req.keyUser = user
	}
	code, msg, data, sid := s.rpc(req)
	writeJSON(w, http.StatusOK, rpcAnswer(req, code, msg, data, sid))
}

func (s *Server) rpc(req *rpcRequest) (code int, msg string, data any, sid string) {
	if req.malformed {
		return CodeDataInvalid, "Invalid request", nil, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch req.url {
	case "/sys/login/user":
		if req.method != "exec" {
			return CodeDataInvalid, "The data is invalid for selected url", nil, ""
		}
		user, pass := rawString(req.data["user"]), rawString(req.data["passwd"])
		a := s.state.admins[user]
		// An address the admin does not trust gets the answer of a wrong password: how the
		// real one refuses it is not published, and the unkind reading is that it says no more.
		if a == nil || user == "" || a.password != pass || !a.trusts(req.remote) {
			return CodeLoginFail, MsgLoginFail, nil, ""
		}
		if a.rpcPermit == rpcNone {
			return CodeNoSession, "No permission for the resource", nil, ""
		}
		return s.openSession(user)
	case "/sys/login/cloud":
		if req.method != "exec" {
			return CodeDataInvalid, "The data is invalid for selected url", nil, ""
		}
		user, ok := s.cloudUser(rawString(req.data["token"]))
		if !ok {
			return CodeLoginFail, MsgLoginFail, nil, ""
		}
		return s.openSession(user)
	case "/sys/logout":
		if s.sessionLive(req.session) == nil {
			return CodeNoSession, "No permission for the resource", nil, ""
		}
		s.dropSession(req.session)
		return CodeOK, "OK", nil, ""
	case "/sys/status", "/cli/global/system/status":
		if req.method != "get" {
			return CodeDataInvalid, "The data is invalid for selected url", nil, ""
		}
		ss := s.sessionLive(req.session)
		if ss == nil || !s.profileOf(ss.user).mayRead(req.url) {
			// The same answer for both: a client cannot tell them apart by it.
			return CodeNoSession, "No permission for the resource", nil, ""
		}
		if !req.keepIdle {
			ss.lastUse = s.now()
		}
		return CodeOK, "OK", statusData(), ""
	}
	if code, msg, data, ok := s.adminTable(req); ok {
		return code, msg, data, ""
	}
	return CodeInvalidURL, "Invalid url", nil, ""
}

// Profile is what an admin's profile lets it read, as far as the session probes go: the
// status calls clients make to learn whether a session is alive.
type Profile int

const (
	// ProfileSuperUser reads everything: /sys/status and /cli/global/system/status answer 0.
	// Every admin has it unless given another.
	ProfileSuperUser Profile = iota
	// ProfileNoSystemSettings lacks system settings access: /sys/status answers -11 to its live
	// sessions, as to a gone one, while /cli/global/system/status answers 0 (what Fortinet's
	// Ansible client falls back to) [docs/upstream.md §1].
	ProfileNoSystemSettings
	// ProfileNoStatus may read neither: both answer -11 to its live sessions. No source
	// reports such a profile; it stands for one that shuts out every probe a client knows.
	ProfileNoStatus
)

// mayRead reports whether the profile lets a live session read one of the status urls. A call
// it refuses does not reset the session's idle timer (not published: the unkind reading).
func (p Profile) mayRead(url string) bool {
	switch p {
	case ProfileNoSystemSettings:
		return url != "/sys/status"
	case ProfileNoStatus:
		return false
	}
	return true
}

// statusData is /sys/status's answer.
func statusData() map[string]any {
	return map[string]any{
		"Hostname":                   "fortitest",
		"Version":                    "v7.6.4",
		"Major":                      7,
		"Minor":                      6,
		"Patch":                      4,
		"Build":                      3646,
		"Serial Number":              "FAZ-VMTM00000000",
		"Platform Type":              "FAZVM64",
		"Platform Full Name":         "FortiAnalyzer-VM64",
		"Admin Domain Configuration": "Disabled",
		"HA Mode":                    "Stand Alone",
		"Current Time":               "fake",
	}
}

func rawString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// openSession issues a session for user within login-max; s.mu must be held. Below login-max
// entries the user is surely within it, idle ones or not: only at login-max are its sessions
// counted, idle ones pruned, so that a login costs the same however many sessions are open.
func (s *Server) openSession(user string) (int, string, any, string) {
	if s.state.userSessions[user] >= s.state.loginMax && s.countSessions(user) >= s.state.loginMax {
		return CodeLoginMax, MsgLoginMax, nil, ""
	}
	sid := secret()
	s.state.sessions[sid] = &session{user: user, lastUse: s.now()}
	s.state.userSessions[user]++
	return CodeOK, "OK", nil, sid
}

// cloudUser checks a FortiCloud token for /sys/login/cloud or the exchange: a live IAM token
// for client_id FortiAnalyzer or FortiManager, or a token from AddCloudToken. s.mu must be held.
func (s *Server) cloudUser(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	if t := s.oauthLive(token); t != nil && (t.clientID == "FortiAnalyzer" || t.clientID == "FortiManager") {
		return "cloud:" + t.apiID, true
	}
	if exp, ok := s.state.cloudTokens[token]; ok {
		if exp.IsZero() || s.now().Before(exp) {
			return "cloud", true
		}
		delete(s.state.cloudTokens, token)
	}
	return "", false
}

// sessionLive returns a live session, dropping it if it idled out; s.mu must be held.
func (s *Server) sessionLive(sid string) *session {
	ss := s.state.sessions[sid]
	if ss == nil {
		return nil
	}
	if s.now().Sub(ss.lastUse) >= s.state.sessionIdle {
		s.dropSession(sid)
		return nil
	}
	return ss
}

// dropSession ends a session, if there is one; s.mu must be held.
func (s *Server) dropSession(sid string) {
	ss := s.state.sessions[sid]
	if ss == nil {
		return
	}
	delete(s.state.sessions, sid)
	if s.state.userSessions[ss.user]--; s.state.userSessions[ss.user] <= 0 {
		delete(s.state.userSessions, ss.user)
	}
}

func (s *Server) pruneSessions() {
	for sid := range s.state.sessions {
		s.sessionLive(sid)
	}
}

// countSessions counts a user's live sessions, after pruning every idle one; s.mu must be held.
func (s *Server) countSessions(user string) int {
	s.pruneSessions()
	return s.state.userSessions[user]
}

// serveExchange is FAZ Cloud's POST /p/forticloud_jsonrpc_login/: {"access_token"} ->
// {"session"}, a bare object. Over login-max it answers 403 (not published: a guess).
func (s *Server) serveExchange(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		return
	}
	m, ok := decodeObject(body)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	s.mu.Lock()
	user, ok := s.cloudUser(str(m, "access_token"))
	if !ok {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
		return
	}
	code, msg, _, sid := s.openSession(user)
	s.mu.Unlock()
	if code != CodeOK {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"session": sid})
}
