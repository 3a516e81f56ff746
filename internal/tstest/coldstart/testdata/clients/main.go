// Command clients is the floor (../floor) plus the two other AWS clients
// every function links, DynamoDB (the store) and KMS (the data keys),
// built but not called. Its row in the cold-start figures
// (internal/tstest/coldstart) is what linking and building those clients
// costs a bootstrap's init, apart from anything the service's own code
// does: the part of a function's ratio to the floor that no wiring can
// remove while the function needs the clients.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
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
	size := len(aws.ToString(out.SecretString))
	db, keys := dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg)
	lambda.Start(func(context.Context, json.RawMessage) (map[string]any, error) {
		return map[string]any{"secretBytes": size, "clients": db != nil && keys != nil}, nil
	})
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "clients: "+format+"\n", args...)
	os.Exit(1)
}
