// Command connection-sweeper is the Lambda function run by the schedule every 15 minutes to refresh or flag expiring connections.
// It is thin on purpose: internal/wiring builds everything once per cold start.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/automators/connectors/internal/wiring"
)

func main() {
	lambda.Start(wiring.MustSweeper(context.Background()))
}
