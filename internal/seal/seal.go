// Package seal encrypts small secrets (token caches, PKCE verifiers) at rest
// with AES-256-GCM.
//
// A sealed message names the key that sealed it, so keys can be rotated: a
// Sealer seals with its first key and opens with any of its keys. Associated
// data binds a message to where it is stored (organization and connection
// id), so a ciphertext copied to another row does not open.
//
// Sealed format (version 1):
//
//	version (1 byte) | key id length (1 byte) | key id | nonce (12 bytes) | ciphertext+tag
//
// The header (version and key id) is authenticated together with the
// caller's associated data.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySize is the size of an AES-256 key in bytes.
const KeySize = 32

const (
	version1  = 1
	nonceSize = 12
	maxIDLen  = 255 // the key id length is one byte
)

// Errors returned by Open. They never carry plaintext or key bytes.
var (
	// ErrMalformed reports a sealed message that cannot be parsed.
	ErrMalformed = errors.New("seal: malformed sealed message")
	// ErrUnknownKey reports a message sealed with a key id this Sealer lacks.
	ErrUnknownKey = errors.New("seal: unknown key id")
	// ErrAuth reports a message that fails authentication: it was tampered
	// with, or opened with the wrong associated data or key.
	ErrAuth = errors.New("seal: message authentication failed")
)

// Key is one AES-256 key and the id that names it inside sealed messages.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

// Sealer seals with its first key and opens with any of its keys. It is safe
// for concurrent use.
type Sealer struct {
	sealID string
	aeads  map[string]cipher.AEAD
}

// New returns a Sealer over keys. The first key seals; all keys open. It
// rejects an empty list, keys of the wrong size, empty or over-long ids and
// duplicate ids.
func New(keys ...Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys")
	}
	s := &Sealer{sealID: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if k.ID == "" || len(k.ID) > maxIDLen {
			return nil, fmt.Errorf("seal: key %d: id must be 1 to %d bytes", i, maxIDLen)
		}
		if len(k.Secret) != KeySize {
			// Report the size, never the bytes.
			return nil, fmt.Errorf("seal: key %q: %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := s.aeads[k.ID]; dup {
			return nil, fmt.Errorf("seal: duplicate key id %q", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// Seal encrypts plaintext with the first key, binding it to aad.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	aead := s.aeads[s.sealID]
	hdrLen := 2 + len(s.sealID)
	out := make([]byte, hdrLen+nonceSize, hdrLen+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = version1
	out[1] = byte(len(s.sealID))
	copy(out[2:], s.sealID)
	nonce := out[hdrLen : hdrLen+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(out[:hdrLen], aad)), nil
}

// Open decrypts a message made by Seal with any of the Sealer's keys and the
// same aad. Its errors match ErrMalformed, ErrUnknownKey or ErrAuth.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != version1 {
		return nil, ErrMalformed
	}
	hdrLen := 2 + int(sealed[1])
	if sealed[1] == 0 || len(sealed) < hdrLen+nonceSize {
		return nil, ErrMalformed
	}
	aead, ok := s.aeads[string(sealed[2:hdrLen])]
	if !ok {
		return nil, ErrUnknownKey
	}
	if len(sealed) < hdrLen+nonceSize+aead.Overhead() {
		return nil, ErrMalformed
	}
	nonce := sealed[hdrLen : hdrLen+nonceSize]
	plain, err := aead.Open(nil, nonce, sealed[hdrLen+nonceSize:], additionalData(sealed[:hdrLen], aad))
	if err != nil {
		return nil, ErrAuth
	}
	return plain, nil
}

// additionalData authenticates the header with the caller's data, so that a
// message cannot be relabelled with another version or key id.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	return append(append(ad, header...), aad...)
}

// AAD returns the associated data that binds a sealed value to one
// connection. Each part is length-prefixed so that ("a#b", "c") and
// ("a", "b#c") never collide.
func AAD(orgID, connectionID string) []byte {
	b := make([]byte, 0, 8+len(orgID)+len(connectionID))
	b = binary.BigEndian.AppendUint32(b, uint32(len(orgID)))
	b = append(b, orgID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(connectionID)))
	return append(b, connectionID...)
}
