package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

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
	var rec ownerRecord
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketOwners), ownerKey(pc), &rec)
		return err
	})
	if err != nil {
		return connectors.Owner{}, wrap(err, "get owner of %s", pc.ConnectionID)
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
	want := ownerRecord{OrganizationID: c.OrganizationID, UserID: c.UserID, ConnectionID: c.ID}
	return modify(tx.Bucket(bucketOwners), ownerKey(c.ProviderConnection()), func(rec *ownerRecord, found bool) (change, error) {
		switch {
		case found && *rec != want:
			return keep, connectors.Errorf(connectors.EOwned, "provider connection %s is held by another record", c.ID)
		case found:
			return keep, nil
		}
		*rec = want
		return write, nil
	})
}

// releaseOwner removes old's owner record, inside the transaction that
// deletes old, unless it names another record.
func releaseOwner(tx *bolt.Tx, old *connectors.Connection) error {
	return modify(tx.Bucket(bucketOwners), ownerKey(old.ProviderConnection()), func(rec *ownerRecord, found bool) (change, error) {
		if found && rec.OrganizationID == old.OrganizationID && rec.ConnectionID == old.ID {
			return remove, nil
		}
		return keep, nil
	})
}
