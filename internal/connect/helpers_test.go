package connect_test

import (
	"path/filepath"
	"testing"

	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/seal"
)

const (
	orgID  = "org-refresh"
	userID = "user-refresh"
)

var sealKey = []byte("0123456789abcdef0123456789abcdef")

// newSealer returns a sealer under the tests' one key.
func newSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	s, err := seal.New(seal.Key{ID: "k1", Secret: sealKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newStore opens a fresh embedded store, closed when the test ends.
func newStore(t *testing.T) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "c.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
