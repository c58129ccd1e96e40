package backend

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// The help of rotate-root/<name>, as path-help shows it.
const (
	pathRotateRootHelpSyn  = "Rotate a config's root credential so that only Vault knows it."
	pathRotateRootHelpDesc = `
Writing rotate-root/<name> replaces the root credential of config <name> upstream with a new one
that only Vault knows, checks it, stores it, and answers the config (never the secret), with
last_rotated.

For fortianalyzer and fortimanager configs with auth_method=local_user, the admin's password is
changed through JSON-RPC to one made from the config's password_policy (or the engine's own
generator), checked by a fresh login, and stored. Other auth methods cannot be rotated: the
answer says why, and what to do instead.

If anything fails after the change was sent, upstream and Vault are made to agree again: the new
password stored, or the old one kept or put back. Leases issued before keep renewing (while
upstream keeps their sessions) and revoking. Creds of the config wait while it rotates.
`
)

func pathRotateRoot(b *backend) []*framework.Path {
	op := answers(operation(b.pathRotateRootWrite, "rotate", true), http.StatusOK, configReadFields())
	op.DisplayAttrs.OperationSuffix = "root"
	return []*framework.Path{{
		Pattern: "rotate-root/" + framework.GenericNameRegex("name"),
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
		},
		Fields: map[string]*framework.FieldSchema{
			"name": {
				Type:        framework.TypeString,
				Description: "Name of the config whose root credential to rotate.",
				Required:    true,
			},
		},
		Operations:      map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: op},
		HelpSynopsis:    pathRotateRootHelpSyn,
		HelpDescription: strings.TrimSpace(pathRotateRootHelpDesc),
	}}
}

// rotationByHand is the scheduler label of rotations asked through rotate-root.
const rotationByHand = "manual"

func (b *backend) pathRotateRootWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	c, err := b.rotateRoot(ctx, req.Storage, name)
	var coded logical.HTTPCodedError
	if errors.As(err, &coded) && coded.Code() == http.StatusNotFound {
		return nil, err // no config: no series in the metrics for a name anyone may write
	}
	if err != nil {
		b.metrics.rotated(name, rotationFailed, rotationByHand)
		return nil, err
	}
	b.metrics.rotated(name, rotationOK, rotationByHand)
	return &logical.Response{Data: c.public()}, nil
}
