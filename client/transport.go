package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Defaults for Options fields left zero, and bounds.
const (
	// DefaultTimeout is the timeout of one HTTP request.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBody is the cap on an answer's size, in bytes.
	DefaultMaxBody = 1 << 20
	// DefaultRetryBudget is the time one call may take, retries and waits included.
	DefaultRetryBudget = 20 * time.Second
	// maxRetryBudget is the longest budget New gives a call, whatever the timeout.
	maxRetryBudget = 60 * time.Second
	// defaultMaxAttempts is the tries of one call.
	defaultMaxAttempts = 4
	// userAgent is the User-Agent of every request.
	userAgent = "vault-plugin-secrets-forticloud"
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

// request is one HTTP request with a JSON body (POST, the default) or none (a nil body).
type request struct {
	op      string // for errors: "fortilan: login"
	method  string // "" is POST
	url     string
	body    any      // nil: no body
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
	// once marks a call that changes something upstream and must not be sent twice once it may
	// have reached the upstream, though it creates nothing: it is retried only as a call that
	// creates is (see retryable), without being detached from its caller.
	once bool
	// rpc marks a JSON-RPC call, whose answer says how it went whatever the HTTP status: a
	// 5xx (but 503) carrying a JSON-RPC result is that result, not a failure to retry.
	rpc bool
	// fortios marks a FortiOS REST call, whose errors keep the answer's shape: a 5xx (but 503)
	// carrying a FortiOS answer with a CLI error code is that refusal, the answer, not a
	// failure to retry.
	fortios bool
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
// retry budget. Anything else, a refused login above all, is returned at once. Which answers
// end the call, which failures are tried again and how long to wait are decided in retry.go;
// post only runs those decisions.
//
// A call that creates (r.creates) is sent only while ctx lives, but once sent it is detached
// from ctx: it ends with its answer or its own budget, and what it created is returned even if
// ctx ended meanwhile, for the caller to end again.
//
// The loop is not github.com/hashicorp/go-retryablehttp's, though that is in the module graph:
// it sends and waits on one context, where a call that creates is sent on one its caller cannot
// cancel yet stops retrying when its caller leaves; a cancelled wait drops the last answer (and
// the Retry-After callers read) and closes the shared pool's idle connections; a wait past the
// budget is slept then cut, not refused at once; and one http.Client timeout serves every
// attempt, where a call that creates waits its whole budget.
func (t *Transport) post(ctx context.Context, r request) (*response, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, &Error{Op: r.op, Kind: ErrProtocol, Err: fmt.Errorf("encode request: %w", err)}
		}
	}
	// The deadline bounds the whole call, the last attempt included. ctx says whether anyone
	// still wants the call; sendCtx bounds what is sent.
	deadline := callDeadline(ctx, time.Now(), t.budget, r.creates)
	sendCtx, cancelSend := context.WithDeadline(sendContext(ctx, r.creates), deadline)
	defer cancelSend()
	ctx, cancelWait := context.WithDeadline(ctx, deadline)
	defer cancelWait()
	var last error
	for attempt := 0; attempt < t.maxAttempts; attempt++ {
		if attempt > 0 {
			if err := t.beforeRetry(ctx, r, deadline); err != nil {
				return nil, err
			}
		}
		if err := ctx.Err(); err != nil {
			// Nobody wants the answer: send nothing more. A call that creates was either
			// never sent or surely created nothing (see retryable).
			return nil, cancelled(r.op, last, err)
		}
		resp, err := t.attempt(sendCtx, r, payload)
		if err == nil {
			return resp, nil
		}
		last = err
		if !retryable(r.creates || r.once, err) || ctx.Err() != nil {
			return nil, err
		}
		wait := retryWait(attempt, err)
		if !retryFits(attempt, t.maxAttempts, time.Now(), wait, deadline) || !sleep(ctx, wait) {
			return nil, err
		}
	}
	return nil, last
}

// beforeRetry runs r's hook before a retry. What it waits for must leave the attempt its time:
// its context ends one request's timeout before the call's deadline.
func (t *Transport) beforeRetry(ctx context.Context, r request, deadline time.Time) error {
	if r.beforeRetry == nil {
		return nil
	}
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-t.timeout))
	defer cancel()
	return r.beforeRetry(ctx)
}

// attempt sends r once and returns the call's answer, or the error this attempt amounts to. A
// 429 is told to r.rateLimited.
func (t *Transport) attempt(ctx context.Context, r request, payload []byte) (*response, error) {
	resp, err := t.once(ctx, r, payload)
	if err != nil {
		return nil, err
	}
	if isAnswer(r, resp) {
		return resp, nil
	}
	err = statusError(r, resp)
	if resp.status == http.StatusTooManyRequests && r.rateLimited != nil {
		r.rateLimited(RetryAfter(err))
	}
	return nil, err
}

// sleep waits d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// once sends r and reads its answer whole, within the size cap.
func (t *Transport) once(ctx context.Context, r request, payload []byte) (*response, error) {
	if !r.creates {
		// A call that creates waits for its answer as long as its budget allows: the
		// credential exists upstream whether or not the answer is read, and only an answer
		// read can be ended again.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	method := cmp.Or(r.method, http.MethodPost)
	var reqBody io.Reader
	if payload != nil {
		reqBody = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.url, reqBody)
	if err != nil {
		return nil, &Error{Op: r.op, Kind: ErrProtocol, Err: fmt.Errorf("build request: %w", err)}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
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

// refuseHTML refuses a 2xx answer whose body the caller does not otherwise read when it is an
// HTML page (a login portal, a proxy): that is not the upstream saying yes.
func refuseHTML(op string, resp *response) error {
	if looksLikeHTML(resp.body) {
		return &Error{Op: op, Kind: ErrProtocol, Status: resp.status, Message: "an HTML page instead of JSON"}
	}
	return nil
}

// looksLikeHTML reports whether b is markup rather than JSON: it starts with "<" ("<!doctype
// html", "<html", or any other tag).
func looksLikeHTML(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(b), []byte("<"))
}
