// Package cursor makes opaque, tamper-evident page cursors, shared by the
// store adapters. A cursor is base64url(HMAC-SHA256(key, scope || payload) ||
// payload), where payload is the adapter's position (the key of a page's
// last item) and scope is the listing's filter. The MAC makes a cursor
// tamper-evident, and binding the filter means a cursor from one
// organization's, user's or filter's listing cannot be replayed against
// another. The payload is readable, not secret: it holds only keys the
// caller could already list.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/automators/connectors/internal/connectors"
)

// Codec seals and opens cursors with one key.
type Codec struct{ Key []byte }

func (c Codec) mac(scope []string, payload []byte) []byte {
	h := hmac.New(sha256.New, c.Key)
	var n [4]byte
	for _, s := range scope {
		// Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(payload)
	return h.Sum(nil)
}

// Seal returns the cursor for payload under scope, or "" when payload is
// empty (the last page).
func (c Codec) Seal(scope []string, payload []byte) string {
	if len(payload) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(append(c.mac(scope, payload), payload...))
}

// Open returns the payload of a cursor sealed under the same scope, nil for
// "", and an EInvalid error for anything else.
func (c Codec) Open(scope []string, cursor string) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) <= sha256.Size || !hmac.Equal(raw[:sha256.Size], c.mac(scope, raw[sha256.Size:])) {
		return nil, connectors.Errorf(connectors.EInvalid, "invalid cursor")
	}
	return raw[sha256.Size:], nil
}
