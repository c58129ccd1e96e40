package client

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
)

// What counts as "already gone" when a revoke is refused, one decision per product. Nobody
// publishes how FortiLAN or FortiCloud IAM say that a token is unknown, and other engines'
// upstreams say it with 400 invalid_token, 401, 403 or 404 [docs/upstream.md §5]: an answer
// counts as gone only when it says so, and any other refusal keeps the lease, so that a
// malformed request or a wrong client_id never drops a live credential.

// codeNoObject is the JSON-RPC code of an object that does not exist, which says that a delete
// of an admin already deleted is done [docs/upstream.md §1].
const codeNoObject = -3

// rpcTarget is what a JSON-RPC call was asked to end.
type rpcTarget int

const (
	// endSession is a /sys/logout.
	endSession rpcTarget = iota + 1
	// endObject is the delete of a CLI object (an admin).
	endObject
)

// rpcGone reports whether code, answered to a call that ends t, says t is already gone: -11
// for a logout (Fortinet's Terraform provider takes it as "session cleared"), -3 for a delete.
// -11 on a delete is a refusal: the caller's session lacks the permission.
func rpcGone(t rpcTarget, code int) bool {
	switch t {
	case endSession:
		return code == codeGone
	case endObject:
		return code == codeNoObject
	}
	return false
}

// lanTokenGone reports whether FortiLAN's answer to invalidate_token says the token is already
// gone. The token is the call's own Bearer, so a 401 is about it, unless its body is not
// FortiLAN's (an HTML page) or names another OAuth error; 400, 403 and 404 count only with a
// body that says the token is unknown, invalid or expired (a bare 404 may be a wrong URL).
func lanTokenGone(status int, body []byte, token string) bool {
	r := readReason(body, token)
	switch status {
	case 401:
		return r.json && (r.code == "" || r.gone())
	case 400, 403, 404:
		return r.gone()
	}
	return false
}

// iamTokenGone reports whether FortiCloud IAM's answer to revoke_token says the token is
// already gone. IAM documents 200 whether or not the token existed, 400 for an empty token and
// 401 for a wrong client_id [docs/upstream.md §3]: a refusal counts only with a body that says
// the token is unknown, invalid or expired.
func iamTokenGone(status int, body []byte, token string) bool {
	switch status {
	case 400, 401, 403, 404:
		return readReason(body, token).gone()
	}
	return false
}

// endToken sends r, which ends token, and reads the answer: a 2xx is done (but an HTML page,
// which is not the upstream saying yes), an answer gone reads as "no such token" is ErrGone,
// and any other is a refusal that keeps the token's lease.
func (t *Transport) endToken(ctx context.Context, r request, token string, gone func(status int, body []byte, token string) bool) error {
	resp, err := t.post(ctx, r)
	if err != nil {
		return err
	}
	switch {
	case resp.status >= 200 && resp.status < 300:
		return refuseHTML(r.op, resp)
	case gone(resp.status, resp.body, token):
		return goneError(r, resp)
	}
	return statusError(r, resp)
}

// goneError is the ErrGone of an HTTP answer, its message scrubbed like any other.
func goneError(r request, resp *response) error {
	return &Error{Op: r.op, Kind: ErrGone, Status: resp.status, Message: scrub(upstreamMessage(resp.body), r.secrets...)}
}

// reason is what an error body says, read leniently: any of the usual fields.
type reason struct {
	json  bool     // empty, or a JSON object: the API's own answer, not a page in front of it
	code  string   // an OAuth error code (RFC 6749 §5.2, RFC 6750 §3.1), e.g. "invalid_token"
	texts []string // the human messages, scrubbed of the secrets
}

// oauthCode is the shape of an OAuth error code: lower-case words joined by underscores.
var oauthCode = regexp.MustCompile(`^[a-z]+(_[a-z]+)+$`)

func readReason(body []byte, secrets ...string) reason {
	var m map[string]any
	if len(strings.TrimSpace(string(body))) == 0 {
		return reason{json: true}
	}
	if json.Unmarshal(body, &m) != nil {
		return reason{}
	}
	r := reason{json: true}
	for _, k := range []string{"error", "message", "error_description", "detail", "msg"} {
		s, _ := m[k].(string)
		if s == "" {
			continue
		}
		if k == "error" && oauthCode.MatchString(s) {
			r.code = s
			continue
		}
		r.texts = append(r.texts, scrub(s, secrets...))
	}
	return r
}

// gone reports whether r says the token is unknown, invalid or expired. An OAuth error code
// decides alone: invalid_request or invalid_client is about the request, whatever the
// description adds. Without one, a message must speak of the token and say it is not there.
func (r reason) gone() bool {
	if r.code != "" {
		return saysTokenGone(strings.ReplaceAll(r.code, "_", " "))
	}
	for _, t := range r.texts {
		if saysTokenGone(t) {
			return true
		}
	}
	return false
}

// Words of a message that says a token is not there, and words that make it about the
// request instead ("token is required", "access_token does not match", "invalid client_id for
// this token", "unsupported token type", "invalid token parameter in the request body").
var (
	goneWords  = []string{"invalid", "expired", "not found", "unknown", "not exist", "n't exist", "no longer", "revoked", "not valid"}
	otherWords = []string{"required", "missing", "match", "client", "type", "format", "request", "parameter", "body", "field"}
)

func saysTokenGone(msg string) bool {
	m := strings.ToLower(msg)
	if !strings.Contains(m, "token") {
		return false
	}
	for _, w := range otherWords {
		if strings.Contains(m, w) {
			return false
		}
	}
	for _, w := range goneWords {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
