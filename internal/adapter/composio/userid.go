package composio

import (
	"net/url"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// UserID is the Composio user id under which this service files an
// organization's user's connected accounts: both ids path-escaped (so that
// neither holds a "/") and joined with "/", e.g. "acme/u-1", or
// "o%2F1/u" for organization "o/1" and user "u". Two different pairs never
// give the same user id, and ParseUserID gives the pair back.
func UserID(organizationID, userID string) string {
	return url.PathEscape(organizationID) + "/" + url.PathEscape(userID)
}

// ParseUserID returns the organization and user a Composio user id names;
// ok is false for any id UserID would not have made (another form, a
// non-canonical escape, an id no principal could have), so that an account
// filed under it matches nobody.
func ParseUserID(s string) (organizationID, userID string, ok bool) {
	o, u, found := strings.Cut(s, "/")
	if !found || strings.Contains(u, "/") {
		return "", "", false
	}
	org, err1 := url.PathUnescape(o)
	user, err2 := url.PathUnescape(u)
	if err1 != nil || err2 != nil || !connectors.ValidID(org) || !connectors.ValidID(user) || UserID(org, user) != s {
		return "", "", false
	}
	return org, user, true
}
