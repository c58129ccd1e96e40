package client

import (
	"slices"
	"time"
)

// Product types, as the config's `type` names them.
const (
	// TypeFortiAnalyzer is FortiAnalyzer, on premises or FortiAnalyzer Cloud.
	TypeFortiAnalyzer = "fortianalyzer"
	// TypeFortiManager is FortiManager, on premises or FortiManager Cloud.
	TypeFortiManager = "fortimanager"
	// TypeFortiLAN is FortiLAN Cloud (FortiEdge Cloud).
	TypeFortiLAN = "fortilan"
	// TypeFortiCloud is FortiCloud IAM itself: its OAuth tokens, for any FortiCloud API.
	TypeFortiCloud = "forticloud"
	// TypeFortiGate is FortiGate, through the FortiOS REST API.
	TypeFortiGate = "fortigate"
)

// Auth methods, as the config's `auth_method` names them.
const (
	// AuthForticloudToken is a login with a FortiCloud token (/sys/login/cloud).
	AuthForticloudToken = "forticloud_token"
	// AuthAPIUser is a FortiCloud IAM API user's password grant.
	AuthAPIUser = "forticloud_api_user"
	// AuthLocalUser is a FortiAnalyzer/FortiManager admin's login (/sys/login/user).
	AuthLocalUser = "local_user"
	// AuthEmailUser is a FortiLAN login with an email and a password.
	AuthEmailUser = "email_user"
	// AuthIAMUser is a FortiLAN login as an IAM user.
	AuthIAMUser = "iam_user"
	// AuthAPIKey is a REST API admin's key, sent as Authorization: Bearer: FortiGate's only
	// method. On FortiAnalyzer and FortiManager it opens no session: it serves the admin table
	// (dynamic_admin roles) only.
	AuthAPIKey = "api_key"
)

// Family says what a product leases: a JSON-RPC session, an access token, or an API user.
type Family int

const (
	// FamilySession is a product that leases JSON-RPC sessions.
	FamilySession Family = iota + 1
	// FamilyToken is a product that leases access tokens.
	FamilyToken
	// FamilyAPIUser is a product that leases a REST API admin of its own per lease, with its key
	// (FortiGate's api-users): created for the lease, deleted when it ends.
	FamilyAPIUser
)

// Product is one row of what the engine supports: adding a product is adding a row here and
// an issuer in issuer.go.
type Product struct {
	Type              string
	Family            Family
	AuthMethods       []string
	DefaultAuthMethod string // "" when the method must be given
	DefaultURL        string // "" when the URL must be given, for products that use one
	UsesURL           bool
	DefaultClientID   string // for forticloud_api_user; "" when it must be given
}

// Supports reports whether the product takes method.
func (p Product) Supports(method string) bool { return slices.Contains(p.AuthMethods, method) }

var products = []Product{
	{Type: TypeFortiAnalyzer, Family: FamilySession, UsesURL: true,
		AuthMethods:     []string{AuthForticloudToken, AuthAPIUser, AuthLocalUser, AuthAPIKey},
		DefaultClientID: "FortiAnalyzer"},
	{Type: TypeFortiManager, Family: FamilySession, UsesURL: true,
		AuthMethods:     []string{AuthForticloudToken, AuthAPIUser, AuthLocalUser, AuthAPIKey},
		DefaultClientID: "FortiManager"},
	{Type: TypeFortiLAN, Family: FamilyToken, UsesURL: true, DefaultURL: DefaultFortiLANURL,
		AuthMethods: []string{AuthEmailUser, AuthIAMUser, AuthAPIUser}, DefaultAuthMethod: AuthEmailUser,
		DefaultClientID: "fortilancloud"},
	{Type: TypeFortiCloud, Family: FamilyToken,
		AuthMethods: []string{AuthAPIUser}, DefaultAuthMethod: AuthAPIUser},
	{Type: TypeFortiGate, Family: FamilyAPIUser, UsesURL: true,
		AuthMethods: []string{AuthAPIKey}, DefaultAuthMethod: AuthAPIKey},
}

// LookupProduct finds a product by type.
func LookupProduct(typ string) (Product, bool) {
	for _, p := range products {
		if p.Type == typ {
			return p, true
		}
	}
	return Product{}, false
}

// ProductTypes lists the supported types.
func ProductTypes() []string {
	out := make([]string, len(products))
	for i, p := range products {
		out[i] = p.Type
	}
	return out
}

// Settings is everything needed to reach one product and log in to it. Revocation needs only
// the connection part (type, URLs, client id, TLS, timeout): credentials may be left empty.
type Settings struct {
	Type       string
	AuthMethod string
	URL        string
	AuthURL    string
	ClientID   string
	Token      string
	APIID      string
	Username   string
	Password   string
	APIKey     string // for AuthAPIKey
	AccountID  string
	TLS        TLSConfig
	Timeout    time.Duration
	// Limiter paces logins to the product (FortiLAN's /api/v1/auth); nil for none.
	Limiter *LoginLimiter
	// CallLimiter paces FortiLAN's other calls (invalidate_token); nil for none.
	CallLimiter *LoginLimiter
	// Observer hears of every operation; nil for none.
	Observer Observer
	// RootSessionIdle is how long a local_user root's session is kept unused between admin
	// calls; 0 for DefaultRootSessionIdle. RootSessionMaxAge is how long it is kept at most; 0
	// for DefaultRootSessionMaxAge.
	RootSessionIdle, RootSessionMaxAge time.Duration
	// RootSessionNotes hears of every root session the client may keep; nil keeps them
	// unnoted (a process killed while it keeps one leaves it to the upstream's idle timeout).
	RootSessionNotes RootSessionNotes
	// RootSessionSlots holds one token per live root session: its capacity bounds them, shared
	// by every client given the same channel (one config's, across its changes); nil for
	// DefaultRootSessions of the client's own. Its capacity must be at least 1.
	RootSessionSlots chan struct{}
}

// SharesToken reports whether the leased credential is an API user's OAuth token itself, of
// which only one lives at a time, so that leases must share it.
func (s Settings) SharesToken() bool {
	return s.AuthMethod == AuthAPIUser && (s.Type == TypeFortiLAN || s.Type == TypeFortiCloud)
}
