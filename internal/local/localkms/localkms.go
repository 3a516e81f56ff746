// Package localkms stands in for AWS KMS where there is none (`make run`,
// tests): it implements connectors.KeyWrapper with a local AES-256-GCM
// wrapping key, so the same per-organization data keys and sealed format
// work offline. It is local tooling: no Lambda bootstrap links it.
package localkms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/automators/connectors/internal/connectors"
)

const (
	keySize   = 32
	nonceSize = 12
	// info names what a derived wrapping key is for, so the secret it comes
	// from keys nothing else with the same bytes.
	info = "automators-connectors localkms wrapping key v1"
)

// Wrapper wraps data keys under one local key. It is safe for concurrent use.
type Wrapper struct {
	name string
	aead cipher.AEAD
}

var _ connectors.KeyWrapper = (*Wrapper)(nil)

// New returns a Wrapper whose wrapping key is derived (HKDF-SHA256) from
// secret, so a development secret that is already kept (the state signing
// key) yields the same wrapping key at every start. name labels the key in
// stored data keys ("local:" is prefixed).
func New(secret []byte, name string) (*Wrapper, error) {
	if len(secret) < 16 {
		return nil, errors.New("localkms: the secret must be at least 16 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, info, keySize)
	if err != nil {
		return nil, fmt.Errorf("localkms: derive the wrapping key: %w", err)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("localkms: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("localkms: %w", err)
	}
	return &Wrapper{name: "local:" + name, aead: aead}, nil
}

// KeyName implements connectors.KeyWrapper.
func (w *Wrapper) KeyName() string { return w.name }

// GenerateDataKey implements connectors.KeyWrapper: a random key, wrapped as
// nonce | ciphertext+tag with the organization as associated data (the
// counterpart of KMS's encryption context).
func (w *Wrapper) GenerateDataKey(ctx context.Context, orgID string) (plaintext, wrapped []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	plaintext = make([]byte, keySize)
	if _, err := rand.Read(plaintext); err != nil {
		return nil, nil, fmt.Errorf("localkms: %w", err)
	}
	nonce := make([]byte, nonceSize, nonceSize+keySize+w.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("localkms: %w", err)
	}
	return plaintext, w.aead.Seal(nonce, nonce, plaintext, encryptionContext(orgID)), nil
}

// DecryptDataKey implements connectors.KeyWrapper. A key wrapped for another
// organization or under another wrapping key fails with an EInternal error.
func (w *Wrapper) DecryptDataKey(ctx context.Context, orgID string, wrapped []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(wrapped) < nonceSize+w.aead.Overhead() {
		return nil, connectors.Errorf(connectors.EInternal, "a wrapped data key is malformed")
	}
	plain, err := w.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], encryptionContext(orgID))
	if err != nil {
		return nil, connectors.Errorf(connectors.EInternal, "a data key of organization %q does not unwrap under %s", orgID, w.name)
	}
	return plain, nil
}

// encryptionContext is the associated data that plays KMS's encryption context
// {"organization": orgID}.
func encryptionContext(orgID string) []byte { return []byte("organization\x00" + orgID) }
