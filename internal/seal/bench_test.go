package seal_test

import (
	"bytes"
	"testing"

	"github.com/automators/connectors/internal/seal"
)

var plain512 = bytes.Repeat([]byte("t"), 512)

// BenchmarkKeyring measures sealing and opening 512 bytes with a cached data
// key (the steady state of a warm container), next to the legacy version-1
// Sealer. With the default MaxSeals, one seal in 10,000 reloads the key; the
// benchmark's key service is in process, so that reload is cheap here
// (against KMS it is BenchmarkColdDataKey in internal/adapter/awskms).
func BenchmarkKeyring(b *testing.B) {
	aad := seal.AAD("o1", "conn-0123456789")
	r := newRing(b, seal.KeyringOptions{})
	sealed, err := r.SealFor(b.Context(), "o1", seal.PurposeToken, aad, plain512)
	if err != nil {
		b.Fatal(err)
	}
	legacy := mustNew(b, key("k1", 1))
	legacySealed, _ := legacy.Seal(plain512, aad)
	b.Run("seal-512B", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(512)
		for b.Loop() {
			if _, err := r.SealFor(b.Context(), "o1", seal.PurposeToken, aad, plain512); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-512B", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(512)
		for b.Loop() {
			if _, err := r.OpenFor(b.Context(), "o1", seal.PurposeToken, aad, sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("legacy-seal-512B", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(512)
		for b.Loop() {
			if _, err := legacy.Seal(plain512, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("legacy-open-512B", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(512)
		for b.Loop() {
			if _, err := legacy.Open(legacySealed, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}
