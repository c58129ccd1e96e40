package backend

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

// No root secret, and no issued session or token, ever appears in a log line, an error or a
// config read, across every path and the failures each can meet.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	var said []string // every error and every config read
	note := func(resp *logical.Response, err error) {
		if err != nil {
			said = append(said, err.Error())
		}
		if resp != nil {
			b, _ := json.Marshal(resp.Data)
			if resp.IsError() {
				said = append(said, resp.Error().Error())
			}
			said = append(said, strings.Join(resp.Warnings, "\n"))
			if resp.Secret == nil {
				said = append(said, string(b))
			}
		}
	}
	issued := map[string]bool{}
	configs := map[string]map[string]any{
		"faz": e.fazLocal(), "fazc": e.fazCloud(), "faza": e.fazAPIUser(), "fmg": e.fmgLocal(),
		"lan": e.lanEmail(), "iam": e.lanIAM(), "lana": e.lanAPIUser(), "cloud": e.cloudAPIUser(),
	}
	for name, data := range configs {
		data["request_timeout"] = "1s"
		note(e.do(logical.UpdateOperation, "config/"+name, data))
		note(e.do(logical.UpdateOperation, "config/"+name, with(data, "password", "wrong-password-xyz", "token", nil)))
		note(e.do(logical.UpdateOperation, "config/"+name, with(data, "tls_skip_verify", true)))
		note(e.do(logical.ReadOperation, "config/"+name, nil))
		note(e.do(logical.UpdateOperation, "roles/"+name, map[string]any{"config": name, "ttl": "5m"}))
		note(e.do(logical.ReadOperation, "roles/"+name, nil))
	}
	note(e.do(logical.UpdateOperation, "config/fazc", with(e.fazCloud(), "token", "wrong-token-xyz-123")))

	faults := []fortitest.Fault{
		{}, {Kind: fortitest.FaultDown}, {Kind: fortitest.Fault5xx}, {Kind: fortitest.FaultHTML},
		{Kind: fortitest.FaultBrokenJSON}, {Kind: fortitest.Fault401}, {Kind: fortitest.Fault429, RetryAfter: time.Second},
		{Kind: fortitest.FaultCode, Code: -11}, {Kind: fortitest.FaultHuge},
	}
	for _, f := range faults {
		e.fake.ClearFaults()
		var leases []lease
		for name := range configs {
			resp, err := e.do(logical.ReadOperation, "creds/"+name, nil)
			note(nil, err)
			if err == nil && resp != nil && resp.Secret != nil {
				for _, k := range []string{"session", "access_token"} {
					if v, ok := resp.Data[k].(string); ok {
						issued[v] = true
					}
				}
				leases = append(leases, lease{data: resp.Data, secret: storedSecret(t, resp.Secret)})
			}
		}
		if f.Kind != 0 {
			e.fake.AddFault(f)
		}
		for _, l := range leases {
			note(e.renew(l))
			note(nil, e.revoke(l))
		}
		e.fake.ClearFaults()
		for _, l := range leases {
			note(nil, e.revoke(l))
		}
	}
	if len(issued) == 0 {
		t.Fatal("no credential was issued: the test saw nothing")
	}
	secrets := []string{adminPassword, cloudToken, lanPassword, iamPassword, apiPassword, "wrong-password-xyz", "wrong-token-xyz-123"}
	for s := range issued {
		secrets = append(secrets, s)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "[WARN]") {
		t.Fatal("no warning was logged: the log capture is not working")
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a secret appears in the logs: %.6s...", s)
		}
		for _, m := range said {
			if strings.Contains(m, s) {
				t.Errorf("a secret appears in %q", m)
			}
		}
	}
}
