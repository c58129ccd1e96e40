package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// JSON-RPC status codes with a meaning of their own [docs/upstream.md §1].
const (
	// codeOK is success.
	codeOK = 0
	// codeInternal is an internal error: the same call may succeed later.
	codeInternal = -1
	// codeDataInvalid is data the call cannot take: a field the firmware does not know, or
	// one it wants and did not get.
	codeDataInvalid = -10
	// codeGone is "no permission for the resource", which is also the answer for a session
	// that no longer exists.
	codeGone = -11
)

// JSONRPC is a FortiAnalyzer/FortiManager JSON-RPC client for one base URL.
type JSONRPC struct {
	product string // "fortianalyzer" or "fortimanager", for errors
	base    string // https://host, without a trailing slash
	t       *Transport
	id      atomic.Uint64
}

// NewJSONRPC returns a client for the product at base (https://host).
func NewJSONRPC(product, base string, t *Transport) *JSONRPC {
	return &JSONRPC{product: product, base: strings.TrimRight(base, "/"), t: t}
}

type rpcParam struct {
	URL    string   `json:"url"`
	Data   any      `json:"data,omitempty"`
	Fields []string `json:"fields,omitempty"`
}

type rpcRequest struct {
	ID      uint64     `json:"id"`
	Method  string     `json:"method"`
	Params  []rpcParam `json:"params"`
	Session *string    `json:"session"`
	// Verbose 1 asks for enum fields by name ("read-write"), not by number, which FortiManager
	// answers without it [docs/upstream.md §1]: the admin read-back compares names.
	Verbose int `json:"verbose"`
}

// RPCResult is the part of a JSON-RPC answer the client reads.
type RPCResult struct {
	Code    int
	Message string
	Session string
	Data    json.RawMessage
}

func (c *JSONRPC) call(ctx context.Context, op, method, url string, data any, session string, secrets ...string) (*RPCResult, error) {
	return c.callOnce(ctx, false, op, method, url, data, session, secrets...)
}

// callOnce is call, sent at most once when once is set and the upstream may have seen it (see
// request.once). A call without a session is a login, which creates one.
func (c *JSONRPC) callOnce(ctx context.Context, once bool, op, method, url string, data any, session string, secrets ...string) (*RPCResult, error) {
	return c.do(ctx, rpcCall{op: op, method: method, url: url, data: data, auth: Auth{Session: session},
		creates: session == "", once: once, secrets: secrets})
}

// rpcCall is one JSON-RPC call: what it asks, how it authenticates, and how it may be repeated
// (see request.creates and request.once).
type rpcCall struct {
	op, method, url string
	data            any
	fields          []string // of a get: the fields to answer, for a smaller answer
	auth            Auth
	creates, once   bool
	secrets         []string
}

// do sends rc and reads its answer. A session travels in the body, an API key as Bearer with no
// session member [docs/upstream.md §1]; both are scrubbed from the answer's message, as are
// rc.secrets and a login's new session.
func (c *JSONRPC) do(ctx context.Context, rc rpcCall) (*RPCResult, error) {
	req := rpcRequest{ID: c.id.Add(1), Method: rc.method, Params: []rpcParam{{URL: rc.url, Data: rc.data, Fields: rc.fields}}, Verbose: 1}
	if rc.auth.Session != "" {
		req.Session = &rc.auth.Session
	}
	op := c.product + ": " + rc.op
	secrets := append(rc.secrets[:len(rc.secrets):len(rc.secrets)], rc.auth.Session, rc.auth.APIKey)
	resp, err := c.t.post(ctx, request{op: op, url: c.base + "/jsonrpc", body: req, bearer: rc.auth.APIKey,
		secrets: secrets, creates: rc.creates, once: rc.once, rpc: true})
	if err != nil {
		return nil, err
	}
	res, err := ParseRPC(resp.body)
	if err != nil {
		// The HTTP status says nothing about the result; it only explains a body we cannot read.
		kind := ErrProtocol
		if resp.status == 401 || resp.status == 403 {
			kind = ErrRefused
		}
		return nil, &Error{Op: op, Kind: kind, Status: resp.status, Err: err}
	}
	// A login's own new session is a secret too.
	res.Message = scrub(res.Message, append(secrets, res.Session)...)
	return res, nil
}

// ParseRPC reads a JSON-RPC answer: result as a list or a single object, code as a number or
// a numeric string, session as a string or absent. Its errors are fixed texts: no part of the
// answer reaches them.
//
// The common answer, result a list of objects, is read in one decode (rpcInOnePass); any other,
// and any it cannot read, step by step (rpcInSteps), which gives every error. Both read each
// field with the same types, so that an answer reads the same either way.
func ParseRPC(body []byte) (*RPCResult, error) {
	if res, ok := rpcInOnePass(body); ok {
		return res, nil
	}
	return rpcInSteps(body)
}

// rpcAnswer is a JSON-RPC answer whose result is a list of objects.
type rpcAnswer struct {
	Result  []rpcItem       `json:"result"`
	Session json.RawMessage `json:"session"`
}

// rpcItem is one result of an answer.
type rpcItem struct {
	Status *struct {
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
	} `json:"status"`
	Data json.RawMessage `json:"data"`
}

// rpcInOnePass reads, in one decode, an answer whose result is a list of objects, the first
// with a status and a numeric code; ok is false for any other answer, which rpcInSteps reads.
func rpcInOnePass(body []byte) (res *RPCResult, ok bool) {
	if !resultList(body) {
		return nil, false
	}
	var v rpcAnswer
	if json.Unmarshal(body, &v) != nil || len(v.Result) == 0 {
		return nil, false
	}
	res, err := v.Result[0].result()
	if err != nil {
		return nil, false
	}
	res.Session = rawString(v.Session)
	return res, true
}

// resultList reports whether body's result is a list, at a glance, and whether body cannot
// hold two keys that encoding/json reads as "result" (it matches a key without regard to case,
// after unescaping, with ſ for s). Of two lists, the decode reads the second into the items it
// made for the first (encoding/json reuses a slice's elements), keeping the first's fields where
// the second has none, while rpcInSteps reads the last list alone. It errs towards no: any \u
// escape or ſ, or the letters twice in any case, anywhere in the body.
func resultList(body []byte) bool {
	if bytes.Contains(body, []byte(`\u`)) || bytes.Contains(body, []byte("ſ")) {
		return false
	}
	const key = "result"
	at := -1
	for i := 0; i+len(key) <= len(body); i++ {
		if body[i]|0x20 == key[0] && asciiFold(body[i:i+len(key)], key) {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	if at < 0 {
		return false
	}
	// The letters once, and the answer has a result: they are its key, which a list follows.
	rest, ok := bytes.CutPrefix(body[at+len(key):], []byte(`"`))
	rest, colon := bytes.CutPrefix(bytes.TrimLeft(rest, " \t\r\n"), []byte(":"))
	rest = bytes.TrimLeft(rest, " \t\r\n")
	return ok && colon && len(rest) > 0 && rest[0] == '['
}

// asciiFold reports whether b is s, a lower-case ASCII word, in any case.
func asciiFold(b []byte, s string) bool {
	for i := range len(s) {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// rpcInSteps reads any answer ParseRPC takes, one part after the other, and gives its errors.
func rpcInSteps(body []byte) (*RPCResult, error) {
	result, session, err := rpcEnvelope(body)
	if err != nil {
		return nil, err
	}
	item, err := firstResult(result)
	if err != nil {
		return nil, err
	}
	res, err := readResult(item)
	if err != nil {
		return nil, err
	}
	res.Session = rawString(session)
	return res, nil
}

// rpcEnvelope splits a JSON-RPC answer into its result, which must be there, and its session.
func rpcEnvelope(body []byte) (result, session json.RawMessage, err error) {
	var raw struct {
		Result  json.RawMessage `json:"result"`
		Session json.RawMessage `json:"session"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		if looksLikeHTML(body) {
			return nil, nil, errors.New("an HTML page instead of JSON-RPC")
		}
		return nil, nil, errors.New("an answer that is not JSON-RPC")
	}
	result = bytes.TrimSpace(raw.Result)
	if len(result) == 0 || bytes.Equal(result, []byte("null")) {
		return nil, nil, errors.New("a JSON-RPC answer without a result")
	}
	return result, raw.Session, nil
}

// firstResult is the result a call's answer is about: the first of a list, or the one object.
func firstResult(result json.RawMessage) (json.RawMessage, error) {
	if result[0] != '[' {
		return result, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(result, &list); err != nil {
		return nil, errors.New("a JSON-RPC result that is not a list of objects")
	}
	if len(list) == 0 {
		return nil, errors.New("a JSON-RPC answer with an empty result")
	}
	return list[0], nil
}

// readResult reads one result's status (its code must be numeric; its message may be absent)
// and data.
func readResult(raw json.RawMessage) (*RPCResult, error) {
	var item rpcItem
	if err := json.Unmarshal(raw, &item); err != nil {
		return nil, errors.New("a JSON-RPC result that is not an object")
	}
	return item.result()
}

// result is the item's status and data.
func (it *rpcItem) result() (*RPCResult, error) {
	if it.Status == nil {
		return nil, errors.New("a JSON-RPC result without a status")
	}
	code, ok := parseCode(it.Status.Code)
	if !ok {
		return nil, errors.New("a JSON-RPC status without a numeric code")
	}
	return &RPCResult{Code: code, Message: rawString(it.Status.Message), Data: it.Data}, nil
}

// rawString is raw's string, or "" when raw is not a JSON string.
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func parseCode(raw json.RawMessage) (int, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		i, err := strconv.Atoi(n.String())
		return i, err == nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		i, err := strconv.Atoi(strings.TrimSpace(s))
		return i, err == nil
	}
	return 0, false
}

// loginError classifies a refused login. The code for a wrong password is not published: any
// non-zero code is a refusal, never retried, except a full session table, which says so.
func (c *JSONRPC) loginError(op string, res *RPCResult) error {
	e := &Error{Op: c.product + ": " + op, Kind: ErrRefused, Code: res.Code, Message: res.Message}
	if isLoginLimit(res.Message) {
		e.Kind = ErrLoginLimit
	}
	if res.Code == codeOK {
		e.Kind = ErrProtocol
		e.Message = "login answered OK without a session"
	}
	return e
}

// isLoginLimit recognises a full session table, and not an account lockout ("max login
// attempts"), which is a refusal like any other.
func isLoginLimit(msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "attempt") {
		return false
	}
	return strings.Contains(m, "login-max") || strings.Contains(m, "too many session") ||
		(strings.Contains(m, "max") && strings.Contains(m, "session"))
}

// LoginCloudToken opens a session with a FortiCloud token (/sys/login/cloud, as seed 000 shows).
func (c *JSONRPC) LoginCloudToken(ctx context.Context, token string) (string, error) {
	const op = "login with forticloud token"
	res, err := c.call(ctx, op, "exec", "/sys/login/cloud", map[string]string{"token": token}, "", token)
	if err != nil {
		return "", err
	}
	if res.Code != codeOK || res.Session == "" {
		return "", c.loginError(op, res)
	}
	return res.Session, nil
}

// LoginUser opens a session as a local admin (/sys/login/user).
func (c *JSONRPC) LoginUser(ctx context.Context, user, password string) (string, error) {
	const op = "login as local user"
	data := []map[string]string{{"user": user, "passwd": password}}
	res, err := c.call(ctx, op, "exec", "/sys/login/user", data, "", password)
	if err != nil {
		return "", err
	}
	if res.Code != codeOK || res.Session == "" {
		return "", c.loginError(op, res)
	}
	return res.Session, nil
}

// ExchangeCloud trades a FortiCloud OAuth access token for a JSON-RPC session at
// /p/forticloud_jsonrpc_login/ (FAZ Cloud, FMG Cloud), over HTTP/1.1 as Fortinet's how-to does.
func (c *JSONRPC) ExchangeCloud(ctx context.Context, accessToken string) (string, error) {
	op := c.product + ": forticloud session exchange"
	resp, err := c.t.post(ctx, request{
		op: op, url: c.base + "/p/forticloud_jsonrpc_login/", http1: true, creates: true,
		body: map[string]string{"access_token": accessToken}, secrets: []string{accessToken},
	})
	if err != nil {
		return "", err
	}
	if resp.status != 200 {
		err := statusError(request{op: op, secrets: []string{accessToken}}, resp)
		if e, ok := err.(*Error); ok && isLoginLimit(e.Message) {
			e.Kind = ErrLoginLimit
		}
		return "", err
	}
	sid, err := ParseExchange(resp.body)
	if err != nil {
		return "", &Error{Op: op, Kind: parseKind(err), Status: resp.status, Message: scrub(err.Error(), accessToken)}
	}
	return sid, nil
}

// ParseExchange reads the bare {"session": "..."} the FortiCloud exchange answers. An answer
// without a session that carries a message is a refusal; one that cannot be understood is an
// error that matches ErrProtocol under errors.Is.
func ParseExchange(body []byte) (string, error) {
	var v struct {
		Session json.RawMessage `json:"session"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		if looksLikeHTML(body) {
			return "", protocolError("an HTML page instead of a session")
		}
		return "", protocolError("an answer that is not JSON")
	}
	var sid string
	if json.Unmarshal(v.Session, &sid) != nil || sid == "" {
		if m := upstreamMessage(body); m != "" {
			return "", fmt.Errorf("no session in the answer: %s", m)
		}
		return "", protocolError("no session in the answer")
	}
	return sid, nil
}

// Logout ends a session (/sys/logout). A session already gone answers ErrGone.
func (c *JSONRPC) Logout(ctx context.Context, session string) error {
	return c.sessionCall(ctx, "logout", "exec", "/sys/logout", session)
}

func (c *JSONRPC) sessionCall(ctx context.Context, op, method, url, session string) error {
	res, err := c.call(ctx, op, method, url, nil, session)
	if err != nil {
		return err
	}
	switch {
	case res.Code == codeOK:
		return nil
	case rpcGone(endSession, res.Code):
		return &Error{Op: c.product + ": " + op, Kind: ErrGone, Code: res.Code, Message: res.Message}
	case res.Code == codeInternal:
		return &Error{Op: c.product + ": " + op, Kind: ErrRetryLater, Code: res.Code, Message: res.Message}
	default:
		return &Error{Op: c.product + ": " + op, Kind: ErrRefused, Code: res.Code, Message: res.Message}
	}
}
