package backend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// A FortiCloud API user has one live OAuth token at a time: minting a new one kills the last.
// Leases that hand out the token itself (fortilan and forticloud with forticloud_api_user)
// therefore share it. There is one share per API user, whatever config or client_id minted it,
// and every mint for that user (a share, a FortiAnalyzer Cloud login, a verify) replaces or
// drops it, so that a dead token is never handed out. The share is kept in storage, so that it
// survives restarts, and changed only under the API user's lock, so that a revoke and a new
// creds never race.

// sharePrefix is where the API users' token shares live in storage.
const sharePrefix = "shares/"

// shareMinLeft is the least life a shared token must have left to be handed out again; one
// with less is replaced by a new one.
const shareMinLeft = time.Minute

type shareEntry struct {
	ClientID    string `json:"client_id"` // the product the token was minted for
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type,omitempty"`
	ExpiresAt   int64  `json:"expires_at,omitempty"`
	Leases      int    `json:"leases"`
	Stale       bool   `json:"stale,omitempty"`  // another token was minted since: never hand this one out
	Minter      string `json:"minter,omitempty"` // minterOf the credentials that minted the token
	MinterSalt  string `json:"minter_salt,omitempty"`

	// Pending holds the takes counted in Leases whose WAL entry may still exist (take id ->
	// UNIX time): a rollback gives back only a take found here, and only once.
	Pending map[string]int64 `json:"pending,omitempty"`
}

// apiUserKey names one API user at one IAM endpoint, for locking.
func apiUserKey(authURL, apiID string) string {
	return "apiuser\n" + authURL + "\n" + apiID
}

// shareKey is where an API user's share lives; the ID is hashed, as it names an account.
func shareKey(authURL, apiID string) string {
	h := sha256.Sum256([]byte(authURL + "\n" + apiID))
	return sharePrefix + hex.EncodeToString(h[:16])
}

func readShare(ctx context.Context, s logical.Storage, key string) (*shareEntry, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read token share: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var sh shareEntry
	if err := e.DecodeJSON(&sh); err != nil {
		return nil, fmt.Errorf("decode token share: %w", err)
	}
	return &sh, nil
}

func writeShare(ctx context.Context, s logical.Storage, key string, sh *shareEntry) error {
	e, err := logical.StorageEntryJSON(key, sh)
	if err != nil {
		return fmt.Errorf("encode token share: %w", err)
	}
	if err := s.Put(ctx, e); err != nil {
		return fmt.Errorf("store token share: %w", err)
	}
	return nil
}

// live reports whether the share holds a token with life left.
func (sh *shareEntry) live(now time.Time) bool {
	return sh != nil && !sh.Stale && sh.AccessToken != "" && (sh.ExpiresAt == 0 || time.Unix(sh.ExpiresAt, 0).Sub(now) > shareMinLeft)
}

// markShareStale records that a token was (or may have been) minted for the API user outside any
// share, which ends the token the share holds: the share is marked stale, so that it is never
// handed out again, yet its last lease still revokes its token, in case that one lives after
// all (IAM answers alike whether it did). Called under the API user's lock.
func (b *backend) markShareStale(ctx context.Context, s logical.Storage, authURL, apiID string) {
	key := shareKey(authURL, apiID)
	sh, err := readShare(ctx, s, key)
	if err == nil && sh != nil && !sh.Stale {
		sh.Stale = true
		err = writeShare(ctx, s, key, sh)
	}
	if err != nil {
		b.Logger().Warn("could not mark the API user's token share stale; its leases may be handed a dead token", "error", err)
	}
}

// issueShared hands out a share of the API user's live token, minting one when none is live.
// Its WAL entry is written before the share is counted, and names the take: a crash or a
// failure anywhere after gives the take back exactly once.
func (b *backend) issueShared(ctx context.Context, req *logical.Request, l leaseInternal, c *cachedConfig, r *roleEntry) (*logical.Response, error) {
	l.Shared = true
	l.Take = randomHex(8)
	k := shareKind()
	walID, err := framework.PutWAL(ctx, req.Storage, k.name, l.toMap())
	if err != nil {
		return nil, fmt.Errorf("write WAL: %w", err)
	}
	tok, err := b.takeShare(ctx, req.Storage, l, c)
	if err != nil {
		// A failed write may still have stored the take: give it back if it is there.
		b.undoThenDropWAL(ctx, req.Storage, k, l, walID)
		return nil, err
	}
	l, resp, err := b.tokenResponse(l, r, tok)
	if err != nil {
		b.undoThenDropWAL(ctx, req.Storage, k, l, walID)
		return nil, err
	}
	if resp, err = b.handOver(ctx, req, k, l, resp, walID); err != nil {
		return nil, err
	}
	// The answer does not wait for it: two storage round trips, and a take left pending harms
	// nothing but the record's size (settleTake).
	b.settles.Go(func() { b.settleTake(ctx, req.Storage, l) })
	return resp, nil
}

// takeShare counts one more lease on the API user's live token, minting one if none is live,
// and records the take as pending until settleTake.
func (b *backend) takeShare(ctx context.Context, s logical.Storage, l leaseInternal, c *cachedConfig) (client.Token, error) {
	e := c.entry
	key := l.shareKey()
	unlock := b.apiUsers.Lock(apiUserKey(e.AuthURL, e.APIID))
	defer unlock()

	sh, err := readShare(ctx, s, key)
	if err != nil {
		return client.Token{}, err
	}
	// The live token goes only to a config whose credentials minted it: another config naming
	// the same API user proves its own credentials by minting (which ends the shared token,
	// as any mint does).
	if !sh.live(time.Now()) || sh.ClientID != e.ClientID || !sh.mintedBy(e) {
		if sh, err = b.mintShare(ctx, s, key, sh, l, c); err != nil {
			return client.Token{}, err
		}
		// The mint happened, whether or not the caller still waits: what follows records
		// it, and the caller's leaving is seen to by handOver.
		ctx = context.WithoutCancel(ctx)
	}
	sh.addPending(l.Take, time.Now())
	if err := writeShare(ctx, s, key, sh); err != nil {
		if sh.Leases == 1 {
			// A token minted for this take alone: end it, and the record if it was stored
			// after all, so that it is never handed out dead.
			_ = c.conn.Tokens.Revoke(context.WithoutCancel(ctx), sh.AccessToken)
			_ = s.Delete(context.WithoutCancel(ctx), key)
		}
		return client.Token{}, err
	}
	return sh.token(), nil
}

// mintShare mints a new token for the API user, which ends the one old holds (if any), and
// answers a share of it with no lease yet. Called under the API user's lock.
func (b *backend) mintShare(ctx context.Context, s logical.Storage, key string, old *shareEntry, l leaseInternal, c *cachedConfig) (*shareEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("request ended before a token was minted: %w", err)
	}
	e := c.entry
	// A new token ends the share's: say so first, so that a crash after the mint never
	// leaves the share handing out a dead token.
	b.markShareStale(ctx, s, e.AuthURL, e.APIID)
	tok, err := c.conn.Tokens.Issue(ctx)
	if err != nil {
		if !client.TokenMayBeMinted(err) && old != nil && !old.Stale {
			// IAM refused: nothing was minted and the share's token lives on.
			if werr := writeShare(context.WithoutCancel(ctx), s, key, old); werr != nil {
				b.Logger().Warn("could not restore the API user's token share after a refused login; its next lease mints a new token", "error", werr)
			}
		}
		return nil, upstreamError(l.Config, err)
	}
	sh := &shareEntry{ClientID: e.ClientID, AccessToken: tok.AccessToken, TokenType: tok.TokenType}
	sh.setMinter(e)
	if !tok.ExpiresAt.IsZero() {
		sh.ExpiresAt = tok.ExpiresAt.Unix()
	}
	return sh, nil
}

// addPending counts one more lease, whose take stays pending until settled; takes pending for
// longer than a WAL entry is kept are dropped (given up on, or their settling failed).
func (sh *shareEntry) addPending(take string, now time.Time) {
	sh.Leases++
	if sh.Pending == nil {
		sh.Pending = map[string]int64{}
	}
	for id, at := range sh.Pending {
		if now.Sub(time.Unix(at, 0)) > walGiveUp {
			delete(sh.Pending, id)
		}
	}
	sh.Pending[take] = now.Unix()
}

// token is the share's token as a lease hands it out.
func (sh *shareEntry) token() client.Token {
	tok := client.Token{AccessToken: sh.AccessToken, TokenType: sh.TokenType}
	if sh.ExpiresAt != 0 {
		tok.ExpiresAt = time.Unix(sh.ExpiresAt, 0)
	}
	return tok
}

// settleTake drops a take from the pending ones once its WAL entry is gone. A failure only
// leaves a record that is dropped after walGiveUp.
func (b *backend) settleTake(ctx context.Context, s logical.Storage, l leaseInternal) {
	ctx = context.WithoutCancel(ctx)
	unlock := b.apiUsers.Lock(apiUserKey(l.AuthURL, l.APIID))
	defer unlock()
	key := l.shareKey()
	sh, err := readShare(ctx, s, key)
	if err == nil && sh != nil {
		if _, ok := sh.Pending[l.Take]; !ok {
			return
		}
		delete(sh.Pending, l.Take)
		err = writeShare(ctx, s, key, sh)
	}
	if err != nil {
		b.Logger().Debug("could not settle a token share's take; it is dropped in a day", "error", err)
	}
}

// releaseTake gives back a take whose lease never came to be, if it was counted and not given
// back already: it is safe to repeat, as undo and WAL rollback may both try.
func (b *backend) releaseTake(ctx context.Context, s logical.Storage, l leaseInternal) error {
	if l.Take == "" {
		// An entry from before takes were named, written after the take was counted: a
		// release like a lease's.
		return b.releaseShare(ctx, s, l)
	}
	unlock := b.apiUsers.Lock(apiUserKey(l.AuthURL, l.APIID))
	defer unlock()
	sh, err := readShare(ctx, s, l.shareKey())
	if err != nil {
		return err
	}
	if sh == nil {
		return nil
	}
	if _, ok := sh.Pending[l.Take]; !ok {
		return nil
	}
	return b.release(ctx, s, l, sh)
}

// releaseShare gives up one lease's share of its token; the last one out revokes the token.
func (b *backend) releaseShare(ctx context.Context, s logical.Storage, l leaseInternal) error {
	unlock := b.apiUsers.Lock(apiUserKey(l.AuthURL, l.APIID))
	defer unlock()
	sh, err := readShare(ctx, s, l.shareKey())
	if err != nil {
		return err
	}
	if sh == nil || sh.AccessToken != l.AccessToken {
		// The lease's token was replaced since, which killed it upstream.
		return nil
	}
	return b.release(ctx, s, l, sh)
}

// release takes one lease (and its take, if still pending) off sh; the last one out revokes
// the token. Called under the API user's lock.
func (b *backend) release(ctx context.Context, s logical.Storage, l leaseInternal, sh *shareEntry) error {
	key := l.shareKey()
	delete(sh.Pending, l.Take)
	if sh.Leases > 1 {
		sh.Leases--
		return writeShare(ctx, s, key, sh)
	}
	var exp time.Time
	if sh.ExpiresAt != 0 {
		exp = time.Unix(sh.ExpiresAt, 0)
	}
	if err := b.endToken(ctx, s, l, sh.AccessToken, exp); err != nil {
		return err
	}
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete token share: %w", err)
	}
	return nil
}

// verifyShared checks an API user's credentials without killing the token its leases share:
// while a share is live, minting a token to test would end it. Then the credentials that
// minted it vouch for themselves; others go unchecked, with a warning.
func (b *backend) verifyShared(ctx context.Context, s logical.Storage, name string, c *configEntry, conn *client.Client) ([]string, error) {
	unlock := b.apiUsers.Lock(apiUserKey(c.AuthURL, c.APIID))
	defer unlock()
	sh, err := readShare(ctx, s, shareKey(c.AuthURL, c.APIID))
	if err != nil {
		return nil, err
	}
	if sh.live(time.Now()) {
		if sh.mintedBy(c) {
			return nil, nil
		}
		b.Logger().Info("verify_connection: the API user's token is live and shared by leases; not minting another", "config", name)
		return []string{"verify_connection: not checked: this API user's token is live and shared by leases, and logging in to check would end it; " +
			"these credentials differ from the ones that minted it: this config's first creds logs in with them (ending the shared token)"}, nil
	}
	tok, err := conn.Tokens.Issue(ctx)
	if client.TokenMayBeMinted(err) {
		b.markShareStale(context.WithoutCancel(ctx), s, c.AuthURL, c.APIID)
	}
	if err != nil {
		return nil, err
	}
	if err := conn.Tokens.Revoke(context.WithoutCancel(ctx), tok.AccessToken); err != nil && !errors.Is(err, client.ErrGone) {
		b.Logger().Warn("verify_connection: token revoke failed; the token will expire upstream", "config", name, "error", err)
	}
	return nil, nil
}

// setMinter records a salted digest of the credentials that minted the share's token, so that
// the token goes only to configs holding the same ones.
func (sh *shareEntry) setMinter(c *configEntry) {
	sh.MinterSalt = randomHex(16)
	sh.Minter = minterOf(c, sh.MinterSalt)
}

// mintedBy reports whether c's credentials minted the share's token.
func (sh *shareEntry) mintedBy(c *configEntry) bool {
	return sh != nil && sh.Minter != "" && subtle.ConstantTimeCompare([]byte(sh.Minter), []byte(minterOf(c, sh.MinterSalt))) == 1
}

func minterOf(c *configEntry, salt string) string {
	m := hmac.New(sha256.New, []byte(salt))
	m.Write([]byte(c.AuthURL + "\n" + c.APIID + "\n" + c.Password))
	return hex.EncodeToString(m.Sum(nil))
}
