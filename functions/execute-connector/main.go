// Command execute-connector is the Lambda function the Step Functions task (lambda:invoke) that runs one workflow integration.* node.
// It is thin on purpose: internal/wiring builds everything once per cold start.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/automators/connectors/internal/wiring"
)

func main() {
	lambda.Start(wiring.MustExecutor(context.Background()))
}
