package client

import (
	"errors"
	"testing"
)

func TestOutcome(t *testing.T) {
	refused := &Error{Op: "x", Kind: ErrRefused}
	later := &Error{Op: "x", Kind: ErrRetryLater}
	left := &UnrevokedToken{Token: "t", Err: later}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{left, "ok"}, // the session is good; only the token's revoke failed
		{errors.Join(refused, left), "refused"},
		{noTokenMinted{refused}, "refused"},
		{&Error{Op: "x", Kind: ErrGone}, "gone"},
		{later, "retry_later"},
		{&Error{Op: "x", Kind: ErrLoginLimit}, "login_limit"},
		{&Error{Op: "x", Kind: ErrExists}, "exists"},
		{&Error{Op: "x", Kind: ErrProtocol}, "protocol"},
		{errors.New("other"), "error"},
	} {
		if got := Outcome(tc.err); got != tc.want {
			t.Errorf("Outcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if TokenMayBeMinted(noTokenMinted{refused}) || !TokenMayBeMinted(nil) || !TokenMayBeMinted(later) {
		t.Error("TokenMayBeMinted")
	}
}
