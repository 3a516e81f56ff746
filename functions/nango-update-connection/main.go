// Command nango-update-connection is the Lambda function serving PATCH /api/v1/nango/connections/{connectionId}.
// It is thin on purpose: internal/wiring builds everything once per cold
// start, so the local API (make run) runs exactly the same handler.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/automators/connectors/internal/wiring"
)

func main() {
	lambda.Start(wiring.MustAPI(context.Background(), "nango-update-connection"))
}
