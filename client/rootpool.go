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

// DefaultRootSessionMaxAge is how long a root session is kept at most, used or not
// (Settings.RootSessionMaxAge): past it, it is logged out when given back.
const DefaultRootSessionMaxAge = 5 * time.Minute

// rootLogoutTimeout bounds the logout of a root session nobody waits for (idle, or closed).
const rootLogoutTimeout = 30 * time.Second

// RootSessionNotes hears of each root session a client may keep (Settings.RootSessionNotes):
// Note once it is logged in, before any caller uses it, and Drop once it is logged out. A
// process killed while it keeps one leaves its note, by which its successor can log it out
// (the backend: a WAL entry). A session Note fails for is used by its caller alone, then
// logged out.
type RootSessionNotes interface {
	Note(ctx context.Context, session string) (id string, err error)
	Drop(ctx context.Context, id string)
}

// rootPool keeps a local_user root's sessions between the admin calls of one config, so that a
// dynamic admin's creds or revoke does not log the root in and out around its own two or three
// calls. How many are out at once is the caller's to bound (the backend holds at most 4 per
// config, and the pool keeps no more than were out together); it keeps those given back, logs
// each out once it has been idle for idle or lived for maxAge, and all of them on close. A kept
// session may have ended upstream meanwhile (idle_timeout_api set low, an upstream admin who
// ended it, a reboot): adminTable.inRoot tries a call that finds it so once more in a new one.
type rootPool struct {
	idle, maxAge time.Duration
	sessions     SessionIssuer
	notes        RootSessionNotes // nil: none are noted

	mu     sync.Mutex
	kept   []*rootSession // the most recently given back last
	closed bool
}

// rootSession is one root session, out of the pool for one caller's admin calls or kept in it.
type rootSession struct {
	sid    string
	note   string // its RootSessionNotes id
	keep   bool   // noted (or nobody notes): it may be kept
	born   time.Time
	reused bool        // taken from the pool: it may have ended upstream meanwhile
	timer  *time.Timer // while kept: logs it out once idle
}

// login opens a root session and notes it.
func (p *rootPool) login(ctx context.Context) (*rootSession, error) {
	sid, err := p.sessions.Login(ctx)
	if sid == "" {
		return nil, err
	}
	rs := &rootSession{sid: sid, born: time.Now(), keep: p.notes == nil}
	if p.notes != nil {
		// Noted even for a caller gone: the session exists all the same.
		id, nerr := p.notes.Note(context.WithoutCancel(ctx), sid)
		rs.note, rs.keep = id, nerr == nil
	}
	return rs, err
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

// put keeps rs for the next caller, unless it may not be kept (not noted, too old, the pool
// closed): then it logs it out. One that has no session (its new login failed) is dropped.
func (p *rootPool) put(rs *rootSession) {
	if rs.sid == "" {
		return
	}
	p.mu.Lock()
	if slices.Contains(p.kept, rs) { // given back twice
		p.mu.Unlock()
		return
	}
	if p.closed || !rs.keep || time.Since(rs.born) >= p.maxAge {
		p.mu.Unlock()
		p.end(rs)
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
	p.end(rs)
}

// close logs every kept session out, and any given back later; it returns when they are out
// (or their logouts failed: their notes stay, for the successor).
func (p *rootPool) close() {
	p.mu.Lock()
	kept := p.kept
	p.kept, p.closed = nil, true
	p.mu.Unlock()
	for _, rs := range kept {
		rs.timer.Stop()
		p.end(rs)
	}
}

// end logs rs out, with a context of its own (nobody waits for it), and drops its note once
// it is out.
func (p *rootPool) end(rs *rootSession) {
	ctx, cancel := context.WithTimeout(context.Background(), rootLogoutTimeout)
	defer cancel()
	p.endIn(ctx, rs.sid, rs.note)
}

// endIn logs session sid out and drops its note once it is out (or gone already). A logout that
// failed keeps the note: the session may be live.
func (p *rootPool) endIn(ctx context.Context, sid, note string) {
	if err := p.sessions.Logout(ctx, sid); err != nil && !errors.Is(err, ErrGone) {
		return
	}
	if note != "" {
		p.notes.Drop(ctx, note)
	}
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
	// Gone or not, a session refused a call is not kept.
	t.roots.endIn(context.WithoutCancel(ctx), rs.sid, rs.note)
	fresh, err := t.roots.login(ctx)
	if fresh == nil {
		rs.sid = ""
		return err
	}
	*rs = *fresh
	if err != nil {
		return err
	}
	return call(Auth{Session: rs.sid})
}
