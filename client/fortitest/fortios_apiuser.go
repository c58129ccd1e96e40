package fortitest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// The fake FortiGate's api-user writes: create and generate-key. s.mu is held throughout.

// maxFOSName is the longest api-user name the fake takes (inferred from the GUI, as the client
// does).
const maxFOSName = 35

// fosCreateFields are the fields of an api-user the fake takes in a create; any other (api-key
// above all: a key cannot be set) answers 500 with FortiOSInvalid.
var fosCreateFields = map[string]bool{
	"name": true, "accprofile": true, "vdom": true, "trusthost": true, "comments": true,
	"schedule": true, "cors-allow-origin": true, "peer-auth": true, "peer-group": true,
}

// fosCreate is POST /api/v2/cmdb/system/api-user: the api-user is made without a key. A name
// taken answers 500 with FortiOSExists; a profile or VDOM that does not exist 424 with
// FortiOSNotFound; a field or value the fake does not take 500 with FortiOSInvalid.
func (s *Server) fosCreate(w http.ResponseWriter, r *http.Request, caller *fosUser, body []byte) {
	if !s.may(w, r, caller, FortiOSReadWrite) {
		return
	}
	m, ok := decodeObject(body)
	if !ok {
		s.writeFOS(w, r, http.StatusBadRequest, 0, nil)
		return
	}
	u, status, code := s.fosParseAPIUser(m)
	if status == 0 && s.state.fos.users[u.Name] != nil {
		status, code = http.StatusInternalServerError, FortiOSExists
	}
	if status != 0 {
		s.writeFOS(w, r, status, code, map[string]any{"path": "system", "name": "api-user"})
		return
	}
	s.state.fos.users[u.Name] = &fosUser{FortiOSAPIUser: u}
	s.writeFOS(w, r, http.StatusOK, 0, map[string]any{"path": "system", "name": "api-user", "mkey": u.Name, "revision_changed": true})
}

// fosParseAPIUser reads a create's body, or says how the fake refuses it (an HTTP status and a
// CLI code).
func (s *Server) fosParseAPIUser(m map[string]json.RawMessage) (FortiOSAPIUser, int, int) {
	invalid := func() (FortiOSAPIUser, int, int) {
		return FortiOSAPIUser{}, http.StatusInternalServerError, FortiOSInvalid
	}
	missing := func() (FortiOSAPIUser, int, int) {
		return FortiOSAPIUser{}, http.StatusFailedDependency, FortiOSNotFound
	}
	for k := range m {
		if !fosCreateFields[k] {
			return invalid()
		}
	}
	u := FortiOSAPIUser{Name: str(m, "name"), Profile: str(m, "accprofile"), Comments: str(m, "comments")}
	if u.Name == "" || len(u.Name) > maxFOSName || strings.ContainsAny(u.Name, "/\\\" ") || len(u.Comments) > 255 {
		return invalid()
	}
	if _, ok := s.state.fos.profiles[u.Profile]; !ok {
		return missing()
	}
	var vdoms []struct {
		Name string `json:"name"`
	}
	if raw, ok := m["vdom"]; ok && !rawJSON(raw, &vdoms) {
		return invalid()
	}
	for _, v := range vdoms {
		if !s.state.fos.vdoms[v.Name] {
			return missing()
		}
		u.VDOMs = append(u.VDOMs, v.Name)
	}
	var hosts []struct {
		Type string `json:"type"`
		IPv4 string `json:"ipv4-trusthost"`
		IPv6 string `json:"ipv6-trusthost"`
	}
	if raw, ok := m["trusthost"]; ok && !rawJSON(raw, &hosts) {
		return invalid()
	}
	for _, h := range hosts {
		p, ok := parseTrustHost(h.Type, h.IPv4, h.IPv6)
		if !ok {
			return invalid()
		}
		u.TrustHosts = append(u.TrustHosts, p)
	}
	return u, 0, 0
}

// parseTrustHost reads one trusthost entry: "<ip> <mask>" for ipv4-trusthost, "<ip6>/<len>" for
// ipv6-trusthost, a network address with a contiguous mask. A CIDR where FortiOS wants a mask,
// or host bits set, is refused.
func parseTrustHost(typ, v4, v6 string) (netip.Prefix, bool) {
	switch typ {
	case "ipv4-trusthost":
		ip, mask, ok := strings.Cut(v4, " ")
		a, aerr := netip.ParseAddr(ip)
		m := net.ParseIP(mask).To4()
		if !ok || aerr != nil || !a.Is4() || m == nil {
			return netip.Prefix{}, false
		}
		ones, bits := net.IPMask(m).Size()
		p := netip.PrefixFrom(a, ones)
		return p, bits == 32 && p == p.Masked()
	case "ipv6-trusthost":
		p, err := netip.ParsePrefix(v6)
		return p, err == nil && p.Addr().Is6() && p == p.Masked()
	}
	return netip.Prefix{}, false
}

// fosGenerateKey is POST /api/v2/monitor/system/api-user/generate-key {"api-user"[, "expiry"]}:
// a new key for the api-user, which replaces its previous one, answered in results under the
// key field (see SetFortiOSKeyField). 404 with FortiOSNotFound for an api-user that does not
// exist; 403 for the caller's own where SetFortiOSOwnKeyRefused says so; an expiry before 7.6 as
// SetFortiOSExpiryIgnored says, and on 7.6+ one outside 1 to FortiOSMaxExpiry minutes, 500 with
// FortiOSInvalid.
func (s *Server) fosGenerateKey(w http.ResponseWriter, r *http.Request, caller *fosUser, body []byte) {
	if !s.may(w, r, caller, FortiOSReadWrite) {
		return
	}
	m, ok := decodeObject(body)
	name := str(m, "api-user")
	if !ok || name == "" {
		s.writeFOS(w, r, http.StatusBadRequest, 0, nil)
		return
	}
	for k := range m {
		if k != "api-user" && k != "expiry" {
			s.writeFOS(w, r, http.StatusInternalServerError, FortiOSInvalid, nil)
			return
		}
	}
	u := s.state.fos.users[name]
	switch {
	case u == nil:
		s.writeFOS(w, r, http.StatusNotFound, FortiOSNotFound, map[string]any{"mkey": name})
		return
	case u == caller && s.state.fos.ownKeyRefused:
		s.writeFOS(w, r, http.StatusForbidden, 0, nil)
		return
	}
	expires, ok := s.fosExpiry(m)
	if !ok {
		s.writeFOS(w, r, http.StatusInternalServerError, FortiOSInvalid, nil)
		return
	}
	delete(s.state.fos.keys, u.key)
	u.key, u.KeyExpires = secret(), expires
	s.state.fos.keys[u.key] = name
	s.writeFOS(w, r, http.StatusOK, 0, map[string]any{"path": "system", "name": "api-user", "action": "generate-key",
		"results": map[string]any{s.state.fos.keyField: u.key}})
}

// fosExpiry reads generate-key's expiry: when the key stops working (zero: never), or false
// when the firmware refuses it.
func (s *Server) fosExpiry(m map[string]json.RawMessage) (time.Time, bool) {
	raw, has := m["expiry"]
	switch {
	case !has:
		return time.Time{}, true
	case !s.fosAtLeast(7, 6):
		return time.Time{}, s.state.fos.expiryIgnored
	}
	var minutes int
	if !rawJSON(raw, &minutes) || minutes < 1 || minutes > FortiOSMaxExpiry {
		return time.Time{}, false
	}
	return s.now().Add(time.Duration(minutes) * time.Minute), true
}
