package boltstore

import (
	"bytes"
	"context"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// bucketDataKeys holds organizations' wrapped data keys: org sep key id ->
// dataKeyRecord. Key ids sort by generation, so an organization's newest key
// is the last key under its prefix. The bucket is created on first write, so
// store files made before it existed open unchanged.
var bucketDataKeys = []byte("data_keys")

// dataKeyRecord is a wrapped data key as stored. It never expires.
type dataKeyRecord struct {
	OrganizationID string    `json:"organizationId"`
	ID             string    `json:"id"`
	Wrapped        []byte    `json:"wrappedKey"`
	WrappedBy      string    `json:"wrappedBy"`
	CreatedAt      time.Time `json:"createdAt"`
}

func (r *dataKeyRecord) dataKey() *connectors.DataKey {
	return &connectors.DataKey{OrganizationID: r.OrganizationID, ID: r.ID, Wrapped: r.Wrapped, WrappedBy: r.WrappedBy, CreatedAt: utc(r.CreatedAt)}
}

// checkLookup refuses the ids of a lookup that no stored key can have, and
// NUL in particular, which could address another organization's keys.
func checkLookup(orgID, id string) error {
	if orgID == "" || id == "" {
		return connectors.Errorf(connectors.EInvalid, "a data key needs an organization and an id")
	}
	if strings.Contains(orgID+id, sep) {
		return connectors.Errorf(connectors.EInvalid, "data key ids may not contain NUL")
	}
	return nil
}

// CreateDataKey implements connectors.DataKeyStore: the check and the put
// run in one bbolt transaction, so exactly one of two racing creators wins.
func (s *Store) CreateDataKey(ctx context.Context, k *connectors.DataKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDataKeys)
		if err != nil {
			return err
		}
		return modify(b, joinKey(k.OrganizationID, k.ID), func(rec *dataKeyRecord, found bool) (change, error) {
			if found {
				return keep, connectors.Errorf(connectors.EConflict, "data key %s of organization %s already exists", k.ID, k.OrganizationID)
			}
			*rec = dataKeyRecord{
				OrganizationID: k.OrganizationID, ID: k.ID, Wrapped: k.Wrapped, WrappedBy: k.WrappedBy, CreatedAt: k.CreatedAt.UTC(),
			}
			return write, nil
		})
	})
	return wrap(err, "create data key %s", k.ID)
}

// GetDataKey implements connectors.DataKeyStore.
func (s *Store) GetDataKey(ctx context.Context, orgID, id string) (*connectors.DataKey, error) {
	if err := checkLookup(orgID, id); err != nil {
		return nil, err
	}
	var rec dataKeyRecord
	found := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDataKeys)
		if b == nil {
			return nil
		}
		var err error
		found, err = getJSON(b, joinKey(orgID, id), &rec)
		return err
	})
	if err != nil {
		return nil, wrap(err, "get data key %s", id)
	}
	if !found {
		return nil, connectors.Errorf(connectors.ENotFound, "data key %s of organization %s not found", id, orgID)
	}
	return rec.dataKey(), nil
}

// LatestDataKey implements connectors.DataKeyStore.
func (s *Store) LatestDataKey(ctx context.Context, orgID string) (*connectors.DataKey, error) {
	if err := checkLookup(orgID, "-"); err != nil {
		return nil, err
	}
	var rec *dataKeyRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDataKeys)
		if b == nil {
			return nil
		}
		// Keys are visited in order: the last one under the prefix is the newest.
		prefix := prefixKey(orgID)
		var last []byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			last = k
		}
		if last == nil {
			return nil
		}
		rec = &dataKeyRecord{}
		_, err := getJSON(b, last, rec)
		return err
	})
	if err != nil {
		return nil, wrap(err, "latest data key of %s", orgID)
	}
	if rec == nil {
		return nil, connectors.Errorf(connectors.ENotFound, "organization %s has no data key", orgID)
	}
	return rec.dataKey(), nil
}

// DeleteDataKeys implements connectors.DataKeyStore, in one transaction.
func (s *Store) DeleteDataKeys(ctx context.Context, orgID string) (int, error) {
	if err := checkLookup(orgID, "-"); err != nil {
		return 0, err
	}
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDataKeys)
		if b == nil {
			return nil
		}
		prefix := prefixKey(orgID)
		var dead [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			dead = append(dead, bytes.Clone(k))
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, wrap(err, "delete data keys of %s", orgID)
}
