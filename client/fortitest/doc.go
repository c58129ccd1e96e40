// Package fortitest is an in-process fake of the Fortinet APIs the plugin talks to, for tests,
// in the manner of net/http/httptest.
//
// One HTTPS server, with its own freshly generated CA (ECDSA P-256), serves on one port:
//
//   - FortiAnalyzer/FortiManager JSON-RPC: POST /jsonrpc with /sys/login/user, /sys/login/cloud,
//     /sys/logout, /sys/status and /cli/global/system/status, idle expiry of sessions, a
//     per-admin login-max, and admin profiles (Profile) that refuse status calls with -11;
//   - their admin table, /cli/global/system/admin/user: add, get, delete and set, three kinds of
//     firmware for how an ADOM list binds (ADOMFirmware), logins as the admins it holds (their
//     password, rpc-permit and trusted hosts), sessions and API keys (AddAPIKey, sent as Bearer)
//     that end with their admin;
//   - FAZ Cloud's exchange: POST /p/forticloud_jsonrpc_login/;
//   - FortiLAN Cloud: POST /api/v1/auth, POST /api/v1/auth/invalidate_token, any other
//     /api/v1/* call as "a call that needs a token", and the auth rate limit;
//   - FortiCloud IAM OAuth: POST /api/v1/oauth/token/ (password and refresh_token grants) and
//     POST /api/v1/oauth/revoke_token/, with one live token per API user;
//   - FortiGate's REST API under /api/v2/: the status call, api-users (create, read, delete,
//     generate-key replacing the key), access profiles, Bearer keys per api-user (never in the
//     URL), trusthosts and firmware that differs on key expiry (see FortiOSAPIUser).
//
// It is written to be faithful to the project's account of the upstream APIs,
// docs/upstream.md: request and answer shapes, status codes (JSON-RPC always answers
// HTTP 200 and puts the result in result[0].status), -11 for a session that is gone, expires_in
// as a UNIX time for FortiLAN and as seconds for IAM, 3600 s tokens for client_id FortiManager
// and 14400 s for the others, revocation answering 200 for unknown tokens (SetLANGone and
// SetOAuthGone pick other ways of saying "already gone", see GoneAnswer). Where that document
// marks a fact as inferred or unpublished (error bodies, the code of a wrong password, what a rate
// limit overrun answers), the fake picks one plausible answer and says so in the doc comment of
// the matching setting; tests should not depend on those choices more than the client does.
//
// Faults (see Fault and FaultKind) break answers on purpose: dropped connections, 5xx, HTML pages,
// broken or huge JSON, slow answers, chosen JSON-RPC codes, 401, 429 with Retry-After and
// redirects. Counters (Calls, Connections, LiveSessions, ...) let tests assert what reached the
// fake, and Expire* and Advance simulate expiry on the upstream side.
//
// Secrets (sessions, tokens) are random (crypto/rand, base64url). The package holds no mutable
// package-level state, and every method of Server is safe for concurrent use. It imports nothing
// from Vault nor from the client package, so the client's own tests can use it.
package fortitest
