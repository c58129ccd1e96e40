package fortitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of the settings, as docs/upstream.md gives them (or, where it gives none, a guess).
const (
	// DefaultSessionIdle is FAZ/FMG's idle_timeout_api default.
	DefaultSessionIdle = 900 * time.Second
	// DefaultLoginMax is FMG's default login-max per admin.
	DefaultLoginMax = 32
	// DefaultLANTokenTTL is the lifetime of a FortiLAN token. Not published: a guess.
	DefaultLANTokenTTL = time.Hour
	// DefaultAuthRateLimit is FortiLAN's documented auth rate limit per source IP and minute.
	DefaultAuthRateLimit = 6
	// DefaultCallRateLimit is FortiLAN's documented limit on its other calls (invalidate_token
	// among them) per source IP and minute.
	DefaultCallRateLimit = 60
	// ServerName is a DNS name the leaf certificate is valid for, besides localhost, 127.0.0.1
	// and ::1. Use it to test a TLS server name that differs from the URL's host.
	ServerName = "fortitest.local"
	// RedirectTarget is where FaultRedirect sends clients. A request reaching it shows that a
	// redirect was followed; Calls(RedirectTarget) counts them.
	RedirectTarget = "/fortitest/redirected"
)

// maxRequest caps the size of a request body the fake reads.
const maxRequest = 1 << 20

// Server is a running fake. Its exported fields are set once, by NewServer or Start, and must
// not be changed afterwards; every method is safe for concurrent use.
type Server struct {
	// URL is the base URL, https://127.0.0.1:port, without a trailing slash.
	URL string
	// CACertPEM is the fake's CA certificate, PEM encoded: trust it to reach the server.
	CACertPEM string
	// TLS is the server's TLS configuration. Between NewUnstartedServer and Start it may be
	// changed, for example to offer only TLS 1.1.
	TLS *tls.Config
	// Listener accepts the server's connections.
	Listener net.Listener

	caPool    *x509.CertPool
	srv       *http.Server
	client    *http.Client
	started   bool
	closeOnce sync.Once
	closed    chan struct{} // closed by Close: ends the waits of requests in flight

	mu    sync.Mutex
	state state
}

// state is everything guarded by Server.mu.
type state struct {
	offset time.Duration // added to time.Now: see Advance

	// settings
	sessionIdle    time.Duration
	loginMax       int
	lanTTL         time.Duration
	lanRelative    bool
	oauthTTL       time.Duration
	authRateLimit  int
	callRateLimit  int
	latency        time.Duration
	faults         []*faultEntry
	exchangeProto  int
	calls          map[string]int
	handled        map[string]int // as calls, once the work is done
	protos         map[string]map[string]int
	conns          int
	authTimes      []time.Time
	callTimes      []time.Time
	tooMany        map[string]int     // path -> requests answered 429 by a rate limit
	admins         map[string]*admin  // FAZ/FMG admins by name
	apiKeys        map[string]string  // API key -> its admin
	adoms          map[string]bool    // ADOMs an admin may be given, lower case
	profileIDs     map[string]Profile // admin profiles an add may name -> what they allow
	sessions       map[string]*session
	userSessions   map[string]int       // user -> its entries in sessions, idle ones not yet pruned included
	cloudTokens    map[string]time.Time // token -> expiry (zero: never)
	lanUsers       map[lanKey]string    // -> password
	lanTokens      map[string]time.Time // token -> expiry
	apiUsers       map[string]string    // API ID -> password
	oauthAccess    map[string]*oauthToken
	oauthRefresh   map[string]*oauthToken
	oauthLiveByAPI map[string]*oauthToken // API ID -> its one live token pair
	lanGone        GoneAnswer             // invalidate_token's answer for a token not live
	oauthGone      GoneAnswer             // revoke_token's answer for a token unknown

	oldPassword        OldPasswordMode // see SetOldPasswordMode
	changeEndsSessions bool            // see SetPasswordChangeEndsSessions
	adomFirmware       ADOMFirmware    // see SetADOMFirmware
	adminsAdded        int             // adds that created an admin: see AdminsAdded
	adminsDeleted      int             // deletes that removed one

	fos fosState // the fake FortiGate
}

type session struct {
	user    string
	lastUse time.Time
}

type lanKey struct {
	account, user string
	iam           bool
}

type oauthToken struct {
	apiID, clientID string
	access, refresh string
	expires         time.Time
}

// NewServer starts and returns a new fake, like httptest.NewTLSServer. Call Close when done.
func NewServer() *Server {
	s := NewUnstartedServer()
	s.Start()
	return s
}

// NewServerT starts a new fake and closes it when t's test ends.
func NewServerT(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

// NewUnstartedServer returns a fake listening on 127.0.0.1 but not serving yet: change TLS if
// needed, then call Start.
func NewUnstartedServer() *Server {
	caPEM, pool, leaf, err := newCerts()
	if err != nil {
		panic("fortitest: certificates: " + err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			panic("fortitest: listen: " + err.Error())
		}
	}
	s := &Server{
		CACertPEM: caPEM,
		caPool:    pool,
		Listener:  ln,
		closed:    make(chan struct{}),
		TLS: &tls.Config{
			Certificates: []tls.Certificate{leaf},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		},
	}
	s.state = state{
		sessionIdle:    DefaultSessionIdle,
		loginMax:       DefaultLoginMax,
		lanTTL:         DefaultLANTokenTTL,
		authRateLimit:  DefaultAuthRateLimit,
		callRateLimit:  DefaultCallRateLimit,
		tooMany:        map[string]int{},
		calls:          map[string]int{},
		handled:        map[string]int{},
		protos:         map[string]map[string]int{},
		admins:         map[string]*admin{},
		apiKeys:        map[string]string{},
		adoms:          map[string]bool{"root": true},
		profileIDs:     defaultProfileIDs(),
		sessions:       map[string]*session{},
		userSessions:   map[string]int{},
		cloudTokens:    map[string]time.Time{},
		lanUsers:       map[lanKey]string{},
		lanTokens:      map[string]time.Time{},
		apiUsers:       map[string]string{},
		oauthAccess:    map[string]*oauthToken{},
		oauthRefresh:   map[string]*oauthToken{},
		oauthLiveByAPI: map[string]*oauthToken{},
		fos:            newFOSState(),
	}
	return s
}

// Start serves HTTPS (HTTP/2 and HTTP/1.1) on Listener. It panics if called twice.
func (s *Server) Start() {
	if s.started {
		panic("fortitest: Server started twice")
	}
	s.started = true
	s.URL = "https://" + s.Listener.Addr().String()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		TLSConfig:         s.TLS,
		ConnState:         s.connState,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	s.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
	go func() { _ = s.srv.ServeTLS(s.Listener, "", "") }()
}

// Close shuts the server down, dropping open connections. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.srv != nil {
			_ = s.srv.Close()
		} else {
			_ = s.Listener.Close()
		}
		if s.client != nil {
			s.client.CloseIdleConnections()
		}
	})
}

// Client returns an HTTP client (HTTP/2 where the server offers it) that trusts the fake's CA.
// It is nil before Start.
func (s *Server) Client() *http.Client { return s.client }

// CertPool returns a pool holding only the fake's CA.
func (s *Server) CertPool() *x509.CertPool { return s.caPool.Clone() }

func (s *Server) connState(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		s.mu.Lock()
		s.state.conns++
		s.mu.Unlock()
	}
}

// now is the fake's clock; s.mu must be held.
func (s *Server) now() time.Time { return time.Now().Add(s.state.offset) }

// ---- setup ----

// AddAdmin adds (or changes the password of) a FAZ/FMG admin for /sys/login/user. A new admin
// has ProfileSuperUser (profileid Super_User), every ADOM, rpc-permit read-write and trusts any
// address; an existing one keeps all but its password.
func (s *Server) AddAdmin(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.state.admins[user]; a != nil {
		a.password = password
		return
	}
	s.state.admins[user] = seededAdmin(password, ProfileSuperUser)
}

// AddAdminProfile adds (or changes) a FAZ/FMG admin with the given profile, as AddAdmin does
// (profileid: Super_User, Restricted_User or No_Permission_User). A profile change applies to
// the admin's open sessions too.
func (s *Server) AddAdminProfile(user, password string, p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.state.admins[user]; a != nil {
		a.password, a.profile, a.profileID = password, p, p.id()
		return
	}
	s.state.admins[user] = seededAdmin(password, p)
}

// AddCloudToken adds a FortiCloud token that /sys/login/cloud and the FAZ Cloud exchange accept,
// for tests that do not go through the OAuth endpoints. A ttl <= 0 never expires.
func (s *Server) AddCloudToken(token string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var exp time.Time
	if ttl > 0 {
		exp = s.now().Add(ttl)
	}
	s.state.cloudTokens[token] = exp
}

// AddLANUser adds a FortiLAN user. An IAM user (iam true) logs in only with "type":"iamuser",
// an email user only without it.
func (s *Server) AddLANUser(accountID, user, password string, iam bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.lanUsers[lanKey{accountID, user, iam}] = password
}

// AddAPIUser adds a FortiCloud IAM API user for the OAuth password grant.
func (s *Server) AddAPIUser(apiID, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.apiUsers[apiID] = password
}

// ---- settings ----

// SetSessionIdle sets the JSON-RPC idle timeout (idle_timeout_api); d <= 0 restores the 900 s
// default. It applies to existing sessions too.
func (s *Server) SetSessionIdle(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		d = DefaultSessionIdle
	}
	s.state.sessionIdle = d
}

// SetLoginMax sets the number of sessions each admin (or cloud user) may hold; n <= 0 restores
// the default of 32. A login over the limit answers code -20, "Maximum number of login sessions
// reached (login-max)" (the code is a guess; the message names login-max).
func (s *Server) SetLoginMax(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = DefaultLoginMax
	}
	s.state.loginMax = n
}

// SetLANTokenTTL sets the lifetime of FortiLAN tokens issued from now on; d <= 0 restores the
// default of one hour.
func (s *Server) SetLANTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		d = DefaultLANTokenTTL
	}
	s.state.lanTTL = d
}

// SetLANExpiresRelative makes /api/v1/auth answer expires_in as seconds from now instead of the
// UNIX time of expiry (the reading docs/upstream.md §2 deems likely, and the default).
func (s *Server) SetLANExpiresRelative(relative bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.lanRelative = relative
}

// SetOAuthTokenTTL sets the lifetime of IAM access tokens issued from now on; 0 restores the
// product default: 3600 s for client_id FortiManager, 14400 s for the others.
func (s *Server) SetOAuthTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		d = 0
	}
	s.state.oauthTTL = d
}

// SetAuthRateLimit sets how many POST /api/v1/auth the fake accepts per rolling minute; 0 (or
// less) turns the limit off. Over the limit it answers 429 with Retry-After in seconds (what an
// overrun answers is not published: a guess). Refused requests do not count.
func (s *Server) SetAuthRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perMinute < 0 {
		perMinute = 0
	}
	s.state.authRateLimit = perMinute
	s.state.authTimes = nil
}

// SetCallRateLimit sets how many of FortiLAN's other calls (POST /api/v1/auth/invalidate_token
// and any other /api/v1/ path but auth and IAM's oauth) the fake accepts per rolling minute,
// DefaultCallRateLimit at first; 0 (or less) turns the limit off. Over the limit it answers 429
// with Retry-After in seconds, as the auth limit does; TooManyRequests counts those answers.
// Refused requests do not count.
func (s *Server) SetCallRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perMinute < 0 {
		perMinute = 0
	}
	s.state.callRateLimit = perMinute
	s.state.callTimes = nil
}

// SetLatency adds d to the handling of every request, for benchmarks. As on a real server, the
// request is handled after the wait even if the client went away meanwhile.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.latency = d
}

// Advance moves the fake's clock forward by d: sessions idle, tokens expire and the rate-limit
// window slides as if d had passed. Expiry times the fake hands out (FortiLAN's absolute
// expires_in) are read on the fake's clock too.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > 0 {
		s.state.offset += d
	}
}

// ---- counters ----

// countHandled counts a request whose work is done, as record counts its arrival.
func (s *Server) countHandled(path string, rpc *rpcRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.handled[path]++
	if rpc != nil && rpc.url != "" {
		s.state.handled["jsonrpc:"+rpc.url]++
	}
}

// Calls returns how many requests reached the given URL path (e.g. "/api/v1/auth"), counted
// before faults and rate limits. For JSON-RPC, "jsonrpc:<url>" counts the calls of one JSON-RPC
// url, with a leading slash: "jsonrpc:/sys/login/user".
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.calls[path]
}

// Handled is Calls counted once the fake has done the work a request asked (opened its
// session, say), whether or not the client was still there for the answer. Requests a fault
// answered without doing the work are not counted.
func (s *Server) Handled(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.handled[path]
}

// TooManyRequests returns how many requests to the given URL path the fake's rate limits (auth,
// calls) answered 429; injected faults are not counted.
func (s *Server) TooManyRequests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.tooMany[path]
}

// ResetCalls sets every Calls, Protos and TooManyRequests counter back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.calls = map[string]int{}
	s.state.handled = map[string]int{}
	s.state.tooMany = map[string]int{}
	s.state.protos = map[string]map[string]int{}
}

// Protos returns, for one URL path, how many requests came over each protocol ("HTTP/1.1",
// "HTTP/2.0").
func (s *Server) Protos(path string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.state.protos[path] {
		out[k] = v
	}
	return out
}

// ExchangeProtoMajor returns the HTTP major version (r.ProtoMajor) of the last request to the
// FAZ Cloud exchange, /p/forticloud_jsonrpc_login/, or 0 if none came.
func (s *Server) ExchangeProtoMajor() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.exchangeProto
}

// Connections returns the number of TCP connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.conns
}

// LiveSessions returns the number of JSON-RPC sessions alive now.
func (s *Server) LiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneSessions()
	return len(s.state.sessions)
}

// LiveSessionsOf returns the number of sessions alive now for one admin user. Sessions from
// /sys/login/cloud and the exchange belong to "cloud:<API ID>", or to "cloud" for tokens added
// with AddCloudToken.
func (s *Server) LiveSessionsOf(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countSessions(user)
}

// SessionAlive reports whether a JSON-RPC session is alive. It does not reset its idle timer.
func (s *Server) SessionAlive(sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionLive(sid) != nil
}

// ExpireSession ends a session as an upstream idle timeout would.
func (s *Server) ExpireSession(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropSession(sid)
}

// LiveLANTokens returns the number of FortiLAN tokens alive now.
func (s *Server) LiveLANTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for tok := range s.state.lanTokens {
		if s.lanTokenLive(tok) {
			n++
		}
	}
	return n
}

// LANTokenAlive reports whether a FortiLAN token is alive.
func (s *Server) LANTokenAlive(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lanTokenLive(tok)
}

// ExpireLANToken ends a FortiLAN token as if its lifetime had run out.
func (s *Server) ExpireLANToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.state.lanTokens, tok)
}

// LiveOAuthTokens returns the number of IAM access tokens alive now.
func (s *Server) LiveOAuthTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for tok := range s.state.oauthAccess {
		if s.oauthLive(tok) != nil {
			n++
		}
	}
	return n
}

// OAuthTokenAlive reports whether an IAM access token is alive.
func (s *Server) OAuthTokenAlive(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauthLive(tok) != nil
}

// ExpireOAuthToken ends an IAM access token (and its refresh token) as if its lifetime had run
// out.
func (s *Server) ExpireOAuthToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.state.oauthAccess[tok]; t != nil {
		s.killOAuth(t)
	}
}

// ExpireAll ends every session and every FortiLAN, IAM and cloud token.
func (s *Server) ExpireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.sessions = map[string]*session{}
	s.state.userSessions = map[string]int{}
	s.state.lanTokens = map[string]time.Time{}
	s.state.cloudTokens = map[string]time.Time{}
	s.state.oauthAccess = map[string]*oauthToken{}
	s.state.oauthRefresh = map[string]*oauthToken{}
	s.state.oauthLiveByAPI = map[string]*oauthToken{}
}

// ---- handling ----

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path, body, rpc := readRequest(w, r)
	latency, f := s.record(r, path, rpc)
	// A real server does the work it was asked whatever the client does meanwhile: the waits
	// here and in serveFaulty run to their end (or the server's) even when the client has
	// left, and a login then opens its session all the same.
	if !s.sleep(latency) {
		return
	}
	if f != nil {
		s.serveFaulty(w, r, f, path, body, rpc)
		return
	}
	s.route(w, r, path, body, rpc)
}

// readRequest reads r's path and body (up to maxRequest) and, for a JSON-RPC call, what it
// asks.
func readRequest(w http.ResponseWriter, r *http.Request) (path string, body []byte, rpc *rpcRequest) {
	path = r.URL.Path
	if r.Body != nil {
		body, _ = io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	}
	if path == "/jsonrpc" && r.Method == http.MethodPost {
		rpc = parseRPCRequest(body)
		rpc.bearer = bearer(r)
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			rpc.remote = ap.Addr().Unmap()
		}
	}
	return path, body, rpc
}

// record counts a request (by path, by JSON-RPC url, by protocol) and takes the fault that
// breaks it, if any. It returns the latency to add too.
func (s *Server) record(r *http.Request, path string, rpc *rpcRequest) (time.Duration, *Fault) {
	rpcURL := ""
	if rpc != nil {
		rpcURL = rpc.url
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.calls[path]++
	if rpcURL != "" {
		s.state.calls["jsonrpc:"+rpcURL]++
	}
	if s.state.protos[path] == nil {
		s.state.protos[path] = map[string]int{}
	}
	s.state.protos[path][r.Proto]++
	if isExchange(path) {
		s.state.exchangeProto = r.ProtoMajor
	}
	return s.state.latency, s.takeFault(path, rpcURL)
}

// serveFaulty answers a request f breaks. FaultSlow waits, then does the work; the act-then
// kinds do the work, then answer late or with a gateway's 5xx; the others answer instead of
// doing it.
func (s *Server) serveFaulty(w http.ResponseWriter, r *http.Request, f *Fault, path string, body []byte, rpc *rpcRequest) {
	switch f.Kind {
	case FaultSlow:
		if s.sleep(f.Delay) {
			s.route(w, r, path, body, rpc)
		}
	case FaultActThenSlow:
		rec := httptest.NewRecorder()
		s.route(rec, r, path, body, rpc)
		if s.sleep(f.Delay) {
			copyAnswer(w, rec)
		}
	case FaultActThen5xx:
		// The work is done, the answer lost: what a gateway that timed out sends.
		s.route(httptest.NewRecorder(), r, path, body, rpc)
		s.serveFault(w, r, f, rpc)
	default:
		s.serveFault(w, r, f, rpc)
	}
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, path string, body []byte, rpc *rpcRequest) {
	defer s.countHandled(path, rpc)
	switch {
	case path == "/jsonrpc":
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
			return
		}
		s.serveRPC(w, rpc)
	case isExchange(path):
		s.serveExchange(w, r, body)
	case path == "/api/v1/oauth/token/" || path == "/api/v1/oauth/token":
		s.serveOAuthToken(w, r, body)
	case path == "/api/v1/oauth/revoke_token/" || path == "/api/v1/oauth/revoke_token":
		s.serveOAuthRevoke(w, r, body)
	case path == "/api/v1/auth":
		s.serveLANAuth(w, r, body)
	case path == "/api/v1/auth/invalidate_token":
		if s.withinCallRate(w, path) {
			s.serveLANInvalidate(w, r, body)
		}
	case strings.HasPrefix(path, "/api/v1/"):
		if s.withinCallRate(w, path) {
			s.serveLANCall(w, r)
		}
	case isFortiOS(path):
		s.serveFortiOS(w, r, path, body)
	case path == RedirectTarget:
		writeJSON(w, http.StatusOK, map[string]any{"redirected": true})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}

func isExchange(path string) bool {
	return path == "/p/forticloud_jsonrpc_login/" || path == "/p/forticloud_jsonrpc_login"
}

// sleep waits d, or until the server closes; it reports whether the whole wait passed. The
// client's leaving does not end it.
func (s *Server) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return false
	}
}

// copyAnswer sends an answer recorded earlier.
func copyAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"fortitest: encode"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeObject reads a JSON object body into a map of raw values.
func decodeObject(body []byte) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// str reads a string field; anything else is "".
func str(m map[string]json.RawMessage, k string) string {
	var s string
	if raw, ok := m[k]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// secret returns a fresh random secret: 24 bytes from crypto/rand, 32 base64url characters.
func secret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// ---- certificates ----

func newCerts() (caPEM string, pool *x509.CertPool, leaf tls.Certificate, err error) {
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		return n.Add(n, big.NewInt(1))
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, leaf, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "fortitest CA", Organization: []string{"fortitest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", nil, leaf, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", nil, leaf, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, leaf, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: ServerName, Organization: []string{"fortitest"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", ServerName},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return "", nil, leaf, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	leaf = tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	return caPEM, pool, leaf, nil
}
