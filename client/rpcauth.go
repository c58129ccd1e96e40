package client

import (
	"errors"
	"strings"
)

// Auth is how a FortiAnalyzer/FortiManager JSON-RPC call proves who sends it: a session of an
// admin (the root's, from a login), or an admin's API key, sent as `Authorization: Bearer` with
// no session member [docs/upstream.md §1, fortinet-apis §5; FMG 7.2.2+, FAZ 7.2+]. Exactly one
// is set. Both are secrets: Auth prints as the kind it is, never its value.
type Auth struct {
	Session string
	APIKey  string

	// root is the root session AdminTable.RootAuth lent out (local_user), which the admin
	// calls use, and log in again when it has ended (rootpool.go); nil for any other Auth.
	root *rootSession
}

// String names the kind of auth, so that a %v in a log line cannot print the secret.
func (a Auth) String() string {
	switch {
	case a.Session != "" && a.APIKey != "":
		return "session and api key"
	case a.Session != "":
		return "session"
	case a.APIKey != "":
		return "api key"
	}
	return "no auth"
}

// GoString is String, for %#v.
func (a Auth) GoString() string { return "client.Auth{" + a.String() + "}" }

// check refuses an Auth that is not exactly one session or one key. A key with white space or
// control characters cannot be a header's value (and would change the header).
func (a Auth) check() error {
	switch {
	case a.Session == "" && a.APIKey == "":
		return errors.New("auth: neither a session nor an api key")
	case a.Session != "" && a.APIKey != "":
		return errors.New("auth: both a session and an api key; give one")
	case strings.ContainsFunc(a.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return errors.New("auth: the api key holds white space or control characters")
	}
	return nil
}
