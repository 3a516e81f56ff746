package boltstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/tstest/storetest"
)

func open(t testing.TB, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, []byte("test cursor key"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) connectors.Store {
		return open(t, filepath.Join(t.TempDir(), "store.db"))
	})
}

func TestRawFileHoldsNoPlaintextToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".local", "store.db") // the directory is created
	s := open(t, path)
	f := storetest.NewSealedConnection(t, "o1", "c1")
	if err := s.CreateConnection(t.Context(), f.Conn); err != nil {
		t.Fatal(err)
	}
	verifier := []byte("pkce-verifier-PLAINTEXT")
	sealedVerifier, err := f.Sealer.Seal(verifier, []byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateState(t.Context(), &connectors.OAuthState{Nonce: "n", OrganizationID: "o1", UserID: "u1", SealedVerifier: sealedVerifier}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The sealed token is stored (as base64 in JSON): the scan looks at real data.
	if !bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(f.Conn.SealedToken))) {
		t.Fatal("sealed token not found in the file: the check would prove nothing")
	}
	if bytes.Contains(raw, verifier) {
		t.Fatal("file contains the plaintext verifier")
	}
	storetest.CheckSealed(t, s, f, raw)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := boltstore.Open(path, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Connection("o1", "u1", "slack", "c1")
	if err := s.CreateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	// Expired records are purged at open; live ones stay.
	if err := s.CreateState(t.Context(), &connectors.OAuthState{Nonce: "dead", ExpiresAt: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateState(t.Context(), &connectors.OAuthState{Nonce: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	if _, err := s.GetConnection(t.Context(), "o1", "c1"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if _, err := s.ConsumeState(t.Context(), "live"); err != nil {
		t.Fatalf("live state after reopen: %v", err)
	}
	// A purged state can be created again; an unpurged one would conflict.
	if err := s.CreateState(t.Context(), &connectors.OAuthState{Nonce: "dead"}); err != nil {
		t.Fatalf("expired state not purged: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := boltstore.Open(filepath.Join(t.TempDir(), "x.db"), nil); err == nil {
		t.Fatal("Open accepted an empty cursor key")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(filepath.Join(file, "x.db"), []byte("k")); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
}

func TestRejectsNUL(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "store.db"))
	c := storetest.Connection("o1", "u1", "slack", "c\x001")
	if err := s.CreateConnection(t.Context(), c); connectors.ErrorCode(err) != connectors.EInvalid {
		t.Fatalf("err = %v, want invalid_request", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "store.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetConnection(ctx, "o1", "c1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func benchStore(b *testing.B) *boltstore.Store {
	return open(b, filepath.Join(b.TempDir(), "bench.db"))
}

func BenchmarkGet(b *testing.B) {
	s := benchStore(b)
	f := storetest.NewSealedConnection(b, "o1", "c1")
	if err := s.CreateConnection(b.Context(), f.Conn); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetConnection(b.Context(), "o1", "c1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := storetest.Connection("o1", "u1", "slack", fmt.Sprint("c", i))
		i++
		if err := s.CreateConnection(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := benchStore(b)
	c := storetest.Connection("o1", "u1", "slack", "c1")
	if err := s.CreateConnection(b.Context(), c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.UpdateConnection(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList(b *testing.B) {
	s := benchStore(b)
	for i := range 200 {
		user := fmt.Sprint("u", i%4)
		if err := s.CreateConnection(b.Context(), storetest.Connection("o1", user, "slack", fmt.Sprint("c", i))); err != nil {
			b.Fatal(err)
		}
	}
	for _, bm := range []struct {
		name string
		f    connectors.ConnectionFilter
	}{
		{"User50", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1"}},
		{"Org50", connectors.ConnectionFilter{OrganizationID: "o1"}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := s.ListConnections(b.Context(), bm.f)
				if err != nil || len(page.Connections) != 50 {
					b.Fatalf("%d connections, %v", len(page.Connections), err)
				}
			}
		})
	}
}

func TestExecutionsConformance(t *testing.T) {
	storetest.RunExecutions(t, func(t *testing.T) connectors.ExecutionLog {
		return open(t, filepath.Join(t.TempDir(), "store.db"))
	})
}
