package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/automators/connectors/internal/connectors"
)

// Purposes bind a sealed value to what it is, so that a value of one kind
// cannot be opened as another even under the same organization and record.
const (
	PurposeToken    = "token"    // a connection's token cache
	PurposeVerifier = "verifier" // the PKCE verifier of an OAuth state
)

// Keyring limits . A plaintext data key is dropped from
// memory after MaxCacheTTL or after DefaultMaxSeals seals, whichever comes
// first; the next use unwraps it again (one KMS Decrypt, which KMS records).
// 10,000 seals keep a busy organization at a few KMS calls per 5 minutes
// while bounding how many values one cached key seals, far below the 2^32
// random-nonce limit of AES-GCM over the key's whole life.
const (
	MaxCacheTTL     = 5 * time.Minute
	DefaultMaxSeals = 10_000
	// loadTimeout bounds one shared store read and unwrap: callers waiting
	// on it may give up earlier with their own context.
	loadTimeout = 15 * time.Second
)

const version2 = 2

// KeyringOptions configure a Keyring. Zero values take the defaults.
type KeyringOptions struct {
	// Legacy opens values sealed in version 1 with token_encryption_keys
	// (read old, write new). Nil: version-1 values do not open.
	Legacy *Sealer
	// CacheTTL is how long a plaintext data key stays in memory; default and
	// at most MaxCacheTTL.
	CacheTTL time.Duration
	// MaxSeals is how many values one cached data key seals before it is
	// dropped; default DefaultMaxSeals.
	MaxSeals int
	// MaxKeyAge makes the first seal after an organization's newest data key
	// is that old create the next one (data key rotation); zero: data keys
	// rotate only through Rotate.
	MaxKeyAge time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Keyring seals every value under its organization's data key (envelope
// encryption, as the AWS Encryption SDK does it): a data key per
// organization, made by a KeyWrapper (KMS) on the organization's first seal,
// stored wrapped in a DataKeyStore, and held in plaintext only in this
// process's memory, briefly. It is safe for concurrent use.
//
// Sealed format (version 2):
//
//	version 2 (1 byte) | key id length (1 byte) | key id | nonce (12 bytes) | ciphertext+tag
//
// The associated data authenticates the header, the organization, the
// purpose and the caller's record binding (each length-prefixed), so a value
// moved to another organization, record or purpose does not open.
type Keyring struct {
	store  connectors.DataKeyStore
	wrap   connectors.KeyWrapper
	opts   KeyringOptions
	flight singleflight.Group

	mu      sync.Mutex
	keys    map[keyRef]*dataKey // every cached key, for opening
	current map[string]*dataKey // organization -> the key it seals with
}

type keyRef struct{ org, id string }

// dataKey is one unwrapped data key in memory. Its counters are guarded by
// Keyring.mu; aead is immutable and safe for concurrent use.
type dataKey struct {
	ref       keyRef
	aead      cipher.AEAD
	createdAt time.Time
	expires   time.Time
	seals     int
}

// NewKeyring returns a Keyring over store and wrap.
func NewKeyring(store connectors.DataKeyStore, wrap connectors.KeyWrapper, opts KeyringOptions) *Keyring {
	if opts.CacheTTL <= 0 || opts.CacheTTL > MaxCacheTTL {
		opts.CacheTTL = MaxCacheTTL
	}
	if opts.MaxSeals <= 0 {
		opts.MaxSeals = DefaultMaxSeals
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Keyring{store: store, wrap: wrap, opts: opts, keys: map[keyRef]*dataKey{}, current: map[string]*dataKey{}}
}

// SealFor seals plaintext under orgID's newest data key, creating the
// organization's first one if it has none. aad binds the value to its record
// (see AAD); purpose says what it is (PurposeToken, ...).
func (k *Keyring) SealFor(ctx context.Context, orgID, purpose string, aad, plaintext []byte) ([]byte, error) {
	if orgID == "" {
		return nil, errors.New("seal: no organization")
	}
	dk, err := k.sealKey(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return sealV2(dk.aead, dk.ref.id, orgID, purpose, aad, plaintext)
}

// OpenFor opens a value sealed by SealFor with the same organization,
// purpose and aad, under whichever of the organization's data keys it names;
// a version-1 value opens with the Legacy keys (aad only, as it was sealed).
// Its errors match ErrMalformed, ErrUnknownKey (also: the organization's
// data keys were deleted) or ErrAuth, or carry the store's or key service's
// domain error.
func (k *Keyring) OpenFor(ctx context.Context, orgID, purpose string, aad, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, ErrMalformed
	}
	switch sealed[0] {
	case version1:
		if k.opts.Legacy == nil {
			return nil, fmt.Errorf("seal: a version-1 value and no token_encryption_keys: %w", ErrUnknownKey)
		}
		return k.opts.Legacy.Open(sealed, aad)
	case version2:
	default:
		return nil, ErrMalformed
	}
	id, body, err := parseV2(sealed)
	if err != nil {
		return nil, err
	}
	dk, err := k.openKey(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(body) < nonceSize+dk.aead.Overhead() {
		return nil, ErrMalformed
	}
	plain, err := dk.aead.Open(nil, body[:nonceSize], body[nonceSize:], v2AAD(sealed[:2+len(id)], orgID, purpose, aad))
	if err != nil {
		return nil, ErrAuth
	}
	return plain, nil
}

// Rotate creates orgID's next data key and seals with it from now on (in
// this process at once, in others when their cached key expires). Older keys
// still open what they sealed.
func (k *Keyring) Rotate(ctx context.Context, orgID string) (keyID string, err error) {
	gen := 1
	latest, err := k.store.LatestDataKey(ctx, orgID)
	switch {
	case err == nil:
		g, ok := connectors.ParseDataKeyID(latest.ID)
		if !ok {
			return "", fmt.Errorf("seal: organization %q: stored data key id %q is not a generation", orgID, latest.ID)
		}
		gen = g + 1
	case !errors.Is(err, connectors.ErrNotFound):
		return "", fmt.Errorf("seal: latest data key of organization %q: %w", orgID, err)
	}
	dk, err := k.create(ctx, orgID, gen)
	if err != nil {
		return "", err
	}
	return dk.ref.id, nil
}

// sealKey returns the organization's sealing key and counts one seal.
func (k *Keyring) sealKey(ctx context.Context, orgID string) (*dataKey, error) {
	for range 4 { // a key loaded for us can be used up by others at once: load again
		k.mu.Lock()
		if dk := k.current[orgID]; dk != nil && k.fresh(dk) {
			dk.seals++
			if dk.seals >= k.opts.MaxSeals {
				k.evictLocked(dk) // this was its last seal
			}
			k.mu.Unlock()
			return dk, nil
		}
		k.mu.Unlock()
		if _, err := k.shared(ctx, "seal", orgID, "", func(ctx context.Context) (*dataKey, error) {
			return k.loadCurrent(ctx, orgID)
		}); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("seal: organization %q: no usable data key after several loads", orgID)
}

// openKey returns the organization's key id, from memory or unwrapped.
func (k *Keyring) openKey(ctx context.Context, orgID, id string) (*dataKey, error) {
	k.mu.Lock()
	dk := k.keys[keyRef{orgID, id}]
	if dk != nil && !k.fresh(dk) {
		k.evictLocked(dk)
		dk = nil
	}
	k.mu.Unlock()
	if dk != nil {
		return dk, nil
	}
	return k.shared(ctx, "open", orgID, id, func(ctx context.Context) (*dataKey, error) {
		stored, err := k.store.GetDataKey(ctx, orgID, id)
		if errors.Is(err, connectors.ErrNotFound) {
			// Deleted (crypto-shredded) or never made: the value is lost.
			return nil, fmt.Errorf("seal: data key %s of organization %q does not exist: %w", id, orgID, ErrUnknownKey)
		}
		if err != nil {
			return nil, fmt.Errorf("seal: data key %s of organization %q: %w", id, orgID, err)
		}
		return k.unwrapStored(ctx, stored, false)
	})
}

// shared runs load once for every caller asking for the same key at once
// (one KMS call for a cold key, not one per request). The load runs detached
// from the first caller's cancellation, bounded by loadTimeout; each caller
// still stops waiting when its own context ends.
func (k *Keyring) shared(ctx context.Context, op, orgID, id string, load func(context.Context) (*dataKey, error)) (*dataKey, error) {
	flightKey := fmt.Sprintf("%s %d:%s %s", op, len(orgID), orgID, id)
	ch := k.flight.DoChan(flightKey, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		return load(lctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*dataKey), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("seal: waiting for the data key of organization %q: %w", orgID, ctx.Err())
	}
}

// loadCurrent finds the organization's newest key, creating the first (or,
// past MaxKeyAge, the next) one, and makes it the sealing key.
func (k *Keyring) loadCurrent(ctx context.Context, orgID string) (*dataKey, error) {
	latest, err := k.store.LatestDataKey(ctx, orgID)
	if errors.Is(err, connectors.ErrNotFound) {
		return k.create(ctx, orgID, 1)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: latest data key of organization %q: %w", orgID, err)
	}
	gen, ok := connectors.ParseDataKeyID(latest.ID)
	if !ok {
		return nil, fmt.Errorf("seal: organization %q: stored data key id %q is not a generation", orgID, latest.ID)
	}
	if k.opts.MaxKeyAge > 0 && k.opts.Now().Sub(latest.CreatedAt) >= k.opts.MaxKeyAge {
		return k.create(ctx, orgID, gen+1)
	}
	return k.unwrapStored(ctx, latest, true)
}

// create makes generation gen of the organization's data key. The store's
// conditional write decides between containers racing for it: a loser
// forgets its own key and uses the stored one, so every container seals with
// the same key.
func (k *Keyring) create(ctx context.Context, orgID string, gen int) (*dataKey, error) {
	plain, wrapped, err := k.wrap.GenerateDataKey(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("seal: generate a data key for organization %q: %w", orgID, err)
	}
	defer clear(plain)
	rec := &connectors.DataKey{
		OrganizationID: orgID, ID: connectors.DataKeyID(gen), Wrapped: wrapped,
		WrappedBy: k.wrap.KeyName(), CreatedAt: k.opts.Now().UTC(),
	}
	err = k.store.CreateDataKey(ctx, rec)
	if errors.Is(err, connectors.ErrConflict) {
		stored, gerr := k.store.GetDataKey(ctx, orgID, rec.ID)
		if gerr != nil {
			return nil, fmt.Errorf("seal: re-read data key %s of organization %q after a lost race: %w", rec.ID, orgID, gerr)
		}
		return k.unwrapStored(ctx, stored, true)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: store data key %s of organization %q: %w", rec.ID, orgID, err)
	}
	return k.install(rec, plain, true)
}

// unwrapStored returns a stored key from memory if it is there, or unwraps
// it; asCurrent makes it the organization's sealing key.
func (k *Keyring) unwrapStored(ctx context.Context, stored *connectors.DataKey, asCurrent bool) (*dataKey, error) {
	ref := keyRef{stored.OrganizationID, stored.ID}
	k.mu.Lock()
	if dk := k.keys[ref]; dk != nil && k.fresh(dk) {
		if asCurrent {
			k.current[ref.org] = dk
		}
		k.mu.Unlock()
		return dk, nil
	}
	k.mu.Unlock()
	plain, err := k.wrap.DecryptDataKey(ctx, stored.OrganizationID, stored.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("seal: unwrap data key %s of organization %q: %w", stored.ID, stored.OrganizationID, err)
	}
	defer clear(plain)
	return k.install(stored, plain, asCurrent)
}

// install caches a plaintext key (as an AES-GCM instance; the caller clears
// the bytes) for CacheTTL.
func (k *Keyring) install(rec *connectors.DataKey, plain []byte, asCurrent bool) (*dataKey, error) {
	if len(plain) != KeySize {
		return nil, fmt.Errorf("seal: data key %s of organization %q: %d bytes, want %d", rec.ID, rec.OrganizationID, len(plain), KeySize)
	}
	if len(rec.ID) == 0 || len(rec.ID) > maxIDLen {
		return nil, fmt.Errorf("seal: data key id of organization %q must be 1 to %d bytes", rec.OrganizationID, maxIDLen)
	}
	block, err := aes.NewCipher(plain)
	if err != nil {
		return nil, fmt.Errorf("seal: data key %s: %w", rec.ID, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: data key %s: %w", rec.ID, err)
	}
	dk := &dataKey{ref: keyRef{rec.OrganizationID, rec.ID}, aead: aead, createdAt: rec.CreatedAt, expires: k.opts.Now().Add(k.opts.CacheTTL)}
	k.mu.Lock()
	k.keys[dk.ref] = dk
	if asCurrent {
		k.current[dk.ref.org] = dk
	}
	k.mu.Unlock()
	// Drop it when its time is up even if nobody asks for it again, so an
	// idle organization's key does not linger in memory.
	time.AfterFunc(k.opts.CacheTTL, func() {
		k.mu.Lock()
		k.evictLocked(dk)
		k.mu.Unlock()
	})
	return dk, nil
}

// fresh reports whether a cached key may still be used. Callers hold k.mu.
func (k *Keyring) fresh(dk *dataKey) bool {
	return dk.seals < k.opts.MaxSeals && k.opts.Now().Before(dk.expires)
}

// evictLocked forgets dk (if it is still the cached one). Callers hold k.mu.
func (k *Keyring) evictLocked(dk *dataKey) {
	if k.keys[dk.ref] == dk {
		delete(k.keys, dk.ref)
	}
	if k.current[dk.ref.org] == dk {
		delete(k.current, dk.ref.org)
	}
}

func sealV2(aead cipher.AEAD, keyID, orgID, purpose string, aad, plaintext []byte) ([]byte, error) {
	hdrLen := 2 + len(keyID)
	out := make([]byte, hdrLen+nonceSize, hdrLen+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = version2
	out[1] = byte(len(keyID))
	copy(out[2:], keyID)
	nonce := out[hdrLen : hdrLen+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, v2AAD(out[:hdrLen], orgID, purpose, aad)), nil
}

// parseV2 splits a version-2 value into its key id and nonce+ciphertext.
func parseV2(sealed []byte) (keyID string, body []byte, err error) {
	if len(sealed) < 2 || sealed[1] == 0 {
		return "", nil, ErrMalformed
	}
	hdrLen := 2 + int(sealed[1])
	if len(sealed) < hdrLen+nonceSize {
		return "", nil, ErrMalformed
	}
	return string(sealed[2:hdrLen]), sealed[hdrLen:], nil
}

// v2AAD is the associated data of a version-2 value: its header, then the
// organization, the purpose and the caller's data, each length-prefixed so
// that no two different bindings collide.
func v2AAD(header []byte, orgID, purpose string, aad []byte) []byte {
	b := make([]byte, 0, len(header)+12+len(orgID)+len(purpose)+len(aad))
	b = append(b, header...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(orgID)))
	b = append(b, orgID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(purpose)))
	b = append(b, purpose...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(aad)))
	return append(b, aad...)
}

// SealFor implements the same organization-aware port as Keyring with this
// Sealer's token_encryption_keys, in version 1: one key set for every
// organization, for deployments without KMS. orgID and purpose are not
// bound beyond aad, so the format stays exactly what it was and values
// sealed before still open.
func (s *Sealer) SealFor(_ context.Context, _, _ string, aad, plaintext []byte) ([]byte, error) {
	return s.Seal(plaintext, aad)
}

// OpenFor opens a version-1 value; see SealFor.
func (s *Sealer) OpenFor(_ context.Context, _, _ string, aad, sealed []byte) ([]byte, error) {
	return s.Open(sealed, aad)
}
