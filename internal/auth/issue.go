package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultDevTTL is the lifetime of a development token when none is given.
const DefaultDevTTL = time.Hour

// DevClaims describes a development token.
type DevClaims struct {
	UserID   string        // sub; required
	OrgID    string        // the organization claim; omitted when empty
	Roles    []string      // roles; omitted when empty
	Issuer   string        // iss; omitted when empty
	Audience string        // aud; omitted when empty
	TTL      time.Duration // lifetime; default DefaultDevTTL
}

// Issue signs a development token with HS256, the kind a Verifier with the
// same secret accepts. orgClaim names the organization claim ("" means
// DefaultOrgClaim). It is for local runs and tests: deployed tokens come from
// the identity provider.
func Issue(secret []byte, c DevClaims, orgClaim string) (string, error) {
	if len(secret) < MinHS256SecretLen {
		return "", fmt.Errorf("auth: HS256 secret is %d bytes, want at least %d", len(secret), MinHS256SecretLen)
	}
	if c.UserID == "" {
		return "", errors.New("auth: development token needs a user id")
	}
	if c.TTL < 0 {
		return "", fmt.Errorf("auth: negative token lifetime %s", c.TTL)
	}
	if c.TTL == 0 {
		c.TTL = DefaultDevTTL
	}
	if orgClaim == "" {
		orgClaim = DefaultOrgClaim
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"sub": c.UserID,
		"iat": now.Unix(),
		"exp": now.Add(c.TTL).Unix(),
	}
	if c.OrgID != "" {
		claims[orgClaim] = c.OrgID
	}
	if len(c.Roles) > 0 {
		claims["roles"] = c.Roles
	}
	if c.Issuer != "" {
		claims["iss"] = c.Issuer
	}
	if c.Audience != "" {
		claims["aud"] = c.Audience
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign development token: %w", err)
	}
	return token, nil
}
