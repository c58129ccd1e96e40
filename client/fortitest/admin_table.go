package fortitest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// The admin table of FAZ/FMG [docs/upstream.md §1, fortinet-apis §5]: add, get, delete and set
// on /cli/global/system/admin/user[/<name>], logins as the admins it holds, and their API keys.
// Trusted hosts follow Fortinet's schema of system admin user (its FortiAnalyzer Ansible
// collection): slot 1 of each family defaults to any address, the others to none.

const (
	// CodeExists is answered to an add of an admin that exists (-2).
	CodeExists = -2
	// MaxAdminName is the longest admin name an add takes [docs/upstream.md §1: inferred, med].
	MaxAdminName = 35
)

// rpc-permit values, and the user type the fake knows.
const (
	rpcNone      = "none"
	rpcRead      = "read"
	rpcReadWrite = "read-write"
	userLocal    = "local"
)

const msgInvalid = "The data is invalid for selected url"

// ADOMFirmware is how the fake's firmware binds an admin's ADOM list, which differs by release
// [docs/upstream.md §1, fortinet-apis §5: newer releases have adom-access, older ones may
// refuse it; how an unbound list reads back is not published].
type ADOMFirmware int

const (
	// ADOMAccessKnown is newer firmware, which knows adom-access: an admin added with
	// adom-access specify has the ADOMs of its list; one added without adom-access gets
	// "all", and the list does not bind. Gets answer adom-access. The default.
	ADOMAccessKnown ADOMFirmware = iota
	// ADOMAccessRefused is older firmware without the field: an add that carries adom-access
	// answers -10, and the ADOM list binds by itself. Gets answer no adom-access.
	ADOMAccessRefused
	// ADOMAccessIgnored is older firmware that takes adom-access without a word and binds no
	// ADOM list: every admin it adds may use every ADOM, and reads back with the one ADOM
	// "ALL ADOMS". Only a read-back shows it.
	ADOMAccessIgnored
)

// SetADOMFirmware sets how adds bind an admin's ADOM list, and whether gets show adom-access.
func (s *Server) SetADOMFirmware(m ADOMFirmware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.adomFirmware = m
}

// AddADOM adds ADOMs an admin may be given; the fake knows "root" from the start. An add naming
// any other answers -10 (all_adoms and "ALL ADOMS" stand for every ADOM).
func (s *Server) AddADOM(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		s.state.adoms[strings.ToLower(n)] = true
	}
}

// AddProfile adds (or changes) an admin profile an add may name as profileid, with what it
// lets the admin do. The fake knows Super_User (ProfileSuperUser), Standard_User and
// Restricted_User (ProfileNoSystemSettings) and No_Permission_User (ProfileNoStatus); an add
// naming another answers -10. A change applies to admins added from then on.
func (s *Server) AddProfile(id string, p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.profileIDs[id] = p
}

func defaultProfileIDs() map[string]Profile {
	return map[string]Profile{
		"Super_User":         ProfileSuperUser,
		"Standard_User":      ProfileNoSystemSettings,
		"Restricted_User":    ProfileNoSystemSettings,
		"No_Permission_User": ProfileNoStatus,
	}
}

// id is the profileid of an admin given p by AddAdminProfile.
func (p Profile) id() string {
	switch p {
	case ProfileNoSystemSettings:
		return "Restricted_User"
	case ProfileNoStatus:
		return "No_Permission_User"
	}
	return "Super_User"
}

// AddAPIKey makes an API key for an existing admin and returns it: JSON-RPC calls with
// `Authorization: Bearer <key>` act as that admin, from the addresses it trusts, without a
// session. It returns "" when there is no such admin. Keys end with their admin.
func (s *Server) AddAPIKey(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.admins[user] == nil {
		return ""
	}
	key := secret()
	s.state.apiKeys[key] = user
	return key
}

// Admins returns the names of the admins the fake holds, sorted.
func (s *Server) Admins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.state.admins))
	for n := range s.state.admins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AdminsAdded returns how many admins JSON-RPC adds created; the admins AddAdmin and
// AddAdminProfile seed are not counted. With AdminsDeleted and Admins it tells whether every
// admin a test made was deleted again, including those that lived too briefly to be seen.
func (s *Server) AdminsAdded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.adminsAdded
}

// AdminsDeleted returns how many admins JSON-RPC deletes removed.
func (s *Server) AdminsDeleted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.adminsDeleted
}

// admin is one admin of the table.
type admin struct {
	password            string
	profile             Profile // what the status calls and the admin table let it do
	profileID           string
	adoms               []string
	adomAccess          string // as stored; gets show it only on ADOMAccessKnown firmware
	trust4, trust6      [10]netip.Prefix
	rpcPermit           string
	userType            string
	forcePasswordChange string
}

// The "any" and "none" values of the trusted-host slots.
var (
	anyHost4  = netip.MustParsePrefix("0.0.0.0/0")
	noneHost4 = netip.MustParsePrefix("255.255.255.255/32")
	anyHost6  = netip.MustParsePrefix("::/0")
	noneHost6 = netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")
)

// seededAdmin is an admin of AddAdmin or AddAdminProfile: every ADOM, JSON-RPC read-write, any
// address.
func seededAdmin(password string, p Profile) *admin {
	a := &admin{password: password, profile: p, profileID: p.id(), adoms: []string{"all_adoms"}, adomAccess: "all",
		rpcPermit: rpcReadWrite, userType: userLocal, forcePasswordChange: "disable"}
	a.trust4, a.trust6 = defaultSlots(anyHost4, noneHost4), defaultSlots(anyHost6, noneHost6)
	return a
}

func defaultSlots(anyHost, none netip.Prefix) [10]netip.Prefix {
	var out [10]netip.Prefix
	for i := range out {
		out[i] = none
	}
	out[0] = anyHost
	return out
}

// trusts reports whether the admin may connect from addr: a slot of addr's family holds it.
func (a *admin) trusts(addr netip.Addr) bool {
	slots := a.trust6
	if addr.Is4() {
		slots = a.trust4
	}
	return addr.IsValid() && slices.ContainsFunc(slots[:], func(p netip.Prefix) bool { return p.Contains(addr) })
}

// profileOf is what a session's user may do: its admin's profile; sessions of cloud logins,
// which have no admin, are super users. s.mu must be held.
func (s *Server) profileOf(user string) Profile {
	if a := s.state.admins[user]; a != nil {
		return a.profile
	}
	return ProfileSuperUser
}

// keyUser is the admin whose API key req carries, if the key is live and its admin trusts the
// client's address.
func (s *Server) keyUser(req *rpcRequest) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	user, ok := s.state.apiKeys[req.bearer]
	if !ok {
		return "", false
	}
	a := s.state.admins[user]
	return user, a != nil && a.trusts(req.remote)
}

// mayUseAdmins reports whether req's sender (its key's admin, or its session's user) may use
// the admin table: a profile that may manage admins, and rpc-permit read-write to change it
// (write) or any but none to read it. An allowed call resets the session's idle timer; a
// refused one does not. s.mu must be held.
func (s *Server) mayUseAdmins(req *rpcRequest, write bool) bool {
	var ss *session
	user := req.keyUser
	if user == "" {
		if ss = s.sessionLive(req.session); ss == nil {
			return false
		}
		user = ss.user
	}
	profile, permit := ProfileSuperUser, rpcReadWrite // a cloud session's
	if a := s.state.admins[user]; a != nil {
		profile, permit = a.profile, a.rpcPermit
	} else if req.keyUser != "" {
		return false
	}
	if !profile.mayManageAdmins() || permit == rpcNone || write && permit != rpcReadWrite {
		return false
	}
	if ss != nil {
		ss.lastUse = s.now()
	}
	return true
}

func (s *Server) mayChangeAdmins(req *rpcRequest) bool { return s.mayUseAdmins(req, true) }

// adminTable answers the admin table's calls; ok is false for a url that is not the table's.
// s.mu must be held.
func (s *Server) adminTable(req *rpcRequest) (code int, msg string, data any, ok bool) {
	if strings.TrimSuffix(req.url, "/") == strings.TrimSuffix(adminUserURL, "/") {
		switch req.method {
		case "add":
			code, msg = s.addAdmin(req)
			return code, msg, nil, true
		case "get":
			code, msg, data = s.listAdmins(req)
			return code, msg, data, true
		}
		return CodeInvalidURL, "Invalid url", nil, true
	}
	name, ok := adminName(req.url)
	if !ok {
		return 0, "", nil, false
	}
	switch req.method {
	case "get":
		code, msg, data = s.getAdmin(req, name)
	case "delete":
		code, msg = s.deleteAdmin(req, name)
	case "set":
		code, msg, data = s.setAdminPassword(req, name)
	default:
		code, msg = CodeInvalidURL, "Invalid url"
	}
	return code, msg, data, true
}

// addAdmin is `add` on the table: -11 for a sender that may not change it, -10 for a field the
// firmware does not know or a value it does not take, -2 for a name that exists.
func (s *Server) addAdmin(req *rpcRequest) (int, string) {
	if !s.mayChangeAdmins(req) {
		return CodeNoSession, "No permission for the resource"
	}
	name, a, ok := s.readAdd(req.data)
	if !ok {
		return CodeDataInvalid, msgInvalid
	}
	if s.state.admins[name] != nil {
		return CodeExists, "Object already exists"
	}
	s.state.admins[name] = a
	s.state.adminsAdded++
	return CodeOK, "OK"
}

// readAdd reads an add's data into a new admin, as the firmware binds its ADOMs.
func (s *Server) readAdd(d map[string]json.RawMessage) (string, *admin, bool) {
	for k := range d {
		if !s.knowsField(k) {
			return "", nil, false
		}
	}
	name := rawString(d["userid"])
	a := &admin{password: rawString(d["password"]), profileID: rawString(d["profileid"]),
		rpcPermit: orDefault(rawString(d["rpc-permit"]), rpcNone), userType: orDefault(rawString(d["user_type"]), userLocal),
		forcePasswordChange: orDefault(rawString(d["force-password-change"]), "disable"), adomAccess: rawString(d["adom-access"])}
	p, known := s.state.profileIDs[a.profileID]
	a.profile = p
	adoms, adomsOK := s.readADOMs(d["adom"])
	trustOK := readSlots(d, "trusthost%d", parseHost4, anyHost4, noneHost4, &a.trust4) &&
		readSlots(d, "ipv6_trusthost%d", parseHost6, anyHost6, noneHost6, &a.trust6)
	switch {
	case name == "" || len(name) > MaxAdminName || strings.ContainsAny(name, "/\\ \t\r\n"):
		return "", nil, false
	case a.password == "" || !known || !adomsOK || !trustOK:
		return "", nil, false
	case !slices.Contains([]string{rpcNone, rpcRead, rpcReadWrite}, a.rpcPermit), a.userType != userLocal,
		a.forcePasswordChange != "enable" && a.forcePasswordChange != "disable":
		return "", nil, false
	}
	switch s.state.adomFirmware {
	case ADOMAccessKnown:
		if a.adomAccess == "" {
			a.adomAccess = "all" // the list does not bind without it
		} else if a.adomAccess != "all" && a.adomAccess != "specify" && a.adomAccess != "exclude" {
			return "", nil, false
		}
		a.adoms = adoms
	case ADOMAccessRefused:
		a.adoms = adoms
	case ADOMAccessIgnored:
		a.adomAccess, a.adoms = "", []string{"ALL ADOMS"}
	}
	return name, a, true
}

// knowsField reports whether the firmware knows a field of an add.
func (s *Server) knowsField(k string) bool {
	switch k {
	case "userid", "password", "profileid", "adom", "rpc-permit", "user_type", "force-password-change", "description":
		return true
	case "adom-access":
		return s.state.adomFirmware != ADOMAccessRefused
	}
	for i := 1; i <= 10; i++ {
		if k == fmt.Sprintf("trusthost%d", i) || k == fmt.Sprintf("ipv6_trusthost%d", i) {
			return true
		}
	}
	return false
}

// readADOMs reads an add's adom list, [{"adom-name": n}, ...]: every ADOM must be known, or
// stand for all of them.
func (s *Server) readADOMs(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 {
		return nil, true
	}
	var list []struct {
		Name string `json:"adom-name"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, d := range list {
		if !s.state.adoms[strings.ToLower(d.Name)] && !isAllADOMs(d.Name) {
			return nil, false
		}
		out = append(out, d.Name)
	}
	return out, true
}

func isAllADOMs(name string) bool {
	return strings.EqualFold(name, "all_adoms") || strings.EqualFold(name, "ALL ADOMS")
}

// readSlots reads the trusted-host slots of one family into slots, defaults where absent.
func readSlots(d map[string]json.RawMessage, field string, parse func(string) (netip.Prefix, bool), anyHost, none netip.Prefix, slots *[10]netip.Prefix) bool {
	*slots = defaultSlots(anyHost, none)
	for i := range slots {
		raw, ok := d[fmt.Sprintf(field, i+1)]
		if !ok {
			continue
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return false
		}
		p, ok := parse(v)
		if !ok {
			return false
		}
		slots[i] = p
	}
	return true
}

// parseHost4 reads "<ip> <mask>" with a contiguous mask: the one shape the fake takes.
func parseHost4(v string) (netip.Prefix, bool) {
	f := strings.Fields(v)
	if len(f) != 2 {
		return netip.Prefix{}, false
	}
	addr, err1 := netip.ParseAddr(f[0])
	mask, err2 := netip.ParseAddr(f[1])
	if err1 != nil || err2 != nil || !addr.Is4() || !mask.Is4() {
		return netip.Prefix{}, false
	}
	m := binary.BigEndian.Uint32(mask.AsSlice())
	ones := bits.OnesCount32(m)
	if m != ^uint32(0)<<(32-ones) {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, ones).Masked(), true
}

// parseHost6 reads "<ip6>/<len>".
func parseHost6(v string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

func formatHost4(p netip.Prefix) string {
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], ^uint32(0)<<(32-p.Bits()))
	return p.Addr().String() + " " + netip.AddrFrom4(m).String()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// getAdmin is `get` on one admin: -11 for a sender that may not read the table, -3 for a name
// that does not exist.
func (s *Server) getAdmin(req *rpcRequest, name string) (int, string, any) {
	if !s.mayUseAdmins(req, false) {
		return CodeNoSession, "No permission for the resource", nil
	}
	a := s.state.admins[name]
	if a == nil {
		return CodeNoObject, "Object does not exist", nil
	}
	return CodeOK, "OK", s.adminData(name, a)
}

// listAdmins is `get` on the table: every admin, sorted by name.
func (s *Server) listAdmins(req *rpcRequest) (int, string, any) {
	if !s.mayUseAdmins(req, false) {
		return CodeNoSession, "No permission for the resource", nil
	}
	names := make([]string, 0, len(s.state.admins))
	for n := range s.state.admins {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = s.adminData(n, s.state.admins[n])
	}
	return CodeOK, "OK", out
}

// adminData is an admin as a get answers it: every trusted-host slot, the password as an
// encrypted stand-in, and adom-access only where the firmware knows it.
func (s *Server) adminData(name string, a *admin) map[string]any {
	adoms := make([]map[string]string, len(a.adoms))
	for i, d := range a.adoms {
		adoms[i] = map[string]string{"adom-name": d}
	}
	d := map[string]any{
		"userid": name, "profileid": a.profileID, "adom": adoms, "rpc-permit": a.rpcPermit,
		"user_type": a.userType, "force-password-change": a.forcePasswordChange,
		"password": []string{"ENC", secret()},
	}
	if s.state.adomFirmware == ADOMAccessKnown {
		d["adom-access"] = a.adomAccess
	}
	for i := range a.trust4 {
		d[fmt.Sprintf("trusthost%d", i+1)] = formatHost4(a.trust4[i])
		d[fmt.Sprintf("ipv6_trusthost%d", i+1)] = a.trust6[i].String()
	}
	return d
}

// deleteAdmin is `delete` on one admin: -11 for a sender that may not change the table, -3
// for a name that does not exist. The admin's sessions and keys end with it.
func (s *Server) deleteAdmin(req *rpcRequest, name string) (int, string) {
	if !s.mayChangeAdmins(req) {
		return CodeNoSession, "No permission for the resource"
	}
	if s.state.admins[name] == nil {
		return CodeNoObject, "Object does not exist"
	}
	delete(s.state.admins, name)
	s.state.adminsDeleted++
	s.endSessionsOf(name)
	for k, u := range s.state.apiKeys {
		if u == name {
			delete(s.state.apiKeys, k)
		}
	}
	return CodeOK, "OK"
}

// endSessionsOf ends every session of one user; s.mu must be held.
func (s *Server) endSessionsOf(user string) {
	for sid, ss := range s.state.sessions {
		if ss.user == user {
			s.dropSession(sid)
		}
	}
}
