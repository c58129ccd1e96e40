package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// rotateKey regenerates the FortiGate root api-user's own key (generate-key for the config's
// username, with its current key), checks the new key with a status call, and stores it. The
// caller holds pauseCreds and the config's write lock.
//
// Unlike a password, a key cannot be chosen before it is made: generate-key makes it, answers it
// once, and the old key stops working at that moment [docs/upstream.md §6]. No WAL entry can
// name it beforehand, so the window between that answer and the stored config is kept as small
// as it can be: once sent, the call and what follows run to their end whatever the caller does,
// and the new key is stored even when its check fails (the old one is dead by then: storing the
// new one is the only chance left). A plugin killed inside that window loses the key: the
// guide's break-glass procedure makes a new one in the GUI.
//
// Firmware that refuses generate-key for the caller's own api-user (403 on some releases) or an
// api-user that is gone made nothing: the stored key is untouched and still works.
func (b *backend) rotateKey(ctx context.Context, s logical.Storage, name string, c *configEntry) (*configEntry, error) {
	conn, err := client.New(c.settings())
	if err != nil {
		return nil, fmt.Errorf("rotate-root: config %q: %w", name, err)
	}
	defer conn.Close()
	fos := client.NewFortiOS(c.URL, c.APIKey, conn.Transport)
	key, err := fos.GenerateKey(ctx, c.Username, 0)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rotationBudget(c))
	defer cancel()
	if err != nil {
		return nil, b.keyNotMade(ctx, fos, name, c, err)
	}
	next := *c
	next.APIKey, next.LastRotated = key, time.Now().Unix()
	next.scheduleNext(time.Unix(next.LastRotated, 0))
	_, checkErr := fos.CheckKey(ctx, key)
	if err := b.storeNewKey(ctx, s, name, &next); err != nil {
		return nil, err
	}
	if checkErr != nil {
		b.Logger().Warn("rotate-root: the new root key was stored, but a status call with it failed", "config", name, "error", checkErr)
		return nil, upstreamError(name, fmt.Errorf("rotate-root: the new key was made and stored (the old one no longer works), "+
			"but a status call with it failed: %w; check the root api-user's trusthosts and profile", checkErr))
	}
	return &next, nil
}

// keyNotMade answers a generate-key that failed: nothing changed when the FortiGate refused it;
// when its answer was lost, the old key says whether a new one was made.
func (b *backend) keyNotMade(ctx context.Context, fos *client.FortiOS, name string, c *configEntry, err error) error {
	if errors.Is(err, client.ErrRefused) || errors.Is(err, client.ErrGone) {
		return upstreamError(name, fmt.Errorf("rotate-root: the FortiGate refused to regenerate the key of api-user %q "+
			"(some releases refuse it for the caller's own key; then rotate it in the GUI and write it to the config): %w; "+
			"nothing changed: the stored key still works", c.Username, err))
	}
	if _, cerr := fos.CheckKey(ctx, c.APIKey); cerr == nil {
		return upstreamError(name, fmt.Errorf("rotate-root: generate-key failed: %w; the stored key still works: nothing changed", err))
	}
	b.Logger().Error("rotate-root: generate-key's answer was lost and the stored key no longer works: a new key was made "+
		"that only the FortiGate knows; follow the break-glass procedure in the guide", "config", name, "error", err)
	return upstreamError(name, fmt.Errorf("rotate-root: generate-key's answer was lost (%w), and the stored key no longer works: "+
		"make a new key for api-user %q in the FortiGate's GUI and write it to config/%s", err, c.Username, name))
}

// storeNewKey stores a config whose new key only this process knows, trying again while
// storage fails, within the rotation's budget.
func (b *backend) storeNewKey(ctx context.Context, s logical.Storage, name string, c *configEntry) error {
	var err error
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		if err = storing(ctx, func(ctx context.Context) error { return b.storeConfig(ctx, s, name, c) }); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			b.Logger().Error("rotate-root: the new root key could not be stored, and the old one no longer works; "+
				"follow the break-glass procedure in the guide", "config", name, "error", err)
			return fmt.Errorf("rotate-root: store the new key of config %q: %w; the old key no longer works: make a new key "+
				"for api-user %q in the FortiGate's GUI and write it to config/%s", name, err, c.Username, name)
		case <-time.After(wait):
		}
	}
}
