package dynamostore

import (
	"fmt"
	"time"
)

// Key prefixes and sort keys of the table's items. Deployed tables hold
// items under these names: they never change.
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
	attrCheckAt    = "checkAt"
	attrShared     = "shared"
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

// storedTime is a time attribute as stored (src) and the field it is
// read into (dst).
type storedTime struct {
	dst *time.Time
	src string
}

// parseTimes reads each stored time into its field.
func parseTimes(ts ...storedTime) error {
	for _, t := range ts {
		var err error
		if *t.dst, err = parseTime(t.src); err != nil {
			return err
		}
	}
	return nil
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
