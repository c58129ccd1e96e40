package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// leaseInternal is everything renew, revoke and WAL rollback need, kept in the lease's
// internal data (and the WAL entry) so that they work after the role or config changed or went,
// and after a restart. Vault replaces a lease's Data on renew, never its InternalData.
type leaseInternal struct {
	Config string `json:"config"`
	Role   string `json:"role,omitempty"`

	endpoint // where the credential lives, and how to reach it

	// CredentialType is the role's at issue; "" in leases of before there were types, which
	// are of their config's default type.
	CredentialType string `json:"credential_type,omitempty"`

	// The credential.
	Admin string `json:"admin,omitempty"` // the dynamic admin's name (its password is not kept)
	// Claim is the admin's claim on its name, random per creds, which its record in the admin
	// index repeats (admin_index.go); "" in leases of before claims.
	Claim       string `json:"claim,omitempty"`
	Session     string `json:"session,omitempty"`
	AccessToken string `json:"access_token,omitempty"`
	ExpiresAt   int64  `json:"expires_at,omitempty"` // UNIX seconds; 0 when unknown
	Shared      bool   `json:"shared,omitempty"`     // an API user's token shared by leases
	APIID       string `json:"api_id,omitempty"`     // the API user, for shared tokens
	Take        string `json:"take,omitempty"`       // the share's record of this lease's take
	IssuedAt    int64  `json:"issued_at,omitempty"`  // UNIX seconds
	Instance    string `json:"instance,omitempty"`   // the backend instance that issued it (metrics)
	// The config's RenewProbe at issue: the session's admin, whatever the config says later.
	RenewProbe string `json:"renew_probe,omitempty"`

	// The role's TTLs when issued, for renewals after the role is gone.
	TTL    int64 `json:"ttl,omitempty"`
	MaxTTL int64 `json:"max_ttl,omitempty"`
}

func newLeaseInternal(config, role string, c *configEntry, r *roleEntry) leaseInternal {
	l := leaseInternal{
		Config: config, Role: role,
		endpoint:   c.endpoint(),
		IssuedAt:   time.Now().Unix(),
		RenewProbe: c.RenewProbe,
	}
	if c.AuthMethod == client.AuthAPIUser {
		l.APIID = c.APIID
	}
	if r != nil {
		l.TTL, l.MaxTTL = int64(r.TTL/time.Second), int64(r.MaxTTL/time.Second)
	}
	return l
}

func (l leaseInternal) shareKey() string {
	return shareKey(l.AuthURL, l.APIID)
}

func (l leaseInternal) expiresAt() time.Time {
	if l.ExpiresAt == 0 {
		return time.Time{}
	}
	return time.Unix(l.ExpiresAt, 0)
}

// toMap turns l into the map Vault stores: the fields by their JSON names, those marked
// omitempty left out when empty, as json.Marshal would write them (TestLeaseToMapMatchesJSON
// keeps the two in step). Built directly: a JSON round trip per creds costs more than the rest
// of the handler's own work.
func (l leaseInternal) toMap() map[string]any {
	m := make(map[string]any, 24)
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	num := func(k string, v int64) {
		if v != 0 {
			m[k] = v
		}
	}
	m["config"] = l.Config
	str("role", l.Role)
	m["type"] = l.Type
	m["auth_method"] = l.AuthMethod
	str("url", l.URL)
	str("auth_url", l.AuthURL)
	str("client_id", l.ClientID)
	str("ca_cert", l.CACert)
	str("tls_server_name", l.TLSServerName)
	if l.TLSSkipVerify {
		m["tls_skip_verify"] = true
	}
	num("request_timeout", l.RequestTimeout)
	str("credential_type", l.CredentialType)
	str("admin", l.Admin)
	str("claim", l.Claim)
	str("session", l.Session)
	str("access_token", l.AccessToken)
	num("expires_at", l.ExpiresAt)
	if l.Shared {
		m["shared"] = true
	}
	str("api_id", l.APIID)
	str("take", l.Take)
	num("issued_at", l.IssuedAt)
	str("instance", l.Instance)
	str("renew_probe", l.RenewProbe)
	num("ttl", l.TTL)
	num("max_ttl", l.MaxTTL)
	return m
}

// decodeLease reads internal data back, whatever number types the storage round trip left.
func decodeLease(data any) (leaseInternal, error) {
	var l leaseInternal
	b, err := json.Marshal(data)
	if err != nil {
		return l, fmt.Errorf("encode lease data: %w", err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("decode lease data: %w", err)
	}
	if l.Type == "" {
		return l, fmt.Errorf("lease data names no product type")
	}
	return l, nil
}

// matches reports whether the stored config still points where the lease's credential lives.
func (l leaseInternal) matches(c *configEntry) bool {
	return l.sameTarget(c.endpoint())
}

// conn returns a connection to where the lease's credential lives: the config's cached one
// while the config still points there, else one built from the lease's own snapshot.
func (b *backend) conn(ctx context.Context, s logical.Storage, l leaseInternal) (*client.Client, func(), error) {
	if c, err := b.config(ctx, s, l.Config); err == nil && c != nil && l.matches(c.entry) {
		return c.conn, func() {}, nil
	}
	settings := l.settings()
	settings.Observer = b.metrics.observe
	// The config that set a limit is gone or points elsewhere: FortiLAN's own limit applies, in
	// the window of the URL the token lives at.
	settings.CallLimiter = b.callWindow(l.URL).Limiter(defaultCallRateLimit(l.Type, l.AuthMethod))
	conn, err := client.New(settings)
	if err != nil {
		return nil, nil, err
	}
	return conn, conn.Close, nil
}

// ttls returns the TTLs to renew with: the role's, while it exists, else those it had at issue.
func (b *backend) ttls(ctx context.Context, s logical.Storage, l leaseInternal) (ttl, maxTTL time.Duration) {
	if l.Role != "" {
		if r, err := b.role(ctx, s, l.Role); err == nil && r != nil {
			return r.TTL, r.MaxTTL
		}
	}
	return time.Duration(l.TTL) * time.Second, time.Duration(l.MaxTTL) * time.Second
}
