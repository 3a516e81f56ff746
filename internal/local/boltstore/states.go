package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

type stateRecord struct {
	Nonce          string                  `json:"nonce"`
	OrganizationID string                  `json:"organizationId"`
	UserID         string                  `json:"userId"`
	Connector      string                  `json:"connector"`
	AuthProvider   connectors.AuthProvider `json:"authProvider"`
	RedirectURI    string                  `json:"redirectUri"`
	ConnectionID   string                  `json:"connectionId"`
	SealedVerifier []byte                  `json:"sealedVerifier,omitempty"`
	CreatedAt      time.Time               `json:"createdAt"`
	ExpiresAt      time.Time               `json:"expiresAt"`
}

// state returns the state, or an EInvalidState error once it expired:
// expired records stay in the file until the next Open purges them.
func (rec *stateRecord) state() (*connectors.OAuthState, error) {
	if !time.Now().Before(rec.ExpiresAt) {
		return nil, connectors.Errorf(connectors.EInvalidState, "state expired")
	}
	return &connectors.OAuthState{
		Nonce: rec.Nonce, OrganizationID: rec.OrganizationID, UserID: rec.UserID, Connector: rec.Connector,
		AuthProvider: rec.AuthProvider, RedirectURI: rec.RedirectURI, ConnectionID: rec.ConnectionID,
		SealedVerifier: rec.SealedVerifier, CreatedAt: utc(rec.CreatedAt), ExpiresAt: utc(rec.ExpiresAt),
	}, nil
}

// CreateState implements connectors.StateStore. A zero CreatedAt becomes
// now; a zero ExpiresAt becomes CreatedAt plus connectors.DefaultStateTTL.
func (s *Store) CreateState(ctx context.Context, st *connectors.OAuthState) error {
	if err := st.PrepareNew(time.Now()); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketStates), []byte(st.Nonce), func(rec *stateRecord, found bool) (change, error) {
			if found {
				return keep, connectors.Errorf(connectors.EConflict, "state already exists")
			}
			*rec = stateRecord{
				Nonce: st.Nonce, OrganizationID: st.OrganizationID, UserID: st.UserID, Connector: st.Connector,
				AuthProvider: st.AuthProvider, RedirectURI: st.RedirectURI, ConnectionID: st.ConnectionID,
				SealedVerifier: st.SealedVerifier, CreatedAt: st.CreatedAt.UTC(), ExpiresAt: st.ExpiresAt.UTC(),
			}
			return write, nil
		})
	})
	return wrap(err, "create state")
}

// ConsumeState implements connectors.StateStore: the read and the delete
// are one transaction, so of concurrent consumers exactly one gets it.
func (s *Store) ConsumeState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	var got stateRecord
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketStates), []byte(nonce), func(rec *stateRecord, found bool) (change, error) {
			if !found {
				return keep, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
			}
			got = *rec
			return remove, nil
		})
	})
	if err != nil {
		return nil, wrap(err, "consume state")
	}
	return got.state()
}

// GetState implements connectors.StateStore.
func (s *Store) GetState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	var rec stateRecord
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bucketStates), []byte(nonce), &rec)
		return err
	})
	if err != nil {
		return nil, wrap(err, "get state")
	}
	if !found {
		return nil, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
	}
	return rec.state()
}
