package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// FortiOS is a FortiGate REST API client for one base URL, authenticated as one REST API admin
// (api-user) by its key. The key travels only as Authorization: Bearer, never in a URL: FortiOS
// refuses a key in the query by default since 7.4.5, and logs URLs [docs/upstream.md §6].
//
// Every call reads FortiOS's answer shape ("status", "http_status", "error", "mkey",
// "results") whatever the HTTP status, and tells its failures apart: 401 (a wrong, expired or
// missing key), 403 (the key's admin profile, or a trusthost that leaves out this address), 404,
// 424 (a dependency: an access profile or VDOM that does not exist) and CLI errors are
// ErrRefused, but a 404 about the object a call names is ErrGone; 429 and 5xx without a CLI
// error are ErrRetryLater. A duplicate name (-5) is ErrExists.
type FortiOS struct {
	base string // https://host[:port], without a trailing slash
	key  string
	t    *Transport
	// noExpiry is set once the firmware refused generate-key's expiry: later keys are asked
	// without it, one call each rather than two.
	noExpiry atomic.Bool
}

// NewFortiOS returns a client for the FortiGate at base (https://host[:port]) that
// authenticates with key. Nothing is sent.
func NewFortiOS(base, key string, t *Transport) *FortiOS {
	return &FortiOS{base: strings.TrimRight(base, "/"), key: key, t: t}
}

// Paths of the FortiOS REST API the client calls [docs/upstream.md §6].
const (
	fosStatusPath      = "/api/v2/monitor/system/status"
	fosAPIUserPath     = "/api/v2/cmdb/system/api-user"
	fosGenerateKeyPath = "/api/v2/monitor/system/api-user/generate-key"
	fosAccProfilePath  = "/api/v2/cmdb/system/accprofile"
)

// CLI error codes of FortiOS answers with a meaning of their own [docs/upstream.md §6,
// inferred from Fortinet-published and third-party clients].
const (
	// fosNotFound is "entry not found".
	fosNotFound = -3
	// fosExists is "a duplicate entry already exists".
	fosExists = -5
)

// fosCall is one FortiOS REST call.
type fosCall struct {
	op      string // for errors: "create api-user"
	method  string
	path    string // from /api/v2/ on, names escaped
	body    any    // nil: none
	key     string // the Bearer
	creates bool   // see request.creates
	// object marks a call about one named object (an api-user): a 404 says that it is gone.
	object bool
}

// do sends fc and reads its answer: the FortiOS answer when it says success, else the error it
// amounts to.
func (c *FortiOS) do(ctx context.Context, fc fosCall) (*FortiOSAnswer, error) {
	resp, err := c.send(ctx, fc)
	if err != nil {
		return nil, err
	}
	return c.result(fc, resp)
}

// send sends fc as it is, retried only as the transport's rules allow, and returns the answer
// unread.
func (c *FortiOS) send(ctx context.Context, fc fosCall) (*response, error) {
	op := "fortigate: " + fc.op
	if fc.key == "" {
		return nil, &Error{Op: op, Kind: ErrRefused, Message: "no API key"}
	}
	u, err := fosURL(c.base, fc.path, fc.key)
	if err != nil {
		return nil, &Error{Op: op, Kind: ErrRefused, Message: err.Error()}
	}
	return c.t.post(ctx, request{op: op, method: fc.method, url: u, body: fc.body, bearer: fc.key,
		secrets: []string{fc.key}, creates: fc.creates, fortios: true})
}

// fosURL is base followed by path, refused when it could carry a secret to the FortiGate's logs
// or elsewhere: a query (FortiOS reads a key from access_token there), user info, a fragment,
// or the key itself anywhere; and refused when not https. Its errors never hold the URL.
func fosURL(base, path, key string) (string, error) {
	raw := base + path
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("url is not a URL")
	case u.Scheme != "https":
		return "", errors.New("url is not https")
	case u.User != nil:
		return "", errors.New("url holds user info: credentials never travel in a URL")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("url holds a query: an API key never travels in a URL")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", errors.New("url holds a fragment")
	case holdsSecret(raw, key):
		return "", errors.New("url holds the API key: it never travels in a URL")
	}
	return raw, nil
}

// holdsSecret reports whether s holds secret, as it is or escaped for a URL.
func holdsSecret(s, secret string) bool {
	if secret == "" {
		return false
	}
	for _, f := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// result reads resp, the answer to fc: the FortiOS answer when it says success, else the error
// it amounts to. A 2xx whose body says error is that error, with the body's http_status.
func (c *FortiOS) result(fc fosCall, resp *response) (*FortiOSAnswer, error) {
	a, perr := ParseFortiOS(resp.body)
	status := answerStatus(resp.status, a)
	if status >= 200 && status < 300 {
		if perr != nil {
			return nil, &Error{Op: "fortigate: " + fc.op, Kind: ErrProtocol, Status: resp.status, Err: perr}
		}
		return a, nil
	}
	return nil, fosError(fc, status, a, resp.body)
}

// answerStatus is the HTTP status an answer stands for: its own, or, for a 2xx whose body says
// error, the body's http_status (500 when it gives no error status).
func answerStatus(status int, a *FortiOSAnswer) int {
	if a == nil || a.Status == fosSuccess || status < 200 || status >= 300 {
		return status
	}
	if a.HTTPStatus >= 400 && a.HTTPStatus <= 599 {
		return a.HTTPStatus
	}
	return http.StatusInternalServerError
}

// fosError is the Error of a failed FortiOS call: fc's, answered status with a (nil when the
// body is not a FortiOS answer).
func fosError(fc fosCall, status int, a *FortiOSAnswer, body []byte) error {
	e := &Error{Op: "fortigate: " + fc.op, Kind: ErrRefused, Status: status}
	upstream := upstreamMessage(body)
	if a != nil {
		e.Code, upstream = a.Code, a.Message
	}
	switch {
	case fc.object && fosGone(status, a):
		e.Kind = ErrGone
	case a != nil && a.Code == fosExists:
		e.Kind = ErrExists
	case status >= 500 && (a == nil || a.Code == 0):
		// An error said in a 2xx, naming no CLI error: the FortiGate failed, and may not later
		// (a 5xx without one never gets here: the transport retries it).
		e.Kind = ErrRetryLater
	}
	e.Message = joinMessage(fosMeaning(fc, status, a), scrub(upstream, fc.key))
	return e
}

// fosGone reports whether a failed call about one named object says the object does not exist:
// a FortiOS answer of 404, or a CLI error -3 (entry not found) on a 500. A 404 that is not a
// FortiOS answer (an HTML page, a proxy's) may be a wrong URL; a 401 or 403 is about the
// caller's key, never about the object (admin deletes use the root key, not the lease's).
func fosGone(status int, a *FortiOSAnswer) bool {
	if a == nil {
		return false
	}
	return status == http.StatusNotFound || status == http.StatusInternalServerError && a.Code == fosNotFound
}

// fosMeaning says in fixed words what a failure's status and CLI code mean; none of it comes
// from the answer.
func fosMeaning(fc fosCall, status int, a *FortiOSAnswer) string {
	var m string
	switch status {
	case http.StatusBadRequest:
		m = "bad request"
	case http.StatusUnauthorized:
		m = "the API key is wrong, expired or missing"
	case http.StatusForbidden:
		m = "not permitted (profile or trusthost): the key's admin profile may not do this, or a trusthost leaves out this address"
	case http.StatusNotFound:
		m = "not found"
		if a == nil {
			m = "not found, and not a FortiOS answer: is url a FortiGate?"
		} else if fc.object {
			m = "no such object"
		}
	case http.StatusMethodNotAllowed:
		m = "method not allowed"
	case http.StatusFailedDependency:
		m = "a dependency failed (an access profile or VDOM that does not exist?)"
	}
	if a == nil {
		return m
	}
	switch a.Code {
	case fosNotFound:
		return joinMessage(m, "entry not found (-3)")
	case fosExists:
		return joinMessage(m, "a duplicate entry already exists (-5)")
	}
	return m
}

// joinMessage joins the parts of a message that are not empty.
func joinMessage(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}

// StatusInfo is what a FortiGate says of itself.
type StatusInfo struct {
	Version  string // firmware, e.g. "v7.4.4"
	Build    int
	Serial   string
	Hostname string
}

// Status asks the FortiGate's status (GET /api/v2/monitor/system/status) with the client's key:
// the probe of a key and of the way to the FortiGate. Errors as for every call (see FortiOS).
func (c *FortiOS) Status(ctx context.Context) (StatusInfo, error) {
	return c.status(ctx, c.key)
}

// CheckKey is Status asked with key rather than the client's own: a new key is checked so
// before it is trusted.
func (c *FortiOS) CheckKey(ctx context.Context, key string) (StatusInfo, error) {
	return c.status(ctx, key)
}

func (c *FortiOS) status(ctx context.Context, key string) (StatusInfo, error) {
	const op = "status"
	a, err := c.do(ctx, fosCall{op: op, method: http.MethodGet, path: fosStatusPath, key: key})
	if err != nil {
		return StatusInfo{}, err
	}
	info := StatusInfo{Version: a.Version, Build: a.Build, Serial: a.Serial, Hostname: resultString(a.Results, "hostname")}
	if info.Version == "" && info.Serial == "" {
		return StatusInfo{}, &Error{Op: "fortigate: " + op, Kind: ErrProtocol, Message: "a status answer without version or serial"}
	}
	return info, nil
}

// checkObjectName refuses a name that cannot stand as one path segment of a URL.
func checkObjectName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("name %q is not an object name", name)
	case strings.ContainsAny(name, "/\\") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("name %q is not an object name", name)
	}
	return nil
}
