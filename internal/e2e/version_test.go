package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVaultVersion(t *testing.T) {
	for _, tc := range []struct {
		out     string
		want    Version
		wantErr bool
	}{
		{"Vault v1.15.6\n", Version{1, 15, 6}, false},
		{"Vault v1.21.4, built 2026-03-05T01:40:05Z\n", Version{1, 21, 4}, false},
		{"Vault v1.19.0+ent (7eeafb6160d60ede73c1d95566b0c8ea54f3cb5a), built 2025-03-04T17:36:40Z\n", Version{1, 19, 0}, false},
		{"WARNING! something\nVault v2.0.0-beta1\n", Version{2, 0, 0}, false},
		{"Vault v1.21\n", Version{}, true},
		{"OpenBao v2.1.0\n", Version{}, true},
		{"", Version{}, true},
		{"Vault v99999999999999999999.0.0\n", Version{}, true},
	} {
		got, err := ParseVaultVersion(tc.out)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseVaultVersion(%q) = %v, %v; want %v, error %v", tc.out, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	v := Version{1, 16, 2}
	for _, tc := range []struct {
		major, minor int
		want         bool
	}{
		{1, 15, true}, {1, 16, true}, {1, 17, false}, {0, 99, true}, {2, 0, false},
	} {
		if got := v.AtLeast(tc.major, tc.minor); got != tc.want {
			t.Errorf("%v.AtLeast(%d, %d) = %v, want %v", v, tc.major, tc.minor, got, tc.want)
		}
	}
	if s := v.String(); s != "1.16.2" {
		t.Errorf("String() = %q", s)
	}
}

func TestVaultVersion(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, script, want, wantErr string
	}{
		{"answers", `[ "$1" = version ] && echo "Vault v1.15.6" || exit 9`, "1.15.6", ""},
		{"fails", "exit 3", "", "exit status 3"},
		{"not vault", "echo hello", "", "no \"Vault vX.Y.Z\" line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			v, err := VaultVersion(bin)
			switch {
			case tc.wantErr == "" && (err != nil || v.String() != tc.want):
				t.Fatalf("VaultVersion = %v, %v; want %s", v, err, tc.want)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("VaultVersion = %v, %v; want an error with %q", v, err, tc.wantErr)
			}
		})
	}
}
