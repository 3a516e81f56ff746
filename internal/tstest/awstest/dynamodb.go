package awstest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/adapter/dynamostore"
)

// DynamoDB returns a client of the emulator's DynamoDB (see Endpoint), with
// the SDK's default configuration and the dummy credentials Endpoint sets.
// optFns run after the endpoint is set, so a test can add what it needs: a
// fault-injecting HTTP client, no keep-alive, retry settings.
func DynamoDB(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	url := Endpoint(t, "dynamodb")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("awstest: load AWS config: %v", err)
	}
	opts := append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) }}, optFns...)
	return dynamodb.NewFromConfig(cfg, opts...)
}

var tableSeq atomic.Int64

// Table creates a uniquely named table from the shared schema
// (dynamostore.EnsureTable) and drops it when the test ends, so runs never
// see each other's items. The name holds the process id, so test binaries
// sharing one emulator do not collide either.
func Table(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("ConnectorCredentials-test-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dynamostore.EnsureTable(ctx, client, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}
