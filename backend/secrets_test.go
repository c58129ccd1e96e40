package backend

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
	"github.com/hashicorp/vault/sdk/logical"
)

// No root secret, and no issued session or token, ever appears in a log line, an error or a
// config read, across every path and the failures each can meet.
func TestSecretsNeverLeak(t *testing.T) {
	one := func(f fortitest.Fault) []fortitest.Fault { return []fortitest.Fault{f} }
	faults := map[string][]fortitest.Fault{
		"none": nil, "down": one(fortitest.Fault{Kind: fortitest.FaultDown}), "5xx": one(fortitest.Fault{Kind: fortitest.Fault5xx}),
		"html": one(fortitest.Fault{Kind: fortitest.FaultHTML}), "broken json": one(fortitest.Fault{Kind: fortitest.FaultBrokenJSON}),
		"401": one(fortitest.Fault{Kind: fortitest.Fault401}), "429": one(fortitest.Fault{Kind: fortitest.Fault429, RetryAfter: time.Second}),
		"code -11": one(fortitest.Fault{Kind: fortitest.FaultCode, RPCCode: -11}), "huge": one(fortitest.Fault{Kind: fortitest.FaultHuge}),
		// An upstream that repeats in its error what the call sent it.
		"echo": {
			{Path: "jsonrpc:/sys/login/user", Kind: fortitest.FaultCode, RPCCode: -22, Message: "bad password " + adminPassword},
			{Path: "jsonrpc:/sys/login/cloud", Kind: fortitest.FaultCode, RPCCode: -22, Message: "bad token " + cloudToken},
			{Path: "/api/v1/auth", Kind: fortitest.FaultCode, Status: 401, Message: "bad password " + lanPassword},
			{Path: "/api/v1/oauth/token/", Kind: fortitest.FaultCode, Status: 401, Message: "bad password " + apiPassword},
		},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			leakCheck(t, f)
		})
	}
}

func leakCheck(t *testing.T, faults []fortitest.Fault) {
	e := newEnv(t)
	var mu sync.Mutex
	var said []string // every error, warning and non-secret response
	issued := map[string]bool{}
	note := func(resp *logical.Response, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			said = append(said, err.Error())
		}
		if resp == nil {
			return
		}
		if resp.IsError() {
			said = append(said, resp.Error().Error())
		}
		said = append(said, resp.Warnings...)
		if resp.Secret == nil {
			b, _ := json.Marshal(resp.Data)
			said = append(said, string(b))
			return
		}
		for _, k := range []string{"session", "access_token", "password", "api_key"} {
			if v, ok := resp.Data[k].(string); ok {
				issued[v] = true
			}
		}
	}
	key := e.fazKey()
	fgt := e.fgt()
	e.fake.AddFortiOSProfile("read_only", fortitest.FortiOSRead)
	configs := map[string]map[string]any{
		"faz": e.fazLocal(), "fazc": e.fazCloud(), "faza": e.fazAPIUser(), "fmg": e.fmgLocal(),
		"lan": e.lanEmail(), "iam": e.lanIAM(), "lana": e.lanAPIUser(), "cloud": e.cloudAPIUser(), "fazk": key, "fgt": fgt,
	}
	roles := []string{"dyn-faz", "dyn-fazk", "api-fgt"}
	for _, f := range faults {
		if f.Message != "" {
			// The fake echoes one fixed password on /api/v1/auth and /sys/login/user: only the
			// config that sent it, not a dynamic admin's login, which sends its own.
			delete(configs, "iam")
			roles = nil
		}
	}
	for name, data := range configs {
		data["request_timeout"] = "1s"
		note(e.do(logical.UpdateOperation, "config/"+name, data))
		note(e.do(logical.UpdateOperation, "config/"+name, with(data, "password", "wrong-password-xyz", "token", nil)))
		note(e.do(logical.UpdateOperation, "config/"+name, with(data, "tls_skip_verify", true)))
		note(e.do(logical.UpdateOperation, "config/"+name, data))
		note(e.do(logical.ReadOperation, "config/"+name, nil))
		note(e.do(logical.UpdateOperation, "roles/"+name, map[string]any{"config": name, "ttl": "5m"}))
		note(e.do(logical.ReadOperation, "roles/"+name, nil))
	}
	note(e.do(logical.UpdateOperation, "config/fazc", with(e.fazCloud(), "token", "wrong-token-xyz-123")))
	for _, r := range roles {
		if c, ok := strings.CutPrefix(r, "api-"); ok {
			note(e.do(logical.UpdateOperation, "roles/"+r, apiUserRole(c, "vdoms", "root")))
			note(e.do(logical.ReadOperation, "roles/"+r, nil))
			continue
		}
		note(e.do(logical.UpdateOperation, "roles/"+r, dynamicRole(strings.TrimPrefix(r, "dyn-"), "adoms", "root")))
		note(e.do(logical.ReadOperation, "roles/"+r, nil))
	}
	for name := range configs {
		roles = append(roles, name)
	}

	// Leases issued while the upstream is well, then renewed and revoked under the fault.
	var leases []lease
	for _, name := range roles {
		resp, err := e.do(logical.ReadOperation, "creds/"+name, nil)
		note(resp, err)
		if err == nil && resp != nil && resp.Secret != nil {
			leases = append(leases, lease{data: resp.Data, secret: storedSecret(t, resp.Secret)})
		}
	}
	for _, f := range faults {
		e.fake.AddFault(f)
	}
	for _, name := range roles {
		note(e.do(logical.ReadOperation, "creds/"+name, nil))
	}
	for name := range configs {
		note(e.do(logical.UpdateOperation, "config/"+name, map[string]any{}))
	}
	for _, l := range leases {
		note(e.renew(l))
		note(nil, e.revoke(l))
	}
	e.fake.ClearFaults()
	for _, l := range leases {
		note(nil, e.revoke(l))
	}

	if len(issued) == 0 {
		t.Fatal("no credential was issued: the test saw nothing")
	}
	secrets := []string{adminPassword, cloudToken, lanPassword, iamPassword, apiPassword, "wrong-password-xyz", "wrong-token-xyz-123",
		key["api_key"].(string), fgt["api_key"].(string)}
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
