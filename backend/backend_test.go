package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
)

// Credentials the fake knows. Each is distinctive, so that a leak is easy to find.
const (
	adminUser     = "api-admin"
	adminPassword = "Adm1nPassw0rd-do-not-leak"
	cloudToken    = "CloudTok3n-do-not-leak-0123456789"
	lanAccount    = "acct1@example.com"
	lanUser       = "user1@example.com"
	lanPassword   = "LanPassw0rd-do-not-leak"
	iamUser       = "iam1@example.com"
	iamPassword   = "IamPassw0rd-do-not-leak"
	apiID         = "API-ID-0001"
	apiPassword   = "ApiPassw0rd-do-not-leak"
)

// syncBuffer collects the plugin's log lines from every goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

type env struct {
	t    *testing.T
	b    *backend
	s    logical.Storage
	fake *fortitest.Server
	logs *syncBuffer
	// deadline, when set, is the deadline of every request do makes, as some Vault requests
	// carry one; else requests have none, as creds through Vault 1.21 has not.
	deadline time.Duration
	// sys, when set, is the backends' system view; mount is the mount point of requests.
	sys   logical.SystemView
	mount string
}

// newFake starts the fake with every credential the tests use and no FortiLAN login limit.
func newFake(tb testing.TB) *fortitest.Server {
	fake := fortitest.NewServer()
	tb.Cleanup(fake.Close)
	fake.AddAdmin(adminUser, adminPassword)
	fake.AddCloudToken(cloudToken, time.Hour)
	fake.AddLANUser(lanAccount, lanUser, lanPassword, false)
	fake.AddLANUser(lanAccount, iamUser, iamPassword, true)
	fake.AddAPIUser(apiID, apiPassword)
	fake.SetAuthRateLimit(0)
	return fake
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake := newFake(t)

	e := &env{t: t, s: &logical.InmemStorage{}, fake: fake, logs: &syncBuffer{}}
	e.b = e.newBackend()
	return e
}

func (e *env) newBackend() *backend {
	e.t.Helper()
	conf := logical.TestBackendConfig()
	conf.StorageView = e.s
	conf.Logger = hclog.New(&hclog.LoggerOptions{Output: e.logs, Level: hclog.Trace})
	conf.System = &logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour}
	if e.sys != nil {
		conf.System = e.sys
	}
	lb, err := Factory(context.Background(), conf)
	if err != nil {
		e.t.Fatal(err)
	}
	b := lb.(*backend)
	e.t.Cleanup(func() { b.Cleanup(context.Background()) })
	return b
}

// restart replaces the backend with a new one on the same storage, as a plugin restart, reload
// or mount tune does.
func (e *env) restart() {
	e.t.Helper()
	e.b.Cleanup(context.Background())
	e.b = e.newBackend()
}

// do runs one request as Vault would, with the existence check deciding create or update.
func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: e.s, MountPoint: e.mount}
	if op == logical.UpdateOperation || op == logical.CreateOperation {
		ok, exists, err := e.b.HandleExistenceCheck(context.Background(), req)
		if err != nil {
			return nil, err
		}
		if ok && !exists {
			req.Operation = logical.CreateOperation
		} else {
			req.Operation = logical.UpdateOperation
		}
	}
	ctx := context.Background()
	if e.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.deadline)
		defer cancel()
	}
	return e.b.HandleRequest(ctx, req)
}

// ok runs a request that must succeed.
func (e *env) ok(op logical.Operation, path string, data map[string]any) *logical.Response {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	if err != nil {
		e.t.Fatalf("%s %s: %v", op, path, err)
	}
	if resp != nil && resp.IsError() {
		e.t.Fatalf("%s %s: %v", op, path, resp.Error())
	}
	return resp
}

// fails runs a request that must be refused with a message containing every part of want.
func (e *env) fails(op logical.Operation, path string, data map[string]any, want ...string) string {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	var msg string
	switch {
	case err != nil:
		msg = err.Error()
	case resp != nil && resp.IsError():
		msg = resp.Error().Error()
	default:
		e.t.Fatalf("%s %s: succeeded, want an error with %q", op, path, want)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			e.t.Fatalf("%s %s: error %q does not say %q", op, path, msg, w)
		}
	}
	return msg
}

// configs the fake accepts, one per auth method.
func (e *env) fazLocal() map[string]any {
	return map[string]any{"type": "fortianalyzer", "url": e.fake.URL, "auth_method": "local_user",
		"username": adminUser, "password": adminPassword, "ca_cert": e.fake.CACertPEM}
}

func (e *env) fazCloud() map[string]any {
	return map[string]any{"type": "fortianalyzer", "url": e.fake.URL, "auth_method": "forticloud_token",
		"token": cloudToken, "ca_cert": e.fake.CACertPEM}
}

func (e *env) fmgLocal() map[string]any {
	m := e.fazLocal()
	m["type"] = "fortimanager"
	return m
}

func (e *env) fazAPIUser() map[string]any {
	return map[string]any{"type": "fortianalyzer", "url": e.fake.URL, "auth_method": "forticloud_api_user",
		"api_id": apiID, "password": apiPassword, "auth_url": e.fake.URL, "ca_cert": e.fake.CACertPEM}
}

func (e *env) lanEmail() map[string]any {
	return map[string]any{"type": "fortilan", "url": e.fake.URL, "account_id": lanAccount,
		"username": lanUser, "password": lanPassword, "ca_cert": e.fake.CACertPEM, "login_rate_limit": 0}
}

func (e *env) lanIAM() map[string]any {
	return map[string]any{"type": "fortilan", "url": e.fake.URL, "auth_method": "iam_user", "account_id": lanAccount,
		"username": iamUser, "password": iamPassword, "ca_cert": e.fake.CACertPEM, "login_rate_limit": 0}
}

func (e *env) lanAPIUser() map[string]any {
	return map[string]any{"type": "fortilan", "url": e.fake.URL, "auth_method": "forticloud_api_user",
		"api_id": apiID, "password": apiPassword, "auth_url": e.fake.URL, "ca_cert": e.fake.CACertPEM}
}

func (e *env) cloudAPIUser() map[string]any {
	return map[string]any{"type": "forticloud", "client_id": "fortigatecloud",
		"api_id": apiID, "password": apiPassword, "auth_url": e.fake.URL, "ca_cert": e.fake.CACertPEM}
}

// lease is an issued credential as Vault keeps it: its Secret after a storage round trip.
type lease struct {
	data   map[string]any
	secret *logical.Secret
}

// creds issues a credential for role and returns it as Vault would store it.
func (e *env) creds(role string) lease {
	e.t.Helper()
	resp := e.ok(logical.ReadOperation, "creds/"+role, nil)
	if resp.Secret == nil {
		e.t.Fatalf("creds/%s: no secret in %v", role, resp.Data)
	}
	return lease{data: resp.Data, secret: storedSecret(e.t, resp.Secret)}
}

// storedSecret copies a secret through JSON, as Vault's lease storage does, so that numbers in
// the internal data come back the way Vault hands them to renew and revoke.
func storedSecret(t testing.TB, s *logical.Secret) *logical.Secret {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out logical.Secret
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	out.IssueTime = time.Now()
	return &out
}

func (e *env) renew(l lease) (*logical.Response, error) {
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RenewOperation, Storage: e.s, Secret: l.secret, Data: l.data,
	})
}

func (e *env) revoke(l lease) error {
	resp, err := e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RevokeOperation, Storage: e.s, Secret: l.secret, Data: l.data,
	})
	if err == nil && resp != nil && resp.IsError() {
		err = resp.Error()
	}
	return err
}

// revokeAllNoneLive revokes every lease and checks that no session or FortiLAN token is left
// live upstream.
func (e *env) revokeAllNoneLive(t *testing.T, leases ...lease) {
	t.Helper()
	for _, l := range leases {
		if err := e.revoke(l); err != nil {
			t.Fatal(err)
		}
	}
	if n, m := e.fake.LiveSessions(), e.fake.LiveLANTokens(); n != 0 || m != 0 {
		t.Fatalf("after revoke: %d sessions and %d FortiLAN tokens live upstream", n, m)
	}
}

// lastRevokeEndsToken revokes what must be the last lease holding a shared token, and checks
// that the token lived until then and not after.
func (e *env) lastRevokeEndsToken(t *testing.T, l lease, tok string) {
	t.Helper()
	if !e.fake.OAuthTokenAlive(tok) {
		t.Fatal("the shared token is dead while a lease still holds it")
	}
	if err := e.revoke(l); err != nil {
		t.Fatal(err)
	}
	if e.fake.OAuthTokenAlive(tok) {
		t.Fatal("the last lease's revoke left the shared token live upstream")
	}
}

func TestFactoryPaths(t *testing.T) {
	e := newEnv(t)
	if e.b.Backend.RunningVersion != Version {
		t.Fatalf("RunningVersion = %q, want %q", e.b.Backend.RunningVersion, Version)
	}
	sp := e.b.SpecialPaths()
	for _, want := range []string{configPrefix, sharePrefix} {
		if !contains(sp.SealWrapStorage, want) {
			t.Errorf("SealWrapStorage lacks %q", want)
		}
	}
	if !contains(sp.LocalStorage, "wal/") {
		t.Errorf("LocalStorage lacks the WAL prefix: %v", sp.LocalStorage)
	}
	for _, p := range e.b.Backend.Paths {
		for op, h := range p.Operations {
			props := h.Properties()
			// Whatever writes storage or creates a lease must reach the active node.
			mutates := op != logical.ReadOperation && op != logical.ListOperation || strings.HasPrefix(p.Pattern, "creds/")
			if props.ForwardPerformanceStandby != mutates || props.ForwardPerformanceSecondary != mutates {
				t.Errorf("path %s %s: forwarded %v/%v, want %v", p.Pattern, op, props.ForwardPerformanceStandby, props.ForwardPerformanceSecondary, mutates)
			}
			if props.DisplayAttrs == nil || props.DisplayAttrs.OperationVerb == "" {
				t.Errorf("path %s %s has no OpenAPI verb", p.Pattern, op)
			}
		}
		if p.HelpSynopsis == "" || p.HelpDescription == "" {
			t.Errorf("path %s lacks help", p.Pattern)
		}
		for name, f := range p.Fields {
			if f.Description == "" {
				t.Errorf("path %s field %s lacks a description", p.Pattern, name)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
