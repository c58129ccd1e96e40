package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client/fortitest"
)

// The upstream calls of a FortiGate api_user role's creds, made straight to the fake: the floor
// for the FortiGate row [fortinet-apis §6]. Creds create a REST API admin and generate its key,
// two calls with the root key as Bearer.

const (
	// fgtRootPrefix names the root api-user of each mount's fortigate config: one per mount,
	// since adding one replaces its key.
	fgtRootPrefix = "vault-root"
	// fgtProfile is the accprofile of the api-users made, the one cmd/forticloud-fake seeds.
	fgtProfile = "demo_read_only"
	// fosAPIUserPath and fosGenerateKeyPath are FortiOS's api-user table and its generate-key.
	fosAPIUserPath     = "/api/v2/cmdb/system/api-user"
	fosGenerateKeyPath = "/api/v2/monitor/system/api-user/generate-key"
)

// fgtRole is the api_user role the bench measures, on config: what the upstream calls below
// send.
func fgtRole(config string) map[string]any {
	return map[string]any{"config": config, "admin_profile": fgtProfile, "vdoms": "root",
		"trusted_hosts": "127.0.0.0/8", "ttl": "1h", "max_ttl": "2h"}
}

// fgtConfig adds mount's root api-user to f and returns a fortigate config with its key. f runs
// 7.6, which takes generate-key's expiry: creds make two calls. (On the fake's default 7.4, which
// refuses an expiry, the engine pays a third: generate-key again without one.)
func fgtConfig(f *fortitest.Server, mount string) map[string]any {
	f.SetFortiOSVersion("v7.6.0")
	f.AddFortiOSProfile(fgtProfile, fortitest.FortiOSNoAccess)
	key := f.AddFortiOSAPIUser(fortitest.FortiOSAPIUser{Name: fgtRootPrefix + "-" + mount,
		Profile: fortitest.FortiOSSuperAdmin, VDOMs: []string{fortitest.FortiOSRootVDOM}})
	return map[string]any{"type": "fortigate", "url": f.URL, "api_key": key, "username": fgtRootPrefix + "-" + mount,
		"ca_cert": f.CACertPEM}
}

// fgtMade counts the api-users on f but the roots: those Vault made.
func fgtMade(f *fortitest.Server) int {
	n := 0
	for _, name := range f.FortiOSAPIUsers() {
		if !strings.HasPrefix(name, fgtRootPrefix) {
			n++
		}
	}
	return n
}

// fgtAPIUser makes the upstream calls of one api_user lease: the create, as the engine sends it
// for fgtRole, and generate-key.
func (u *upstream) fgtAPIUser() error {
	u.mu.Lock()
	u.seq++
	name := fmt.Sprintf("bench_fgt_%d", u.seq)
	u.mu.Unlock()
	create, _ := json.Marshal(map[string]any{"name": name, "accprofile": fgtProfile,
		"vdom":      []map[string]string{{"name": "root"}},
		"trusthost": []map[string]any{{"id": 1, "type": "ipv4-trusthost", "ipv4-trusthost": "127.0.0.0 255.0.0.0"}},
		"comments":  "bench"})
	if _, err := u.post(fosAPIUserPath, u.creds.fgtKey, create); err != nil {
		return err
	}
	u.mu.Lock()
	u.fgtUsers = append(u.fgtUsers, name)
	u.mu.Unlock()
	gen, _ := json.Marshal(map[string]string{"api-user": name})
	b, err := u.post(fosGenerateKeyPath, u.creds.fgtKey, gen)
	if err != nil {
		return err
	}
	var a struct {
		Results struct {
			AccessToken string `json:"access_token"`
		} `json:"results"`
	}
	if json.Unmarshal(b, &a) != nil || a.Results.AccessToken == "" {
		return fmt.Errorf("generate-key %s: no key", name)
	}
	return nil
}

// fgtDelete deletes an api-user fgtAPIUser made.
func (u *upstream) fgtDelete(name string) error {
	req, err := http.NewRequest(http.MethodDelete, u.url+fosAPIUserPath+"/"+name, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+u.creds.fgtKey)
	_, err = send(u.hc, req, "delete api-user", http.StatusOK)
	return err
}
