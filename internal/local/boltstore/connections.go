package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// connRecord is a connection as stored; its own type so the file format
// does not follow every change of the domain struct.
type connRecord struct {
	ID                string                  `json:"id"`
	OrganizationID    string                  `json:"organizationId"`
	UserID            string                  `json:"userId"`
	Connector         string                  `json:"connector"`
	AuthProvider      connectors.AuthProvider `json:"authProvider"`
	ProviderConfigKey string                  `json:"providerConfigKey"`
	Status            string                  `json:"status"`
	Scopes            []string                `json:"scopes"`
	CreatedAt         time.Time               `json:"createdAt"`
	UpdatedAt         time.Time               `json:"updatedAt"`
	LastRefreshedAt   time.Time               `json:"lastRefreshedAt"`
	ExpiresAt         time.Time               `json:"expiresAt"`
	Version           int64                   `json:"version"`
	SealedToken       []byte                  `json:"sealedToken,omitempty"`
	Label             string                  `json:"label,omitempty"`
	Shared            bool                    `json:"shared,omitempty"`
	CheckAt           time.Time               `json:"checkAt,omitzero"`
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
		Label: c.Label, Shared: c.Shared, CheckAt: c.CheckAt.UTC(),
	}
}

func (r *connRecord) connection() *connectors.Connection {
	return &connectors.Connection{
		ID: r.ID, OrganizationID: r.OrganizationID, UserID: r.UserID, Connector: r.Connector,
		AuthProvider: r.AuthProvider, ProviderConfigKey: r.ProviderConfigKey, Status: connectors.Status(r.Status),
		Scopes: r.Scopes, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
		LastRefreshedAt: utc(r.LastRefreshedAt), ExpiresAt: utc(r.ExpiresAt),
		Version: r.Version, SealedToken: r.SealedToken,
		Label: r.Label, Shared: r.Shared, CheckAt: utc(r.CheckAt),
	}
}

// userKey is the connection's key in the per-user index.
func userKey(c *connRecord) []byte {
	return joinKey(c.OrganizationID, c.UserID, c.Connector, c.ID)
}

// CreateConnection implements connectors.ConnectionStore. An empty Status
// becomes StatusActive; zero CreatedAt/UpdatedAt become now.
func (s *Store) CreateConnection(ctx context.Context, c *connectors.Connection) error {
	if err := c.PrepareNew(time.Now()); err != nil {
		return err
	}
	k := joinKey(c.OrganizationID, c.ID)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketConns), k, func(rec *connRecord, found bool) (change, error) {
			if found {
				return keep, connectors.Errorf(connectors.EConflict, "connection %s already exists", c.ID)
			}
			if err := claimOwner(tx, c); err != nil {
				return keep, err
			}
			*rec = newConnRecord(c, 1)
			return write, tx.Bucket(bucketByUser).Put(userKey(rec), k)
		})
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
	k := joinKey(c.OrganizationID, c.ID)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketConns), k, func(rec *connRecord, found bool) (change, error) {
			switch {
			case !found:
				return keep, connectors.Errorf(connectors.ENotFound, "connection %s not found", c.ID)
			case rec.Version != c.Version:
				return keep, connectors.Errorf(connectors.EConflict, "connection %s was changed by someone else (version %d is stale)", c.ID, c.Version)
			}
			if err := claimOwner(tx, c); err != nil {
				return keep, err
			}
			// The owner or connector may change: move the index entry.
			byUser := tx.Bucket(bucketByUser)
			if err := byUser.Delete(userKey(rec)); err != nil {
				return keep, err
			}
			*rec = newConnRecord(c, c.Version+1)
			return write, byUser.Put(userKey(rec), k)
		})
	})
	if err != nil {
		return wrap(err, "update connection %s", c.ID)
	}
	c.Version++
	return nil
}

// GetConnection implements connectors.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, orgID, id string) (*connectors.Connection, error) {
	var rec connRecord
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketConns), joinKey(orgID, id), &rec)
		return err
	})
	if err != nil {
		return nil, wrap(err, "get connection %s", id)
	}
	// An id with sep could otherwise address another organization's key.
	if !found || rec.OrganizationID != orgID || rec.ID != id {
		return nil, connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	}
	return rec.connection(), nil
}

// DeleteConnection implements connectors.ConnectionStore. The record, its
// index entry and its owner go in one transaction.
func (s *Store) DeleteConnection(ctx context.Context, orgID, id string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketConns), joinKey(orgID, id), func(rec *connRecord, found bool) (change, error) {
			if !found || rec.OrganizationID != orgID || rec.ID != id {
				return keep, nil
			}
			if err := tx.Bucket(bucketByUser).Delete(userKey(rec)); err != nil {
				return keep, err
			}
			return remove, releaseOwner(tx, rec.connection())
		})
	})
	return wrap(err, "delete connection %s", id)
}

// ListConnections implements connectors.ConnectionStore: a prefix scan of
// the user index (narrowed by connector when one is given) for a plain
// listing of one user's connections, of the organization's connections for
// every other one (the whole organization, its shared connections, or a
// user's own and the shared ones). f.Selects keeps what f selects.
func (s *Store) ListConnections(ctx context.Context, f connectors.ConnectionFilter) (connectors.ConnectionPage, error) {
	if err := f.Validate(); err != nil {
		return connectors.ConnectionPage{}, err
	}
	q := connQuery{scope: f.CursorScope(), bucket: bucketConns, prefix: prefixKey(f.OrganizationID), match: f.Selects}
	if f.UserID != "" && !f.IncludeShared && !f.SharedOnly {
		q.bucket, q.prefix = bucketByUser, prefixKey(f.OrganizationID, f.UserID)
		if f.Connector != "" {
			q.prefix = prefixKey(f.OrganizationID, f.UserID, f.Connector)
		}
	}
	page, err := s.listConnections(ctx, q, connectors.PageSize(f.Limit), f.Cursor)
	if err != nil {
		return connectors.ConnectionPage{}, wrap(err, "list connections of %s", f.OrganizationID)
	}
	return page, nil
}
