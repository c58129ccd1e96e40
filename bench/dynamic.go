package main

import (
	"encoding/json"
	"fmt"
)

// The upstream calls of a dynamic_admin role's creds, made straight to the fake: the floor for
// the dynamic-admin rows [fortinet-apis §5]. With an api_key root, creds add the admin (the
// key sent as Bearer), read it back and log in as it; with a local_user root, the same in a
// root session logged in once and kept, as the engine keeps one between creds.

// adminUserURL is FAZ/FMG's admin table.
const adminUserURL = "/cli/global/system/admin/user"

// dynRole is the dynamic_admin role the bench measures, on config: what the upstream calls
// below send, the same fields and trusted-host slots.
func dynRole(config string) map[string]any {
	return map[string]any{"config": config, "credential_type": "dynamic_admin", "admin_profile": "Restricted_User",
		"adoms": "root", "trusted_hosts": "127.0.0.0/8", "rpc_permit": "read-write", "ttl": "1h", "max_ttl": "2h"}
}

// dynAddData is an add of the admin name as the engine sends it for dynRole: every trusted-host
// slot set, those not asked for to Fortinet's "none".
func dynAddData(name string) map[string]any {
	d := map[string]any{"userid": name, "password": "Bench-Dyn-Passw0rd!" + name, "profileid": "Restricted_User",
		"adom": []map[string]string{{"adom-name": "root"}}, "adom-access": "specify", "rpc-permit": "read-write",
		"user_type": "local", "force-password-change": "disable", "trusthost1": "127.0.0.0 255.0.0.0"}
	for i := 2; i <= 10; i++ {
		d[fmt.Sprintf("trusthost%d", i)] = "255.255.255.255 255.255.255.255"
	}
	for i := 1; i <= 10; i++ {
		d[fmt.Sprintf("ipv6_trusthost%d", i)] = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"
	}
	return d
}

// rpc makes one JSON-RPC call with a session or an API key (Bearer) and returns the session
// the answer carries, if any; a status code other than 0 is an error.
func (u *upstream) rpc(method, url string, data any, session, key string) (string, error) {
	param := map[string]any{"url": url}
	if data != nil {
		param["data"] = data
	}
	req := map[string]any{"id": 1, "method": method, "params": []any{param}, "session": nil}
	if session != "" {
		req["session"] = session
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	b, err := u.post("/jsonrpc", key, body)
	if err != nil {
		return "", err
	}
	var a struct {
		Result []struct {
			Status struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"status"`
		} `json:"result"`
		Session string `json:"session"`
	}
	if err := json.Unmarshal(b, &a); err != nil || len(a.Result) == 0 {
		return "", fmt.Errorf("%s %s: not a JSON-RPC answer", method, url)
	}
	if st := a.Result[0].Status; st.Code != 0 {
		return "", fmt.Errorf("%s %s: code %d: %s", method, url, st.Code, st.Message)
	}
	return a.Session, nil
}

// dynAdmin makes the upstream calls of one dynamic admin's creds: with rootKey the root is the
// API key, else a session of the root admin, logged in by the first call and kept.
func (u *upstream) dynAdmin(rootKey bool) error {
	root, key := "", u.creds.apiKey
	if !rootKey {
		var err error
		if root, err = u.rootSession(); err != nil {
			return err
		}
		key = ""
	}
	u.mu.Lock()
	u.seq++
	name := fmt.Sprintf("bench_up_%d", u.seq)
	u.mu.Unlock()
	d := dynAddData(name)
	if _, err := u.rpc("add", adminUserURL, d, root, key); err != nil {
		return err
	}
	u.mu.Lock()
	u.admins = append(u.admins, name)
	u.mu.Unlock()
	if _, err := u.rpc("get", adminUserURL+"/"+name, nil, root, key); err != nil {
		return err
	}
	sid, err := u.rpc("exec", "/sys/login/user", []map[string]string{{"user": name, "passwd": d["password"].(string)}}, "", "")
	if err != nil {
		return err
	}
	if sid == "" {
		return fmt.Errorf("login as %s: no session", name)
	}
	return nil
}

// rootSession is the root session dynAdmin keeps, logged in on first use.
func (u *upstream) rootSession() (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.root != "" {
		return u.root, nil
	}
	sid, err := u.rpc("exec", "/sys/login/user", []map[string]string{{"user": u.creds.admin, "passwd": u.creds.password}}, "", "")
	if err != nil {
		return "", err
	}
	u.root = sid
	return sid, nil
}

// dynAdminKey and dynAdminUser are dynAdmin with either root.
func (u *upstream) dynAdminKey() error  { return u.dynAdmin(true) }
func (u *upstream) dynAdminUser() error { return u.dynAdmin(false) }
