package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// idempTTL is how long an executor result is remembered: longer than any
// retry of the step that produced it.
const idempTTL = 24 * time.Hour

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

// heldBy reports whether owner holds the record in progress.
func (r *idempRecord) heldBy(owner string) bool {
	return r.Owner == owner && r.Status == string(connectors.IdempotencyInProgress)
}

// BeginIdempotent implements connectors.IdempotencyStore. The key is claimed
// if absent, if its holder's lease ran out, or if the record outlived its
// 24 h.
func (s *Store) BeginIdempotent(ctx context.Context, key, owner string, lease time.Duration) (*connectors.IdempotencyRecord, error) {
	if key == "" || owner == "" || lease <= 0 {
		return nil, connectors.Errorf(connectors.EInvalid, "idempotency key, owner and a positive lease are required")
	}
	var out idempRecord
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketIdemp), []byte(key), func(rec *idempRecord, found bool) (change, error) {
			now := time.Now().UTC()
			free := !found || now.After(rec.ExpiresAt) ||
				(rec.Status == string(connectors.IdempotencyInProgress) && rec.LeaseUntil.Before(now))
			switch {
			case free:
				*rec = idempRecord{
					Key: key, Owner: owner, Status: string(connectors.IdempotencyInProgress),
					LeaseUntil: now.Add(lease), CreatedAt: now, ExpiresAt: now.Add(idempTTL),
				}
				out = *rec
				return write, nil
			case rec.Status == string(connectors.IdempotencyCompleted):
				out = *rec
				return keep, nil
			default:
				return keep, connectors.Errorf(connectors.EConflict, "idempotency key %s is in progress", key)
			}
		})
	})
	if err != nil {
		return nil, wrap(err, "begin idempotent %s", key)
	}
	return out.record(), nil
}

// CompleteIdempotent implements connectors.IdempotencyStore.
func (s *Store) CompleteIdempotent(ctx context.Context, key, owner string, result []byte) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketIdemp), []byte(key), func(rec *idempRecord, found bool) (change, error) {
			if !found || !rec.heldBy(owner) {
				return keep, connectors.Errorf(connectors.EConflict, "idempotency key %s is not held by this owner", key)
			}
			rec.Status = string(connectors.IdempotencyCompleted)
			rec.Result = result
			return write, nil
		})
	})
	return wrap(err, "complete idempotent %s", key)
}

// GetIdempotent implements connectors.IdempotencyStore. A record past its
// ExpiresAt is not found, whether or not an Open has purged it yet.
func (s *Store) GetIdempotent(ctx context.Context, key string) (*connectors.IdempotencyRecord, error) {
	var rec idempRecord
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketIdemp), []byte(key), &rec)
		return err
	})
	if err != nil {
		return nil, wrap(err, "get idempotent %s", key)
	}
	if !found || time.Now().After(rec.ExpiresAt) {
		return nil, connectors.Errorf(connectors.ENotFound, "idempotency key %s not found", key)
	}
	return rec.record(), nil
}

// ReleaseIdempotent implements connectors.IdempotencyStore: it deletes the
// record if owner holds it in progress, and does nothing otherwise.
func (s *Store) ReleaseIdempotent(ctx context.Context, key, owner string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketIdemp), []byte(key), func(rec *idempRecord, found bool) (change, error) {
			if found && rec.heldBy(owner) {
				return remove, nil
			}
			return keep, nil
		})
	})
	return wrap(err, "release idempotent %s", key)
}
