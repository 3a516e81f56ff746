package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connectors"
)

// FuzzPrincipalClaims signs tokens whose sub, organization and roles
// claims are arbitrary strings. A token is either refused with a domain
// error, never a panic, or read as a principal whose ids are exactly the
// claims and valid ids (what the stores and Nango's tags can hold).
func FuzzPrincipalClaims(f *testing.F) {
	secret := []byte(strings.Repeat("fuzz-secret-", 4))
	v, err := auth.New(context.Background(), auth.Options{HS256Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("user-1", "org-1", "admin")
	f.Add(strings.Repeat("u", 256), "org-1", "")
	f.Add("u\x00", "o\n1", "admin member")
	f.Add("", "org-1", "")
	f.Add("user-é", "org-\u2028", "\xff")
	f.Fuzz(func(t *testing.T, sub, org, roles string) {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": sub, auth.DefaultOrgClaim: org, "roles": roles, "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			if code := connectors.ErrorCode(err); code != connectors.EForbidden && code != connectors.EUnauthorized {
				t.Fatalf("refusal with code %q: %v", code, err)
			}
			return
		}
		// JSON carries text: invalid UTF-8 reaches the token as U+FFFD.
		if utf8.ValidString(sub) && utf8.ValidString(org) && (p.UserID != sub || p.OrganizationID != org) {
			t.Fatalf("principal %q/%q from claims %q/%q", p.UserID, p.OrganizationID, sub, org)
		}
		if !connectors.ValidID(p.UserID) || !connectors.ValidID(p.OrganizationID) {
			t.Fatalf("accepted ids no store or Nango tag can hold: %q/%q", p.UserID, p.OrganizationID)
		}
	})
}
