// Package boltstore is the embedded adapter of connectors.Store: one bbolt
// file, what `make run` uses (under .local/). It keeps the DynamoDB
// adapter's semantics: the same errors, page sizes, cursor rules, expiry and
// single-winner guarantees. bbolt serializes write transactions, so every
// check-then-write below runs in one Update and is atomic.
//
// Records are JSON. Times are kept to the nanosecond and returned in UTC.
package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/cursor"
)

const (
	stateTTL   = 10 * time.Minute
	idempTTL   = 24 * time.Hour
	auditTTL   = 90 * 24 * time.Hour
	maxAudited = 1000
)

// Buckets. Key parts are joined with sep, which ids may not contain, so that
// a prefix scan of "org sep" or "org sep user sep" selects exactly one
// organization's or user's connections.
var (
	bucketConns  = []byte("connections")  // org sep id -> connRecord
	bucketByUser = []byte("conn_by_user") // org sep user sep connector sep id -> org sep id
	bucketStates = []byte("states")       // nonce -> stateRecord
	bucketIdemp  = []byte("idempotency")  // key -> idempRecord
	bucketAudit  = []byte("audit")        // org sep time sep id -> auditRecord
	bucketLeases = []byte("leases")       // name -> leaseRecord
	allBuckets   = [][]byte{bucketConns, bucketByUser, bucketStates, bucketIdemp, bucketAudit, bucketLeases, bucketOwners}
)

const sep = "\x00"

// timeLayout is fixed-width RFC 3339 so audit keys sort in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Store is a connectors.Store in one bbolt file. It is safe for concurrent
// use by goroutines; bbolt locks the file against other processes.
type Store struct {
	db      *bolt.DB
	cursors cursorCodec
}

var _ connectors.Store = (*Store)(nil)

// Open opens (creating if needed, with its directory) the store file at
// path. cursorKey signs page cursors and must not be empty. It waits at most
// a few seconds for another process holding the file.
func Open(path string, cursorKey []byte) (*Store, error) {
	if len(cursorKey) == 0 {
		return nil, errors.New("boltstore: empty cursor key")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return purgeExpired(tx, time.Now())
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	return &Store{db: db, cursors: cursorCodec{cursor.Codec{Key: cursorKey}}}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// purgeExpired plays DynamoDB's TTL at start-up so the file does not grow
// without bound. Reads treat expired records as absent either way.
func purgeExpired(tx *bolt.Tx, now time.Time) error {
	expired := map[string]func(v []byte) bool{
		string(bucketStates): func(v []byte) bool { var r stateRecord; return json.Unmarshal(v, &r) == nil && now.After(r.ExpiresAt) },
		string(bucketIdemp):  func(v []byte) bool { var r idempRecord; return json.Unmarshal(v, &r) == nil && now.After(r.ExpiresAt) },
		string(bucketLeases): func(v []byte) bool { var r leaseRecord; return json.Unmarshal(v, &r) == nil && now.After(r.LeaseUntil) },
		string(bucketAudit): func(v []byte) bool {
			var r auditRecord
			return json.Unmarshal(v, &r) == nil && now.After(r.Time.Add(auditTTL))
		},
	}
	for name, isExpired := range expired {
		b := tx.Bucket([]byte(name))
		var dead [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			if isExpired(v) {
				dead = append(dead, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinKey(parts ...string) []byte { return []byte(strings.Join(parts, sep)) }

func prefixKey(parts ...string) []byte { return []byte(strings.Join(parts, sep) + sep) }

// connRecord is a connection as stored; its own type so the file format
// does not follow every change of the domain struct.
type connRecord struct {
	ID                string    `json:"id"`
	OrganizationID    string    `json:"organizationId"`
	UserID            string    `json:"userId"`
	Connector         string    `json:"connector"`
	AuthProvider      string    `json:"authProvider"`
	ProviderConfigKey string    `json:"providerConfigKey"`
	Status            string    `json:"status"`
	Scopes            []string  `json:"scopes"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
	LastRefreshedAt   time.Time `json:"lastRefreshedAt"`
	ExpiresAt         time.Time `json:"expiresAt"`
	Version           int64     `json:"version"`
	SealedToken       []byte    `json:"sealedToken,omitempty"`
}

func newConnRecord(c *connectors.Connection, version int64) connRecord {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return connRecord{
		ID: c.ID, OrganizationID: c.OrganizationID, UserID: c.UserID, Connector: c.Connector,
		AuthProvider: c.AuthProvider, ProviderConfigKey: c.ProviderConfigKey, Status: string(c.Status),
		Scopes: scopes, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		LastRefreshedAt: c.LastRefreshedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC(),
		Version: version, SealedToken: c.SealedToken,
	}
}

func (r *connRecord) connection() *connectors.Connection {
	return &connectors.Connection{
		ID: r.ID, OrganizationID: r.OrganizationID, UserID: r.UserID, Connector: r.Connector,
		AuthProvider: r.AuthProvider, ProviderConfigKey: r.ProviderConfigKey, Status: connectors.Status(r.Status),
		Scopes: r.Scopes, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
		LastRefreshedAt: utc(r.LastRefreshedAt), ExpiresAt: utc(r.ExpiresAt),
		Version: r.Version, SealedToken: r.SealedToken,
	}
}

// utc keeps the zero time zero (UTC() of it is also zero, but explicit).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func userKey(c *connRecord) []byte {
	return joinKey(c.OrganizationID, c.UserID, c.Connector, c.ID)
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, raw)
}

// CreateConnection implements connectors.ConnectionStore. An empty Status
// becomes StatusActive; zero CreatedAt/UpdatedAt become now.
func (s *Store) CreateConnection(ctx context.Context, c *connectors.Connection) error {
	if c.Status == "" {
		c.Status = connectors.StatusActive
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := newConnRecord(c, 1)
	err := s.db.Update(func(tx *bolt.Tx) error {
		conns := tx.Bucket(bucketConns)
		k := joinKey(c.OrganizationID, c.ID)
		if conns.Get(k) != nil {
			return connectors.Errorf(connectors.EConflict, "connection %s already exists", c.ID)
		}
		if err := claimOwner(tx, c); err != nil {
			return err
		}
		if err := putJSON(conns, k, rec); err != nil {
			return err
		}
		return tx.Bucket(bucketByUser).Put(userKey(&rec), k)
	})
	if err != nil {
		return wrap(err, "create connection %s", c.ID)
	}
	c.Version = 1
	return nil
}

// UpdateConnection implements connectors.ConnectionStore.
func (s *Store) UpdateConnection(ctx context.Context, c *connectors.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := newConnRecord(c, c.Version+1)
	err := s.db.Update(func(tx *bolt.Tx) error {
		conns, byUser := tx.Bucket(bucketConns), tx.Bucket(bucketByUser)
		k := joinKey(c.OrganizationID, c.ID)
		var old connRecord
		found, err := getJSON(conns, k, &old)
		switch {
		case err != nil:
			return err
		case !found:
			return connectors.Errorf(connectors.ENotFound, "connection %s not found", c.ID)
		case old.Version != c.Version:
			return connectors.Errorf(connectors.EConflict, "connection %s was changed by someone else (version %d is stale)", c.ID, c.Version)
		}
		if err := claimOwner(tx, c); err != nil {
			return err
		}
		// The owner or connector may change: move the index entry.
		if err := byUser.Delete(userKey(&old)); err != nil {
			return err
		}
		if err := byUser.Put(userKey(&rec), k); err != nil {
			return err
		}
		return putJSON(conns, k, rec)
	})
	if err != nil {
		return wrap(err, "update connection %s", c.ID)
	}
	c.Version++
	return nil
}

// GetConnection implements connectors.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, orgID, id string) (*connectors.Connection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec connRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketConns), joinKey(orgID, id), &rec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get connection %s: %w", id, err)
	}
	// An id with sep could otherwise address another organization's key.
	if !found || rec.OrganizationID != orgID || rec.ID != id {
		return nil, connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	}
	return rec.connection(), nil
}

// DeleteConnection implements connectors.ConnectionStore.
func (s *Store) DeleteConnection(ctx context.Context, orgID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		conns := tx.Bucket(bucketConns)
		k := joinKey(orgID, id)
		var old connRecord
		found, err := getJSON(conns, k, &old)
		if err != nil || !found || old.OrganizationID != orgID || old.ID != id {
			return err
		}
		if err := tx.Bucket(bucketByUser).Delete(userKey(&old)); err != nil {
			return err
		}
		if err := releaseOwner(tx, old.connection()); err != nil {
			return err
		}
		return conns.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	return nil
}

// ListConnections implements connectors.ConnectionStore: a prefix scan of
// the organization's connections, or of the user index (narrowed by
// connector when one is given).
func (s *Store) ListConnections(ctx context.Context, f connectors.ConnectionFilter) (connectors.ConnectionPage, error) {
	if err := f.Validate(); err != nil {
		return connectors.ConnectionPage{}, err
	}
	scope := f.CursorScope()
	after, err := s.cursors.decode(scope, f.Cursor)
	if err != nil {
		return connectors.ConnectionPage{}, err
	}
	if err := ctx.Err(); err != nil {
		return connectors.ConnectionPage{}, err
	}
	bucket, prefix := bucketConns, prefixKey(f.OrganizationID)
	if f.UserID != "" {
		bucket, prefix = bucketByUser, prefixKey(f.OrganizationID, f.UserID)
		if f.Connector != "" {
			prefix = prefixKey(f.OrganizationID, f.UserID, f.Connector)
		}
	}
	match := func(r *connRecord) bool {
		return r.OrganizationID == f.OrganizationID &&
			(f.UserID == "" || r.UserID == f.UserID) &&
			(f.Connector == "" || r.Connector == f.Connector) &&
			(f.Status == "" || r.Status == string(f.Status))
	}
	page, err := s.scan(scope, bucket, prefix, after, connectors.PageSize(f.Limit), match)
	if err != nil {
		return connectors.ConnectionPage{}, fmt.Errorf("list connections of %s: %w", f.OrganizationID, err)
	}
	return page, nil
}

// ListDueConnections implements connectors.SweepStore. The cursor is bound
// to the sweep, not to before, so a sweeper may move its clock between pages.
func (s *Store) ListDueConnections(ctx context.Context, before time.Time, limit int, cursor string) (connectors.ConnectionPage, error) {
	scope := []string{"due"}
	after, err := s.cursors.decode(scope, cursor)
	if err != nil {
		return connectors.ConnectionPage{}, err
	}
	if err := ctx.Err(); err != nil {
		return connectors.ConnectionPage{}, err
	}
	match := func(r *connRecord) bool {
		return r.Status == string(connectors.StatusRefreshFailed) || (!r.ExpiresAt.IsZero() && r.ExpiresAt.Before(before))
	}
	page, err := s.scan(scope, bucketConns, nil, after, connectors.PageSize(limit), match)
	if err != nil {
		return connectors.ConnectionPage{}, fmt.Errorf("list due connections: %w", err)
	}
	return page, nil
}

// scan walks bucket from after (exclusive) over keys with prefix and returns
// up to limit connections that match. Index buckets hold the connection's
// key as value; the connections bucket holds the record itself. It looks one
// match past the page so that the last page has no cursor.
func (s *Store) scan(scope []string, bucket, prefix, after []byte, limit int, match func(*connRecord) bool) (connectors.ConnectionPage, error) {
	var page connectors.ConnectionPage
	err := s.db.View(func(tx *bolt.Tx) error {
		conns := tx.Bucket(bucketConns)
		c := tx.Bucket(bucket).Cursor()
		var k, v []byte
		if after != nil {
			if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek(prefix)
		}
		var lastKey []byte
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			raw := v
			if !bytes.Equal(bucket, bucketConns) {
				if raw = conns.Get(v); raw == nil {
					continue
				}
			}
			var rec connRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			if !match(&rec) {
				continue
			}
			if len(page.Connections) == limit {
				page.NextCursor = s.cursors.encode(scope, lastKey)
				return nil
			}
			page.Connections = append(page.Connections, rec.connection())
			lastKey = bytes.Clone(k) // k is only valid inside the transaction
		}
		return nil
	})
	if err != nil {
		return connectors.ConnectionPage{}, err
	}
	if page.Connections == nil {
		page.Connections = []*connectors.Connection{}
	}
	return page, nil
}

type stateRecord struct {
	Nonce          string    `json:"nonce"`
	OrganizationID string    `json:"organizationId"`
	UserID         string    `json:"userId"`
	Connector      string    `json:"connector"`
	AuthProvider   string    `json:"authProvider"`
	RedirectURI    string    `json:"redirectUri"`
	ConnectionID   string    `json:"connectionId"`
	SealedVerifier []byte    `json:"sealedVerifier,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	ExpiresAt      time.Time `json:"expiresAt"`
}

// CreateState implements connectors.StateStore. A zero CreatedAt becomes
// now; a zero ExpiresAt becomes CreatedAt plus 10 minutes.
func (s *Store) CreateState(ctx context.Context, st *connectors.OAuthState) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = time.Now().UTC()
	}
	if st.ExpiresAt.IsZero() {
		st.ExpiresAt = st.CreatedAt.Add(stateTTL)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := stateRecord{
		Nonce: st.Nonce, OrganizationID: st.OrganizationID, UserID: st.UserID, Connector: st.Connector,
		AuthProvider: st.AuthProvider, RedirectURI: st.RedirectURI, ConnectionID: st.ConnectionID,
		SealedVerifier: st.SealedVerifier, CreatedAt: st.CreatedAt.UTC(), ExpiresAt: st.ExpiresAt.UTC(),
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStates)
		if b.Get([]byte(st.Nonce)) != nil {
			return connectors.Errorf(connectors.EConflict, "state already exists")
		}
		return putJSON(b, []byte(st.Nonce), rec)
	})
	return wrap(err, "create state")
}

// ConsumeState implements connectors.StateStore.
func (s *Store) ConsumeState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec stateRecord
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStates)
		found, err := getJSON(b, []byte(nonce), &rec)
		if err != nil {
			return err
		}
		if !found {
			return connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
		}
		return b.Delete([]byte(nonce))
	})
	if err != nil {
		return nil, wrap(err, "consume state")
	}
	return rec.state()
}

// GetState implements connectors.StateStore.
func (s *Store) GetState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec stateRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketStates), []byte(nonce), &rec)
		return err
	})
	if err != nil {
		return nil, wrap(err, "get state")
	}
	if !found {
		return nil, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
	}
	return rec.state()
}

func (rec *stateRecord) state() (*connectors.OAuthState, error) {
	if !time.Now().Before(rec.ExpiresAt) {
		return nil, connectors.Errorf(connectors.EInvalidState, "state expired")
	}
	return &connectors.OAuthState{
		Nonce: rec.Nonce, OrganizationID: rec.OrganizationID, UserID: rec.UserID, Connector: rec.Connector,
		AuthProvider: rec.AuthProvider, RedirectURI: rec.RedirectURI, ConnectionID: rec.ConnectionID,
		SealedVerifier: rec.SealedVerifier, CreatedAt: utc(rec.CreatedAt), ExpiresAt: utc(rec.ExpiresAt),
	}, nil
}

type idempRecord struct {
	Key        string    `json:"key"`
	Owner      string    `json:"owner"`
	Status     string    `json:"status"`
	Result     []byte    `json:"result,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

func (r *idempRecord) record() *connectors.IdempotencyRecord {
	return &connectors.IdempotencyRecord{
		Key: r.Key, Owner: r.Owner, Status: connectors.IdempotencyStatus(r.Status), Result: r.Result,
		LeaseUntil: utc(r.LeaseUntil), CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt),
	}
}

// BeginIdempotent implements connectors.IdempotencyStore. The key is claimed
// if absent, if its holder's lease ran out, or if the record outlived its
// 24 h.
func (s *Store) BeginIdempotent(ctx context.Context, key, owner string, lease time.Duration) (*connectors.IdempotencyRecord, error) {
	if key == "" || owner == "" || lease <= 0 {
		return nil, connectors.Errorf(connectors.EInvalid, "idempotency key, owner and a positive lease are required")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out idempRecord
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdemp)
		now := time.Now().UTC()
		found, err := getJSON(b, []byte(key), &out)
		if err != nil {
			return err
		}
		free := !found || now.After(out.ExpiresAt) ||
			(out.Status == string(connectors.IdempotencyInProgress) && out.LeaseUntil.Before(now))
		switch {
		case free:
			out = idempRecord{
				Key: key, Owner: owner, Status: string(connectors.IdempotencyInProgress),
				LeaseUntil: now.Add(lease), CreatedAt: now, ExpiresAt: now.Add(idempTTL),
			}
			return putJSON(b, []byte(key), out)
		case out.Status == string(connectors.IdempotencyCompleted):
			return nil
		default:
			return connectors.Errorf(connectors.EConflict, "idempotency key %s is in progress", key)
		}
	})
	if err != nil {
		return nil, wrap(err, "begin idempotent %s", key)
	}
	return out.record(), nil
}

// CompleteIdempotent implements connectors.IdempotencyStore.
func (s *Store) CompleteIdempotent(ctx context.Context, key, owner string, result []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdemp)
		var rec idempRecord
		found, err := getJSON(b, []byte(key), &rec)
		if err != nil {
			return err
		}
		if !found || rec.Owner != owner || rec.Status != string(connectors.IdempotencyInProgress) {
			return connectors.Errorf(connectors.EConflict, "idempotency key %s is not held by this owner", key)
		}
		rec.Status = string(connectors.IdempotencyCompleted)
		rec.Result = result
		return putJSON(b, []byte(key), rec)
	})
	return wrap(err, "complete idempotent %s", key)
}

// GetIdempotent implements connectors.IdempotencyStore.
func (s *Store) GetIdempotent(ctx context.Context, key string) (*connectors.IdempotencyRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec idempRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketIdemp), []byte(key), &rec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get idempotent %s: %w", key, err)
	}
	if !found || time.Now().After(rec.ExpiresAt) {
		return nil, connectors.Errorf(connectors.ENotFound, "idempotency key %s not found", key)
	}
	return rec.record(), nil
}

type auditRecord struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organizationId"`
	ActorUserID    string    `json:"actorUserId"`
	Actor          string    `json:"actor"`
	Action         string    `json:"action"`
	ConnectionID   string    `json:"connectionId"`
	Connector      string    `json:"connector"`
	Outcome        string    `json:"outcome"`
	Detail         string    `json:"detail"`
	Time           time.Time `json:"time"`
}

// AppendAudit implements connectors.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, e connectors.AuditEvent) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := auditRecord(e)
	rec.Time = e.Time.UTC()
	k := joinKey(e.OrganizationID, rec.Time.Format(timeLayout), e.ID)
	err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketAudit), k, rec) })
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.ID, err)
	}
	return nil
}

// ListAudit implements connectors.AuditLog. limit <= 0 means
// connectors.DefaultPageSize; it is capped at 1000.
func (s *Store) ListAudit(ctx context.Context, orgID string, limit int) ([]connectors.AuditEvent, error) {
	if limit <= 0 {
		limit = connectors.DefaultPageSize
	}
	limit = min(limit, maxAudited)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var events []connectors.AuditEvent
	prefix := prefixKey(orgID)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(events) < limit; k, v = c.Next() {
			var rec auditRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			e := connectors.AuditEvent(rec)
			e.Time = utc(e.Time)
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit of %s: %w", orgID, err)
	}
	return events, nil
}

type leaseRecord struct {
	Owner      string    `json:"owner"`
	LeaseUntil time.Time `json:"leaseUntil"`
}

// AcquireLease implements connectors.LeaseStore.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error {
	if name == "" || owner == "" || ttl <= 0 {
		return connectors.Errorf(connectors.EInvalid, "lease name, owner and a positive ttl are required")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		now := time.Now().UTC()
		var rec leaseRecord
		found, err := getJSON(b, []byte(name), &rec)
		if err != nil {
			return err
		}
		if found && rec.Owner != owner && !rec.LeaseUntil.Before(now) {
			return connectors.Errorf(connectors.EConflict, "lease %s is held", name)
		}
		return putJSON(b, []byte(name), leaseRecord{Owner: owner, LeaseUntil: now.Add(ttl)})
	})
	return wrap(err, "acquire lease %s", name)
}

// ReleaseLease implements connectors.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		var rec leaseRecord
		found, err := getJSON(b, []byte(name), &rec)
		if err != nil || !found || rec.Owner != owner {
			return err
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// wrap adds context to storage errors and passes typed domain errors
// through unchanged, so callers see the domain's message.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var de *connectors.Error
	if errors.As(err, &de) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
