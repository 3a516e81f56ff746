// Command nango-get-connector is the Lambda function serving GET /api/v1/nango/connectors/{connector}.
// It is thin on purpose: internal/wiring builds everything once per cold
// start, so the local API (make run) runs exactly the same handler.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/automators/connectors/internal/wiring"
)

func main() {
	lambda.Start(wiring.MustAPI(context.Background(), "nango-get-connector"))
}
