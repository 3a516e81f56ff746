package dynamostore

import (
	"fmt"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// Key prefixes of the single-table design (DESIGN §4).
const (
	prefixOrg   = "ORG#"
	prefixConn  = "CONN#"
	prefixUser  = "USER#"
	prefixState = "STATE#"
	prefixIdemp = "IDEMP#"
	prefixAudit = "AUDIT#"
	prefixLease = "LEASE#"

	skState = "STATE"
	skIdemp = "IDEMP"
	skLease = "LEASE"
)

// Non-key attribute names used in expressions.
const (
	attrVersion    = "version"
	attrStatus     = "status"
	attrExpiresAt  = "expiresAt"
	attrOrg        = "organizationId"
	attrUser       = "userId"
	attrConnector  = "connector"
	attrOwner      = "owner"
	attrLeaseUntil = "leaseUntil"
	attrResult     = "result"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction, in UTC. Fixed
// width matters: the table compares times as strings (expiry filters, lease
// conditions, audit sort keys), and time.RFC3339Nano trims trailing zeros, so
// "…:05Z" would sort after "…:05.5Z".
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// epoch is a TTL value: whole seconds, rounded up so that an item is never
// deleted before it expires.
func epoch(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func orgPK(orgID string) string          { return prefixOrg + orgID }
func connSK(id string) string            { return prefixConn + id }
func userPK(orgID, userID string) string { return prefixUser + orgID + "#" + userID }
func userSK(connector, id string) string { return prefixConn + connector + "#" + id }

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
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{
		{&c.CreatedAt, it.CreatedAt},
		{&c.UpdatedAt, it.UpdatedAt},
		{&c.LastRefreshedAt, it.LastRefreshedAt},
		{&c.ExpiresAt, it.ExpiresAt},
	} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return nil, fmt.Errorf("connection %s: %w", it.ID, err)
		}
	}
	return c, nil
}

type stateItem struct {
	PK             string                  `dynamodbav:"PK"`
	SK             string                  `dynamodbav:"SK"`
	Nonce          string                  `dynamodbav:"nonce"`
	OrganizationID string                  `dynamodbav:"organizationId"`
	UserID         string                  `dynamodbav:"userId"`
	Connector      string                  `dynamodbav:"connector"`
	AuthProvider   connectors.AuthProvider `dynamodbav:"authProvider"`
	RedirectURI    string                  `dynamodbav:"redirectUri"`
	ConnectionID   string                  `dynamodbav:"connectionId"`
	SealedVerifier []byte                  `dynamodbav:"sealedVerifier,omitempty"`
	CreatedAt      string                  `dynamodbav:"createdAt"`
	ExpiresAt      string                  `dynamodbav:"expiresAt"`
	ExpiresAtEpoch int64                   `dynamodbav:"expiresAtEpoch"`
}

func (it *stateItem) state() (*connectors.OAuthState, error) {
	created, err := parseTime(it.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	expires, err := parseTime(it.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return &connectors.OAuthState{
		Nonce:          it.Nonce,
		OrganizationID: it.OrganizationID,
		UserID:         it.UserID,
		Connector:      it.Connector,
		AuthProvider:   it.AuthProvider,
		RedirectURI:    it.RedirectURI,
		ConnectionID:   it.ConnectionID,
		SealedVerifier: it.SealedVerifier,
		CreatedAt:      created,
		ExpiresAt:      expires,
	}, nil
}

type idempItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	Key            string `dynamodbav:"key"`
	Owner          string `dynamodbav:"owner"`
	Status         string `dynamodbav:"status"`
	Result         []byte `dynamodbav:"result,omitempty"`
	LeaseUntil     string `dynamodbav:"leaseUntil"`
	CreatedAt      string `dynamodbav:"createdAt"`
	ExpiresAt      string `dynamodbav:"expiresAt"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
}

func (it *idempItem) record() (*connectors.IdempotencyRecord, error) {
	r := &connectors.IdempotencyRecord{
		Key:    it.Key,
		Owner:  it.Owner,
		Status: connectors.IdempotencyStatus(it.Status),
		Result: it.Result,
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{
		{&r.LeaseUntil, it.LeaseUntil},
		{&r.CreatedAt, it.CreatedAt},
		{&r.ExpiresAt, it.ExpiresAt},
	} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return nil, fmt.Errorf("idempotency record %s: %w", it.Key, err)
		}
	}
	return r, nil
}

type auditItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	ID             string `dynamodbav:"id"`
	OrganizationID string `dynamodbav:"organizationId"`
	ActorUserID    string `dynamodbav:"actorUserId"`
	Actor          string `dynamodbav:"actor"`
	Action         string `dynamodbav:"action"`
	ConnectionID   string `dynamodbav:"connectionId"`
	Connector      string `dynamodbav:"connector"`
	Outcome        string `dynamodbav:"outcome"`
	Detail         string `dynamodbav:"detail"`
	Time           string `dynamodbav:"time"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
}

type leaseItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	Name           string `dynamodbav:"name"`
	Owner          string `dynamodbav:"owner"`
	LeaseUntil     string `dynamodbav:"leaseUntil"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
}
