package fortitest

import (
	"strings"
)

// CodeNoObject is answered for an object that does not exist (-3) [docs/upstream.md §1].
const CodeNoObject = -3

// adminUserURL is where FAZ/FMG keep local admins.
const adminUserURL = "/cli/global/system/admin/user/"

// OldPasswordMode is how the fake's firmware treats `old-password` on an admin password change
// [docs/upstream.md §1: FMG 7.2.11, 7.4.7+, 7.6.3+ list the field; what they do with it is not
// documented].
type OldPasswordMode int

const (
	// OldPasswordIgnored is older firmware, which does not know the field: a change that
	// carries it answers -10 (data invalid). The default.
	OldPasswordIgnored OldPasswordMode = iota
	// OldPasswordRequired is newer firmware that insists: a change without it, or with a wrong
	// one, answers -10. The code is a guess; no source publishes it.
	OldPasswordRequired
	// OldPasswordOptional is newer firmware that takes it when given: without it the change is
	// made, with a wrong one it answers -10 (a guess, as above).
	OldPasswordOptional
)

// SetOldPasswordMode sets how admin password changes treat `old-password`.
func (s *Server) SetOldPasswordMode(m OldPasswordMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.oldPassword = m
}

// SetPasswordChangeEndsSessions sets whether changing an admin's password ends that admin's
// open sessions, the caller's own included (default false). Fortinet does not document either.
func (s *Server) SetPasswordChangeEndsSessions(end bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.changeEndsSessions = end
}

// mayManageAdmins reports whether the profile may use the admin table: only the super user's.
func (p Profile) mayManageAdmins() bool { return p == ProfileSuperUser }

// adminName reads the admin a url names under adminUserURL.
func adminName(url string) (string, bool) {
	name, ok := strings.CutPrefix(url, adminUserURL)
	return name, ok && name != "" && !strings.Contains(name, "/")
}

// setAdminPassword is `set` on /cli/global/system/admin/user/<name> with {"password"} and
// perhaps {"old-password"}: any other field answers -10, as the fake knows no other. s.mu must
// be held.
func (s *Server) setAdminPassword(req *rpcRequest, name string) (int, string, any) {
	if !s.mayChangeAdmins(req) {
		return CodeNoSession, "No permission for the resource", nil
	}
	a := s.state.admins[name]
	if a == nil {
		return CodeNoObject, "Object does not exist", nil
	}
	for k := range req.data {
		if k != "password" && k != "old-password" {
			return CodeDataInvalid, "The data is invalid for selected url", nil
		}
	}
	pass := rawString(req.data["password"])
	old, hasOld := req.data["old-password"]
	switch {
	case pass == "":
		return CodeDataInvalid, "The data is invalid for selected url", nil
	case hasOld && s.state.oldPassword == OldPasswordIgnored:
		return CodeDataInvalid, "The data is invalid for selected url", nil
	case !hasOld && s.state.oldPassword == OldPasswordRequired:
		return CodeDataInvalid, "old-password is required", nil
	case hasOld && rawString(old) != a.password:
		return CodeDataInvalid, "old-password does not match", nil
	}
	a.password = pass
	if s.state.changeEndsSessions {
		s.endSessionsOf(name)
	}
	return CodeOK, "OK", nil
}
