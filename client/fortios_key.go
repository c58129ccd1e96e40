package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// GenerateKey makes a new key for the api-user name (POST
// /api/v2/monitor/system/api-user/generate-key {"api-user": name[, "expiry": minutes]}) and
// returns it. It is the only moment the key is readable, and it replaces the api-user's previous
// key, which stops working [docs/upstream.md §6].
//
// The call creates: once sent it runs to its answer whatever ctx does (a key read can still be
// ended, by deleting its api-user), and it is never sent again once the FortiGate may have acted
// on it, since a repeat would replace the key just made.
//
// expiryMinutes > 0 asks the key to expire by itself after that many minutes (1 to
// MaxKeyExpiry), which firmware 7.6+ takes [med]; 0 sends no expiry. Firmware before 7.6 does not
// know the field: it may ignore it, or refuse the request [inferred]. A refusal that proves
// nothing was made (a FortiOS error answer of 400, 424, or 500 with a CLI error code other than
// -3) is followed by one more call without the expiry, and this client asks no expiry again. Either
// way the key may not expire by itself: the caller must still end it.
//
// Errors: ErrRefused naming the argument that cannot be sent (nothing is sent); ErrGone when the
// api-user does not exist; ErrRefused for 401, 403 (some releases refuse generate-key for the
// caller's own api-user [ftnt issue reports]: the old key then still works) and other refusals,
// which made nothing; ErrRetryLater or ErrProtocol when the answer was lost or not understood, and
// a key may have been made, the previous one then dead. No key ever appears in an error.
func (c *FortiOS) GenerateKey(ctx context.Context, name string, expiryMinutes int) (string, error) {
	const op = "generate-key"
	if err := checkGenerateKey(name, expiryMinutes); err != nil {
		return "", &Error{Op: "fortigate: " + op, Kind: ErrRefused, Message: err.Error()}
	}
	if c.noExpiry.Load() {
		expiryMinutes = 0
	}
	fc := generateKeyCall(c.key, name, expiryMinutes)
	resp, err := c.send(ctx, fc)
	if err != nil {
		return "", err
	}
	if expiryMinutes > 0 && expiryRefused(resp) {
		c.noExpiry.Store(true)
		fc = generateKeyCall(c.key, name, 0)
		if resp, err = c.send(ctx, fc); err != nil {
			return "", err
		}
	}
	a, err := c.result(fc, resp)
	if err == nil {
		var key string
		if key, err = ReadGeneratedKey(a.Results); err == nil {
			return key, nil
		}
		err = &Error{Op: "fortigate: " + op, Kind: ErrProtocol, Status: resp.status, Err: err}
	}
	var e *Error
	if errors.Is(err, ErrProtocol) && errors.As(err, &e) {
		e.Message = joinMessage(e.Message, fmt.Sprintf("a key may have been made for api-user %q", name))
	}
	return "", err
}

// checkGenerateKey refuses what GenerateKey cannot send, naming the argument.
func checkGenerateKey(name string, expiryMinutes int) error {
	if err := checkObjectName(name); err != nil {
		return fmt.Errorf("api-user: %w", err)
	}
	if expiryMinutes < 0 || expiryMinutes > MaxKeyExpiry {
		return fmt.Errorf("expiry: %d minutes is outside 1 to %d (0: none)", expiryMinutes, MaxKeyExpiry)
	}
	return nil
}

// generateKeyCall is the generate-key call for name, with an expiry when expiryMinutes > 0.
func generateKeyCall(key, name string, expiryMinutes int) fosCall {
	body := map[string]any{"api-user": name}
	if expiryMinutes > 0 {
		body["expiry"] = expiryMinutes
	}
	return fosCall{op: "generate-key", method: http.MethodPost, path: fosGenerateKeyPath, body: body, key: key,
		creates: true, object: true}
}

// expiryRefused reports whether resp, the answer to a generate-key that carried an expiry,
// refused the request's input, and so made nothing: a FortiOS error answer of 400 or 424, or of
// 500 with a CLI error code other than -3 (the api-user not found). A 401, 403 or 404 is not about
// the expiry, and anything else may hide a key made.
func expiryRefused(resp *response) bool {
	a, err := ParseFortiOS(resp.body)
	if err != nil || a.Status != fosFailure {
		return false
	}
	switch answerStatus(resp.status, a) {
	case http.StatusBadRequest, http.StatusFailedDependency:
		return true
	case http.StatusInternalServerError:
		return a.Code != 0 && a.Code != fosNotFound
	}
	return false
}
