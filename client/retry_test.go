package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestCallDeadline(t *testing.T) {
	const budget = 20 * time.Second
	for _, tc := range []struct {
		name    string
		caller  time.Duration // the caller's deadline from now; 0: none
		creates bool
		want    time.Duration // from now
	}{
		{"no caller deadline", 0, false, budget},
		{"caller's deadline sooner", 5 * time.Second, false, 5 * time.Second},
		{"caller's deadline later", time.Minute, false, budget},
		{"creates: the budget, however soon the caller leaves", 5 * time.Second, true, budget},
		{"creates without a caller deadline", 0, true, budget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, testNow.Add(tc.caller))
				defer cancel()
			}
			if got := callDeadline(ctx, testNow, budget, tc.creates); !got.Equal(testNow.Add(tc.want)) {
				t.Errorf("callDeadline = now+%v, want now+%v", got.Sub(testNow), tc.want)
			}
		})
	}
}

func TestSendContext(t *testing.T) {
	for _, creates := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		send := sendContext(ctx, creates)
		cancel()
		if cut := send.Err() != nil; cut == creates {
			t.Errorf("creates=%v: the caller's leaving cancelled the send: %v", creates, cut)
		}
	}
}

func TestIsAnswer(t *testing.T) {
	const rpcBody = `{"id":1,"result":[{"status":{"code":-11,"message":"No permission"}}]}`
	for _, tc := range []struct {
		name   string
		rpc    bool
		status int
		body   string
		want   bool
	}{
		{"200", false, 200, `{}`, true},
		{"302", false, 302, `{"error":"moved"}`, true},
		{"400", false, 400, `{"error":"invalid_request"}`, true},
		{"401", false, 401, ``, true},
		{"429", false, 429, ``, false},
		{"500", false, 500, `{}`, false},
		{"503", false, 503, `{}`, false},
		{"JSON-RPC on 200", true, 200, rpcBody, true},
		{"JSON-RPC result on 500", true, 500, rpcBody, true},
		{"JSON-RPC result on 502", true, 502, rpcBody, true},
		{"JSON-RPC result on 504", true, 504, rpcBody, true},
		{"JSON-RPC result on 503: about load", true, 503, rpcBody, false},
		{"JSON-RPC result on 429: about load", true, 429, rpcBody, false},
		{"a 500 without a JSON-RPC result", true, 500, `{"error":"internal"}`, false},
		{"a 502 HTML page", true, 502, `<html>Bad Gateway</html>`, false},
		{"a JSON-RPC result on a 500 of another API", false, 500, rpcBody, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isAnswer(request{rpc: tc.rpc}, &response{status: tc.status, body: []byte(tc.body)}); got != tc.want {
				t.Errorf("isAnswer = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	const secret = "S3cret-Passw0rd-long"
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		body       string
		kind       error
		message    string
		wait       time.Duration
	}{
		{"429", 429, "", `{"error":"slow down"}`, ErrRetryLater, "rate limited", 0},
		{"429 with Retry-After", 429, "7", `{}`, ErrRetryLater, "rate limited", 7 * time.Second},
		{"429 with a Retry-After past an hour", 429, "86400", `{}`, ErrRetryLater, "rate limited", time.Hour},
		{"500", 500, "", `{"message":"boom"}`, ErrRetryLater, "boom", 0},
		{"503 with Retry-After", 503, "30", `{"error":"busy"}`, ErrRetryLater, "busy", 30 * time.Second},
		{"401", 401, "", `{"error":"unauthorized"}`, ErrRefused, "unauthorized", 0},
		{"401 without a body", 401, "", ``, ErrRefused, "", 0},
		{"403", 403, "", `{"detail":"forbidden"}`, ErrRefused, "forbidden", 0},
		{"400 echoing the secret", 400, "", `{"error":"bad password ` + secret + `"}`, ErrRefused, "bad password [redacted]", 0},
		{"400 ignores Retry-After", 400, "30", `{}`, ErrRefused, "", 0},
		{"302", 302, "", `{"error":"moved"}`, ErrRefused, "moved", 0},
		{"an HTML page", 502, "", `<html>Bad Gateway</html>`, ErrRetryLater, "an HTML page instead of JSON", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			err := statusError(request{op: "op", secrets: []string{secret}}, &response{status: tc.status, header: h, body: []byte(tc.body)})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("statusError = %T %v", err, err)
			}
			if e.Kind != tc.kind || e.Status != tc.status || e.Message != tc.message || e.RetryAfter != tc.wait || e.Op != "op" {
				t.Errorf("statusError = %+v, want kind %v, message %q, RetryAfter %v", e, tc.kind, tc.message, tc.wait)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset")}
	for _, tc := range []struct {
		name                 string
		err                  error
		retried, createAgain bool // whether a call that does not create, and one that does, is tried again
	}{
		{"429", &Error{Kind: ErrRetryLater, Status: 429}, true, true},
		{"503", &Error{Kind: ErrRetryLater, Status: 503}, true, true},
		{"500", &Error{Kind: ErrRetryLater, Status: 500}, true, false},
		{"502: the server behind the gateway may have acted", &Error{Kind: ErrRetryLater, Status: 502}, true, false},
		{"504: the server behind the gateway may have acted", &Error{Kind: ErrRetryLater, Status: 504}, true, false},
		{"no connection", &Error{Kind: ErrRetryLater, Err: dial}, true, true},
		{"connection lost after sending", &Error{Kind: ErrRetryLater, Err: read}, true, false},
		{"timeout after sending", &Error{Kind: ErrRetryLater, Err: context.DeadlineExceeded}, true, false},
		{"answer cut short", &Error{Kind: ErrRetryLater, Status: 200, Err: read}, true, false},
		{"refused", &Error{Kind: ErrRefused, Status: 401}, false, false},
		{"certificate", &Error{Kind: ErrRefused, Err: dial}, false, false},
		{"unreadable", &Error{Kind: ErrProtocol, Status: 200}, false, false},
		{"not a client error", errors.New("plain"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryable(false, tc.err); got != tc.retried {
				t.Errorf("retryable(a call that does not create) = %v, want %v", got, tc.retried)
			}
			if got := retryable(true, tc.err); got != tc.createAgain {
				t.Errorf("retryable(a call that creates) = %v, want %v", got, tc.createAgain)
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempt  int
		err      error
		min, max time.Duration
	}{
		{"first, no Retry-After", 0, &Error{Kind: ErrRetryLater}, 187 * time.Millisecond, 313 * time.Millisecond},
		{"third, no Retry-After", 2, &Error{Kind: ErrRetryLater}, 750 * time.Millisecond, 1250 * time.Millisecond},
		{"Retry-After longer than the backoff", 0, &Error{Kind: ErrRetryLater, RetryAfter: 5 * time.Second}, 5 * time.Second, 5 * time.Second},
		{"Retry-After shorter than the backoff", 3, &Error{Kind: ErrRetryLater, RetryAfter: time.Second}, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{"far attempts stay bounded", 60, &Error{Kind: ErrRetryLater}, 3 * time.Second, 5 * time.Second},
		{"not a client error", 0, errors.New("plain"), 187 * time.Millisecond, 313 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 { // jitter: every draw within bounds
				if got := retryWait(tc.attempt, tc.err); got < tc.min || got > tc.max {
					t.Fatalf("retryWait = %v, want within [%v, %v]", got, tc.min, tc.max)
				}
			}
		})
	}
}

func TestRetryFits(t *testing.T) {
	deadline := testNow.Add(10 * time.Second)
	for _, tc := range []struct {
		name    string
		attempt int
		wait    time.Duration
		want    bool
	}{
		{"attempts left, wait within the deadline", 0, time.Second, true},
		{"wait ends at the deadline", 1, 10 * time.Second, true},
		{"wait past the deadline", 0, 11 * time.Second, false},
		{"last attempt made", 2, time.Millisecond, false},
		{"past the last attempt", 5, time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryFits(tc.attempt, 3, testNow, tc.wait, deadline); got != tc.want {
				t.Errorf("retryFits(%d of 3, wait %v) = %v, want %v", tc.attempt, tc.wait, got, tc.want)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	last := &Error{Op: "op", Kind: ErrRetryLater, Status: 503, RetryAfter: time.Minute}
	if got := cancelled("op", last, context.Canceled); got != error(last) {
		t.Errorf("cancelled after an attempt = %v, want the attempt's error", got)
	}
	got := cancelled("op", nil, context.DeadlineExceeded)
	if !errors.Is(got, ErrRetryLater) || !errors.Is(got, context.DeadlineExceeded) || !strings.Contains(got.Error(), "request cancelled") {
		t.Errorf("cancelled before any attempt = %v", got)
	}
}

func TestRefuseHTML(t *testing.T) {
	for body, refused := range map[string]bool{
		``:                                 false,
		`{}`:                               false,
		`{"status":"success"}`:             false,
		`ok`:                               false,
		`<html><body>Login</body></html>`:  true,
		"\n  <!DOCTYPE html><html></html>": true,
		`<HTML>`:                           true,
		`<?xml version="1.0"?><a/>`:        true,
	} {
		err := refuseHTML("op", &response{status: 200, body: []byte(body)})
		if got := err != nil; got != refused {
			t.Errorf("refuseHTML(%q) = %v, want refused %v", body, err, refused)
		}
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Errorf("refuseHTML(%q) = %v, want ErrProtocol", body, err)
		}
	}
}
