package backend

import (
	"bytes"
	"context"
	"net/http"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/prometheus/common/expfmt"
)

// The help of the metrics path, as path-help shows it.
const (
	pathMetricsHelpSyn  = "The engine's metrics, in Prometheus text format."
	pathMetricsHelpDesc = `
Counts and latency of upstream operations by product, operation and outcome, and leases issued
and revoked by config, for this mount. Read it with any Vault token allowed to read the path:
curl -H "X-Vault-Token: $TOKEN" $VAULT_ADDR/v1/forticloud/metrics
Lease counts are kept by the plugin process: they start from zero when it restarts.
`
)

func pathMetrics(b *backend) []*framework.Path {
	return []*framework.Path{{
		Pattern: "metrics$",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "metrics",
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: metricsAnswer(operation(b.pathMetricsRead, "read", false)),
		},
		HelpSynopsis:    pathMetricsHelpSyn,
		HelpDescription: pathMetricsHelpDesc,
	}}
}

func (b *backend) pathMetricsRead(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	var buf bytes.Buffer
	if err := b.metrics.write(&buf); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		logical.HTTPContentType: string(expfmt.NewFormat(expfmt.TypeTextPlain)),
		logical.HTTPRawBody:     buf.Bytes(),
		logical.HTTPStatusCode:  http.StatusOK,
	}}, nil
}

// metricsAnswer documents the answer: Prometheus text, not JSON.
func metricsAnswer(op *framework.PathOperation) *framework.PathOperation {
	op.Responses = map[int][]framework.Response{http.StatusOK: {{Description: "Prometheus text format, version 0.0.4.", MediaType: "text/plain"}}}
	return op
}
