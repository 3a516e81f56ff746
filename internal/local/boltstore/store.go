// Package boltstore is the embedded adapter of connectors.Store: one bbolt
// file, what `make run` uses (under .local/). It keeps the DynamoDB
// adapter's semantics: the same errors, page sizes, cursor rules, expiry and
// single-winner guarantees. bbolt serializes write transactions, so every
// check-then-write runs in one Update (see modify) and is atomic.
//
// Each entity has its file; this one holds the Store and the helpers they
// share. Records are JSON. Times are kept to the nanosecond and returned in
// UTC.
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

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/cursor"
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
	bucketOwners = []byte("owners")       // provider sep providerConfigKey sep provider connection id -> ownerRecord
	bucketMeta   = []byte("meta")         // "sweep-cursor" -> the sweep's cursor
	bucketExecs  = []byte("executions")   // org sep connection sep time sep id -> execRecord
	allBuckets   = [][]byte{bucketConns, bucketByUser, bucketStates, bucketIdemp, bucketAudit, bucketLeases, bucketOwners, bucketMeta, bucketExecs}
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
		string(bucketExecs):  func(v []byte) bool { var r execRecord; return json.Unmarshal(v, &r) == nil && now.After(r.ExpiresAt) },
		string(bucketAudit): func(v []byte) bool {
			var r auditRecord
			return json.Unmarshal(v, &r) == nil && now.After(r.Time.Add(connectors.AuditRetention))
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

// view runs fn in a read transaction unless ctx is already done: bbolt
// itself takes no context.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// update runs fn in a write transaction unless ctx is already done. An
// error from fn rolls the transaction back.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// change is what a conditional write does with the record it read.
type change int

const (
	keep   change = iota // leave the record as it is
	write                // write the record as decide left it
	remove               // delete the record
)

// modify is the store's conditional write. It reads the record under key
// (found is false and rec zero when there is none), lets decide check it,
// change it and say what to do, and does that, all in the caller's write
// transaction, so nothing can change between the check and the write. An
// error from decide aborts the write.
func modify[T any](b *bolt.Bucket, key []byte, decide func(rec *T, found bool) (change, error)) error {
	var rec T
	found, err := getJSON(b, key, &rec)
	if err != nil {
		return err
	}
	c, err := decide(&rec, found)
	if err != nil {
		return err
	}
	switch c {
	case write:
		return putJSON(b, key, &rec)
	case remove:
		return b.Delete(key)
	}
	return nil
}

func joinKey(parts ...string) []byte { return []byte(strings.Join(parts, sep)) }

func prefixKey(parts ...string) []byte { return []byte(strings.Join(parts, sep) + sep) }

// utc keeps the zero time zero (UTC() of it is also zero, but explicit).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// getJSON decodes the record under key into v and reports whether there
// was one.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return b.Put(key, raw)
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
