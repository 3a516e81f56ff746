package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/local/loopback"
	"github.com/automators/connectors/internal/local/motoserver"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/tstest/lambdarie"
)

const (
	region    = "us-east-1"
	tableName = "ConnectorCredentials"
	secretID  = "automators-connectors/local"
)

// backend is what a deployed function has around it, on loopback: moto
// (table and secret), the fake Nango, and local fakes of providers' APIs
// for the executor. One backend serves one invocation.
type backend struct {
	moto      string // moto_server's URL
	secretARN string
	sec       lambdarie.Secrets
	ddb       *dynamodb.Client
	sm        *secretsmanager.Client
	kms       *kms.Client
	kmsKeyID  string // the key that wraps data keys, as template.yaml's
	nango     *nangofake.Server
	providers *providerFakes
	env       []string // the function's environment; seeding wires itself from it too
	log       io.Writer
	closers   []func()
}

// startBackend starts moto, provisions the table and the secret, and starts
// the fake Nango and the providers' fakes.
func startBackend(ctx context.Context, log io.Writer) (_ *backend, err error) {
	b := &backend{sec: lambdarie.NewSecrets(), log: log}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	moto, stopMoto, err := startMoto(ctx)
	if err != nil {
		return nil, err
	}
	b.moto = moto
	b.closers = append(b.closers, stopMoto)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	b.ddb = dynamodb.New(dynamodb.Options{Region: region, BaseEndpoint: aws.String(moto), Credentials: creds})
	b.sm = secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(moto), Credentials: creds})
	if b.secretARN, err = b.provision(ctx); err != nil {
		return nil, err
	}
	// Tokens are sealed as deployed: under per-organization data keys
	// wrapped by a KMS key (moto's).
	b.kms = kms.New(kms.Options{Region: region, BaseEndpoint: aws.String(moto), Credentials: creds})
	key, err := b.kms.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
		Description: aws.String("make invoke: data key wrapping"),
	})
	if err != nil {
		return nil, fmt.Errorf("create the KMS key: %w", err)
	}
	b.kmsKeyID = aws.ToString(key.KeyMetadata.Arn)

	b.nango = nangoSandbox(b.sec)
	nangoURL := b.nango.Start()
	b.closers = append(b.closers, b.nango.Close)
	b.providers = startProviderFakes()
	b.closers = append(b.closers, b.providers.Close)

	b.env = []string{
		"TABLE_NAME=" + tableName,
		"KMS_KEY_ID=" + b.kmsKeyID,
		"SECRETS_ID=" + b.secretARN,
		"AWS_ENDPOINT_URL=" + moto,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + region,
		"AWS_EC2_METADATA_DISABLED=true",
		"NANGO_HOST=" + nangoURL,
		// The executor calls providers' APIs directly with the
		// connection's credentials: point it at the local fakes.
		"PROVIDER_BASE_URLS=" + b.providers.BaseURLs(),
		"REDIRECT_ALLOWLIST=https://app.automators.dev",
		"CORS_ALLOW_ORIGINS=https://app.automators.dev",
		"LOG_LEVEL=" + envOr("LOG_LEVEL", "debug"),
	}
	return b, nil
}

// Close stops everything the backend started, last started first.
func (b *backend) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
}

// getenv reads the function's environment, so that what seeds in process
// is configured exactly as the function is.
func (b *backend) getenv(name string) string {
	for _, kv := range b.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// prepare fills the event's placeholders: a development token for the
// request's principal, and the webhook body's Nango signature.
func (b *backend) prepare(event []byte, req request) ([]byte, error) {
	token, err := auth.Issue([]byte(b.sec.JWTHS256Secret), auth.DevClaims{
		UserID: req.User, OrgID: req.Org, Roles: req.Roles, TTL: time.Hour,
	}, "")
	if err != nil {
		return nil, fmt.Errorf("development token: %w", err)
	}
	return lambdarie.PrepareEvent(event, token, func(body []byte) string {
		return nango.SignWebhook(body, b.sec.WebhookSigningKey)
	})
}

// startMoto runs moto_server on a free loopback port until stop is called.
func startMoto(ctx context.Context) (url string, stop func(), err error) {
	port, err := loopback.FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd, err := motoserver.Command(port)
	if err != nil {
		return "", nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
	}
	stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, fmt.Errorf("moto_server did not start: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// provision creates the table and the secret a deployed function reads, and
// returns the secret's ARN.
func (b *backend) provision(ctx context.Context) (string, error) {
	if err := dynamostore.EnsureTable(ctx, b.ddb, tableName); err != nil {
		return "", err
	}
	out, err := b.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(secretID),
		SecretString: aws.String(b.sec.JSON()),
	})
	if err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	return aws.ToString(out.ARN), nil
}

// nangoSandbox is the offline fake Nango, knowing every Nango-served
// connector's integration.
func nangoSandbox(sec lambdarie.Secrets) *nangofake.Server {
	ins := nangofake.RegistryIntegrations(registry.Default())
	return nangofake.New(nangofake.Options{SecretKey: sec.NangoSecretKey, WebhookSigningKey: sec.WebhookSigningKey, Integrations: ins})
}
