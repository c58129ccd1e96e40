package backend

import (
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
)

// endpoint is where a credential lives and how to reach it: what a lease keeps of its config
// (leaseInternal embeds it), so that renew, revoke and WAL rollback reach the credential after
// the config changed or went. Leases in storage hold these fields by these JSON names, the
// timeout in whole seconds; configEntry keeps its own (the timeout as a time.Duration), and
// configEntry.endpoint is the one way from the one to the other.
type endpoint struct {
	Type           string `json:"type"`
	AuthMethod     string `json:"auth_method"`
	URL            string `json:"url,omitempty"`
	AuthURL        string `json:"auth_url,omitempty"`
	ClientID       string `json:"client_id,omitempty"`
	CACert         string `json:"ca_cert,omitempty"`
	TLSServerName  string `json:"tls_server_name,omitempty"`
	TLSSkipVerify  bool   `json:"tls_skip_verify,omitempty"`
	RequestTimeout int64  `json:"request_timeout,omitempty"` // seconds; 0 for the client's default
}

// endpoint is where c's credentials lead, as a lease keeps it.
func (c *configEntry) endpoint() endpoint {
	return endpoint{
		Type: c.Type, AuthMethod: c.AuthMethod, URL: c.URL, AuthURL: c.AuthURL, ClientID: c.ClientID,
		CACert: c.CACert, TLSServerName: c.TLSServerName, TLSSkipVerify: c.TLSSkipVerify,
		RequestTimeout: int64(c.RequestTimeout / time.Second),
	}
}

// settings is how the client reaches e, without credentials: enough to end a credential there.
func (e endpoint) settings() client.Settings {
	return client.Settings{
		Type: e.Type, AuthMethod: e.AuthMethod, URL: e.URL, AuthURL: e.AuthURL, ClientID: e.ClientID,
		TLS:     client.TLSConfig{CACert: e.CACert, ServerName: e.TLSServerName, SkipVerify: e.TLSSkipVerify},
		Timeout: time.Duration(e.RequestTimeout) * time.Second,
	}
}

// sameTarget reports whether e and o lead to the same place: the same product, auth method,
// URLs and client id, so that a credential issued at the one lives at the other. How they
// get there (TLS, timeout) may differ.
func (e endpoint) sameTarget(o endpoint) bool {
	return e.Type == o.Type && e.AuthMethod == o.AuthMethod && e.URL == o.URL && e.AuthURL == o.AuthURL && e.ClientID == o.ClientID
}
