package backend

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

func TestRoles(t *testing.T) {
	e := newEnv(t)
	e.ok(logical.UpdateOperation, "config/faz", e.fazLocal())

	rejects := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"no config", map[string]any{"ttl": "1m"}, []string{"config: required"}},
		{"missing config", map[string]any{"config": "nope"}, []string{`config "nope" does not exist`}},
		{"ttl above max_ttl", map[string]any{"config": "faz", "ttl": "2h", "max_ttl": "1h"}, []string{"ttl: 2h0m0s is above max_ttl 1h0m0s"}},
		{"negative ttl", map[string]any{"config": "faz", "ttl": -5}, []string{"ttl"}},
		{"bad duration", map[string]any{"config": "faz", "ttl": "soon"}, []string{"ttl"}},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.fails(logical.UpdateOperation, "roles/r", tc.data, tc.want...)
			if resp := e.ok(logical.ReadOperation, "roles/r", nil); resp != nil {
				t.Fatalf("refused write stored a role: %v", resp.Data)
			}
		})
	}
	e.t = t

	e.ok(logical.UpdateOperation, "roles/soc", map[string]any{"config": "faz", "ttl": "15m", "max_ttl": "8h"})
	got := e.ok(logical.ReadOperation, "roles/soc", nil).Data
	if got["config"] != "faz" || got["ttl"] != int64(900) || got["max_ttl"] != int64(28800) {
		t.Fatalf("read = %v", got)
	}
	// Update keeps what it does not name, and checks the result as a whole.
	e.ok(logical.UpdateOperation, "roles/soc", map[string]any{"ttl": "30m"})
	if got := e.ok(logical.ReadOperation, "roles/soc", nil).Data; got["ttl"] != int64(1800) || got["max_ttl"] != int64(28800) {
		t.Fatalf("after update: %v", got)
	}
	e.fails(logical.UpdateOperation, "roles/soc", map[string]any{"ttl": "9h"}, "above max_ttl")

	resp := e.ok(logical.UpdateOperation, "roles/long", map[string]any{"config": "faz", "max_ttl": "100h"})
	if resp == nil || len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "mount's max TTL") {
		t.Fatalf("no warning for max_ttl above the mount's: %v", resp)
	}

	keys := e.ok(logical.ListOperation, "roles/", nil).Data["keys"].([]string)
	if strings.Join(keys, ",") != "long,soc" {
		t.Fatalf("list = %v", keys)
	}
	e.ok(logical.DeleteOperation, "roles/long", nil)
	if resp := e.ok(logical.ReadOperation, "roles/long", nil); resp != nil {
		t.Fatal("deleted role still reads")
	}
	e.fails(logical.ReadOperation, "creds/long", nil, `role "long" does not exist`)
}

// TestReadEntryErrorsNameTheKind: a storage failure names what could not be read.
func TestReadEntryErrorsNameTheKind(t *testing.T) {
	s := &faultyGet{}
	if _, err := readConfig(context.Background(), s, "faz"); err == nil || !strings.Contains(err.Error(), `read config "faz"`) {
		t.Errorf("readConfig: %v", err)
	}
	if _, err := readRole(context.Background(), s, "r"); err == nil || !strings.Contains(err.Error(), `read role "r"`) {
		t.Errorf("readRole: %v", err)
	}
}

// faultyGet fails every read.
type faultyGet struct{ logical.InmemStorage }

func (*faultyGet) Get(context.Context, string) (*logical.StorageEntry, error) {
	return nil, errInjected
}
