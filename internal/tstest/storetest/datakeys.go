package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/localkms"
	"github.com/automators/connectors/internal/seal"
)

// RunDataKeys runs the conformance cases of connectors.DataKeyStore against
// stores made by newStore (each subtest gets an empty one): the port's
// semantics, the lazy creation of an organization's first data key by many
// containers at once, rotation, and crypto-shredding.
func RunDataKeys(t *testing.T, newStore func(t *testing.T) connectors.DataKeyStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s connectors.DataKeyStore)
	}{
		{"CreateGetLatest", testDataKeyCreateGetLatest},
		{"CreateTwiceConflicts", testDataKeyCreateTwice},
		{"Delete", testDataKeyDelete},
		{"ConcurrentFirstSeal", testDataKeyConcurrentFirstSeal},
		{"Rotation", testDataKeyRotation},
		{"CryptoShredding", testCryptoShredding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// Wrapper returns a local wrapping key for tests (a stand-in for KMS).
func Wrapper(t testing.TB) *localkms.Wrapper {
	t.Helper()
	w, err := localkms.New([]byte("storetest wrapping secret, 32 bytes+"), "storetest")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// CountingWrapper counts the calls made to the wrapper it wraps: what a
// KMS bill and CloudTrail would show.
type CountingWrapper struct {
	connectors.KeyWrapper
	Generates, Decrypts atomic.Int64
}

// GenerateDataKey counts and delegates.
func (c *CountingWrapper) GenerateDataKey(ctx context.Context, orgID string) ([]byte, []byte, error) {
	c.Generates.Add(1)
	return c.KeyWrapper.GenerateDataKey(ctx, orgID)
}

// DecryptDataKey counts and delegates.
func (c *CountingWrapper) DecryptDataKey(ctx context.Context, orgID string, wrapped []byte) ([]byte, error) {
	c.Decrypts.Add(1)
	return c.KeyWrapper.DecryptDataKey(ctx, orgID, wrapped)
}

// MemDataKeys is a map-backed connectors.DataKeyStore for unit tests and
// benchmarks, with the adapters' semantics.
type MemDataKeys struct {
	mu   sync.Mutex
	keys map[string]map[string]connectors.DataKey // org -> id -> key
}

var _ connectors.DataKeyStore = (*MemDataKeys)(nil)

// CreateDataKey implements connectors.DataKeyStore.
func (m *MemDataKeys) CreateDataKey(_ context.Context, k *connectors.DataKey) error {
	if k.OrganizationID == "" || k.ID == "" || len(k.Wrapped) == 0 {
		return connectors.Errorf(connectors.EInvalid, "a data key needs an organization, an id and wrapped bytes")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]map[string]connectors.DataKey{}
	}
	org := m.keys[k.OrganizationID]
	if org == nil {
		org = map[string]connectors.DataKey{}
		m.keys[k.OrganizationID] = org
	}
	if _, ok := org[k.ID]; ok {
		return connectors.Errorf(connectors.EConflict, "data key %s exists", k.ID)
	}
	org[k.ID] = *k
	return nil
}

// GetDataKey implements connectors.DataKeyStore.
func (m *MemDataKeys) GetDataKey(_ context.Context, orgID, id string) (*connectors.DataKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[orgID][id]
	if !ok {
		return nil, connectors.Errorf(connectors.ENotFound, "data key %s not found", id)
	}
	return &k, nil
}

// LatestDataKey implements connectors.DataKeyStore.
func (m *MemDataKeys) LatestDataKey(_ context.Context, orgID string) (*connectors.DataKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.keys[orgID] {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, connectors.Errorf(connectors.ENotFound, "no data key")
	}
	sort.Strings(ids)
	k := m.keys[orgID][ids[len(ids)-1]]
	return &k, nil
}

// DeleteDataKeys implements connectors.DataKeyStore.
func (m *MemDataKeys) DeleteDataKeys(_ context.Context, orgID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.keys[orgID])
	delete(m.keys, orgID)
	return n, nil
}

func dataKey(org string, gen int, wrapped string) *connectors.DataKey {
	return &connectors.DataKey{
		OrganizationID: org, ID: connectors.DataKeyID(gen), Wrapped: []byte(wrapped),
		WrappedBy: "arn:aws:kms:us-east-1:123456789012:key/test", CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
}

func equalDataKey(t *testing.T, got, want *connectors.DataKey) {
	t.Helper()
	if got.OrganizationID != want.OrganizationID || got.ID != want.ID || !bytes.Equal(got.Wrapped, want.Wrapped) ||
		got.WrappedBy != want.WrappedBy || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("data key = %+v, want %+v", got, want)
	}
}

func testDataKeyCreateGetLatest(t *testing.T, s connectors.DataKeyStore) {
	_, err := s.LatestDataKey(ctx(t), "o1")
	wantCode(t, err, connectors.ENotFound)
	_, err = s.GetDataKey(ctx(t), "o1", connectors.DataKeyID(1))
	wantCode(t, err, connectors.ENotFound)

	// Generations 1, 10 and 2, in that order: the newest is 10, whatever
	// the order of writes, because ids are fixed width.
	keys := map[int]*connectors.DataKey{}
	for _, gen := range []int{1, 10, 2} {
		keys[gen] = dataKey("o1", gen, fmt.Sprintf("wrapped-%d", gen))
		if err := s.CreateDataKey(ctx(t), keys[gen]); err != nil {
			t.Fatalf("create generation %d: %v", gen, err)
		}
	}
	// A neighbour whose id has o1 as a prefix is another partition.
	if err := s.CreateDataKey(ctx(t), dataKey("o10", 99, "other")); err != nil {
		t.Fatal(err)
	}
	for gen, want := range keys {
		got, err := s.GetDataKey(ctx(t), "o1", want.ID)
		if err != nil {
			t.Fatalf("get generation %d: %v", gen, err)
		}
		equalDataKey(t, got, want)
	}
	latest, err := s.LatestDataKey(ctx(t), "o1")
	if err != nil {
		t.Fatal(err)
	}
	equalDataKey(t, latest, keys[10])
	if _, err := s.GetDataKey(ctx(t), "o10", keys[1].ID); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("o1's key read under o10: %v", err)
	}
}

func testDataKeyCreateTwice(t *testing.T, s connectors.DataKeyStore) {
	first := dataKey("o1", 1, "first")
	if err := s.CreateDataKey(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	err := s.CreateDataKey(ctx(t), dataKey("o1", 1, "second"))
	wantCode(t, err, connectors.EConflict)
	got, err := s.GetDataKey(ctx(t), "o1", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalDataKey(t, got, first)
	for _, bad := range []*connectors.DataKey{
		{ID: "00000001", Wrapped: []byte("w")},
		{OrganizationID: "o1", Wrapped: []byte("w")},
		{OrganizationID: "o1", ID: "00000002"},
	} {
		wantCode(t, s.CreateDataKey(ctx(t), bad), connectors.EInvalid)
	}
}

func testDataKeyDelete(t *testing.T, s connectors.DataKeyStore) {
	for gen := 1; gen <= 3; gen++ {
		if err := s.CreateDataKey(ctx(t), dataKey("o1", gen, "w")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateDataKey(ctx(t), dataKey("o2", 1, "w")); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteDataKeys(ctx(t), "o1")
	if err != nil || n != 3 {
		t.Fatalf("DeleteDataKeys = %d, %v; want 3", n, err)
	}
	_, err = s.LatestDataKey(ctx(t), "o1")
	wantCode(t, err, connectors.ENotFound)
	if _, err := s.LatestDataKey(ctx(t), "o2"); err != nil {
		t.Fatalf("o2 lost its key: %v", err)
	}
	if n, err := s.DeleteDataKeys(ctx(t), "o1"); err != nil || n != 0 {
		t.Fatalf("second DeleteDataKeys = %d, %v; want 0", n, err)
	}
}

// testDataKeyConcurrentFirstSeal: Workers cold containers (one Keyring
// each) seal for a new organization at once. They race to create its first
// data key; exactly one is stored, every container seals with it, and a
// fresh container opens every value.
func testDataKeyConcurrentFirstSeal(t *testing.T, s connectors.DataKeyStore) {
	w := Wrapper(t)
	aad := seal.AAD("o1", "c1")
	sealed := make([][]byte, Workers)
	errs := make([]error, Workers)
	parallel(func(i int) {
		k := seal.NewKeyring(s, w, seal.KeyringOptions{})
		sealed[i], errs[i] = k.SealFor(context.Background(), "o1", seal.PurposeToken, aad, []byte(fmt.Sprint("token-", i)))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("container %d: %v", i, err)
		}
	}
	latest, err := s.LatestDataKey(ctx(t), "o1")
	if err != nil || latest.ID != connectors.DataKeyID(1) {
		t.Fatalf("latest = %+v, %v; want generation 1 only", latest, err)
	}
	fresh := seal.NewKeyring(s, w, seal.KeyringOptions{})
	for i, v := range sealed {
		if got := sealedKeyID(v); got != latest.ID {
			t.Fatalf("container %d sealed with key %q, want the stored %q", i, got, latest.ID)
		}
		plain, err := fresh.OpenFor(ctx(t), "o1", seal.PurposeToken, aad, v)
		if err != nil || string(plain) != fmt.Sprint("token-", i) {
			t.Fatalf("value %d: %q, %v", i, plain, err)
		}
	}
}

// sealedKeyID reads the key id of a version-2 value.
func sealedKeyID(v []byte) string {
	if len(v) < 2 || v[0] != 2 || len(v) < 2+int(v[1]) {
		return ""
	}
	return string(v[2 : 2+int(v[1])])
}

func testDataKeyRotation(t *testing.T, s connectors.DataKeyStore) {
	w := Wrapper(t)
	k := seal.NewKeyring(s, w, seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	old, err := k.SealFor(ctx(t), "o1", seal.PurposeToken, aad, []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := k.Rotate(ctx(t), "o1")
	if err != nil || id != connectors.DataKeyID(2) {
		t.Fatalf("Rotate = %q, %v; want generation 2", id, err)
	}
	cur, err := k.SealFor(ctx(t), "o1", seal.PurposeToken, aad, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if sealedKeyID(old) != connectors.DataKeyID(1) || sealedKeyID(cur) != id {
		t.Fatalf("key ids %q, %q; want generations 1 then 2", sealedKeyID(old), sealedKeyID(cur))
	}
	// Another container, started after the rotation, seals with the newest
	// key and opens both.
	other := seal.NewKeyring(s, w, seal.KeyringOptions{})
	again, err := other.SealFor(ctx(t), "o1", seal.PurposeToken, aad, []byte("again"))
	if err != nil || sealedKeyID(again) != id {
		t.Fatalf("a new container sealed with %q (%v), want %q", sealedKeyID(again), err, id)
	}
	for want, v := range map[string][]byte{"old": old, "new": cur, "again": again} {
		if plain, err := other.OpenFor(ctx(t), "o1", seal.PurposeToken, aad, v); err != nil || string(plain) != want {
			t.Fatalf("open %s: %q, %v", want, plain, err)
		}
	}
}

// testCryptoShredding: deleting an organization's wrapped data keys makes
// every value sealed for it unreadable, in any container once its cache
// has expired, and leaves other organizations untouched.
func testCryptoShredding(t *testing.T, s connectors.DataKeyStore) {
	w := Wrapper(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	warm := seal.NewKeyring(s, w, seal.KeyringOptions{Now: clock})
	type value struct {
		org, conn string
		sealed    []byte
	}
	var values []value
	for _, org := range []string{"doomed", "kept"} {
		for i := range 3 {
			conn := fmt.Sprint("c", i)
			v, err := warm.SealFor(ctx(t), org, seal.PurposeToken, seal.AAD(org, conn), []byte("secret-"+org+conn))
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, value{org, conn, v})
		}
		if _, err := warm.Rotate(ctx(t), org); err != nil { // two keys each
			t.Fatal(err)
		}
		v, err := warm.SealFor(ctx(t), org, seal.PurposeToken, seal.AAD(org, "after"), []byte("secret-"+org+"after"))
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, value{org, "after", v})
	}
	n, err := s.DeleteDataKeys(ctx(t), "doomed")
	if err != nil || n != 2 {
		t.Fatalf("DeleteDataKeys = %d, %v; want 2", n, err)
	}
	now.Add(int64(seal.MaxCacheTTL + time.Second)) // the warm container's cache is gone too
	for name, k := range map[string]*seal.Keyring{"cold": seal.NewKeyring(s, w, seal.KeyringOptions{}), "warm": warm} {
		for _, v := range values {
			plain, err := k.OpenFor(ctx(t), v.org, seal.PurposeToken, seal.AAD(v.org, v.conn), v.sealed)
			if v.org == "doomed" {
				if !errors.Is(err, seal.ErrUnknownKey) || plain != nil {
					t.Fatalf("%s container opened a shredded value of %s: %q, %v", name, v.conn, plain, err)
				}
				continue
			}
			if err != nil || string(plain) != "secret-"+v.org+v.conn {
				t.Fatalf("%s container: kept value %s: %q, %v", name, v.conn, plain, err)
			}
		}
	}
}

// recordingWrapper remembers the plaintext data keys it hands out, so a
// test can look for them in a store's raw bytes.
type recordingWrapper struct {
	connectors.KeyWrapper
	mu    sync.Mutex
	plain [][]byte
}

func (r *recordingWrapper) GenerateDataKey(ctx context.Context, orgID string) ([]byte, []byte, error) {
	p, w, err := r.KeyWrapper.GenerateDataKey(ctx, orgID)
	if err == nil {
		r.mu.Lock()
		r.plain = append(r.plain, bytes.Clone(p))
		r.mu.Unlock()
	}
	return p, w, err
}

// SealWithDataKeys seals a token for orgID through a Keyring on s, so that
// s holds the organization's wrapped data key, and returns a check that raw
// (the adapter's stored bytes, read after the call) holds neither the
// plaintext data key nor the token.
func SealWithDataKeys(t *testing.T, s connectors.DataKeyStore, orgID string) (check func(raw []byte)) {
	t.Helper()
	rec := &recordingWrapper{KeyWrapper: Wrapper(t)}
	k := seal.NewKeyring(s, rec, seal.KeyringOptions{})
	const token = "xoxb-PLAINTEXT-DATAKEY-TEST"
	if _, err := k.SealFor(ctx(t), orgID, seal.PurposeToken, seal.AAD(orgID, "c1"), []byte(token)); err != nil {
		t.Fatal(err)
	}
	return func(raw []byte) {
		t.Helper()
		if len(raw) == 0 || len(rec.plain) != 1 {
			t.Fatalf("nothing to inspect: %d raw bytes, %d data keys", len(raw), len(rec.plain))
		}
		if bytes.Contains(raw, rec.plain[0]) || bytes.Contains(raw, []byte(token)) {
			t.Fatal("the store's raw bytes hold a plaintext data key or token")
		}
		if _, err := s.LatestDataKey(ctx(t), orgID); err != nil {
			t.Fatalf("no stored data key: %v", err)
		}
	}
}
