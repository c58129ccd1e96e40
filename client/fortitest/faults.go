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
	// Fault5xx answers 503 with a small JSON body (Code, when 500-599, picks another status).
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
	// FaultCode answers a JSON-RPC call with HTTP Status (200 if 0) and code Code (-11, ...); any
	// other call with HTTP status Code (500 if Code is not an HTTP status). Message, if set,
	// is the message sent.
	FaultCode
	// Fault401 answers 401 with {"error": Message or "unauthorized"}.
	Fault401
	// Fault429 answers 429 with a JSON body and, when RetryAfter > 0, a Retry-After header in
	// whole seconds (rounded up).
	Fault429
	// FaultHuge answers 200 with a 4 MiB body that looks like valid JSON-RPC.
	FaultHuge
	// FaultRedirect answers 302 to RedirectTarget on the same server (307 if Code is 307 or
	// 308), to check that clients do not follow redirects.
	FaultRedirect
	// FaultActThen5xx does what the request asks (a login opens its session), then answers
	// Code (504 if Code is not a 5xx) instead: a gateway that gave up on a slow server.
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
	// Code is FaultCode's JSON-RPC code or HTTP status (and Fault5xx's, FaultRedirect's status).
	Code int
	// Status is the HTTP status of FaultCode's JSON-RPC answer; 0 is 200. Fortinet's JSON-RPC
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
	msg := func(def string) string {
		if f.Message != "" {
			return f.Message
		}
		return def
	}
	switch f.Kind {
	case FaultDown:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case FaultActThen5xx:
		status := http.StatusGatewayTimeout
		if f.Code >= 500 && f.Code <= 599 {
			status = f.Code
		}
		writeJSON(w, status, map[string]string{"error": msg("gateway timeout")})
	case Fault5xx:
		status := http.StatusServiceUnavailable
		if f.Code >= 500 && f.Code <= 599 {
			status = f.Code
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int64((f.RetryAfter+time.Second-1)/time.Second)))
		}
		writeJSON(w, status, map[string]string{"error": msg("service unavailable")})
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><body>Login</body></html>"))
	case FaultBrokenJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"result":[{"status":`))
	case FaultCode:
		if rpc != nil {
			status := http.StatusOK
			if f.Status >= 100 && f.Status <= 599 {
				status = f.Status
			}
			writeJSON(w, status, rpcAnswer(rpc, f.Code, msg("fault injected by fortitest"), nil, ""))
			return
		}
		status := f.Code
		if status < 100 || status > 599 {
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, map[string]string{"error": msg("fault injected by fortitest")})
	case Fault401:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg("unauthorized")})
	case Fault429:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int64((f.RetryAfter+time.Second-1)/time.Second)))
		}
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": msg("too many requests")})
	case FaultHuge:
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
	case FaultRedirect:
		status := http.StatusFound
		if f.Code == http.StatusTemporaryRedirect || f.Code == http.StatusPermanentRedirect {
			status = f.Code
		}
		w.Header().Set("Location", s.URL+RedirectTarget)
		writeJSON(w, status, map[string]string{"error": "moved"})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("fortitest: unknown fault kind %d", f.Kind)})
	}
}
