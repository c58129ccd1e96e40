package fortitest

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FaultKind is how a Fault breaks an answer.
type FaultKind int

const (
	// FaultDown closes the connection without answering: HTTP/1.x connections are hijacked and
	// closed; on HTTP/2, where a handler cannot reach the connection, the stream is reset.
	FaultDown FaultKind = iota + 1
	// Fault5xx answers 503 with a small JSON body (Status, when 500-599, picks another status).
	Fault5xx
	// FaultHTML answers 200 text/html "<html><body>Login</body></html>", as a login portal or a
	// proxy would.
	FaultHTML
	// FaultBrokenJSON answers 200 application/json `{"result":[{"status":` (cut short).
	FaultBrokenJSON
	// FaultSlow waits Delay, then does the work and answers normally: slow, then does the
	// work. As a real server would, it does the work even when the client left during the
	// wait (a login then opens a session nobody reads).
	FaultSlow
	// FaultCode answers a JSON-RPC call with HTTP Status (200 if 0) and JSON-RPC code RPCCode
	// (-11, ...); a FortiOS call (/api/v2/) with HTTP Status (500 if 0 or not an HTTP status)
	// and a FortiOS error answer whose CLI error is RPCCode (none if 0); any other call with
	// HTTP Status (500 if 0 or not an HTTP status). Message, if set, is the message sent (as
	// FortiOS's cli_error).
	FaultCode
	// Fault401 answers 401 with {"error": Message or "unauthorized"}.
	Fault401
	// Fault429 answers 429 with a JSON body and, when RetryAfter > 0, a Retry-After header in
	// whole seconds (rounded up).
	Fault429
	// FaultHuge answers 200 with a 4 MiB body that looks like valid JSON-RPC.
	FaultHuge
	// FaultRedirect answers 302 to RedirectTarget on the same server (Status if 307 or 308),
	// to check that clients do not follow redirects.
	FaultRedirect
	// FaultActThen5xx does what the request asks (a login opens its session), then answers
	// Status (504 if Status is not a 5xx) instead: a gateway that gave up on a slow server.
	FaultActThen5xx
	// FaultActThenSlow does the work at once (a login opens its session), then waits Delay
	// before answering: the credential exists upstream while the client still waits.
	FaultActThenSlow
)

// HugeSize is the size of FaultHuge's answer.
const HugeSize = 4 << 20

// Fault is a broken answer the server gives on purpose.
type Fault struct {
	// Path selects the requests: "" for every request; "jsonrpc:<url>" (e.g.
	// "jsonrpc:/sys/logout") for JSON-RPC calls whose url starts with <url>; anything else for
	// requests whose URL path starts with it.
	Path string
	Kind FaultKind
	// Count is how many requests the fault breaks before it clears itself; 0 is until
	// ClearFaults.
	Count int
	// Delay is FaultSlow's and FaultActThenSlow's wait.
	Delay time.Duration
	// RetryAfter is Fault429's (and Fault5xx's) Retry-After.
	RetryAfter time.Duration
	// RPCCode is the JSON-RPC status code of FaultCode's answer to a JSON-RPC call.
	RPCCode int
	// Status is the HTTP status of the answer, when the kind lets it be chosen (FaultCode,
	// Fault5xx, FaultActThen5xx, FaultRedirect); 0 is the kind's default. A JSON-RPC answer's
	// status says nothing of the result, which only the body tells.
	Status int
	// Message replaces the message of FaultCode, Fault401, Fault429 and Fault5xx answers, for
	// example to echo a secret and check that the client scrubs it.
	Message string
}

type faultEntry struct {
	f    Fault
	left int // requests left to break; 0 = no limit
}

// AddFault adds a fault. Faults are tried in the order added; the first that matches a request
// breaks it. Safe to call while requests are in flight.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count < 0 {
		f.Count = 0
	}
	s.state.faults = append(s.state.faults, &faultEntry{f: f, left: f.Count})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.faults = nil
}

// Faults returns the faults still active, with Count set to the requests each has left to break.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.state.faults))
	for _, e := range s.state.faults {
		f := e.f
		f.Count = e.left
		out = append(out, f)
	}
	return out
}

// takeFault finds the fault for one request and uses one of its counts; s.mu must be held.
func (s *Server) takeFault(path, rpcURL string) *Fault {
	for i, e := range s.state.faults {
		if !e.f.matches(path, rpcURL) {
			continue
		}
		f := e.f
		if e.left > 0 {
			e.left--
			if e.left == 0 {
				s.state.faults = append(s.state.faults[:i:i], s.state.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

func (f *Fault) matches(path, rpcURL string) bool {
	switch {
	case f.Path == "":
		return true
	case strings.HasPrefix(f.Path, "jsonrpc:"):
		return rpcURL != "" && strings.HasPrefix(rpcURL, normURL(strings.TrimPrefix(f.Path, "jsonrpc:")))
	default:
		return strings.HasPrefix(path, f.Path)
	}
}

func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f *Fault, rpc *rpcRequest) {
	switch f.Kind {
	case FaultDown:
		dropConnection(w)
	case FaultActThen5xx:
		writeJSON(w, f.status5xx(http.StatusGatewayTimeout), map[string]string{"error": f.message("gateway timeout")})
	case Fault5xx:
		setRetryAfter(w, f.RetryAfter)
		writeJSON(w, f.status5xx(http.StatusServiceUnavailable), map[string]string{"error": f.message("service unavailable")})
	case FaultHTML:
		writeRaw(w, "text/html; charset=utf-8", "<html><body>Login</body></html>")
	case FaultBrokenJSON:
		writeRaw(w, "application/json", `{"result":[{"status":`)
	case FaultCode:
		if rpc != nil {
			writeJSON(w, f.statusOr(http.StatusOK), rpcAnswer(rpc, f.RPCCode, f.message("fault injected by fortitest"), nil, ""))
			return
		}
		if isFortiOS(r.URL.Path) {
			writeJSON(w, f.statusOr(http.StatusInternalServerError), fosFault(r, f))
			return
		}
		writeJSON(w, f.statusOr(http.StatusInternalServerError), map[string]string{"error": f.message("fault injected by fortitest")})
	case Fault401:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": f.message("unauthorized")})
	case Fault429:
		setRetryAfter(w, f.RetryAfter)
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": f.message("too many requests")})
	case FaultHuge:
		writeHuge(w)
	case FaultRedirect:
		w.Header().Set("Location", s.URL+RedirectTarget)
		writeJSON(w, f.redirectStatus(), map[string]string{"error": "moved"})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("fortitest: unknown fault kind %d", f.Kind)})
	}
}

// message is the fault's Message, or def when none was set.
func (f *Fault) message(def string) string {
	if f.Message != "" {
		return f.Message
	}
	return def
}

// status5xx is the fault's Status when it is a 5xx, else def.
func (f *Fault) status5xx(def int) int {
	if f.Status >= 500 && f.Status <= 599 {
		return f.Status
	}
	return def
}

// statusOr is the fault's Status when it is an HTTP status, else def: FaultCode's answer is
// 200 by default to a JSON-RPC call, 500 to any other.
func (f *Fault) statusOr(def int) int {
	if f.Status >= 100 && f.Status <= 599 {
		return f.Status
	}
	return def
}

// redirectStatus is FaultRedirect's status: Status when 307 or 308, else 302.
func (f *Fault) redirectStatus() int {
	if f.Status == http.StatusTemporaryRedirect || f.Status == http.StatusPermanentRedirect {
		return f.Status
	}
	return http.StatusFound
}

// retryAfter is d as a Retry-After value: whole seconds, rounded up.
func retryAfter(d time.Duration) string {
	return fmt.Sprint(int64((d + time.Second - 1) / time.Second))
}

// setRetryAfter sets Retry-After to d, when d > 0.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", retryAfter(d))
	}
}

// dropConnection closes the connection without answering: HTTP/1.x connections are hijacked
// and closed; on HTTP/2, where a handler cannot reach the connection, the stream is reset.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// writeRaw answers 200 with body as it is.
func writeRaw(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// writeHuge answers 200 with HugeSize bytes that look like a valid JSON-RPC answer, written in
// chunks, stopping when the client stops reading.
func writeHuge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	head := []byte(`{"id":1,"result":[{"status":{"code":0,"message":"OK"},"data":{"pad":"`)
	tail := []byte(`"}}],"session":"huge"}`)
	w.Header().Set("Content-Length", fmt.Sprint(HugeSize))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(head); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte("A"), 64<<10)
	for left := HugeSize - len(head) - len(tail); left > 0; {
		n := min(left, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		left -= n
	}
	_, _ = w.Write(tail)
}
