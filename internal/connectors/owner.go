package connectors

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ProviderConnection names a connection as its auth provider knows it: the
// provider, the integration (providerConfigKey) and the provider's own
// connection id. One provider connection belongs to exactly one
// organization and user for its whole life; stores enforce it with an
// ownership record written in the same transaction as the connection.
type ProviderConnection struct {
	AuthProvider      AuthProvider
	ProviderConfigKey string
	ConnectionID      string
}

// Key is the provider connection as one string; its parts are joined with
// NUL, which no valid id holds, so two different triples never collide.
func (p ProviderConnection) Key() string {
	return string(p.AuthProvider) + "\x00" + p.ProviderConfigKey + "\x00" + p.ConnectionID
}

// ProviderConnection returns who holds c at its provider. A connection's id
// is its provider's connection id (Nango's connectionId; for the built-in
// OAuth, the id this service gave it).
func (c *Connection) ProviderConnection() ProviderConnection {
	return ProviderConnection{AuthProvider: c.AuthProvider, ProviderConfigKey: c.ProviderConfigKey, ConnectionID: c.ID}
}

// Owner is the one record that holds a provider connection.
type Owner struct {
	OrganizationID string
	UserID         string
	ConnectionID   string // the record's id in its organization
}

// OwnerStore answers who holds a provider connection. Owners are written and
// removed only together with their connection (CreateConnection,
// DeleteConnection); CreateConnection refuses a provider connection that
// another record holds with an ErrOwned error.
type OwnerStore interface {
	// GetOwner returns the owner of pc, or an ErrNotFound error when no
	// record holds it.
	GetOwner(ctx context.Context, pc ProviderConnection) (Owner, error)
}

// MaxIDLength bounds user, organization and connection ids: Nango's tags,
// which carry them, hold at most 255 characters.
const MaxIDLength = 255

// ValidID reports whether s can be a user, organization or connection id:
// 1 to MaxIDLength bytes of valid UTF-8 with no control character (NUL
// separates the parts of the stores' keys).
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLength || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}
