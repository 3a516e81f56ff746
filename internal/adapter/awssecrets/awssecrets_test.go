package awssecrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/automators/connectors/internal/adapter/awssecrets"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/tstest/awstest"
)

// newClient returns a Secrets Manager client for the emulator.
func newClient(t *testing.T) *secretsmanager.Client {
	t.Helper()
	endpoint := awstest.Endpoint(t, "secretsmanager")
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// createSecret creates a uniquely named secret holding doc and deletes it
// when the test ends.
func createSecret(t *testing.T, client *secretsmanager.Client, doc string) string {
	t.Helper()
	name := fmt.Sprintf("connectors-test/%s/%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	_, err := client.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: &name, SecretString: &doc})
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}
	t.Cleanup(func() {
		client.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{
			SecretId: &name, ForceDeleteWithoutRecovery: aws.Bool(true),
		})
	})
	return name
}

func doc(nangoKey string, webhookKeys ...string) string {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	return fmt.Sprintf(`{"nango_secret_key":%q,"nango_webhook_signing_keys":["%s"],"state_signing_key":"st","token_encryption_keys":[{"id":"k1","key":%q}]}`,
		nangoKey, strings.Join(webhookKeys, `","`), key)
}

func TestSource(t *testing.T) {
	client := newClient(t)

	tests := []struct {
		name  string
		doc   string // "" means: no such secret
		check func(t *testing.T, s config.Secrets, err error)
	}{
		{
			name: "reads and parses",
			doc:  doc("nango-1", "wh-1", "wh-2"),
			check: func(t *testing.T, s config.Secrets, err error) {
				if err != nil {
					t.Fatalf("LoadSecrets: %v", err)
				}
				if s.NangoSecretKey != "nango-1" || len(s.NangoWebhookSigningKeys) != 2 || s.StateSigningKey != "st" ||
					len(s.TokenEncryptionKeys) != 1 || len(s.TokenEncryptionKeys[0].Secret) != 32 {
					t.Fatalf("LoadSecrets = %v", s)
				}
			},
		},
		{
			name: "missing secret",
			check: func(t *testing.T, s config.Secrets, err error) {
				var nf *types.ResourceNotFoundException
				if !errors.As(err, &nf) || !strings.Contains(err.Error(), "awssecrets: get secret") {
					t.Fatalf("err = %v, want a wrapped ResourceNotFoundException", err)
				}
			},
		},
		{
			name: "invalid document",
			doc:  `{"nango_secret_key": "super-secret-value", "token_encryption_keys": "oops"}`,
			check: func(t *testing.T, s config.Secrets, err error) {
				if err == nil || !strings.Contains(err.Error(), "token_encryption_keys") {
					t.Fatalf("err = %v, want one naming token_encryption_keys", err)
				}
				if strings.Contains(err.Error(), "super-secret-value") {
					t.Fatalf("error shows the secret: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "connectors-test/does-not-exist"
			if tt.doc != "" {
				id = createSecret(t, client, tt.doc)
			}
			s, err := awssecrets.New(client, id).LoadSecrets(t.Context())
			tt.check(t, s, err)
		})
	}
}

// clock is a settable clock for the cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestRotation is the deployed path: cached reads, a rotation, and the
// Invalidate that a failed webhook signature triggers.
func TestRotation(t *testing.T) {
	client := newClient(t)
	id := createSecret(t, client, doc("nango-1", "wh-old"))
	clk := &clock{now: time.Now()}
	cache := config.NewCachedSecrets(awssecrets.New(client, id), config.CacheOptions{Now: clk.Now})

	load := func(want string) {
		t.Helper()
		s, err := cache.LoadSecrets(t.Context())
		if err != nil {
			t.Fatalf("LoadSecrets: %v", err)
		}
		if got := strings.Join(s.NangoWebhookSigningKeys, ","); got != want {
			t.Fatalf("webhook keys = %q, want %q", got, want)
		}
	}
	load("wh-old")

	newDoc := doc("nango-1", "wh-new", "wh-old")
	if _, err := client.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: &id, SecretString: &newDoc}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	clk.add(time.Minute)
	load("wh-old") // cached: not re-read within the TTL
	cache.Invalidate()
	load("wh-new,wh-old")

	// And without Invalidate, a rotation shows after the TTL.
	newer := doc("nango-1", "wh-newest")
	if _, err := client.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: &id, SecretString: &newer}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	clk.add(config.DefaultSecretsTTL)
	load("wh-newest")
}
