package seal_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/automators/connectors/internal/seal"
)

func TestDeriveKey(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	state := seal.DeriveKey(secret, "state")
	cursor := seal.DeriveKey(secret, "cursor")
	if len(state) != seal.KeySize || len(cursor) != seal.KeySize {
		t.Fatalf("lengths %d, %d; want %d", len(state), len(cursor), seal.KeySize)
	}
	if bytes.Equal(state, cursor) {
		t.Error("state and cursor keys are equal")
	}
	if !bytes.Equal(state, seal.DeriveKey(secret, "state")) {
		t.Error("same secret and purpose gave another key")
	}
	if bytes.Equal(state, seal.DeriveKey([]byte("another secret, just as long...."), "state")) {
		t.Error("another secret gave the same key")
	}
}

func TestDeriveKeyVectors(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		purpose string
		want    string
	}{
		// RFC 5869 test case 3 (empty salt and info), first 32 bytes of its OKM.
		{"RFC 5869 case 3", bytes.Repeat([]byte{0x0b}, 22), "",
			"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"},
		// Pins the purpose as HKDF's info with an empty salt (checked against
		// an independent HMAC-based computation).
		{"state", []byte("0123456789abcdef0123456789abcdef"), "state",
			"04dd28105b3a7dacfc81d3f035cad80e4219e1e670a1c1d4d66fbd468a448f60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(seal.DeriveKey(tt.secret, tt.purpose)); got != tt.want {
				t.Errorf("DeriveKey = %s, want %s", got, tt.want)
			}
		})
	}
}
