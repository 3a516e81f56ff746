package connectors

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The record rules every store applies before it writes. They live here,
// once, so that the deployed and the embedded store refuse the same records
// with the same errors. Messages name the fault, never a value that may be
// secret (a nonce, a token, a wrapped key).

// nul separates the parts of the embedded store's keys; no id may hold it,
// or two different records could share a key.
const nul = "\x00"

// Validate reports whether c can be stored: it needs an id, organization,
// user and connector, no NUL in any id, and a known status. A store sets the
// default status before it validates.
func (c *Connection) Validate() error {
	switch {
	case c.ID == "" || c.OrganizationID == "" || c.UserID == "" || c.Connector == "":
		return Errorf(EInvalid, "connection needs an id, organization, user and connector")
	case strings.Contains(c.ID+c.OrganizationID+c.UserID+c.Connector+string(c.AuthProvider)+c.ProviderConfigKey, nul):
		return Errorf(EInvalid, "connection ids may not contain NUL")
	case !c.Status.Valid():
		return Errorf(EInvalid, "unknown status %q", c.Status)
	}
	return ValidLabel(c.Label)
}

// MaxLabelLength bounds a connection's label, in bytes.
const MaxLabelLength = 100

// ValidLabel checks a connection's label: at most MaxLabelLength bytes of
// valid UTF-8 on one line; "" is no label.
func ValidLabel(s string) error {
	if len(s) > MaxLabelLength || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return Errorf(EInvalid, "label must be at most %d bytes of text on one line", MaxLabelLength)
	}
	return nil
}

// Validate reports whether s can be stored: it needs a nonce.
func (s *OAuthState) Validate() error {
	if s.Nonce == "" {
		return Errorf(EInvalid, "state nonce is required")
	}
	return nil
}

// Validate reports whether e can be stored: it needs an organization with no
// NUL, because events are kept per organization.
func (e *AuditEvent) Validate() error {
	if e.OrganizationID == "" || strings.Contains(e.OrganizationID, nul) {
		return Errorf(EInvalid, "audit event needs a valid organization")
	}
	return nil
}

// Validate reports whether k can be stored: it needs an organization and an
// id with no NUL, and the wrapped key bytes.
func (k *DataKey) Validate() error {
	switch {
	case k.OrganizationID == "" || k.ID == "" || len(k.Wrapped) == 0:
		return Errorf(EInvalid, "a data key needs an organization, an id and wrapped bytes")
	case strings.Contains(k.OrganizationID+k.ID, nul):
		return Errorf(EInvalid, "data key ids may not contain NUL")
	}
	return nil
}

// PrepareNew readies a connection a store is about to create: status
// active unless set, creation and update times now unless set; then it
// validates it.
func (c *Connection) PrepareNew(now time.Time) error {
	if c.Status == "" {
		c.Status = StatusActive
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now.UTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	return nil
}

// Audit retention: stores keep an event this long, and one ListAudit call
// returns at most MaxAuditList events.
const (
	AuditRetention = 90 * 24 * time.Hour
	MaxAuditList   = 1000
)

// DefaultStateTTL is how long an OAuth state lives when its creator sets
// no expiry: an authorize -> callback round trip.
const DefaultStateTTL = 10 * time.Minute

// PrepareNew readies a state a store is about to create: created now and
// expiring DefaultStateTTL later unless set; then it validates it.
func (st *OAuthState) PrepareNew(now time.Time) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = now.UTC()
	}
	if st.ExpiresAt.IsZero() {
		st.ExpiresAt = st.CreatedAt.Add(DefaultStateTTL)
	}
	return nil
}

// PrepareNew readies an event a store is about to append: a fresh id and
// the time now unless set; then it validates it.
func (e *AuditEvent) PrepareNew(now time.Time) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	return nil
}
