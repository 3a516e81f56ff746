package wiring

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/emftest"
)

// TestAWSClientsCount: each AWS client wiring builds counts its calls as
// OutboundCalls to its service, in the invocation's batch (moto answers).
func TestAWSClientsCount(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", awstest.Endpoint(t, "secretsmanager"))
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, batch := metrics.Start(context.Background(), metrics.Function("fn"))
	calls := []struct {
		target string
		call   func() error
	}{
		{metrics.TargetDynamoDB, func() error { _, err := dynamoClient(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); return err }},
		{metrics.TargetSecretsManager, func() error {
			_, err := secretsClient(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(1)})
			return err
		}},
		{metrics.TargetKMS, func() error { _, err := kmsClient(cfg).ListKeys(ctx, &kms.ListKeysInput{}); return err }},
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
	}
	var out bytes.Buffer
	if err := metrics.NewEMF(&out, nil).Flush(batch); err != nil {
		t.Fatal(err)
	}
	got := emftest.Index(emftest.Parse(t, out.Bytes()))
	for _, c := range calls {
		if k := "OutboundCalls{Function=fn,Target=" + c.target + "}"; got[k] != 1 {
			t.Errorf("%s = %v, want 1 (have %v)", k, got[k], emftest.Keys(got))
		}
	}
}
