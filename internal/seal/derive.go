package seal

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// DeriveKey returns a 32-byte key for one purpose (for example "state" or
// "cursor") from a configured secret, with HKDF-SHA256 (RFC 5869): the
// purpose is HKDF's info and the salt is empty. One secret can then serve
// several uses without a key of one use verifying or opening the data of
// another. The same secret and purpose always give the same key.
//
// It panics only when crypto/hkdf refuses the secret, which happens in
// FIPS 140-only mode for a secret shorter than 14 bytes: a configuration
// error better stopped at start-up than carried as an error by every caller.
func DeriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, KeySize)
	if err != nil {
		panic("seal: deriving the " + purpose + " key: " + err.Error())
	}
	return k
}
