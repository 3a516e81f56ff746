package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/storetest"
)

// fakeClock is a settable clock for cache expiry and key age.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock               { c := &fakeClock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

type ring struct {
	*seal.Keyring
	store *storetest.MemDataKeys
	kms   *storetest.CountingWrapper
}

func newRing(t testing.TB, opts seal.KeyringOptions) ring {
	t.Helper()
	r := ring{store: &storetest.MemDataKeys{}, kms: &storetest.CountingWrapper{KeyWrapper: storetest.Wrapper(t)}}
	r.Keyring = seal.NewKeyring(r.store, r.kms, opts)
	return r
}

// restart is another container on the same table and key service.
func (r ring) restart(opts seal.KeyringOptions) ring {
	r.kms = &storetest.CountingWrapper{KeyWrapper: r.kms.KeyWrapper}
	r.Keyring = seal.NewKeyring(r.store, r.kms, opts)
	return r
}

func (r ring) calls() string {
	return fmt.Sprintf("%d GenerateDataKey, %d Decrypt", r.kms.Generates.Load(), r.kms.Decrypts.Load())
}

func TestKeyringDataKeyConformance(t *testing.T) {
	storetest.RunDataKeys(t, func(*testing.T) connectors.DataKeyStore { return &storetest.MemDataKeys{} })
}

func TestKeyringRoundTrip(t *testing.T) {
	r := newRing(t, seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	for _, plain := range [][]byte{nil, []byte("x"), []byte(`{"access_token":"xoxb-secret"}`), bytes.Repeat([]byte("a"), 10000)} {
		sealed, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, aad, plain)
		if err != nil {
			t.Fatal(err)
		}
		if sealed[0] != 2 {
			t.Fatalf("version %d, want 2", sealed[0])
		}
		if len(plain) >= 8 && bytes.Contains(sealed, plain) {
			t.Fatal("the sealed value holds the plaintext")
		}
		got, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("OpenFor = %q, %v", got, err)
		}
	}
}

// TestKeyringBindings: a value moved to another organization, record or
// purpose does not open.
func TestKeyringBindings(t *testing.T) {
	r := newRing(t, seal.KeyringOptions{})
	sealed, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, seal.AAD("o1", "c1"), []byte("token"))
	if err != nil {
		t.Fatal(err)
	}
	// o2 has a data key of its own (same generation id).
	if _, err := r.SealFor(t.Context(), "o2", seal.PurposeToken, seal.AAD("o2", "c1"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, org, purpose string
		aad                []byte
		want               error
	}{
		{"other organization", "o2", seal.PurposeToken, seal.AAD("o1", "c1"), seal.ErrAuth},
		{"organization without keys", "o3", seal.PurposeToken, seal.AAD("o1", "c1"), seal.ErrUnknownKey},
		{"other record", "o1", seal.PurposeToken, seal.AAD("o1", "c2"), seal.ErrAuth},
		{"other purpose", "o1", seal.PurposeVerifier, seal.AAD("o1", "c1"), seal.ErrAuth},
		{"no aad", "o1", seal.PurposeToken, nil, seal.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.OpenFor(t.Context(), tt.org, tt.purpose, tt.aad, sealed); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestKeyringTamperFails(t *testing.T) {
	r := newRing(t, seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	sealed, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("token-plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, bad); err == nil {
			t.Fatalf("byte %d flipped: opened", i)
		}
	}
	for n := range len(sealed) {
		if _, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, sealed[:n]); err == nil {
			t.Fatalf("truncated to %d: opened", n)
		}
	}
}

// TestKeyringReadsLegacyValues: values sealed with token_encryption_keys
// (version 1) open; new writes are version 2 under the data key.
func TestKeyringReadsLegacyValues(t *testing.T) {
	legacy := mustNew(t, key("k1", 1))
	aad := seal.AAD("o1", "c1")
	old, err := legacy.Seal([]byte("old token"), aad)
	if err != nil {
		t.Fatal(err)
	}
	r := newRing(t, seal.KeyringOptions{Legacy: legacy})
	if got, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, old); err != nil || string(got) != "old token" {
		t.Fatalf("legacy value: %q, %v", got, err)
	}
	if r.calls() != "0 GenerateDataKey, 0 Decrypt" {
		t.Fatalf("opening a legacy value made KMS calls: %s", r.calls())
	}
	fresh, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("new token"))
	if err != nil || fresh[0] != 2 {
		t.Fatalf("new write: version %d, %v; want 2", fresh[0], err)
	}
	// Without the legacy keys, a version-1 value does not open.
	bare := r.restart(seal.KeyringOptions{})
	if _, err := bare.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, old); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("legacy value without legacy keys: %v", err)
	}
	// The legacy Sealer serves the same port (deployments without KMS).
	v1, err := legacy.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("v1"))
	if err != nil || v1[0] != 1 {
		t.Fatalf("legacy SealFor: %v", err)
	}
	if got, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v1); err != nil || string(got) != "v1" {
		t.Fatalf("legacy SealFor value: %q, %v", got, err)
	}
}

// TestKeyringKMSCallsPerColdStart counts the key service calls of cold
// containers: sealing for a new organization is one GenerateDataKey,
// opening after a restart one Decrypt, and a warm container none.
func TestKeyringKMSCallsPerColdStart(t *testing.T) {
	r := newRing(t, seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	var sealed [][]byte
	for i := range 100 {
		v, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, v)
	}
	for _, v := range sealed {
		if _, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.calls(); got != "1 GenerateDataKey, 0 Decrypt" {
		t.Fatalf("first container, 100 seals and opens: %s; want 1 GenerateDataKey, 0 Decrypt", got)
	}
	after := r.restart(seal.KeyringOptions{})
	for _, v := range sealed {
		if _, err := after.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := after.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := after.calls(); got != "0 GenerateDataKey, 1 Decrypt" {
		t.Fatalf("restarted container, 100 opens and a seal: %s; want 0 GenerateDataKey, 1 Decrypt", got)
	}
}

// TestKeyringSingleFlight: many requests opening with a cold key at once
// make one Decrypt.
func TestKeyringSingleFlight(t *testing.T) {
	r := newRing(t, seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	v, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("t"))
	if err != nil {
		t.Fatal(err)
	}
	cold := r.restart(seal.KeyringOptions{})
	slow := &slowWrapper{KeyWrapper: cold.kms, delay: 50 * time.Millisecond}
	k := seal.NewKeyring(cold.store, slow, seal.KeyringOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := k.OpenFor(context.Background(), "o1", seal.PurposeToken, aad, v); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := cold.calls(); got != "0 GenerateDataKey, 1 Decrypt" {
		t.Fatalf("50 concurrent cold opens: %s; want 1 Decrypt", got)
	}
}

type slowWrapper struct {
	connectors.KeyWrapper
	delay time.Duration
}

func (s *slowWrapper) DecryptDataKey(ctx context.Context, orgID string, wrapped []byte) ([]byte, error) {
	time.Sleep(s.delay)
	return s.KeyWrapper.DecryptDataKey(ctx, orgID, wrapped)
}

// TestKeyringCacheBounds: a plaintext data key is used for at most CacheTTL
// and MaxSeals seals; then it is unwrapped again.
func TestKeyringCacheBounds(t *testing.T) {
	aad := seal.AAD("o1", "c1")
	tests := []struct {
		name        string
		opts        seal.KeyringOptions
		act         func(t *testing.T, r ring, clock *fakeClock)
		wantDecrypt int64
	}{
		{"within bounds", seal.KeyringOptions{MaxSeals: 5}, func(t *testing.T, r ring, clock *fakeClock) {
			clock.Add(seal.MaxCacheTTL - time.Second)
			sealN(t, r, 3)
		}, 0},
		{"expired", seal.KeyringOptions{}, func(t *testing.T, r ring, clock *fakeClock) {
			clock.Add(seal.MaxCacheTTL)
			sealN(t, r, 3)
		}, 1},
		{"ttl above the maximum is capped", seal.KeyringOptions{CacheTTL: time.Hour}, func(t *testing.T, r ring, clock *fakeClock) {
			clock.Add(seal.MaxCacheTTL)
			sealN(t, r, 1)
		}, 1},
		{"used up", seal.KeyringOptions{MaxSeals: 5}, func(t *testing.T, r ring, clock *fakeClock) {
			sealN(t, r, 4+5+1) // 1 already sealed: 5, 5, then a third load
		}, 2},
		{"open after expiry", seal.KeyringOptions{}, func(t *testing.T, r ring, clock *fakeClock) {
			v := sealN(t, r, 1)
			clock.Add(seal.MaxCacheTTL + time.Millisecond)
			if _, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
				t.Fatal(err)
			}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			tt.opts.Now = clock.Now
			r := newRing(t, tt.opts)
			sealN(t, r, 1) // creates the key: 1 GenerateDataKey
			tt.act(t, r, clock)
			if got := r.kms.Decrypts.Load(); got != tt.wantDecrypt || r.kms.Generates.Load() != 1 {
				t.Fatalf("%s; want 1 GenerateDataKey, %d Decrypt", r.calls(), tt.wantDecrypt)
			}
		})
	}
}

func sealN(t *testing.T, r ring, n int) []byte {
	t.Helper()
	var v []byte
	for range n {
		var err error
		if v, err = r.SealFor(t.Context(), "o1", seal.PurposeToken, seal.AAD("o1", "c1"), []byte("t")); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// TestKeyringRotatesByAge: past MaxKeyAge the next seal creates the next
// generation; older values still open.
func TestKeyringRotatesByAge(t *testing.T) {
	clock := newClock()
	r := newRing(t, seal.KeyringOptions{MaxKeyAge: 24 * time.Hour, Now: clock.Now})
	aad := seal.AAD("o1", "c1")
	old := sealN(t, r, 1)
	clock.Add(25 * time.Hour)
	cur := sealN(t, r, 1)
	if string(old[2:10]) != connectors.DataKeyID(1) || string(cur[2:10]) != connectors.DataKeyID(2) {
		t.Fatalf("key ids %q then %q; want generations 1 then 2", old[2:10], cur[2:10])
	}
	for _, v := range [][]byte{old, cur} {
		if _, err := r.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil {
			t.Fatal(err)
		}
	}
}

// lostRaceStore hides the stored key from the first LatestDataKey, as if
// another container created it between our read and our write.
type lostRaceStore struct {
	*storetest.MemDataKeys
	hidden atomic.Bool
}

func (s *lostRaceStore) LatestDataKey(ctx context.Context, orgID string) (*connectors.DataKey, error) {
	if s.hidden.CompareAndSwap(false, true) {
		return nil, connectors.Errorf(connectors.ENotFound, "no data key")
	}
	return s.MemDataKeys.LatestDataKey(ctx, orgID)
}

// TestKeyringLostRaceUsesStoredKey: a container that loses the conditional
// write of the first data key seals with the one that was stored.
func TestKeyringLostRaceUsesStoredKey(t *testing.T) {
	winner := newRing(t, seal.KeyringOptions{})
	aad := seal.AAD("o1", "c1")
	first := sealN(t, winner, 1)
	kms := &storetest.CountingWrapper{KeyWrapper: storetest.Wrapper(t)}
	loser := seal.NewKeyring(&lostRaceStore{MemDataKeys: winner.store}, kms, seal.KeyringOptions{})
	v, err := loser.SealFor(t.Context(), "o1", seal.PurposeToken, aad, []byte("mine"))
	if err != nil {
		t.Fatal(err)
	}
	if kms.Generates.Load() != 1 || kms.Decrypts.Load() != 1 {
		t.Fatalf("loser: %d GenerateDataKey, %d Decrypt; want 1 and 1 (its key dropped, the stored one unwrapped)", kms.Generates.Load(), kms.Decrypts.Load())
	}
	if got, err := winner.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, v); err != nil || string(got) != "mine" {
		t.Fatalf("the winner cannot open the loser's value: %v", err)
	}
	if _, err := loser.OpenFor(t.Context(), "o1", seal.PurposeToken, aad, first); err != nil {
		t.Fatal(err)
	}
	if latest, _ := winner.store.LatestDataKey(t.Context(), "o1"); latest.ID != connectors.DataKeyID(1) {
		t.Fatalf("latest = %s, want only generation 1", latest.ID)
	}
}

// failingWrapper fails like an unavailable key service.
type failingWrapper struct{ connectors.KeyWrapper }

func (failingWrapper) GenerateDataKey(context.Context, string) ([]byte, []byte, error) {
	return nil, nil, connectors.Errorf(connectors.EUnavailable, "the key service is unavailable")
}
func (failingWrapper) DecryptDataKey(context.Context, string, []byte) ([]byte, error) {
	return nil, connectors.Errorf(connectors.EUnavailable, "the key service is unavailable")
}

// TestKeyringKeepsDomainErrors: a key service failure reaches the caller
// with its domain code (retryable), and nothing is stored.
func TestKeyringKeepsDomainErrors(t *testing.T) {
	store := &storetest.MemDataKeys{}
	k := seal.NewKeyring(store, failingWrapper{storetest.Wrapper(t)}, seal.KeyringOptions{})
	_, err := k.SealFor(t.Context(), "o1", seal.PurposeToken, nil, []byte("t"))
	if connectors.ErrorCode(err) != connectors.EUnavailable {
		t.Fatalf("err = %v, want code %s", err, connectors.EUnavailable)
	}
	if _, err := store.LatestDataKey(t.Context(), "o1"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("a data key was stored: %v", err)
	}
	if _, err := k.SealFor(t.Context(), "", seal.PurposeToken, nil, []byte("t")); err == nil {
		t.Fatal("sealed without an organization")
	}
}

// TestKeyringErrorsHoldNoSecrets: no error carries the plaintext.
func TestKeyringErrorsHoldNoSecrets(t *testing.T) {
	r := newRing(t, seal.KeyringOptions{})
	const secret = "xoxb-VERY-SECRET"
	v, err := r.SealFor(t.Context(), "o1", seal.PurposeToken, nil, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.OpenFor(t.Context(), "o2", seal.PurposeToken, nil, v); err == nil || bytes.Contains([]byte(err.Error()), []byte(secret)) {
		t.Fatalf("err = %v", err)
	}
}
