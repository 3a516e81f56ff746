package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// bucketOwners maps provider sep providerConfigKey sep provider connection
// id to the ownerRecord of the one connection that holds it.
var bucketOwners = []byte("owners")

type ownerRecord struct {
	OrganizationID string `json:"organizationId"`
	UserID         string `json:"userId"`
	ConnectionID   string `json:"connectionId"`
}

func ownerKey(pc connectors.ProviderConnection) []byte {
	return joinKey(string(pc.AuthProvider), pc.ProviderConfigKey, pc.ConnectionID)
}

// GetOwner implements connectors.OwnerStore.
func (s *Store) GetOwner(ctx context.Context, pc connectors.ProviderConnection) (connectors.Owner, error) {
	if err := ctx.Err(); err != nil {
		return connectors.Owner{}, err
	}
	var rec ownerRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketOwners), ownerKey(pc), &rec)
		return err
	})
	if err != nil {
		return connectors.Owner{}, fmt.Errorf("get owner of %s: %w", pc.ConnectionID, err)
	}
	if !found {
		return connectors.Owner{}, connectors.Errorf(connectors.ENotFound, "no record holds %s", pc.ConnectionID)
	}
	return connectors.Owner(rec), nil
}

// claimOwner records c as its provider connection's owner, inside the
// transaction that writes c. A missing owner (a new connection, or one
// stored before owners existed) is claimed; one naming another record
// refuses the write.
func claimOwner(tx *bolt.Tx, c *connectors.Connection) error {
	b := tx.Bucket(bucketOwners)
	k := ownerKey(c.ProviderConnection())
	want := ownerRecord{OrganizationID: c.OrganizationID, UserID: c.UserID, ConnectionID: c.ID}
	var got ownerRecord
	found, err := getJSON(b, k, &got)
	switch {
	case err != nil:
		return err
	case found && got != want:
		return connectors.Errorf(connectors.EOwned, "provider connection %s is held by another record", c.ID)
	case found:
		return nil
	}
	return putJSON(b, k, want)
}

// releaseOwner removes old's owner record, inside the transaction that
// deletes old, unless it names another record.
func releaseOwner(tx *bolt.Tx, old *connectors.Connection) error {
	b := tx.Bucket(bucketOwners)
	k := ownerKey(old.ProviderConnection())
	var got ownerRecord
	found, err := getJSON(b, k, &got)
	if err != nil || !found || got.OrganizationID != old.OrganizationID || got.ConnectionID != old.ID {
		return err
	}
	return b.Delete(k)
}
