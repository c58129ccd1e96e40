package backend

import (
	"context"
	"errors"
	"fmt"

	"github.com/forticloud/vault-plugin-secrets-forticloud/client"
	"github.com/hashicorp/vault/sdk/logical"
)

// rotatable says why rotate-root cannot rotate c's root credential, and what to do instead;
// nil when it can.
func rotatable(c *configEntry) error {
	switch c.AuthMethod {
	case client.AuthLocalUser:
		return nil
	case client.AuthForticloudToken:
		return errors.New("auth_method forticloud_token cannot be rotated: FortiCloud mints tokens, the engine cannot; write a new token to the config instead")
	case client.AuthAPIUser:
		return errors.New("auth_method forticloud_api_user cannot be rotated: FortiCloud IAM API user passwords change only in the FortiCloud portal; download new credentials there and write them to the config")
	case client.AuthEmailUser, client.AuthIAMUser:
		return fmt.Errorf("auth_method %s cannot be rotated: FortiLAN Cloud has no API to change a user's password; change it in the portal and write it to the config", c.AuthMethod)
	}
	return fmt.Errorf("auth_method %s cannot be rotated", c.AuthMethod)
}

// rotateRoot replaces the root credential of config name upstream with a new one only Vault
// knows, checks it, and stores it. The answer is the stored config after the rotation.
func (b *backend) rotateRoot(ctx context.Context, s logical.Storage, name string) (*configEntry, error) {
	return nil, errors.New("rotate-root: not implemented yet")
}
