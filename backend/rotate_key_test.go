package backend

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

const (
	fosRoot        = "vault-root"
	generateKeyURL = "/api/v2/monitor/system/api-user/generate-key"
)

// fortigateConfig stores config "fw" for the fake FortiGate's root api-user, and returns its
// key. Stored directly: the rotation is under test, not the config write.
func (e *env) fortigateConfig() string {
	e.t.Helper()
	key := e.fake.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fosRoot, Profile: fortitest.FortiOSSuperAdmin, VDOMs: []string{"root"}})
	c := &configEntry{Type: client.TypeFortiGate, URL: e.fake.URL, AuthMethod: client.AuthAPIKey, APIKey: key,
		Username: fosRoot, CACert: e.fake.CACertPEM, RequestTimeout: time.Second}
	if err := e.b.storeConfig(context.Background(), e.s, "fw", c); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// rotate-root on FortiGate: the root's own key regenerated, checked and stored; where the
// firmware refuses or the call never arrives, nothing changes and the stored key still works;
// where the answer is lost after the key was made, the error says how to recover.
func TestRotateRootFortiGate(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*env)
		wantErr []string // nil: success
		changed bool     // the stored key changed
		lost    bool     // neither key works (the answer was lost)
	}{
		{name: "rotated", changed: true},
		{name: "firmware refuses the caller's own key", setup: func(e *env) { e.fake.SetFortiOSOwnKeyRefused(true) },
			wantErr: []string{"refused to regenerate", "nothing changed", "GUI"}},
		{name: "the call never arrives", setup: func(e *env) {
			e.fake.AddFault(fortitest.Fault{Path: generateKeyURL, Kind: fortitest.FaultDown})
		}, wantErr: []string{"still works", "nothing changed"}},
		{name: "the answer is lost after the key was made", setup: func(e *env) {
			e.fake.AddFault(fortitest.Fault{Path: generateKeyURL, Kind: fortitest.FaultActThen5xx, Count: 1})
		}, wantErr: []string{"no longer works", "GUI", "config/fw"}, lost: true},
		{name: "storage fails for a while", setup: func(e *env) {
			fs := &faultyStorage{Storage: e.s}
			var puts atomic.Int32
			fs.failPut.Store(configPrefix)
			fs.onPut.Store(func(key string) {
				if strings.HasPrefix(key, configPrefix) && puts.Add(1) == 3 {
					fs.failPut.Store("")
				}
			})
			e.s = fs
		}, changed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			old := e.fortigateConfig()
			if tt.setup != nil {
				tt.setup(e)
			}
			resp, err := e.do(logical.UpdateOperation, "rotate-root/fw", nil)
			if err == nil && resp.IsError() {
				err = resp.Error()
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("rotate-root: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("rotate-root succeeded, want an error saying %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			e.fake.ClearFaults()
			stored := e.stored("fw").APIKey
			if err != nil && strings.Contains(err.Error(), stored) || resp != nil && resp.Data["api_key"] != nil {
				t.Fatal("the key shows in the answer")
			}
			switch {
			case tt.changed && (stored == old || !e.fake.FortiOSKeyValid(stored) || e.fake.FortiOSKeyValid(old)):
				t.Fatal("want the new key stored and working, the old one dead")
			case tt.changed && (resp == nil || resp.Data["last_rotated"] == ""):
				t.Fatalf("answer %v: want last_rotated", resp)
			case !tt.changed && stored != old:
				t.Fatal("a failed rotation changed the stored key")
			case !tt.changed && !tt.lost && !e.fake.FortiOSKeyValid(old):
				t.Fatal("a rotation that made nothing left the stored key dead")
			case tt.lost && e.fake.FortiOSKeyValid(old):
				t.Fatal("the fake did not make the key")
			}
		})
	}
}

// A caller that leaves once generate-key is sent: the key is made all the same, so the
// rotation runs to its end and stores it.
func TestRotateRootFortiGateCallerLeaves(t *testing.T) {
	e := newEnv(t)
	e.s = ctxStorage{e.s}
	old := e.fortigateConfig()
	e.fake.AddFault(fortitest.Fault{Path: generateKeyURL, Kind: fortitest.FaultSlow, Delay: 300 * time.Millisecond, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = e.b.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "rotate-root/fw", Storage: e.s})
	if stored := e.stored("fw").APIKey; stored == old || !e.fake.FortiOSKeyValid(stored) {
		t.Fatal("the key made for a caller that left was not stored")
	}
}
