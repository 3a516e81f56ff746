package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// connQuery is one listing of connections: the keys of bucket under prefix
// whose connection match keeps. Both listings (ListConnections,
// ListDueConnections) page through listConnections.
type connQuery struct {
	scope  []string // what the listing's cursors are bound to
	bucket []byte   // bucketConns, or an index whose values are keys of bucketConns
	prefix []byte   // nil for the whole bucket
	match  func(*connectors.Connection) bool
}

// listConnections returns the page of at most limit connections that q
// selects after cursor (exclusive). It looks one match past the page so
// that the last page has no cursor.
func (s *Store) listConnections(ctx context.Context, q connQuery, limit int, cursor string) (connectors.ConnectionPage, error) {
	after, err := s.cursors.decode(q.scope, cursor)
	if err != nil {
		return connectors.ConnectionPage{}, err
	}
	var page connectors.ConnectionPage
	err = s.view(ctx, func(tx *bolt.Tx) error {
		conns := tx.Bucket(bucketConns)
		c := tx.Bucket(q.bucket).Cursor()
		var k, v []byte
		if after != nil {
			if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek(q.prefix)
		}
		var lastKey []byte
		for ; k != nil && bytes.HasPrefix(k, q.prefix); k, v = c.Next() {
			raw := v
			if !bytes.Equal(q.bucket, bucketConns) {
				if raw = conns.Get(v); raw == nil {
					continue
				}
			}
			var rec connRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			conn := rec.connection()
			if !q.match(conn) {
				continue
			}
			if len(page.Connections) == limit {
				page.NextCursor = s.cursors.encode(q.scope, lastKey)
				return nil
			}
			page.Connections = append(page.Connections, conn)
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
