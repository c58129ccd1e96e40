package client

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// DefaultRootSessionIdle is how long a local_user root's session is kept unused between admin
// calls before it is logged out (Settings.RootSessionIdle). Upstream would end it after
// idle_timeout_api, 900 s by default [fortinet-apis §1]; a minute keeps a burst of creds and
// revokes in one session and gives its login-max slot back soon after.
const DefaultRootSessionIdle = time.Minute

// rootLogoutTimeout bounds the logout of a root session nobody waits for (idle, or closed).
const rootLogoutTimeout = 30 * time.Second

// rootPool keeps a local_user root's sessions between the admin calls of one config, so that a
// dynamic admin's creds or revoke does not log the root in and out around its own two or three
// calls. How many are out at once is the caller's to bound (the backend holds at most 4 per
// config, and the pool keeps no more than were out together); it keeps those given back, logs
// each out once it has been idle for idle, and all of them on close. A kept session may have
// ended upstream meanwhile (idle_timeout_api set low, an upstream admin who ended it, a reboot):
// adminTable.inRoot tries a call that finds it so once more in a new one.
type rootPool struct {
	idle   time.Duration
	logout func(ctx context.Context, session string) error

	mu     sync.Mutex
	kept   []*rootSession // the most recently given back last
	closed bool
}

// rootSession is one root session, out of the pool for one caller's admin calls or kept in it.
type rootSession struct {
	sid    string
	reused bool        // taken from the pool: it may have ended upstream meanwhile
	timer  *time.Timer // while kept: logs it out once idle
}

// take returns the session given back last, or nil when none is kept.
func (p *rootPool) take() *rootSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.kept)
	if n == 0 {
		return nil
	}
	rs := p.kept[n-1]
	p.kept = p.kept[:n-1]
	// A timer that fired already finds rs no longer kept, and leaves it be.
	rs.timer.Stop()
	rs.reused = true
	return rs
}

// put keeps rs for the next caller; after close it logs it out instead. One that has no
// session (its new login failed) is dropped.
func (p *rootPool) put(rs *rootSession) {
	if rs.sid == "" {
		return
	}
	p.mu.Lock()
	if slices.Contains(p.kept, rs) { // given back twice
		p.mu.Unlock()
		return
	}
	if p.closed {
		p.mu.Unlock()
		p.end(rs.sid)
		return
	}
	rs.timer = time.AfterFunc(p.idle, func() { p.expire(rs) })
	p.kept = append(p.kept, rs)
	p.mu.Unlock()
}

// expire logs rs out if it is still kept, unused since it was given back.
func (p *rootPool) expire(rs *rootSession) {
	p.mu.Lock()
	i := slices.Index(p.kept, rs)
	if i < 0 {
		p.mu.Unlock()
		return
	}
	p.kept = slices.Delete(p.kept, i, i+1)
	p.mu.Unlock()
	p.end(rs.sid)
}

// close logs every kept session out, and any given back later; it returns when they are out
// (or their logouts failed: they idle out upstream).
func (p *rootPool) close() {
	p.mu.Lock()
	kept := p.kept
	p.kept, p.closed = nil, true
	p.mu.Unlock()
	for _, rs := range kept {
		rs.timer.Stop()
		p.end(rs.sid)
	}
}

func (p *rootPool) end(sid string) {
	ctx, cancel := context.WithTimeout(context.Background(), rootLogoutTimeout)
	defer cancel()
	// A failed logout leaves the session to idle out upstream; nobody is waiting to hear it.
	_ = p.logout(ctx, sid)
}

// inRoot runs call as auth. When auth is a kept root session that the upstream answers -11
// (which says the session is gone, or that the root may not do this), it logs the root in
// again and runs call once more in the new session: -11 means the call did nothing
// [fortinet-apis §1], so the second try cannot do it twice. A -11 in a new session is the
// root's rights, and is answered as it is.
func (t *adminTable) inRoot(ctx context.Context, auth Auth, call func(Auth) error) error {
	rs := auth.root
	if rs == nil {
		return call(auth)
	}
	err := call(Auth{Session: rs.sid})
	var ce *Error
	if !rs.reused || !errors.As(err, &ce) || ce.Code != codeGone {
		return err
	}
	old := rs.sid
	sid, lerr := t.sessions.Login(ctx)
	rs.sid, rs.reused = sid, false
	// Gone or not, a session refused a call is not kept; a logout of one gone answers ErrGone.
	_ = t.sessions.Logout(context.WithoutCancel(ctx), old)
	if lerr != nil {
		return lerr
	}
	return call(Auth{Session: sid})
}
