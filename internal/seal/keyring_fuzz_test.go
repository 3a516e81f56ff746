package seal_test

import (
	"bytes"
	"testing"

	"github.com/automators/connectors/internal/seal"
)

// FuzzKeyringOpen: no input makes OpenFor panic, and nothing opens but
// what was sealed (any change to a sealed value fails authentication).
func FuzzKeyringOpen(f *testing.F) {
	r := newRing(f, seal.KeyringOptions{Legacy: mustNew(f, key("k1", 1))})
	aad := seal.AAD("o1", "c1")
	good, err := r.SealFor(f.Context(), "o1", seal.PurposeToken, aad, []byte("token"))
	if err != nil {
		f.Fatal(err)
	}
	old, _ := mustNew(f, key("k1", 1)).Seal([]byte("token"), aad)
	for _, seed := range [][]byte{good, old, nil, {2}, {2, 0}, {2, 8}, {1, 2, 'k', '1'}, append([]byte{2, 8}, "00000002"...)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, sealed []byte) {
		// Only "token" was ever sealed under these keys (the fuzz workers
		// each make their own data key): anything else that opens is a
		// forgery.
		plain, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, sealed)
		if err == nil && (!bytes.Equal(plain, []byte("token")) || (sealed[0] != 1 && sealed[0] != 2)) {
			t.Fatalf("a forged value opened to %q", plain)
		}
	})
}
