package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

func TestPortsPair(t *testing.T) {
	var ps Ports
	seen := map[int]bool{}
	for range 20 {
		p, err := ps.Pair()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || seen[p+1] {
			t.Fatalf("port %d or %d handed out twice", p, p+1)
		}
		seen[p], seen[p+1] = true, true
		for _, port := range []int{p, p + 1} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatalf("port %d is not free: %v", port, err)
			}
			l.Close()
		}
	}
}

func TestWaitVault(t *testing.T) {
	for _, tc := range []struct {
		name    string
		health  string // sys/health's answer; "" answers nothing (500)
		active  bool
		script  string // what the "vault" process does
		wantErr string // "" for success
	}{
		{"active", `{"initialized":true,"sealed":false,"standby":false}`, true, "exec sleep 60", ""},
		{"standby, want active", `{"initialized":true,"sealed":false,"standby":true}`, true, "exec sleep 60", "did not answer"},
		{"sealed, want any answer", `{"initialized":true,"sealed":true}`, false, "exec sleep 60", ""},
		{"no answer", "", false, "exec sleep 60", "did not answer"},
		{"port taken", "", true, "echo 'Error: listen tcp 127.0.0.1:8200: bind: address already in use'; exit 1", ErrAddrInUse.Error()},
		{"exits", "", true, "exit 2", "vault exited at start: exit status 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.health == "" {
					http.Error(w, "{}", http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.health))
			}))
			defer srv.Close()
			c, err := api.NewClient(&api.Config{Address: srv.URL, MaxRetries: 0})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			p, err := StartProcess("/bin/sh", filepath.Join(dir, "log"), dir, "-c", tc.script)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop(time.Second)
			err = WaitVault(c, p, tc.active, 500*time.Millisecond)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("WaitVault: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("WaitVault = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == ErrAddrInUse.Error() && !errors.Is(err, ErrAddrInUse) {
				t.Errorf("%v is not ErrAddrInUse", err)
			}
		})
	}
}
