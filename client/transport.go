package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxBody     = 1 << 20
	DefaultRetryBudget = 20 * time.Second
	maxRetryBudget     = 60 * time.Second
	defaultMaxAttempts = 4
	userAgent          = "vault-plugin-secrets-forticloud"
)

// TLSConfig is how to trust an upstream.
type TLSConfig struct {
	CACert     string // PEM bundle trusted on top of the system pool
	ServerName string // name to verify when it differs from the URL's host
	SkipVerify bool
}

// Options shape one Transport.
type Options struct {
	TLS     TLSConfig
	Timeout time.Duration // one HTTP request; a call that creates may wait its whole RetryBudget
	MaxBody int64         // cap on an answer's size
	// RetryBudget bounds the time spent on one call, retries and waits included. It is kept
	// below Vault's own request timeout so that a retried call still answers in time.
	RetryBudget time.Duration
	// MaxAttempts bounds the tries of one call; 1 disables retries.
	MaxAttempts int
}

// Transport is the HTTP side of one config: one pooled client with its TLS settings, plus a
// second one limited to HTTP/1.1 for the FortiCloud exchange, whose firmware mishandles HTTP/2.
type Transport struct {
	hc, h1      *http.Client
	maxBody     int64
	budget      time.Duration
	timeout     time.Duration // one attempt
	maxAttempts int
}

// ParseCACert reads a PEM bundle into a pool that also holds the system roots.
func ParseCACert(bundle string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if bundle == "" {
		return pool, nil
	}
	rest := []byte(bundle)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not CERTIFICATE", n+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("trailing data after the last PEM certificate")
	}
	return pool, nil
}

// NewTransport builds the HTTP clients for one config.
func NewTransport(o Options) (*Transport, error) {
	pool, err := ParseCACert(o.TLS.CACert)
	if err != nil {
		return nil, fmt.Errorf("ca_cert: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = DefaultRetryBudget
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            pool,
		ServerName:         o.TLS.ServerName,
		InsecureSkipVerify: o.TLS.SkipVerify, //nolint:gosec // an explicit, logged operator choice
	}
	mk := func(h2 bool) *http.Client {
		tr := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			TLSClientConfig:       tc.Clone(),
			ForceAttemptHTTP2:     h2,
			MaxIdleConns:          128,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		return &http.Client{
			Transport: tr,
			// No Timeout here: once sets each attempt's own (see request.creates).
			// A redirect could carry a password or token to another host: never follow one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Transport{hc: mk(true), h1: mk(false), maxBody: o.MaxBody, budget: o.RetryBudget, timeout: o.Timeout, maxAttempts: o.MaxAttempts}, nil
}

// Close drops idle connections.
func (t *Transport) Close() {
	t.hc.CloseIdleConnections()
	t.h1.CloseIdleConnections()
}

// request is one JSON POST.
type request struct {
	op      string // for errors: "fortilan: login"
	url     string
	body    any
	bearer  string   // Authorization: Bearer, if set
	secrets []string // scrubbed from any upstream message
	http1   bool
	// creates marks a call that creates a credential upstream (a login, a token mint). Once
	// sent, it runs to its answer even if the caller gives up, within the call's own budget:
	// a real server finishes the work whatever the client does, and only an answer read can
	// be ended again. It is retried only when the upstream surely did not act on it (no
	// connection, 429, 503): a timeout after the request went out, or a gateway's 502 or 504,
	// may hide a session that nobody would ever log out.
	creates bool
	// rpc marks a JSON-RPC call, whose answer says how it went whatever the HTTP status: a
	// 5xx (but 503) carrying a JSON-RPC result is that result, not a failure to retry.
	rpc bool
	// beforeRetry runs before each retry (a login limiter's wait, the first one being the
	// caller's); an error ends the call.
	beforeRetry func(context.Context) error
	// rateLimited hears of every 429, with its Retry-After (0 when none): a limiter holds back
	// the other requests of its window too.
	rateLimited func(retryAfter time.Duration)
}

// response is an answer read whole, within the size cap.
type response struct {
	status int
	header http.Header
	body   []byte
}

// post sends r, retrying connection errors, 5xx and 429 with backoff and jitter within the
// retry budget. Anything else, a refused login above all, is returned at once.
//
// A call that creates (r.creates) is sent only while ctx lives, but once sent it is detached
// from ctx: it ends with its answer or its own budget, and what it created is returned even if
// ctx ended meanwhile, for the caller to end again.
func (t *Transport) post(ctx context.Context, r request) (*response, error) {
	payload, err := json.Marshal(r.body)
	if err != nil {
		return nil, &Error{Op: r.op, Kind: ErrProtocol, Err: fmt.Errorf("encode request: %w", err)}
	}
	deadline := time.Now().Add(t.budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) && !r.creates {
		deadline = d
	}
	// The budget bounds the whole call, the last attempt included. ctx says whether anyone
	// still wants the call; sendCtx bounds what is sent.
	sendCtx := ctx
	if r.creates {
		sendCtx = context.WithoutCancel(ctx)
	}
	sendCtx, cancel := context.WithDeadline(sendCtx, deadline)
	defer cancel()
	ctx, cancelWait := context.WithDeadline(ctx, deadline)
	defer cancelWait()
	var last error
	for attempt := 0; attempt < t.maxAttempts; attempt++ {
		if attempt > 0 && r.beforeRetry != nil {
			// What it waits for must leave the attempt its time.
			bctx, cancel := context.WithDeadline(ctx, deadline.Add(-t.timeout))
			err := r.beforeRetry(bctx)
			cancel()
			if err != nil {
				return nil, err
			}
		}
		if err := ctx.Err(); err != nil {
			// Nobody wants the answer: send nothing more. A call that creates was either
			// never sent or surely created nothing (see safeToRepeat).
			if last == nil {
				last = &Error{Op: r.op, Kind: ErrRetryLater, Err: err, Message: "request cancelled"}
			}
			return nil, last
		}
		resp, err := t.once(sendCtx, r, payload)
		if err == nil {
			if resp.status != http.StatusTooManyRequests && resp.status < 500 {
				return resp, nil
			}
			// A JSON-RPC result on a 5xx is the answer; on a 429 or 503, the status is about
			// load and the call is retried whatever the body says.
			if r.rpc && resp.status >= 500 && resp.status != http.StatusServiceUnavailable {
				if _, perr := ParseRPC(resp.body); perr == nil {
					return resp, nil
				}
			}
			err = t.statusError(r, resp)
			if resp.status == http.StatusTooManyRequests && r.rateLimited != nil {
				r.rateLimited(RetryAfter(err))
			}
		}
		last = err
		if !errors.Is(err, ErrRetryLater) || ctx.Err() != nil || (r.creates && !safeToRepeat(err)) {
			return nil, err
		}
		wait := backoff(attempt)
		if ra := RetryAfter(err); ra > wait {
			wait = ra
		}
		if attempt+1 == t.maxAttempts || time.Now().Add(wait).After(deadline) {
			break
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, last
		case <-timer.C:
		}
	}
	return nil, last
}

// safeToRepeat reports whether a failed login surely created nothing upstream.
func safeToRepeat(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// Refused before being handled. Not 502 or 504: a gateway says those when the server
		// behind it may have handled the request, too slowly or with a broken answer.
		return true
	case 0:
		var op *net.OpError
		return errors.As(e.Err, &op) && op.Op == "dial"
	}
	return false
}

// backoff is 250ms, 500ms, 1s, ... with ±25% jitter, so that nodes do not retry in step.
func backoff(attempt int) time.Duration {
	d := 4 * time.Second
	if attempt < 4 { // 250ms << attempt overflows, and rand.N panics, from attempt 36 on
		d = 250 * time.Millisecond << attempt
	}
	return d*3/4 + rand.N(d/2)
}

func (t *Transport) once(ctx context.Context, r request, payload []byte) (*response, error) {
	if !r.creates {
		// A call that creates waits for its answer as long as its budget allows: the
		// credential exists upstream whether or not the answer is read, and only an answer
		// read can be ended again.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return nil, &Error{Op: r.op, Kind: ErrProtocol, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	hc := t.hc
	if r.http1 {
		hc = t.h1
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &Error{Op: r.op, Kind: transportKind(err), Err: cleanNetError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBody+1))
	if err != nil {
		return nil, &Error{Op: r.op, Kind: ErrRetryLater, Status: resp.StatusCode, Err: fmt.Errorf("read answer: %w", cleanNetError(err))}
	}
	if int64(len(body)) > t.maxBody {
		return nil, &Error{Op: r.op, Kind: ErrProtocol, Status: resp.StatusCode, Message: fmt.Sprintf("answer larger than %d bytes", t.maxBody)}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// transportKind tells a certificate problem, which retrying cannot fix, from a passing one.
func transportKind(err error) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &recErr), errors.As(err, &alert):
		return ErrRefused
	}
	return ErrRetryLater
}

// cleanNetError drops the "Post <url>:" wrapper: the operation already says what was called.
func cleanNetError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusError turns an HTTP status the caller did not expect into an Error.
func (t *Transport) statusError(r request, resp *response) error {
	e := &Error{Op: r.op, Status: resp.status, Message: scrub(upstreamMessage(resp.body), r.secrets...)}
	switch {
	case resp.status == http.StatusTooManyRequests:
		e.Kind = ErrRetryLater
		e.Message = "rate limited"
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
	case resp.status >= 500:
		e.Kind = ErrRetryLater
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
	case resp.status == http.StatusUnauthorized:
		e.Kind = ErrRefused
	default:
		e.Kind = ErrRefused
	}
	return e
}

// parseRetryAfter reads either form of Retry-After: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// Digits only: seconds, capped at an hour, however many.
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		d := t.Sub(now)
		if d > time.Hour {
			d = time.Hour
		}
		return d
	}
	return 0
}

// upstreamMessage picks a human message out of an error body, whatever its shape; an HTML page
// or other non-JSON body yields a short description instead of its contents.
func upstreamMessage(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		if len(bytes.TrimSpace(body)) == 0 {
			return ""
		}
		if looksLikeHTML(body) {
			return "an HTML page instead of JSON"
		}
		return "an answer that is not JSON"
	}
	for _, k := range []string{"message", "error_description", "error", "detail", "msg"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// htmlSuccess checks a 2xx answer whose body the caller does not otherwise read: an HTML page
// (a login portal, a proxy) is not the upstream saying yes.
func htmlSuccess(op string, resp *response) error {
	if looksLikeHTML(resp.body) {
		return &Error{Op: op, Kind: ErrProtocol, Status: resp.status, Message: "an HTML page instead of JSON"}
	}
	return nil
}

func looksLikeHTML(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) > 64 {
		b = b[:64]
	}
	b = bytes.ToLower(b)
	return bytes.HasPrefix(b, []byte("<!doctype html")) || bytes.HasPrefix(b, []byte("<html")) || bytes.HasPrefix(b, []byte("<"))
}
