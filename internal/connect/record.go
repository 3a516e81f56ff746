package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// record makes the record of a connection the provider granted exist and
// be active. The callback and the webhook both call it, so whichever comes
// first, the end state is the same; the same connection twice is one
// record. id names a connection being reconnected; a grant that names its
// own connection id is recorded under it.
func (s *Service) record(ctx context.Context, orgID, userID, id string, m registry.Manifest, provider connectors.AuthProvider, g *connectors.Grant) (*connectors.Connection, error) {
	if g.ConnectionID != "" {
		id = g.ConnectionID
	}
	if id == "" {
		id = newID()
	}
	var sealed []byte
	if g.Token != nil {
		var err error
		if sealed, err = s.tokens.SealToken(ctx, orgID, id, *g.Token); err != nil {
			return nil, err
		}
	}
	now := s.now()
	return s.upsert(ctx, orgID, id, userID, func(c *connectors.Connection) {
		c.Connector = m.ID
		c.AuthProvider = provider
		c.ProviderConfigKey = g.ProviderConfigKey
		if c.ProviderConfigKey == "" {
			c.ProviderConfigKey = m.ProviderConfigKey
		}
		c.Scopes = slices.Clone(m.Scopes)
		c.Status = connectors.StatusActive
		switch {
		case g.Token != nil:
			c.SealedToken = sealed
			c.ExpiresAt = g.Token.Expiry
			c.LastRefreshedAt = now
			c.CheckAt = g.CheckAt
		case !g.ExpiresAt.IsZero():
			// A webhook carries no credentials: keep what is known.
			c.ExpiresAt = g.ExpiresAt
		}
	})
}

// upsert creates or updates one connection with optimistic locking,
// retrying a lost race. A record owned by another user is never taken over,
// and a provider connection another record holds is refused (ErrOwned). An
// update that would change nothing is not written, so that concurrent
// deliveries of one event all agree instead of racing for versions.
func (s *Service) upsert(ctx context.Context, orgID, id, userID string, apply func(*connectors.Connection)) (*connectors.Connection, error) {
	for range 5 {
		now := s.now()
		c, err := s.store.GetConnection(ctx, orgID, id)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			c = &connectors.Connection{ID: id, OrganizationID: orgID, UserID: userID, CreatedAt: now, UpdatedAt: now}
			apply(c)
			err = s.store.CreateConnection(ctx, c)
		case err != nil:
			return nil, fmt.Errorf("load connection %s: %w", id, err)
		case c.UserID != userID:
			return nil, connectors.Errorf(connectors.EForbidden, "the connection belongs to another user")
		default:
			before := *c
			apply(c)
			if sameRecord(&before, c) {
				return c, nil
			}
			c.UpdatedAt = now
			err = s.store.UpdateConnection(ctx, c)
		}
		if errors.Is(err, connectors.ErrConflict) {
			continue
		}
		if errors.Is(err, connectors.ErrOwned) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("save connection %s: %w", id, err)
		}
		return c, nil
	}
	return nil, connectors.Errorf(connectors.EConflict, "connection %s is being changed concurrently; try again", id)
}

// sameRecord reports whether b says what a says, bookkeeping aside.
func sameRecord(a, b *connectors.Connection) bool {
	return a.Connector == b.Connector && a.AuthProvider == b.AuthProvider &&
		a.ProviderConfigKey == b.ProviderConfigKey && a.Status == b.Status &&
		slices.Equal(a.Scopes, b.Scopes) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.LastRefreshedAt.Equal(b.LastRefreshedAt) && bytes.Equal(a.SealedToken, b.SealedToken) &&
		a.Label == b.Label && a.Shared == b.Shared && a.CheckAt.Equal(b.CheckAt)
}
