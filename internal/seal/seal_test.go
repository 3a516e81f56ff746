package seal_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/seal"
)

func key(id string, fill byte) seal.Key {
	return seal.Key{ID: id, Secret: bytes.Repeat([]byte{fill}, seal.KeySize)}
}

func mustNew(t testing.TB, keys ...seal.Key) *seal.Sealer {
	t.Helper()
	s, err := seal.New(keys...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := mustNew(t, key("k1", 1))
	aad := seal.AAD("org1", "conn1")
	for _, plain := range [][]byte{nil, []byte("x"), []byte(`{"access_token":"xoxb-secret"}`), bytes.Repeat([]byte("a"), 10000)} {
		sealed, err := s.Seal(plain, aad)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(plain) >= 8 && bytes.Contains(sealed, plain) { // shorter ones can occur by chance
			t.Fatalf("sealed message contains the plaintext")
		}
		got, err := s.Open(sealed, aad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	s := mustNew(t, key("k1", 1))
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}
}

func TestTamperAnyByteFails(t *testing.T) {
	s := mustNew(t, key("k1", 1), key("k2", 2))
	aad := seal.AAD("org1", "conn1")
	sealed, err := s.Seal([]byte("token-plaintext"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= flip
			if _, err := s.Open(bad, aad); err == nil {
				t.Fatalf("byte %d ^ %#x: Open succeeded", i, flip)
			}
		}
	}
	// Truncations and extensions fail too.
	for n := range len(sealed) {
		if _, err := s.Open(sealed[:n], aad); err == nil {
			t.Fatalf("truncated to %d bytes: Open succeeded", n)
		}
	}
	if _, err := s.Open(append(bytes.Clone(sealed), 0), aad); err == nil {
		t.Fatal("extended message: Open succeeded")
	}
}

func TestWrongAADFails(t *testing.T) {
	s := mustNew(t, key("k1", 1))
	sealed, err := s.Seal([]byte("token"), seal.AAD("org1", "conn1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{
		seal.AAD("org2", "conn1"),
		seal.AAD("org1", "conn2"),
		seal.AAD("org1c", "onn1"),
		nil,
	} {
		if _, err := s.Open(sealed, aad); !errors.Is(err, seal.ErrAuth) {
			t.Errorf("Open with aad %q: err = %v, want ErrAuth", aad, err)
		}
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	if bytes.Equal(seal.AAD("a#b", "c"), seal.AAD("a", "b#c")) {
		t.Fatal("AAD collides on separator-shifted inputs")
	}
	if bytes.Equal(seal.AAD("ab", ""), seal.AAD("a", "b")) {
		t.Fatal("AAD collides on boundary-shifted inputs")
	}
}

func TestUnknownKeyID(t *testing.T) {
	old := mustNew(t, key("old", 1))
	sealed, err := old.Seal([]byte("token"), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := mustNew(t, key("new", 2))
	if _, err := other.Open(sealed, nil); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	// Same id, different secret: authentication fails.
	impostor := mustNew(t, key("old", 3))
	if _, err := impostor.Open(sealed, nil); !errors.Is(err, seal.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
}

func TestRotation(t *testing.T) {
	aad := seal.AAD("org", "conn")
	before := mustNew(t, key("2024", 1))
	oldSealed, err := before.Seal([]byte("old token"), aad)
	if err != nil {
		t.Fatal(err)
	}
	after := mustNew(t, key("2025", 2), key("2024", 1))
	got, err := after.Open(oldSealed, aad)
	if err != nil || string(got) != "old token" {
		t.Fatalf("Open(old) = %q, %v", got, err)
	}
	newSealed, err := after.Seal([]byte("new token"), aad)
	if err != nil {
		t.Fatal(err)
	}
	// New seals use the new key: the old-only sealer cannot open them.
	if _, err := before.Open(newSealed, aad); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("old sealer opening a new seal: err = %v, want ErrUnknownKey", err)
	}
	newOnly := mustNew(t, key("2025", 2))
	if got, err := newOnly.Open(newSealed, aad); err != nil || string(got) != "new token" {
		t.Fatalf("Open(new) = %q, %v", got, err)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		keys []seal.Key
	}{
		{"none", nil},
		{"short", []seal.Key{{ID: "k", Secret: make([]byte, 16)}}},
		{"long", []seal.Key{{ID: "k", Secret: make([]byte, 33)}}},
		{"empty secret", []seal.Key{{ID: "k"}}},
		{"empty id", []seal.Key{{ID: "", Secret: make([]byte, 32)}}},
		{"long id", []seal.Key{{ID: strings.Repeat("i", 256), Secret: make([]byte, 32)}}},
		{"duplicate id", []seal.Key{key("k", 1), key("k", 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := seal.New(tt.keys...); err == nil {
				t.Fatalf("New = %v, want error", s)
			}
		})
	}
}

func TestErrorsNeverLeakKeyBytes(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdeX") // 32 printable bytes
	_, err := seal.New(seal.Key{ID: "k", Secret: secret[:31]})
	if err == nil || strings.Contains(err.Error(), string(secret[:31])) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	s := mustNew(b, key("k1", 1))
	plain := bytes.Repeat([]byte("t"), 512)
	aad := seal.AAD("org", "conn")
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := s.Seal(plain, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := mustNew(b, key("k1", 1))
	plain := bytes.Repeat([]byte("t"), 512)
	aad := seal.AAD("org", "conn")
	sealed, err := s.Seal(plain, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := s.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
