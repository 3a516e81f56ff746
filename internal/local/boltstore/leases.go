package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

type leaseRecord struct {
	Owner      string    `json:"owner"`
	LeaseUntil time.Time `json:"leaseUntil"`
}

// AcquireLease implements connectors.LeaseStore: the lease is taken if
// absent, expired, or already owner's.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error {
	if name == "" || owner == "" || ttl <= 0 {
		return connectors.Errorf(connectors.EInvalid, "lease name, owner and a positive ttl are required")
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketLeases), []byte(name), func(rec *leaseRecord, found bool) (change, error) {
			now := time.Now().UTC()
			if found && rec.Owner != owner && !rec.LeaseUntil.Before(now) {
				return keep, connectors.Errorf(connectors.EConflict, "lease %s is held", name)
			}
			*rec = leaseRecord{Owner: owner, LeaseUntil: now.Add(ttl)}
			return write, nil
		})
	})
	return wrap(err, "acquire lease %s", name)
}

// ReleaseLease implements connectors.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketLeases), []byte(name), func(rec *leaseRecord, found bool) (change, error) {
			if found && rec.Owner == owner {
				return remove, nil
			}
			return keep, nil
		})
	})
	return wrap(err, "release lease %s", name)
}
