package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// Version is a Vault release, major.minor.patch.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

var vaultVersionRE = regexp.MustCompile(`(?m)^Vault v(\d+)\.(\d+)\.(\d+)\b`)

// ParseVaultVersion reads the release from what `vault version` prints, "Vault v1.21.4" then
// maybe a commit, a build date or a "+ent" suffix.
func ParseVaultVersion(out string) (Version, error) {
	m := vaultVersionRE.FindStringSubmatch(out)
	if m == nil {
		return Version{}, fmt.Errorf("no %q line in %q", "Vault vX.Y.Z", out)
	}
	var n [3]int
	for i := range n {
		var err error
		if n[i], err = strconv.Atoi(m[i+1]); err != nil {
			return Version{}, fmt.Errorf("version %q: %w", m[0], err)
		}
	}
	return Version{n[0], n[1], n[2]}, nil
}

// VaultVersion runs `bin version` and parses its answer.
func VaultVersion(bin string) (Version, error) {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("%s version: %w", bin, err)
	}
	return ParseVaultVersion(string(out))
}
