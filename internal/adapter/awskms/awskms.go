// Package awskms is the AWS KMS adapter of connectors.KeyWrapper: it makes
// each organization's data key with GenerateDataKey (AES_256) and unwraps it
// with Decrypt, both under one KMS key and with the encryption context
// {"organization": "<orgId>"}, so KMS (and CloudTrail) sees every use and a
// wrapped key moved to another organization does not decrypt. KMS errors
// reach the domain as connectors errors.
package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/automators/connectors/internal/connectors"
)

// ContextKey is the encryption context key that binds a data key to its
// organization.
const ContextKey = "organization"

const dataKeySize = 32

// API is the part of the KMS client the adapter uses (*kms.Client has it).
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Wrapper wraps data keys under one KMS key. It is safe for concurrent use.
type Wrapper struct {
	api   API
	keyID string
}

var _ connectors.KeyWrapper = (*Wrapper)(nil)

// New returns a Wrapper on keyID (key id, key ARN, alias name or alias ARN:
// what KMS_KEY_ID holds).
func New(api API, keyID string) *Wrapper { return &Wrapper{api: api, keyID: keyID} }

// KeyName implements connectors.KeyWrapper.
func (w *Wrapper) KeyName() string { return w.keyID }

// GenerateDataKey implements connectors.KeyWrapper.
func (w *Wrapper) GenerateDataKey(ctx context.Context, orgID string) (plaintext, wrapped []byte, err error) {
	out, err := w.api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(w.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: map[string]string{ContextKey: orgID},
	})
	if err != nil {
		return nil, nil, domainError(err, "generate a data key")
	}
	if len(out.Plaintext) != dataKeySize || len(out.CiphertextBlob) == 0 {
		clear(out.Plaintext)
		return nil, nil, connectors.Errorf(connectors.EInternal, "KMS answered a data key of %d bytes, want %d", len(out.Plaintext), dataKeySize)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// DecryptDataKey implements connectors.KeyWrapper. It names the key, so a
// blob wrapped under any other KMS key is refused rather than decrypted.
func (w *Wrapper) DecryptDataKey(ctx context.Context, orgID string, wrapped []byte) ([]byte, error) {
	out, err := w.api.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(w.keyID),
		CiphertextBlob:    wrapped,
		EncryptionContext: map[string]string{ContextKey: orgID},
	})
	if err != nil {
		return nil, domainError(err, "decrypt a data key")
	}
	if len(out.Plaintext) != dataKeySize {
		clear(out.Plaintext)
		return nil, connectors.Errorf(connectors.EInternal, "KMS decrypted a data key of %d bytes, want %d", len(out.Plaintext), dataKeySize)
	}
	return out.Plaintext, nil
}

// domainError maps a KMS failure to the domain: a busy or unreachable KMS
// is EUnavailable (503, retryable), a key this function may not use is
// ENotConfigured (the deployment is wrong), a wrapped key that does not
// decrypt is EInternal. The message is safe to show; the cause (which holds
// no key material) is kept for logs.
func domainError(err error, op string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("kms: %s: %w", op, err)
	}
	wrapped := fmt.Errorf("kms: %s: %w", op, err)
	var api smithy.APIError
	if !errors.As(err, &api) {
		// No answer from KMS after the SDK's retries (network, DNS).
		return connectors.Wrap(wrapped, connectors.EUnavailable, "the key service is unreachable; retry shortly")
	}
	switch api.ErrorCode() {
	case "ThrottlingException", "LimitExceededException", "KMSInternalException", "DependencyTimeoutException",
		"KeyUnavailableException", "ServiceUnavailableException", "InternalFailure":
		return connectors.Wrap(wrapped, connectors.EUnavailable, "the key service is busy or unavailable; retry shortly")
	case "DisabledException", "NotFoundException", "KMSInvalidStateException", "AccessDeniedException",
		"InvalidKeyUsageException", "InvalidArnException", "UnrecognizedClientException", "IncorrectKeyException":
		return connectors.Wrap(wrapped, connectors.ENotConfigured, "the KMS key is not usable by this function (disabled, deleted, another key, or not allowed)")
	case "InvalidCiphertextException":
		return connectors.Wrap(wrapped, connectors.EInternal, "a wrapped data key does not decrypt for its organization")
	}
	return connectors.Wrap(wrapped, connectors.EInternal, "the key service refused the request")
}
