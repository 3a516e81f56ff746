package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMS returns a client of the emulator's KMS (see Endpoint). optFns run
// after the endpoint is set (a counting HTTP client, retry settings).
func KMS(t testing.TB, optFns ...func(*kms.Options)) *kms.Client {
	t.Helper()
	url := Endpoint(t, "kms")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("awstest: load AWS config: %v", err)
	}
	opts := append([]func(*kms.Options){func(o *kms.Options) { o.BaseEndpoint = aws.String(url) }}, optFns...)
	return kms.NewFromConfig(cfg, opts...)
}

// KMSKey creates a symmetric encryption key, as template.yaml's, and
// returns its ARN. It schedules the key's deletion when the test ends.
func KMSKey(t testing.TB, client *kms.Client) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{
		KeySpec:     types.KeySpecSymmetricDefault,
		KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
		Description: aws.String("awstest data key wrapping"),
	})
	if err != nil {
		t.Fatalf("awstest: create KMS key: %v", err)
	}
	id := out.KeyMetadata.KeyId // moto's key management calls take the id, not the ARN
	t.Cleanup(func() {
		client.ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)})
	})
	return aws.ToString(out.KeyMetadata.Arn)
}
