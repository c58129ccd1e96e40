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
// (Settings.RootSessionMaxAge): past it, it is logged out instead of lent or kept again.
const DefaultRootSessionMaxAge = 5 * time.Minute

// DefaultRootSessions is how many root sessions of one config may be live at once when
// Settings.RootSessionSlots is nil.
const DefaultRootSessions = 4

// rootLogoutTimeout bounds the logouts of root sessions nobody waits for (idle, too old, or
// closed, all of a pool's at once): one left live past it keeps its note, for the successor.
const rootLogoutTimeout = 10 * time.Second

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
// calls. Every live session (lent to a caller, kept, or being logged out) holds one of slots,
// which the clients of one config share, so that the root's login-max is not filled however
// many callers come, nor across a config change; a caller finding none free waits for a session
// given back or a slot freed. Sessions are logged out once idle for idle, past maxAge, and on
// close. A kept session may have ended upstream meanwhile (idle_timeout_api set low, an
// upstream admin who ended it, a reboot): adminTable.inRoot makes the call that finds it so
// once more in a new one.
type rootPool struct {
	idle, maxAge time.Duration
	sessions     SessionIssuer
	notes        RootSessionNotes // nil: sessions are kept unnoted
	slots        chan struct{}

	mu     sync.Mutex
	kept   []*rootSession // the most recently given back last
	wake   chan struct{}  // closed, and replaced, when a session is kept
	closed bool
}

// rootSession is one root session, lent to one caller's admin calls or kept.
type rootSession struct {
	sid    string
	note   string // its RootSessionNotes id
	keep   bool   // noted (or nobody notes): it may be kept
	born   time.Time
	lent   bool        // out with a caller, who gives it back once
	reused bool        // lent again after being kept: it may have ended upstream meanwhile
	timer  *time.Timer // while kept: logs it out once idle
}

func newRootPool(s Settings, sessions SessionIssuer) *rootPool {
	slots := s.RootSessionSlots
	if slots == nil {
		slots = make(chan struct{}, DefaultRootSessions)
	}
	return &rootPool{idle: orDefault(s.RootSessionIdle, DefaultRootSessionIdle),
		maxAge:   orDefault(s.RootSessionMaxAge, DefaultRootSessionMaxAge),
		sessions: sessions, notes: s.RootSessionNotes, slots: slots, wake: make(chan struct{})}
}

// lend returns a kept session, else a new one once a slot is free, waiting while ctx lasts.
func (p *rootPool) lend(ctx context.Context) (*rootSession, error) {
	for {
		rs, wake := p.take()
		if rs != nil {
			return rs, nil
		}
		select {
		case p.slots <- struct{}{}:
			rs, err := p.login(ctx)
			if rs == nil {
				<-p.slots
			}
			return rs, err
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// take returns the session given back last, or nil and a channel closed when one is next kept.
// One past maxAge (its timer, due then, not run yet) is logged out instead.
func (p *rootPool) take() (*rootSession, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.kept); n > 0; n = len(p.kept) {
		rs := p.kept[n-1]
		p.kept = p.kept[:n-1]
		rs.timer.Stop() // one that fired already finds rs no longer kept, and leaves it be
		if time.Since(rs.born) >= p.maxAge {
			go p.end(rs)
			continue
		}
		rs.lent, rs.reused = true, true
		return rs, nil
	}
	return nil, p.wake
}

// login opens a root session, in a slot the caller holds, and notes it.
func (p *rootPool) login(ctx context.Context) (*rootSession, error) {
	sid, err := p.sessions.Login(ctx)
	if sid == "" {
		return nil, err
	}
	rs := &rootSession{sid: sid, born: time.Now(), lent: true, keep: p.notes == nil}
	if p.notes != nil {
		// Noted even for a caller gone: the session exists all the same.
		id, nerr := p.notes.Note(context.WithoutCancel(ctx), sid)
		rs.note, rs.keep = id, nerr == nil
	}
	return rs, err
}

// put keeps rs for the next caller, unless it may not be kept (not noted, too old, the pool
// closed): then it logs it out. A session given back twice, or with no session (its new login
// failed), is left be.
func (p *rootPool) put(rs *rootSession) {
	p.mu.Lock()
	if !rs.lent {
		p.mu.Unlock()
		return
	}
	rs.lent = false
	if rs.sid == "" {
		p.mu.Unlock()
		return
	}
	left := p.maxAge - time.Since(rs.born)
	if p.closed || !rs.keep || left <= 0 {
		p.mu.Unlock()
		p.end(rs)
		return
	}
	// Out once idle, or at its max age, whichever comes first.
	rs.timer = time.AfterFunc(min(p.idle, left), func() { p.expire(rs) })
	p.kept = append(p.kept, rs)
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// expire logs rs out if it is still kept, unused since it was given back.
func (p *rootPool) expire(rs *rootSession) {
	p.mu.Lock()
	i := slices.Index(p.kept, rs)
	if i >= 0 {
		p.kept = slices.Delete(p.kept, i, i+1)
	}
	p.mu.Unlock()
	if i >= 0 {
		p.end(rs)
	}
}

// close logs every kept session out, all at once within rootLogoutTimeout, and any given back
// later; it returns when they are out, or their logouts failed (their notes stay, for the
// successor).
func (p *rootPool) close() {
	p.mu.Lock()
	kept := p.kept
	p.kept, p.closed = nil, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, rs := range kept {
		rs.timer.Stop()
		wg.Go(func() { p.end(rs) })
	}
	wg.Wait()
}

// end logs rs out, with a context of its own (nobody waits for it), and frees its slot.
func (p *rootPool) end(rs *rootSession) {
	ctx, cancel := context.WithTimeout(context.Background(), rootLogoutTimeout)
	defer cancel()
	p.logout(ctx, rs)
}

// logout logs rs out and frees its slot: the session is out, gone already, or, if its logout
// failed, left to idle out upstream, noted. It reports whether the session was still alive.
func (p *rootPool) logout(ctx context.Context, rs *rootSession) (alive bool, err error) {
	defer func() { <-p.slots }()
	err = p.sessions.Logout(ctx, rs.sid)
	if err != nil && !errors.Is(err, ErrGone) {
		return false, err
	}
	if rs.note != "" {
		p.notes.Drop(ctx, rs.note)
	}
	return err == nil, nil
}

// inRoot runs call as auth. A kept root session that the upstream answers -11 may have ended
// (idled out, ended by an admin, a reboot) or its root may lack the rights [fortinet-apis §1]:
// its logout tells which. One alive was refused on its rights, and the answer stands. One gone
// did nothing for the call, which is made again in another session: a kept one (which may have
// ended too, and is tried the same way) or a new one, whose -11 is the root's rights. A kept
// session answered -11 is not kept again, either way.
func (t *adminTable) inRoot(ctx context.Context, auth Auth, call func(Auth) error) error {
	rs := auth.root
	switch {
	case rs == nil:
		return call(auth)
	case rs.sid == "":
		// Logged out by an earlier call whose new login failed: it holds no slot to free again.
		return &Error{Op: t.product + ": root auth", Kind: ErrRetryLater, Message: "the root's session ended and no new one could be opened"}
	}
	for {
		err := call(Auth{Session: rs.sid})
		var ce *Error
		if !rs.reused || !errors.As(err, &ce) || ce.Code != codeGone {
			return err
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rootLogoutTimeout)
		alive, lerr := t.roots.logout(lctx, rs)
		cancel()
		rs.sid = "" // logged out, its slot freed: nothing to give back
		if alive || lerr != nil {
			return err
		}
		// Each turn logs a kept session out, or makes a new one, whose -11 is answered.
		next, err := t.roots.lend(ctx)
		if next == nil {
			return err
		}
		*rs = *next
		if err != nil {
			return err
		}
	}
}
