package backend

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// The engine's own passwords, when a config names no password_policy: passwordLength
// characters with at least one of each class. The symbols are those FortiAnalyzer and
// FortiManager take in an admin password through JSON-RPC and the CLI alike: no quotes,
// backslash, space, '?' (the CLI's help key) or '$' and '#' (which scripts that paste a
// password tend to mangle).
const (
	passwordLength = 32
	passwordUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	passwordLower  = "abcdefghijkmnopqrstuvwxyz"
	passwordDigits = "23456789"
	passwordSymbol = "!%*+,-.:=@^_~"
)

// newPassword makes a password for an admin: from the Vault password policy named policy, or,
// when policy is "", the engine's own generator.
func (b *backend) newPassword(ctx context.Context, policy string) (string, error) {
	if policy == "" {
		return generatePassword()
	}
	p, err := b.System().GeneratePasswordFromPolicy(ctx, policy)
	if err != nil {
		return "", fmt.Errorf("password_policy %q: %w", policy, err)
	}
	return p, nil
}

// generatePassword makes passwordLength characters with at least one of each class, from
// crypto/rand.
func generatePassword() (string, error) {
	classes := []string{passwordUpper, passwordLower, passwordDigits, passwordSymbol}
	all := strings.Join(classes, "")
	out := make([]byte, passwordLength)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		out[i] = c
	}
	// The first characters were one of each class: shuffle them in.
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, fmt.Errorf("generate password: %w", err)
	}
	return set[n.Int64()], nil
}
