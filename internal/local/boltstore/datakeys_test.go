package boltstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/storetest"
)

func TestDataKeyConformance(t *testing.T) {
	storetest.RunDataKeys(t, func(t *testing.T) connectors.DataKeyStore {
		return open(t, filepath.Join(t.TempDir(), "store.db"))
	})
}

// TestDataKeysSurviveReopen: a file written before data keys existed opens
// (the bucket is made on first write), and keys persist across restarts.
func TestDataKeysSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path)
	if _, err := s.LatestDataKey(t.Context(), "o1"); connectors.ErrorCode(err) != connectors.ENotFound {
		t.Fatalf("LatestDataKey on a file without the bucket: %v", err)
	}
	check := storetest.SealWithDataKeys(t, s, "o1")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	check(raw)
	s.Close()
	again := open(t, path)
	if k, err := again.LatestDataKey(t.Context(), "o1"); err != nil || k.ID != connectors.DataKeyID(1) {
		t.Fatalf("after reopen: %+v, %v", k, err)
	}
}
