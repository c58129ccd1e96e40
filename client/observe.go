package client

import (
	"context"
	"errors"
	"time"
)

// Observer hears of every upstream operation once it ended, retries included: the product,
// the operation ("login", "logout", "status", "issue", "revoke"), its outcome and its duration.
type Observer func(product, operation, outcome string, d time.Duration)

// Outcome names an operation's result for metrics: "ok", or the kind of its error.
func Outcome(err error) string {
	// An UnrevokedToken alone comes with a good session; joined to another error, it does not.
	_, left := err.(*UnrevokedToken)
	switch {
	case err == nil, left:
		return "ok"
	case errors.Is(err, ErrGone):
		return "gone"
	case errors.Is(err, ErrLoginLimit):
		return "login_limit"
	case errors.Is(err, ErrExists):
		return "exists"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrRetryLater):
		return "retry_later"
	case errors.Is(err, ErrProtocol):
		return "protocol"
	}
	return "error"
}

type observedSessions struct {
	SessionIssuer
	product string
	obs     Observer
}

func (o observedSessions) Login(ctx context.Context) (string, error) {
	start := time.Now()
	sid, err := o.SessionIssuer.Login(ctx)
	o.obs(o.product, "login", Outcome(err), time.Since(start))
	return sid, err
}

func (o observedSessions) Logout(ctx context.Context, session string) error {
	start := time.Now()
	err := o.SessionIssuer.Logout(ctx, session)
	o.obs(o.product, "logout", Outcome(err), time.Since(start))
	return err
}

func (o observedSessions) Status(ctx context.Context, session string, first Probe) error {
	start := time.Now()
	err := o.SessionIssuer.Status(ctx, session, first)
	o.obs(o.product, "status", Outcome(err), time.Since(start))
	return err
}

func (o observedSessions) LearnProbe(ctx context.Context, session string) (Probe, error) {
	start := time.Now()
	p, err := o.SessionIssuer.LearnProbe(ctx, session)
	o.obs(o.product, "status", Outcome(err), time.Since(start))
	return p, err
}

func (o observedSessions) LoginAs(ctx context.Context, user, password string) (string, error) {
	start := time.Now()
	sid, err := o.SessionIssuer.LoginAs(ctx, user, password)
	o.obs(o.product, "login", Outcome(err), time.Since(start))
	return sid, err
}

// observedAdmins hears of the admin table's calls; RootAuth and EndRootAuth are heard of as
// the login and logout they make.
type observedAdmins struct {
	AdminTable
	product string
	obs     Observer
}

func (o observedAdmins) AddAdmin(ctx context.Context, auth Auth, a Admin) error {
	start := time.Now()
	err := o.AdminTable.AddAdmin(ctx, auth, a)
	o.obs(o.product, "add_admin", Outcome(err), time.Since(start))
	return err
}

func (o observedAdmins) GetAdmin(ctx context.Context, auth Auth, name string) (*Admin, error) {
	start := time.Now()
	a, err := o.AdminTable.GetAdmin(ctx, auth, name)
	o.obs(o.product, "get_admin", Outcome(err), time.Since(start))
	return a, err
}

func (o observedAdmins) DeleteAdmin(ctx context.Context, auth Auth, name string) error {
	start := time.Now()
	err := o.AdminTable.DeleteAdmin(ctx, auth, name)
	o.obs(o.product, "delete_admin", Outcome(err), time.Since(start))
	return err
}

func (o observedAdmins) CheckAdminAccess(ctx context.Context, auth Auth) error {
	start := time.Now()
	err := o.AdminTable.CheckAdminAccess(ctx, auth)
	o.obs(o.product, "get_admin", Outcome(err), time.Since(start))
	return err
}

type observedTokens struct {
	TokenIssuer
	product string
	obs     Observer
}

func (o observedTokens) Issue(ctx context.Context) (Token, error) {
	start := time.Now()
	tok, err := o.TokenIssuer.Issue(ctx)
	o.obs(o.product, "issue", Outcome(err), time.Since(start))
	return tok, err
}

func (o observedTokens) Revoke(ctx context.Context, token string) error {
	start := time.Now()
	err := o.TokenIssuer.Revoke(ctx, token)
	o.obs(o.product, "revoke", Outcome(err), time.Since(start))
	return err
}

// observeAPIUsers wraps au, when set, so that obs hears of its every operation: "status" (the
// status calls and reads), "issue" (creates and keys), "revoke" (deletes).
func observeAPIUsers(product string, obs Observer, au APIUserIssuer) APIUserIssuer {
	if au == nil {
		return nil
	}
	return observedAPIUsers{APIUserIssuer: au, product: product, obs: obs}
}

type observedAPIUsers struct {
	APIUserIssuer
	product string
	obs     Observer
}

// done tells obs that operation ended with err, having started at start.
func (o observedAPIUsers) done(operation string, start time.Time, err error) {
	o.obs(o.product, operation, Outcome(err), time.Since(start))
}

func (o observedAPIUsers) Status(ctx context.Context) (StatusInfo, error) {
	start := time.Now()
	info, err := o.APIUserIssuer.Status(ctx)
	o.done("status", start, err)
	return info, err
}

func (o observedAPIUsers) CheckKey(ctx context.Context, key string) (StatusInfo, error) {
	start := time.Now()
	info, err := o.APIUserIssuer.CheckKey(ctx, key)
	o.done("status", start, err)
	return info, err
}

func (o observedAPIUsers) MayManageAPIUsers(ctx context.Context, name string) error {
	start := time.Now()
	err := o.APIUserIssuer.MayManageAPIUsers(ctx, name)
	o.done("status", start, err)
	return err
}

func (o observedAPIUsers) CreateAPIUser(ctx context.Context, u APIUser) error {
	start := time.Now()
	err := o.APIUserIssuer.CreateAPIUser(ctx, u)
	o.done("issue", start, err)
	return err
}

func (o observedAPIUsers) GenerateKey(ctx context.Context, name string, expiryMinutes int) (string, error) {
	start := time.Now()
	key, err := o.APIUserIssuer.GenerateKey(ctx, name, expiryMinutes)
	o.done("issue", start, err)
	return key, err
}

func (o observedAPIUsers) GetAPIUser(ctx context.Context, name string) (*APIUser, error) {
	start := time.Now()
	u, err := o.APIUserIssuer.GetAPIUser(ctx, name)
	o.done("status", start, err)
	return u, err
}

func (o observedAPIUsers) DeleteAPIUser(ctx context.Context, name string) error {
	start := time.Now()
	err := o.APIUserIssuer.DeleteAPIUser(ctx, name)
	o.done("revoke", start, err)
	return err
}
