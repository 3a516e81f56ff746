package connectors

import (
	"context"
	"slices"
	"strconv"
	"time"
)

// Status is the health of a connection.
type Status string

// Connection statuses.
const (
	StatusActive         Status = "active"
	StatusRefreshFailed  Status = "refresh_failed"
	StatusReauthRequired Status = "reauth_required"
	StatusRevoked        Status = "revoked"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusRefreshFailed, StatusReauthRequired, StatusRevoked:
		return true
	}
	return false
}

// Principal is the authenticated caller of the HTTP API.
type Principal struct {
	UserID         string
	OrganizationID string
	Roles          []string
}

// IsAdmin reports whether the principal administers its organization.
func (p Principal) IsAdmin() bool { return slices.Contains(p.Roles, "admin") }

// Connection is one user's link to a third-party app. It never holds a token
// in plaintext: SealedToken is the token cache sealed with the
// organization and connection id as associated data.
type Connection struct {
	ID                string
	OrganizationID    string
	UserID            string // the owner
	Connector         string // registry id, e.g. "slack"
	AuthProvider      AuthProvider
	ProviderConfigKey string
	Status            Status
	Scopes            []string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastRefreshedAt   time.Time // zero when never refreshed
	ExpiresAt         time.Time // access token expiry; zero when unknown
	Version           int64     // optimistic locking: bumped by every update
	SealedToken       []byte    // sealed token cache; nil when the provider holds the token
	// Label is the user's name for the connection ("Stripe live key");
	// optional, never a secret.
	Label string
	// Shared is set when an organization admin shares the connection with
	// the organization: its members' workflows may use it (routing step
	// 3), and they see it read-only.
	Shared bool
	// CheckAt is when the connection's credentials are next tested at
	// the provider (API keys, which have no expiry to watch); zero when
	// the token's expiry drives the checks.
	CheckAt time.Time
}

// UsableBy reports whether p's workflows may use c: p owns it, or c is
// shared with p's organization. An admin's seeing a connection
// (OwnedBy) does not make it theirs to run with.
func (c *Connection) UsableBy(p Principal) bool {
	return c.OrganizationID == p.OrganizationID && (c.UserID == p.UserID || c.Shared)
}

// VisibleTo reports whether p may see c: p manages it (OwnedBy), or it is
// shared with p's organization, read-only.
func (c *Connection) VisibleTo(p Principal) bool {
	return c.OwnedBy(p) || (c.OrganizationID == p.OrganizationID && c.Shared)
}

// OwnedBy reports whether p may see and manage c: its owner, or an admin of
// its organization.
func (c *Connection) OwnedBy(p Principal) bool {
	if c.OrganizationID != p.OrganizationID {
		return false
	}
	return c.UserID == p.UserID || p.IsAdmin()
}

// OAuthState is the server-side half of an authorize -> callback round trip.
// It is single use: a store consumes it at most once.
type OAuthState struct {
	Nonce          string
	OrganizationID string
	UserID         string
	Connector      string
	AuthProvider   AuthProvider
	RedirectURI    string
	ConnectionID   string // set when reconnecting an existing connection
	SealedVerifier []byte // PKCE verifier of the built-in OAuth, sealed
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// IdempotencyStatus tells whether an idempotent operation is running or done.
type IdempotencyStatus string

// Idempotency statuses.
const (
	IdempotencyInProgress IdempotencyStatus = "in_progress"
	IdempotencyCompleted  IdempotencyStatus = "completed"
)

// IdempotencyRecord remembers an executor result under its idempotency key so
// that a retry never repeats a write.
type IdempotencyRecord struct {
	Key        string
	Owner      string // who holds the lease while in progress
	Status     IdempotencyStatus
	Result     []byte // the recorded output, JSON, once completed
	LeaseUntil time.Time
	CreatedAt  time.Time
	ExpiresAt  time.Time // TTL: 24 h after creation
}

// AuditEvent records who did what to which connection. It never holds a token.
type AuditEvent struct {
	ID             string
	OrganizationID string
	ActorUserID    string // "" for system actors (webhook, sweeper)
	Actor          string // "user", "nango-webhook", "sweeper", "executor"
	Action         string // "authorize", "callback", "refresh", "delete", "webhook", ...
	ConnectionID   string
	Connector      string
	Outcome        string // "success" or an error code
	Detail         string
	Time           time.Time
}

// ConnectionFilter selects connections for listing. An empty UserID lists the
// whole organization (for admins).
type ConnectionFilter struct {
	OrganizationID string
	UserID         string
	Connector      string
	Status         Status
	// IncludeShared adds, to UserID's own connections, those shared with
	// the organization (a member's listing).
	IncludeShared bool
	// SharedOnly selects only the connections shared with the
	// organization (routing step 3 looks for one).
	SharedOnly bool
	Limit      int    // page size; adapters cap it
	Cursor     string // opaque, from a previous page
}

// ConnectionPage is one page of a listing. NextCursor is "" on the last page.
type ConnectionPage struct {
	Connections []*Connection
	NextCursor  string
}

// ConnectionStore keeps connection records.
type ConnectionStore interface {
	// CreateConnection stores c if no connection with its organization and id
	// exists; otherwise it returns an ErrConflict error. It sets c.Version to 1.
	CreateConnection(ctx context.Context, c *Connection) error
	// UpdateConnection replaces c if the stored version equals c.Version, then
	// bumps c.Version; a mismatch or a missing record is an ErrConflict /
	// ErrNotFound error, never a silent overwrite.
	UpdateConnection(ctx context.Context, c *Connection) error
	// GetConnection returns the connection or an ErrNotFound error.
	GetConnection(ctx context.Context, orgID, id string) (*Connection, error)
	// DeleteConnection removes the connection; deleting a missing one is not an error.
	DeleteConnection(ctx context.Context, orgID, id string) error
	// ListConnections returns a page of the connections f selects.
	ListConnections(ctx context.Context, f ConnectionFilter) (ConnectionPage, error)
}

// StateStore keeps OAuth states.
type StateStore interface {
	// CreateState stores s; a nonce that exists is an ErrConflict error.
	CreateState(ctx context.Context, s *OAuthState) error
	// ConsumeState deletes and returns the state. A missing, already consumed
	// or expired state is an ErrInvalidState error.
	ConsumeState(ctx context.Context, nonce string) (*OAuthState, error)
	// GetState returns the state without consuming it. A missing, consumed
	// or expired state is an ErrInvalidState error.
	GetState(ctx context.Context, nonce string) (*OAuthState, error)
}

// IdempotencyStore records executor results.
type IdempotencyStore interface {
	// BeginIdempotent claims key for owner for lease. If the key is free, or
	// in progress with an expired lease, it is claimed and the returned record
	// has Status IdempotencyInProgress and Owner owner. If it is completed, the
	// completed record is returned. If another owner's lease is live, the error
	// is an ErrConflict error.
	BeginIdempotent(ctx context.Context, key, owner string, lease time.Duration) (*IdempotencyRecord, error)
	// CompleteIdempotent records result under key if owner still holds it;
	// otherwise it returns an ErrConflict error.
	CompleteIdempotent(ctx context.Context, key, owner string, result []byte) error
	// GetIdempotent returns the record or an ErrNotFound error.
	GetIdempotent(ctx context.Context, key string) (*IdempotencyRecord, error)
	// ReleaseIdempotent gives key back if owner holds it in progress (the
	// work failed and may be retried); otherwise it does nothing.
	ReleaseIdempotent(ctx context.Context, key, owner string) error
}

// AuditLog keeps audit events.
type AuditLog interface {
	// AppendAudit stores e (it sets ID and Time when empty).
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns an organization's events, oldest first, at most limit.
	ListAudit(ctx context.Context, orgID string, limit int) ([]AuditEvent, error)
}

// Store is everything the service keeps, as one adapter provides it.
type Store interface {
	ConnectionStore
	StateStore
	IdempotencyStore
	AuditLog
	ExecutionLog
	LeaseStore
	SweepStore
	OwnerStore
	DataKeyStore
}

// LeaseStore hands out short exclusive leases, so that one container at a time
// does a piece of work (refreshing one connection's token).
type LeaseStore interface {
	// AcquireLease takes the lease name for owner until ttl passes. It succeeds
	// when the lease is free, expired, or already owner's; otherwise it returns
	// an ErrConflict error.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error
	// ReleaseLease gives the lease up if owner holds it; otherwise it does nothing.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// SweepStore finds connections that need attention, across organizations.
type SweepStore interface {
	// ListDueConnections returns connections whose ExpiresAt or CheckAt is
	// non-zero and before `before`, or whose status is StatusRefreshFailed, at most limit
	// per page, continuing from cursor ("" for the first page).
	ListDueConnections(ctx context.Context, before time.Time, limit int, cursor string) (ConnectionPage, error)
	// SweepCursor returns where the last sweep stopped: the cursor the
	// next one continues from, "" to start at the beginning.
	SweepCursor(ctx context.Context) (string, error)
	// SaveSweepCursor records where the next sweep continues.
	SaveSweepCursor(ctx context.Context, cursor string) error
}

// Page sizes of a connection listing.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// PageSize is the page size an adapter uses for a requested limit.
func PageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

// Validate checks a filter before an adapter runs it.
func (f ConnectionFilter) Validate() error {
	if f.OrganizationID == "" {
		return Errorf(EInvalid, "organization is required")
	}
	if f.Status != "" && !f.Status.Valid() {
		return Errorf(EInvalid, "unknown status %q", f.Status)
	}
	if f.IncludeShared && (f.UserID == "" || f.SharedOnly) {
		return Errorf(EInvalid, "IncludeShared adds shared connections to one user's, and SharedOnly lists only them")
	}
	return nil
}

// Selects reports whether f selects c, paging aside: the rule both stores
// apply, in code (the embedded store) or in their query (DynamoDB).
func (f ConnectionFilter) Selects(c *Connection) bool {
	switch {
	case c.OrganizationID != f.OrganizationID:
		return false
	case f.Connector != "" && c.Connector != f.Connector:
		return false
	case f.Status != "" && c.Status != f.Status:
		return false
	case f.SharedOnly:
		return c.Shared
	case f.UserID == "":
		return true
	}
	return c.UserID == f.UserID || (f.IncludeShared && c.Shared)
}

// CursorScope is what a page cursor of this listing is bound to: a cursor
// sealed under one scope opens under no other, so it cannot be replayed
// against another organization, user or filter.
func (f ConnectionFilter) CursorScope() []string {
	return []string{"connections", f.OrganizationID, f.UserID, f.Connector, string(f.Status), strconv.FormatBool(f.IncludeShared), strconv.FormatBool(f.SharedOnly)}
}
