package client

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Values of a FortiOS answer's "status".
const (
	fosSuccess = "success"
	fosFailure = "error"
)

// FortiOSAnswer is what the client reads of a FortiOS REST answer, success or error: both keep
// one shape, {"http_method", "status", "http_status", "error", "mkey", "vdom", "serial",
// "version", "build", "results"} [docs/upstream.md §6].
type FortiOSAnswer struct {
	Status     string // "success" or "error"
	HTTPStatus int    // the answer's own http_status; 0 when absent
	Code       int    // the CLI error code ("error"); 0 when absent
	Message    string // "cli_error", or else "message" or a textual "error"; unscrubbed
	Mkey       string // the object created or named, as a string
	Version    string
	Serial     string
	Build      int
	Results    json.RawMessage // as sent; nil when absent
}

// ParseFortiOS reads a FortiOS answer: a JSON object whose status is "success" or "error"
// (any case); http_status, error and build as numbers or numeric strings (0 when absent or
// not numeric), mkey as a string or a number. Its errors are fixed texts, matching ErrProtocol
// under errors.Is: no part of the answer (a key above all) reaches them.
func ParseFortiOS(body []byte) (*FortiOSAnswer, error) {
	var v struct {
		Status     json.RawMessage `json:"status"`
		HTTPStatus json.RawMessage `json:"http_status"`
		Error      json.RawMessage `json:"error"`
		CLIError   json.RawMessage `json:"cli_error"`
		Message    json.RawMessage `json:"message"`
		Mkey       json.RawMessage `json:"mkey"`
		Version    json.RawMessage `json:"version"`
		Serial     json.RawMessage `json:"serial"`
		Build      json.RawMessage `json:"build"`
		Results    json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		if looksLikeHTML(body) {
			return nil, protocolError("an HTML page instead of a FortiOS answer")
		}
		return nil, protocolError("an answer that is not a FortiOS JSON object")
	}
	status := strings.ToLower(strings.TrimSpace(rawString(v.Status)))
	if status != fosSuccess && status != fosFailure {
		return nil, protocolError("a FortiOS answer without a status")
	}
	a := &FortiOSAnswer{
		Status:  status,
		Mkey:    rawScalar(v.Mkey),
		Version: rawString(v.Version),
		Serial:  rawString(v.Serial),
		Results: v.Results,
	}
	a.HTTPStatus, _ = parseCode(v.HTTPStatus)
	a.Code, _ = parseCode(v.Error)
	a.Build, _ = parseCode(v.Build)
	for _, m := range []json.RawMessage{v.CLIError, v.Message, v.Error} {
		if s := rawString(m); a.Message == "" && strings.TrimSpace(s) != "" {
			if _, numeric := parseCode(m); !numeric {
				a.Message = s
			}
		}
	}
	return a, nil
}

// rawScalar is raw's string, or its number's digits, or "" for anything else.
func rawScalar(raw json.RawMessage) string {
	if s := rawString(raw); s != "" {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// resultRaw is the object results holds: itself, or the first of a list (cmdb reads answer a
// list, monitor calls an object). ok is false when there is none.
func resultRaw(results json.RawMessage) (json.RawMessage, bool) {
	r := bytes.TrimSpace(results)
	if len(r) > 0 && r[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(r, &list) != nil || len(list) == 0 {
			return nil, false
		}
		r = bytes.TrimSpace(list[0])
	}
	if len(r) == 0 || r[0] != '{' {
		return nil, false
	}
	return r, true
}

// resultObject is resultRaw's object, field by field.
func resultObject(results json.RawMessage) (map[string]json.RawMessage, bool) {
	raw, ok := resultRaw(results)
	if !ok {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// resultString is the string field k of results' object, or "".
func resultString(results json.RawMessage, k string) string {
	m, _ := resultObject(results)
	return rawString(m[k])
}

// Errors of ReadGeneratedKey.
var (
	errNoKey  = protocolError("a generate-key answer without access_token or api_key")
	errBadKey = protocolError("a generate-key answer whose key is not printable ASCII")
)

// ReadGeneratedKey reads the key a generate-key answer's results carry: access_token, as
// Fortinet's Ansible collection reads it, or api_key, which some documents name instead
// [docs/upstream.md §6, med]. Its only error is a fixed text matching ErrProtocol.
func ReadGeneratedKey(results json.RawMessage) (string, error) {
	m, ok := resultObject(results)
	if !ok {
		return "", errNoKey
	}
	for _, k := range []string{"access_token", "api_key"} {
		s := rawString(m[k])
		if s == "" {
			continue
		}
		// It goes into an Authorization header, where spaces and control bytes cannot.
		if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return "", errBadKey
		}
		return s, nil
	}
	return "", errNoKey
}
