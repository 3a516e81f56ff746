// Command floor is the SDK-init floor of the cold-start figures
// (internal/tstest/coldstart): the least any of the functions does before
// it can answer, namely load the AWS configuration and read the service's
// secret from Secrets Manager (SECRETS_ID), then serve a trivial handler.
// A function's cold start is judged against this floor, measured in the
// same run, rather than against a fixed number of milliseconds.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail("load the AWS configuration: %v", err)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(os.Getenv("SECRETS_ID")),
	})
	if err != nil {
		fail("read the secret: %v", err)
	}
	// Only the size is kept, so the secret is read (as the functions read
	// theirs) yet never shown.
	size := len(aws.ToString(out.SecretString))
	lambda.Start(func(context.Context, json.RawMessage) (map[string]int, error) {
		return map[string]int{"secretBytes": size}, nil
	})
}

// fail ends the init as a function's failed init does: a message on
// stderr and a non-zero exit, which the emulator reports as an error.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "floor: "+format+"\n", args...)
	os.Exit(1)
}
