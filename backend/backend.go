// Package backend is the Vault side of the engine: paths, secret types, WAL rollback.
package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// operationPrefix is the start of every OpenAPI operation id of the engine.
const operationPrefix = "forticloud"

// walRollbackMinAge is how old a WAL entry must be before Vault rolls it back. Tests shorten it
// with -ldflags "-X github.com/forticloud/vault-plugin-secrets-forticloud/backend.walRollbackMinAge=5s".
var walRollbackMinAge = "10m"

// walMinAge is walRollbackMinAge parsed.
func walMinAge() time.Duration {
	d, err := time.ParseDuration(walRollbackMinAge)
	if err != nil || d <= 0 {
		return 10 * time.Minute
	}
	return d
}

// backendHelp is the engine's help, as path-help on the mount shows it.
const backendHelp = `
The forticloud secrets engine issues short-lived FortiAnalyzer and FortiManager JSON-RPC
sessions, FortiLAN Cloud tokens and FortiCloud IAM tokens under Vault leases, from root
credentials kept in Vault. When a lease ends or is revoked, the session is logged out or the
token invalidated upstream.

Write a config (config/<name>) with the product's URL and credentials, a role (roles/<name>)
naming the config and the lease TTLs, then read creds/<role>. A dynamic_admin role makes a
FortiAnalyzer or FortiManager admin of its own for each lease instead, and deletes it when the
lease ends.
`

// backend is one mount of the engine.
type backend struct {
	*framework.Backend

	// mu guards the caches and orders cache fills after storage writes, so that a request can
	// never put a config or role back in the cache after a write dropped it.
	mu      sync.RWMutex
	configs map[string]*cachedConfig
	// closing counts the clients of dropped configs still logging out their root sessions.
	closing background
	// settles counts the token shares' takes still being settled after their creds answered
	// (settleTake).
	settles background
	roles   map[string]*roleEntry

	// writeLocks serialise writes to one config or role, so that checks and the write agree
	// (lockWrites).
	writeLocks []*locksutil.LockEntry
	// rotationLocks hold creds of a config back while its root password changes (pauseCreds).
	rotationLocks []*locksutil.LockEntry

	// loginWindows pace logins per base URL (FortiLAN allows 6 a minute from one address),
	// and callWindows FortiLAN's other calls (60 a minute), which it counts apart.
	windowMu     sync.Mutex
	loginWindows map[string]*client.LoginWindow // by base URL
	callWindows  map[string]*client.LoginWindow // by base URL

	metrics *metrics

	// apiUsers serialises token requests per FortiCloud API user: a new token kills the last.
	apiUsers keyedMutex
	// admins serialises, per admin name of a config, creds, ends and rollbacks of that name
	// (holdName).
	admins keyedMutex

	// sched runs rotation schedules where Vault has no rotation manager (scheduler.go), and
	// rotate is the rotation it runs: rotateRoot (tests put another in).
	sched  *scheduler
	rotate func(ctx context.Context, s logical.Storage, name string) (*configEntry, error)

	// rootSlots bound each config's live root sessions (rootSlotsOf), kept for the mount's life.
	rootSlotsMu sync.Mutex
	rootSlots   map[string]chan struct{}
}

// Factory returns a new backend, one per mount.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := newBackend()
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func newBackend() *backend {
	b := &backend{
		configs:       make(map[string]*cachedConfig),
		roles:         make(map[string]*roleEntry),
		loginWindows:  make(map[string]*client.LoginWindow),
		callWindows:   make(map[string]*client.LoginWindow),
		rootSlots:     make(map[string]chan struct{}),
		metrics:       newMetrics(),
		writeLocks:    locksutil.CreateLocks(),
		rotationLocks: locksutil.CreateLocks(),
		sched:         newScheduler(engineTick()),
	}
	b.rotate = b.rotateRoot
	b.Backend = &framework.Backend{
		Help:        strings.TrimSpace(backendHelp),
		BackendType: logical.TypeLogical,
		PathsSpecial: &logical.Paths{
			// WAL entries hold sessions, tokens and, during a rotation, root passwords.
			SealWrapStorage: []string{configPrefix, sharePrefix, framework.WALPrefix},
			LocalStorage:    []string{framework.WALPrefix},
		},
		Paths: framework.PathAppend(
			pathConfig(b),
			pathRoles(b),
			pathCreds(b),
			pathRotateRoot(b),
			pathMetrics(b),
		),
		Secrets: []*framework.Secret{
			secretSession(b),
			secretToken(b),
			secretAdmin(b),
			secretAPIUser(b),
		},
		WALRollback:       b.walRollback,
		WALRollbackMinAge: walMinAge(),
		Invalidate:        b.invalidate,
		Clean:             b.clean,
		PeriodicFunc:      b.periodic,
		RotateCredential:  b.rotateCredential,
		RunningVersion:    Version,
	}
	return b
}

// invalidate drops what another node changed (replication, standbys).
func (b *backend) invalidate(_ context.Context, key string) {
	switch {
	case strings.HasPrefix(key, configPrefix):
		b.dropConfig(strings.TrimPrefix(key, configPrefix))
	case strings.HasPrefix(key, rolePrefix):
		b.dropRole(strings.TrimPrefix(key, rolePrefix))
	}
}

// clean stops the rotation scheduler and closes every cached client when the mount goes away,
// and with them the root sessions they keep.
func (b *backend) clean(context.Context) {
	b.sched.stop() // before b.mu: a rotation it waits for may store a config
	b.settles.Wait()
	b.closeConfigs()
	b.mu.Lock()
	clear(b.roles)
	b.mu.Unlock()
}

// closeConfigs drops every cached config and closes its client, logging out the root sessions
// it keeps (a round trip each, outside b.mu); it returns when they are out, and those of
// configs dropped before.
func (b *backend) closeConfigs() {
	b.mu.Lock()
	configs := b.configs
	b.configs = make(map[string]*cachedConfig)
	b.mu.Unlock()
	for _, c := range configs {
		b.closing.Go(c.close) // all at once: each may wait on an upstream that does not answer
	}
	b.closing.Wait()
}

// operation is a path operation: mutating ones are forwarded from performance standbys and
// secondaries, since they write storage or create leases.
func operation(cb framework.OperationFunc, verb string, mutates bool) *framework.PathOperation {
	return &framework.PathOperation{
		Callback:                    cb,
		ForwardPerformanceStandby:   mutates,
		ForwardPerformanceSecondary: mutates,
		DisplayAttrs:                &framework.DisplayAttributes{OperationVerb: verb},
	}
}

// answers documents, for OpenAPI, that op may answer code with data holding fields.
func answers(op *framework.PathOperation, code int, fields map[string]*framework.FieldSchema) *framework.PathOperation {
	if op.Responses == nil {
		op.Responses = map[int][]framework.Response{}
	}
	op.Responses[code] = []framework.Response{{Description: http.StatusText(code), Fields: fields}}
	return op
}

// crud is the operations of a named object: write (create and update), read answering
// readFields, delete. A write answers 204, or 200 when it carries warnings.
func crud(write, read, del framework.OperationFunc, writeVerb string, readFields map[string]*framework.FieldSchema) map[logical.Operation]framework.OperationHandler {
	w := func() *framework.PathOperation {
		return answers(answers(operation(write, writeVerb, true), http.StatusNoContent, nil), http.StatusOK, nil)
	}
	return map[logical.Operation]framework.OperationHandler{
		logical.CreateOperation: w(),
		logical.UpdateOperation: w(),
		logical.ReadOperation:   answers(operation(read, "read", false), http.StatusOK, readFields),
		logical.DeleteOperation: answers(operation(del, "delete", true), http.StatusNoContent, nil),
	}
}

// list is the list operation of a kind of named object.
func list(cb framework.OperationFunc) map[logical.Operation]framework.OperationHandler {
	return map[logical.Operation]framework.OperationHandler{
		logical.ListOperation: answers(operation(cb, "list", false), http.StatusOK, map[string]*framework.FieldSchema{
			"keys": {Type: framework.TypeStringSlice, Description: "Names."},
		}),
	}
}

// randomHex is n random bytes in hex: ids and salts.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}
