package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// ReleaseIdempotent implements connectors.IdempotencyStore: it deletes the
// record if owner holds it in progress, and does nothing otherwise.
func (s *Store) ReleaseIdempotent(ctx context.Context, key, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdemp)
		var rec idempRecord
		found, err := getJSON(b, []byte(key), &rec)
		if err != nil || !found || rec.Owner != owner || rec.Status != string(connectors.IdempotencyInProgress) {
			return err
		}
		return b.Delete([]byte(key))
	})
	return wrap(err, "release idempotent %s", key)
}
