package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// ListDueConnections implements connectors.SweepStore with a scan of every
// organization's connections. The cursor is bound to the sweep, not to
// before, so a sweeper may move its clock between pages.
func (s *Store) ListDueConnections(ctx context.Context, before time.Time, limit int, cursor string) (connectors.ConnectionPage, error) {
	q := connQuery{
		scope:  []string{"due"},
		bucket: bucketConns,
		match: func(c *connectors.Connection) bool {
			return c.Status == connectors.StatusRefreshFailed ||
				(!c.ExpiresAt.IsZero() && c.ExpiresAt.Before(before)) ||
				(!c.CheckAt.IsZero() && c.CheckAt.Before(before))
		},
	}
	page, err := s.listConnections(ctx, q, connectors.PageSize(limit), cursor)
	if err != nil {
		return connectors.ConnectionPage{}, wrap(err, "list due connections")
	}
	return page, nil
}

var keySweepCursor = []byte("sweep-cursor")

// SweepCursor implements connectors.SweepStore.
func (s *Store) SweepCursor(ctx context.Context) (string, error) {
	var cursor string
	err := s.db.View(func(tx *bolt.Tx) error {
		cursor = string(tx.Bucket(bucketMeta).Get(keySweepCursor))
		return nil
	})
	if err != nil {
		return "", wrap(err, "read sweep cursor")
	}
	return cursor, nil
}

// SaveSweepCursor implements connectors.SweepStore.
func (s *Store) SaveSweepCursor(ctx context.Context, cursor string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySweepCursor, []byte(cursor))
	})
	if err != nil {
		return wrap(err, "save sweep cursor")
	}
	return nil
}
