// Package awssecrets reads the service's secrets from one AWS Secrets Manager
// JSON secret. It is the deployed config.SecretsSource; wrap it in
// a config.CachedSecrets so that it is read once per cold start.
package awssecrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/config"
)

// getSecretValueAPI is the part of the Secrets Manager client Source uses.
type getSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Source reads one Secrets Manager secret and parses it with
// config.ParseSecretsJSON. It implements config.SecretsSource.
type Source struct {
	client   getSecretValueAPI
	secretID string
}

var _ config.SecretsSource = (*Source)(nil)

// New returns a Source reading secretID (a name or ARN) with client.
func New(client *secretsmanager.Client, secretID string) *Source {
	return &Source{client: client, secretID: secretID}
}

// LoadSecrets reads the current version of the secret. Errors name the secret
// and keep the SDK error in the chain (errors.As finds, for example, a
// *types.ResourceNotFoundException); they never hold the secret's value.
func (s *Source) LoadSecrets(ctx context.Context) (config.Secrets, error) {
	if s.secretID == "" {
		return config.Secrets{}, errors.New("awssecrets: no secret id (set SECRETS_ID)")
	}
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.secretID})
	if err != nil {
		return config.Secrets{}, fmt.Errorf("awssecrets: get secret %q: %w", s.secretID, err)
	}
	var doc []byte
	switch {
	case out.SecretString != nil:
		doc = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		doc = out.SecretBinary
	default:
		return config.Secrets{}, fmt.Errorf("awssecrets: secret %q has no value", s.secretID)
	}
	secrets, err := config.ParseSecretsJSON(doc)
	if err != nil {
		return config.Secrets{}, fmt.Errorf("awssecrets: secret %q: %w", s.secretID, err)
	}
	return secrets, nil
}
