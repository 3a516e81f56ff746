package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

// connItem is a connection as stored. It has no AttrTTL: DynamoDB's TTL
// would otherwise delete connections.
type connItem struct {
	PK                string                  `dynamodbav:"PK"`
	SK                string                  `dynamodbav:"SK"`
	GSI1PK            string                  `dynamodbav:"GSI1PK"`
	GSI1SK            string                  `dynamodbav:"GSI1SK"`
	ID                string                  `dynamodbav:"id"`
	OrganizationID    string                  `dynamodbav:"organizationId"`
	UserID            string                  `dynamodbav:"userId"`
	Connector         string                  `dynamodbav:"connector"`
	AuthProvider      connectors.AuthProvider `dynamodbav:"authProvider"`
	ProviderConfigKey string                  `dynamodbav:"providerConfigKey"`
	Status            string                  `dynamodbav:"status"`
	Scopes            []string                `dynamodbav:"scopes"`
	CreatedAt         string                  `dynamodbav:"createdAt"`
	UpdatedAt         string                  `dynamodbav:"updatedAt"`
	LastRefreshedAt   string                  `dynamodbav:"lastRefreshedAt,omitempty"`
	ExpiresAt         string                  `dynamodbav:"expiresAt,omitempty"`
	Version           int64                   `dynamodbav:"version"`
	SealedToken       []byte                  `dynamodbav:"sealedToken,omitempty"`
	// Label, shared and checkAt are left out when empty: no label, not
	// shared (a filter on shared = true skips the item), no check due
	// (the due scan's checkAt comparison fails).
	Label   string `dynamodbav:"label,omitempty"`
	Shared  bool   `dynamodbav:"shared,omitempty"`
	CheckAt string `dynamodbav:"checkAt,omitempty"`
}

func newConnItem(c *connectors.Connection, version int64) connItem {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{} // a list, never NULL
	}
	return connItem{
		PK:                orgPK(c.OrganizationID),
		SK:                connSK(c.ID),
		GSI1PK:            userPK(c.OrganizationID, c.UserID),
		GSI1SK:            userSK(c.Connector, c.ID),
		ID:                c.ID,
		OrganizationID:    c.OrganizationID,
		UserID:            c.UserID,
		Connector:         c.Connector,
		AuthProvider:      c.AuthProvider,
		ProviderConfigKey: c.ProviderConfigKey,
		Status:            string(c.Status),
		Scopes:            scopes,
		CreatedAt:         formatTime(c.CreatedAt),
		UpdatedAt:         formatTime(c.UpdatedAt),
		LastRefreshedAt:   formatTime(c.LastRefreshedAt),
		ExpiresAt:         formatTime(c.ExpiresAt),
		Version:           version,
		SealedToken:       c.SealedToken,
		Label:             c.Label,
		Shared:            c.Shared,
		CheckAt:           formatTime(c.CheckAt),
	}
}

func (it *connItem) connection() (*connectors.Connection, error) {
	c := &connectors.Connection{
		ID:                it.ID,
		OrganizationID:    it.OrganizationID,
		UserID:            it.UserID,
		Connector:         it.Connector,
		AuthProvider:      it.AuthProvider,
		ProviderConfigKey: it.ProviderConfigKey,
		Status:            connectors.Status(it.Status),
		Scopes:            it.Scopes,
		Version:           it.Version,
		SealedToken:       it.SealedToken,
		Label:             it.Label,
		Shared:            it.Shared,
	}
	if err := parseTimes(
		storedTime{&c.CreatedAt, it.CreatedAt}, storedTime{&c.UpdatedAt, it.UpdatedAt},
		storedTime{&c.LastRefreshedAt, it.LastRefreshedAt}, storedTime{&c.ExpiresAt, it.ExpiresAt},
		storedTime{&c.CheckAt, it.CheckAt},
	); err != nil {
		return nil, fmt.Errorf("connection %s: %w", it.ID, err)
	}
	return c, nil
}

func decodeConnection(item map[string]types.AttributeValue) (*connectors.Connection, error) {
	var it connItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode connection: %w", err)
	}
	return it.connection()
}

// CreateConnection implements connectors.ConnectionStore. An empty Status
// becomes StatusActive; zero CreatedAt/UpdatedAt become now.
func (s *Store) CreateConnection(ctx context.Context, c *connectors.Connection) error {
	if err := c.PrepareNew(time.Now()); err != nil {
		return err
	}
	connFailed, ownerFailed, err := s.writeWithOwner(ctx, c, newConnItem(c, 1), expression.AttributeNotExists(expression.Name(AttrPK)))
	switch {
	case err != nil:
		return wrapErr(err, "create connection %s", c.ID)
	case connFailed:
		return connectors.Errorf(connectors.EConflict, "connection %s already exists", c.ID)
	case ownerFailed:
		return connectors.Errorf(connectors.EOwned, "provider connection %s is held by another record", c.ID)
	}
	c.Version = 1
	return nil
}

// UpdateConnection implements connectors.ConnectionStore.
func (s *Store) UpdateConnection(ctx context.Context, c *connectors.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name(attrVersion).Equal(expression.Value(c.Version)))
	connFailed, ownerFailed, err := s.writeWithOwner(ctx, c, newConnItem(c, c.Version+1), cond)
	switch {
	case err != nil:
		return wrapErr(err, "update connection %s", c.ID)
	case connFailed:
		// Not every emulator returns the old item: look.
		if _, err := s.GetConnection(ctx, c.OrganizationID, c.ID); errors.Is(err, connectors.ErrNotFound) {
			return connectors.Errorf(connectors.ENotFound, "connection %s not found", c.ID)
		} else if err != nil {
			return wrapErr(err, "update connection %s", c.ID)
		}
		return connectors.Errorf(connectors.EConflict, "connection %s was changed by someone else (version %d is stale)", c.ID, c.Version)
	case ownerFailed:
		return connectors.Errorf(connectors.EOwned, "provider connection %s is held by another record", c.ID)
	}
	c.Version++
	return nil
}

// GetConnection implements connectors.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, orgID, id string) (*connectors.Connection, error) {
	item, err := s.getItem(ctx, itemKey(orgPK(orgID), connSK(id)))
	if err != nil {
		return nil, wrapErr(err, "get connection %s", id)
	}
	if len(item) == 0 {
		return nil, connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	}
	c, err := decodeConnection(item)
	if err != nil {
		return nil, wrapErr(err, "get connection %s", id)
	}
	return c, nil
}

// DeleteConnection implements connectors.ConnectionStore. The record and
// its owner item go in one transaction, so the provider connection is free
// exactly when no record holds it.
func (s *Store) DeleteConnection(ctx context.Context, orgID, id string) error {
	for range 5 {
		c, err := s.GetConnection(ctx, orgID, id)
		if errors.Is(err, connectors.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		stale, err := s.deleteWithOwner(ctx, c)
		if err != nil {
			return wrapErr(err, "delete connection %s", id)
		}
		if !stale {
			return nil
		}
	}
	return connectors.Errorf(connectors.EConflict, "connection %s is being changed concurrently; try again", id)
}

// ListConnections implements connectors.ConnectionStore. A plain listing
// of one user's connections queries GSI1 (a connector filter narrows the
// sort key). Every other listing queries the organization's partition: the
// whole organization, its shared connections (SharedOnly), or a user's own
// and the shared ones (IncludeShared), which no single GSI1 partition
// holds; a filter keeps what f selects. Pages hold
// connectors.DefaultPageSize connections unless f.Limit says otherwise, at
// most connectors.MaxPageSize.
func (s *Store) ListConnections(ctx context.Context, f connectors.ConnectionFilter) (connectors.ConnectionPage, error) {
	if err := f.Validate(); err != nil {
		return connectors.ConnectionPage{}, err
	}
	q := connQuery{scope: f.CursorScope(), keyAttrs: []string{AttrPK, AttrSK}}
	var filters []expression.ConditionBuilder
	shared := expression.Name(attrShared).Equal(expression.Value(true))
	switch {
	case f.UserID != "" && !f.IncludeShared && !f.SharedOnly:
		prefix := prefixConn
		if f.Connector != "" {
			prefix = userSK(f.Connector, "")
		}
		q.index = IndexGSI1
		q.keyCond = expression.Key(AttrGSI1PK).Equal(expression.Value(userPK(f.OrganizationID, f.UserID))).
			And(expression.Key(AttrGSI1SK).BeginsWith(prefix))
		q.keyAttrs = append(q.keyAttrs, AttrGSI1PK, AttrGSI1SK)
		// GSI1PK joins org and user with '#', which ids may contain: the
		// filter keeps ("a#b", "c") out of ("a", "b#c")'s listing.
		filters = append(filters,
			expression.Name(attrOrg).Equal(expression.Value(f.OrganizationID)),
			expression.Name(attrUser).Equal(expression.Value(f.UserID)))
	default:
		q.keyCond = expression.Key(AttrPK).Equal(expression.Value(orgPK(f.OrganizationID))).
			And(expression.Key(AttrSK).BeginsWith(prefixConn))
		switch {
		case f.SharedOnly:
			filters = append(filters, shared)
		case f.IncludeShared:
			filters = append(filters, expression.Name(attrUser).Equal(expression.Value(f.UserID)).Or(shared))
		}
	}
	if f.Connector != "" {
		filters = append(filters, expression.Name(attrConnector).Equal(expression.Value(f.Connector)))
	}
	if f.Status != "" {
		filters = append(filters, expression.Name(attrStatus).Equal(expression.Value(string(f.Status))))
	}
	if len(filters) > 0 {
		q.filter = and(filters)
	}
	page, err := s.listConnections(ctx, q, connectors.PageSize(f.Limit), f.Cursor)
	if err != nil {
		return connectors.ConnectionPage{}, wrapErr(err, "list connections of %s", f.OrganizationID)
	}
	return page, nil
}
