package fortitest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fake FortiGate: FortiOS's REST API under /api/v2/, as docs/upstream.md §6 describes it.
// Every answer keeps FortiOS's shape, {"http_method", "status", "http_status", ...}, errors
// included; where the document marks a fact as inferred (the CLI codes, which status a refusal
// comes with), the fake picks one answer and says so below.

// Defaults of the fake FortiGate.
const (
	// DefaultFortiOSVersion is the firmware the fake runs: before 7.6, so generate-key takes no
	// expiry. SetFortiOSVersion changes it.
	DefaultFortiOSVersion = "v7.4.4"
	// FortiOSSerial is the fake FortiGate's serial number.
	FortiOSSerial = "FGVMFAKE00000001"
	// FortiOSHostname is its hostname.
	FortiOSHostname = "fortitest-fgt"
	// FortiOSSuperAdmin is the built-in access profile that may do anything.
	FortiOSSuperAdmin = "super_admin"
	// FortiOSRootVDOM is the VDOM every FortiGate has.
	FortiOSRootVDOM = "root"
	// FortiOSMaxExpiry is the longest key expiry generate-key takes on 7.6+, in minutes.
	FortiOSMaxExpiry = 10080
)

// FortiOS CLI error codes the fake answers. Fortinet publishes no table: these are the codes
// third-party clients list, and the status each comes with is a guess.
const (
	// FortiOSNotFound is "entry not found": a delete or generate-key of a missing api-user (with
	// 404), or a reference to a missing access profile or VDOM (with 424).
	FortiOSNotFound = -3
	// FortiOSExists is "a duplicate entry already exists", answered with 500 to a create of a
	// name taken.
	FortiOSExists = -5
	// FortiOSInvalid is "input value is invalid", answered with 500 to a field the fake does not
	// take (an expiry before 7.6, an api-key in a create) or a value it refuses.
	FortiOSInvalid = -651
)

// FortiOSAccess is what an access profile lets its api-users do with administrators (the admin
// permission of the profile's sysgrp).
type FortiOSAccess int

const (
	// FortiOSNoAccess may neither read nor change administrators: api-user calls answer 403.
	FortiOSNoAccess FortiOSAccess = iota
	// FortiOSRead may read them: creates, deletes and generate-key answer 403.
	FortiOSRead
	// FortiOSReadWrite may manage them.
	FortiOSReadWrite
)

// FortiOSAPIUser is a REST API admin of the fake FortiGate.
type FortiOSAPIUser struct {
	Name       string
	Profile    string         // accprofile
	VDOMs      []string       // the VDOMs it may use
	TrustHosts []netip.Prefix // where its key works from; none: anywhere
	Comments   string
	// KeyExpires is when its key stops working; zero: never. Set by generate-key's expiry;
	// ignored by AddFortiOSAPIUser.
	KeyExpires time.Time
}

// fosState is the fake FortiGate, guarded by Server.mu.
type fosState struct {
	version       string
	expiryIgnored bool   // see SetFortiOSExpiryIgnored
	ownKeyRefused bool   // see SetFortiOSOwnKeyRefused
	keyField      string // see SetFortiOSKeyField
	profiles      map[string]FortiOSAccess
	vdoms         map[string]bool
	users         map[string]*fosUser
	keys          map[string]string // key -> its api-user
	keysInURL     int
}

type fosUser struct {
	FortiOSAPIUser
	key string // "" until generate-key
}

func newFOSState() fosState {
	return fosState{
		version:  DefaultFortiOSVersion,
		keyField: "access_token",
		profiles: map[string]FortiOSAccess{FortiOSSuperAdmin: FortiOSReadWrite},
		vdoms:    map[string]bool{FortiOSRootVDOM: true},
		users:    map[string]*fosUser{},
		keys:     map[string]string{},
	}
}

// ---- setup ----

// AddFortiOSProfile adds (or changes) an access profile whose api-users have admin access to
// administrators. FortiOSSuperAdmin exists from the start.
func (s *Server) AddFortiOSProfile(name string, admin FortiOSAccess) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.fos.profiles[name] = admin
}

// AddFortiOSVDOM adds a VDOM; FortiOSRootVDOM exists from the start.
func (s *Server) AddFortiOSVDOM(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.fos.vdoms[name] = true
}

// AddFortiOSAPIUser adds (or replaces) an api-user, as an administrator would in the GUI, and
// returns its new key, which never expires. The profile need not exist: an api-user whose
// profile does not is refused everything but the status call.
func (s *Server) AddFortiOSAPIUser(u FortiOSAPIUser) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.state.fos
	if old := f.users[u.Name]; old != nil {
		delete(f.keys, old.key)
	}
	u.VDOMs, u.TrustHosts, u.KeyExpires = slices.Clone(u.VDOMs), slices.Clone(u.TrustHosts), time.Time{}
	nu := &fosUser{FortiOSAPIUser: u, key: secret()}
	f.users[u.Name] = nu
	f.keys[nu.key] = u.Name
	return nu.key
}

// DeleteFortiOSAPIUser deletes an api-user behind the client's back; its key stops working.
func (s *Server) DeleteFortiOSAPIUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fosDelete(name)
}

// ---- settings ----

// SetFortiOSVersion sets the firmware version ("v7.6.0"); "" restores DefaultFortiOSVersion.
// From v7.6 on, generate-key takes an expiry.
func (s *Server) SetFortiOSVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == "" {
		v = DefaultFortiOSVersion
	}
	s.state.fos.version = v
}

// SetFortiOSExpiryIgnored sets how firmware before 7.6 treats generate-key's expiry, which it
// does not know: refused with 500 and FortiOSInvalid, nothing made (false, the default), or
// ignored, the key made without one (true). Which one real firmware does is not published.
func (s *Server) SetFortiOSExpiryIgnored(ignored bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.fos.expiryIgnored = ignored
}

// SetFortiOSOwnKeyRefused makes generate-key for the caller's own api-user answer 403, as some
// releases do [docs/upstream.md §6]; the caller's key keeps working.
func (s *Server) SetFortiOSOwnKeyRefused(refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.fos.ownKeyRefused = refused
}

// SetFortiOSKeyField sets the field of generate-key's results that holds the key:
// "access_token" (the default, as Fortinet's Ansible collection reads it) or "api_key".
func (s *Server) SetFortiOSKeyField(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.fos.keyField = name
}

// ---- counters ----

// FortiOSAPIUsers returns the names of the api-users that exist, sorted.
func (s *Server) FortiOSAPIUsers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.state.fos.users))
	for n := range s.state.fos.users {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// FortiOSAPIUser returns an api-user as it is now.
func (s *Server) FortiOSAPIUser(name string) (FortiOSAPIUser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.state.fos.users[name]
	if u == nil {
		return FortiOSAPIUser{}, false
	}
	out := u.FortiOSAPIUser
	out.VDOMs, out.TrustHosts = slices.Clone(out.VDOMs), slices.Clone(out.TrustHosts)
	return out, true
}

// FortiOSKey returns an api-user's current key, "" when it has none or does not exist.
func (s *Server) FortiOSKey(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.state.fos.users[name]; u != nil {
		return u.key
	}
	return ""
}

// FortiOSKeyValid reports whether key authenticates now: its api-user exists, it is that
// api-user's current key, and it has not expired (on the fake's clock, see Advance).
func (s *Server) FortiOSKeyValid(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fosKeyOwner(key) != nil
}

// FortiOSKeysInURL returns how many requests carried a key in their URL query (access_token or
// api_key), which the fake refuses with 401 as FortiOS does by default since 7.4.5.
func (s *Server) FortiOSKeysInURL() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.fos.keysInURL
}

// ---- state, s.mu held ----

// fosKeyOwner is the api-user key authenticates, or nil.
func (s *Server) fosKeyOwner(key string) *fosUser {
	f := &s.state.fos
	u := f.users[f.keys[key]]
	if key == "" || u == nil || u.key != key {
		return nil
	}
	if !u.KeyExpires.IsZero() && !s.now().Before(u.KeyExpires) {
		return nil
	}
	return u
}

// fosDelete deletes an api-user and its key; it reports whether there was one.
func (s *Server) fosDelete(name string) bool {
	f := &s.state.fos
	u := f.users[name]
	if u == nil {
		return false
	}
	delete(f.keys, u.key)
	delete(f.users, name)
	return true
}

// fosAtLeast reports whether the firmware is major.minor or later; a version it cannot read
// is not.
func (s *Server) fosAtLeast(major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(s.state.fos.version, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// ---- answers ----

// fosAnswer is an answer in FortiOS's shape: success for a 2xx, error otherwise, with code as
// the CLI error when not 0, and fields added.
func (s *Server) fosAnswer(r *http.Request, status, code int, fields map[string]any) map[string]any {
	m := map[string]any{
		"http_method": r.Method, "status": "success", "http_status": status,
		"vdom": FortiOSRootVDOM, "serial": FortiOSSerial, "version": s.state.fos.version, "build": 2662,
	}
	if status >= 300 {
		m["status"] = "error"
	}
	if code != 0 {
		m["error"] = code
	}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

// writeFOS answers in FortiOS's shape; s.mu must be held.
func (s *Server) writeFOS(w http.ResponseWriter, r *http.Request, status, code int, fields map[string]any) {
	writeJSON(w, status, s.fosAnswer(r, status, code, fields))
}

// writeFOSUnauthorized answers 401, which tells nothing of the FortiGate (no serial, no version).
func writeFOSUnauthorized(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusUnauthorized, map[string]any{"http_method": r.Method, "status": "error", "http_status": http.StatusUnauthorized})
}

// fosFault is FaultCode's answer to a FortiOS call: always an error, which an HTTP status below
// 400 carries with http_status 500 in the body.
func fosFault(r *http.Request, f *Fault) map[string]any {
	status := f.statusOr(http.StatusInternalServerError)
	if status < 400 {
		status = http.StatusInternalServerError
	}
	m := map[string]any{"http_method": r.Method, "status": "error", "http_status": status, "vdom": FortiOSRootVDOM,
		"cli_error": f.message("fault injected by fortitest")}
	if f.RPCCode != 0 {
		m["error"] = f.RPCCode
	}
	return m
}

// isFortiOS reports whether path is FortiOS's REST API.
func isFortiOS(path string) bool { return strings.HasPrefix(path, "/api/v2/") }

// ---- handling ----

// Paths of the fake FortiGate.
const (
	fosStatusPath      = "/api/v2/monitor/system/status"
	fosAPIUserPath     = "/api/v2/cmdb/system/api-user"
	fosGenerateKeyPath = "/api/v2/monitor/system/api-user/generate-key"
	fosAccProfilePath  = "/api/v2/cmdb/system/accprofile"
)

// serveFortiOS answers a request to /api/v2/: a key in the URL is refused, then the Bearer
// must be a live key, used from one of its api-user's trusthosts, and the call one its profile
// allows.
func (s *Server) serveFortiOS(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := r.URL.Query(); q.Has("access_token") || q.Has("api_key") {
		s.state.fos.keysInURL++
		writeFOSUnauthorized(w, r)
		return
	}
	caller := s.fosKeyOwner(bearer(r))
	if caller == nil {
		writeFOSUnauthorized(w, r)
		return
	}
	if !trusted(caller.TrustHosts, r.RemoteAddr) {
		s.writeFOS(w, r, http.StatusForbidden, 0, nil)
		return
	}
	name, named := strings.CutPrefix(path, fosAPIUserPath+"/")
	profile, isProfile := strings.CutPrefix(path, fosAccProfilePath+"/")
	switch {
	case path == fosStatusPath:
		s.fosMethod(w, r, http.MethodGet, func() { s.fosStatus(w, r) })
	case path == fosAPIUserPath:
		s.fosMethod(w, r, http.MethodPost, func() { s.fosCreate(w, r, caller, body) })
	case path == fosGenerateKeyPath:
		s.fosMethod(w, r, http.MethodPost, func() { s.fosGenerateKey(w, r, caller, body) })
	case named && r.Method == http.MethodGet:
		s.fosGet(w, r, caller, name)
	case named:
		s.fosMethod(w, r, http.MethodDelete, func() { s.fosDeleteCall(w, r, caller, name) })
	case isProfile:
		s.fosMethod(w, r, http.MethodGet, func() { s.fosAccProfile(w, r, caller, profile) })
	default:
		s.writeFOS(w, r, http.StatusNotFound, 0, nil)
	}
}

// fosMethod runs serve when r's method is method, and answers 405 otherwise.
func (s *Server) fosMethod(w http.ResponseWriter, r *http.Request, method string, serve func()) {
	if r.Method != method {
		s.writeFOS(w, r, http.StatusMethodNotAllowed, 0, nil)
		return
	}
	serve()
}

// trusted reports whether remoteAddr (host:port) is within one of hosts; none: any address.
func trusted(hosts []netip.Prefix, remoteAddr string) bool {
	if len(hosts) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range hosts {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// may reports whether u's profile grants want on administrators, answering 403 if not.
func (s *Server) may(w http.ResponseWriter, r *http.Request, u *fosUser, want FortiOSAccess) bool {
	if s.state.fos.profiles[u.Profile] < want {
		s.writeFOS(w, r, http.StatusForbidden, 0, nil)
		return false
	}
	return true
}

// fosStatus is GET /api/v2/monitor/system/status, which any key may ask.
func (s *Server) fosStatus(w http.ResponseWriter, r *http.Request) {
	s.writeFOS(w, r, http.StatusOK, 0, map[string]any{"path": "system", "name": "status", "results": map[string]any{
		"model_name": "FortiGate", "model_number": "VM64", "model": "FGVM64", "hostname": FortiOSHostname,
		"log_disk_status": "available",
	}})
}

// fosGet is GET /api/v2/cmdb/system/api-user/<name>: 404 when there is none; the answer holds
// the key only hashed, as FortiOS's does ("ENC ...").
func (s *Server) fosGet(w http.ResponseWriter, r *http.Request, caller *fosUser, name string) {
	if !s.may(w, r, caller, FortiOSRead) {
		return
	}
	u := s.state.fos.users[name]
	if u == nil {
		s.writeFOS(w, r, http.StatusNotFound, 0, map[string]any{"path": "system", "name": "api-user", "mkey": name})
		return
	}
	vdoms := []map[string]any{}
	for _, v := range u.VDOMs {
		vdoms = append(vdoms, map[string]any{"name": v, "q_origin_key": v})
	}
	hosts := []map[string]any{}
	for i, p := range u.TrustHosts {
		h := map[string]any{"id": i + 1, "q_origin_key": i + 1, "type": "ipv6-trusthost", "ipv4-trusthost": "0.0.0.0 0.0.0.0", "ipv6-trusthost": p.String()}
		if p.Addr().Is4() {
			h["type"], h["ipv4-trusthost"], h["ipv6-trusthost"] = "ipv4-trusthost", ipMask(p), "::/0"
		}
		hosts = append(hosts, h)
	}
	hashed := ""
	if u.key != "" {
		sum := sha256.Sum256([]byte(u.key))
		hashed = "ENC SH2" + hex.EncodeToString(sum[:])
	}
	s.writeFOS(w, r, http.StatusOK, 0, map[string]any{"path": "system", "name": "api-user", "mkey": name, "results": []any{map[string]any{
		"name": u.Name, "q_origin_key": u.Name, "comments": u.Comments, "api-key": hashed, "accprofile": u.Profile,
		"vdom": vdoms, "schedule": "", "cors-allow-origin": "", "peer-auth": "disable", "peer-group": "", "trusthost": hosts,
	}}})
}

// ipMask spells an IPv4 prefix as FortiOS does: "10.0.0.0 255.0.0.0".
func ipMask(p netip.Prefix) string {
	return p.Addr().String() + " " + net.IP(net.CIDRMask(p.Bits(), 32)).String()
}

// fosDeleteCall is DELETE /api/v2/cmdb/system/api-user/<name>: 404 with FortiOSNotFound when
// there is none.
func (s *Server) fosDeleteCall(w http.ResponseWriter, r *http.Request, caller *fosUser, name string) {
	if !s.may(w, r, caller, FortiOSReadWrite) {
		return
	}
	if !s.fosDelete(name) {
		s.writeFOS(w, r, http.StatusNotFound, FortiOSNotFound, map[string]any{"path": "system", "name": "api-user", "mkey": name})
		return
	}
	s.writeFOS(w, r, http.StatusOK, 0, map[string]any{"path": "system", "name": "api-user", "mkey": name, "revision_changed": true})
}

// fosAccProfile is GET /api/v2/cmdb/system/accprofile/<name>: super_admin answers sysgrp
// read-write, any other profile sysgrp custom with its admin permission.
func (s *Server) fosAccProfile(w http.ResponseWriter, r *http.Request, caller *fosUser, name string) {
	if !s.may(w, r, caller, FortiOSRead) {
		return
	}
	access, ok := s.state.fos.profiles[name]
	if !ok {
		s.writeFOS(w, r, http.StatusNotFound, 0, map[string]any{"path": "system", "name": "accprofile", "mkey": name})
		return
	}
	perm := [...]string{"none", "read", "read-write"}[access]
	sysgrp := "custom"
	if name == FortiOSSuperAdmin {
		sysgrp = "read-write"
	}
	s.writeFOS(w, r, http.StatusOK, 0, map[string]any{"path": "system", "name": "accprofile", "mkey": name, "results": []any{map[string]any{
		"name": name, "q_origin_key": name, "scope": "global", "sysgrp": sysgrp,
		"sysgrp-permission": map[string]any{"admin": perm, "upd": "none", "cfg": "none", "mnt": "none"},
	}}})
}

// rawJSON reads raw into v, reporting whether it could.
func rawJSON(raw json.RawMessage, v any) bool { return raw != nil && json.Unmarshal(raw, v) == nil }
