// Package auth verifies the bearer JWTs of the HTTP API and turns
// them into a connectors.Principal.
//
// Two kinds of key are supported: a shared HS256 secret, and RS256/ES256
// public keys from a JWKS URL (fetched with caching and background refresh).
// Each algorithm is bound to its kind of key, so that a token can never choose
// how it is checked: an HS256 token is only ever checked with the shared
// secret, never with the bytes of a public key.
package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/automators/connectors/internal/connectors"
)

// Defaults and limits.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 60 * time.Second
	// DefaultOrgClaim is the claim holding the organization id.
	DefaultOrgClaim = "org_id"
	// MinHS256SecretLen is the shortest accepted HS256 secret: RFC 7518 §3.2
	// wants a key at least as long as the hash output.
	MinHS256SecretLen = 32
	// maxTokenLen bounds the work an unauthenticated caller can ask for.
	maxTokenLen = 8 << 10
	// jwksRefreshInterval is how often the JWKS is fetched in the background.
	jwksRefreshInterval = time.Hour
	// jwksUnknownKIDInterval limits refetches caused by tokens with an
	// unknown kid, so that forged tokens cannot hammer the identity provider.
	jwksUnknownKIDInterval = 5 * time.Minute
	// jwksTimeout bounds one JWKS fetch.
	jwksTimeout = 5 * time.Second
)

// Signing algorithms, per kind of key.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
)

// Options configures a Verifier. At least one of HS256Secret and JWKSURL is
// needed.
type Options struct {
	HS256Secret []byte        // shared secret for HS256 tokens; HS256 is refused without it
	JWKSURL     string        // JWKS for RS256/ES256 tokens; https, or http on loopback only
	Issuer      string        // checked when set
	Audience    string        // checked when set
	OrgClaim    string        // claim holding the organization id; default DefaultOrgClaim
	Leeway      time.Duration // clock skew; default DefaultLeeway
	HTTPClient  *http.Client  // for the JWKS; default a client with a short timeout
	Logger      *slog.Logger  // told about failed JWKS refreshes; default none
}

// Verifier checks bearer tokens. It is safe for concurrent use; build one per
// cold start.
type Verifier struct {
	hsSecret []byte
	jwks     keyfunc.Keyfunc // nil without a JWKS URL
	parser   *jwt.Parser
	methods  []string
	orgClaim string
}

// New returns a Verifier. With a JWKS URL it fetches the key set once now
// (a failure is not fatal: keys are fetched again when a token needs them)
// and refreshes it in the background until ctx is done, so ctx should live as
// long as the process.
func New(ctx context.Context, opts Options) (*Verifier, error) {
	if len(opts.HS256Secret) == 0 && opts.JWKSURL == "" {
		return nil, errors.New("auth: no key: set the HS256 secret or a JWKS URL")
	}
	if n := len(opts.HS256Secret); n > 0 && n < MinHS256SecretLen {
		return nil, fmt.Errorf("auth: HS256 secret is %d bytes, want at least %d", n, MinHS256SecretLen)
	}
	if opts.OrgClaim == "" {
		opts.OrgClaim = DefaultOrgClaim
	}
	if opts.Leeway <= 0 {
		opts.Leeway = DefaultLeeway
	}

	v := &Verifier{orgClaim: opts.OrgClaim}
	if len(opts.HS256Secret) > 0 {
		v.hsSecret = slices.Clone(opts.HS256Secret)
		v.methods = append(v.methods, algHS256)
	}
	if opts.JWKSURL != "" {
		jwks, err := newJWKS(ctx, opts)
		if err != nil {
			return nil, err
		}
		v.jwks = jwks
		v.methods = append(v.methods, algRS256, algES256)
	}

	popts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithIssuedAt(),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	v.parser = jwt.NewParser(popts...)
	return v, nil
}

// newJWKS builds the cached, refreshed JWKS key function.
func newJWKS(ctx context.Context, opts Options) (keyfunc.Keyfunc, error) {
	if err := checkJWKSURL(opts.JWKSURL); err != nil {
		return nil, err
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksTimeout}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	jwks, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{opts.JWKSURL}, keyfunc.Override{
		Client:          client,
		HTTPTimeout:     jwksTimeout,
		RefreshInterval: jwksRefreshInterval,
		// One refetch per interval for unknown kids; a token that would have
		// to wait longer than RateLimitWaitMax for its turn is refused at once
		// instead of holding the request.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(jwksUnknownKIDInterval), 1),
		RateLimitWaitMax:  jwksTimeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "JWKS refresh failed", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS %s: %w", opts.JWKSURL, err)
	}
	return jwks, nil
}

// checkJWKSURL wants https, except on loopback (local runs and tests), since
// keys fetched in the clear could be swapped by anyone on the path.
func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("auth: JWKS URL %q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("auth: JWKS URL %q must use https", s)
}

// Authenticate verifies the value of an Authorization header,
// "Bearer <jwt>" (the scheme in any case).
func (v *Verifier) Authenticate(ctx context.Context, authorizationHeader string) (connectors.Principal, error) {
	h := strings.TrimSpace(authorizationHeader)
	if h == "" {
		return connectors.Principal{}, unauthorized("missing bearer token", nil)
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return connectors.Principal{}, unauthorized("authorization scheme must be Bearer", nil)
	}
	return v.Verify(ctx, strings.TrimSpace(token))
}

// Verify checks a JWT and returns its principal. Errors are *connectors.Error:
// EUnauthorized when the token is missing, malformed, badly signed, expired,
// not yet valid, or for another issuer or audience; EForbidden when it is
// valid but names no user or organization. Messages never quote the token.
func (v *Verifier) Verify(ctx context.Context, token string) (connectors.Principal, error) {
	switch {
	case token == "":
		return connectors.Principal{}, unauthorized("missing bearer token", nil)
	case len(token) > maxTokenLen:
		return connectors.Principal{}, unauthorized("malformed token", errors.New("token too long"))
	}
	claims := jwt.MapClaims{}
	parsed, err := v.parser.ParseWithClaims(token, claims, v.keyFunc(ctx))
	if err != nil {
		return connectors.Principal{}, v.classify(parsed, err)
	}
	return v.principal(claims)
}

// errUnknownKey is the cause when no key matches the token's kid.
var errUnknownKey = errors.New("unknown signing key")

// keyFunc picks the key by the token's algorithm, then checks that the key is
// of the kind that algorithm needs, so that no token can have its signature
// checked with a key of another kind.
func (v *Verifier) keyFunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if alg == algHS256 {
			// WithValidMethods has refused HS256 if there is no secret.
			return v.hsSecret, nil
		}
		if v.jwks == nil {
			return nil, fmt.Errorf("algorithm %s needs a JWKS", alg)
		}
		// A token without kid would be tried against every key of the set;
		// identity providers always send one, so insist on it.
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, fmt.Errorf("%w: token has no kid", errUnknownKey)
		}
		key, err := v.jwks.KeyfuncCtx(ctx)(t)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUnknownKey, err)
		}
		switch k := key.(type) {
		case *rsa.PublicKey:
			if alg == algRS256 {
				return k, nil
			}
		case *ecdsa.PublicKey:
			if alg == algES256 && k.Curve == elliptic.P256() {
				return k, nil
			}
		}
		return nil, fmt.Errorf("%w: key of type %T does not fit algorithm %s", errUnknownKey, key, alg)
	}
}

// classify turns a parse error into a safe *connectors.Error.
func (v *Verifier) classify(t *jwt.Token, err error) error {
	msg := "invalid token"
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "malformed token"
	case t != nil && t.Method != nil && !slices.Contains(v.methods, t.Method.Alg()):
		msg = "unsupported token algorithm"
	case errors.Is(err, errUnknownKey):
		msg = "unknown signing key"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "invalid token signature"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "token not yet valid"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "invalid token issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "invalid token audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "token lacks a required claim"
	}
	return unauthorized(msg, err)
}

// principal reads the caller from verified claims.
func (v *Verifier) principal(claims jwt.MapClaims) (connectors.Principal, error) {
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return connectors.Principal{}, connectors.Errorf(connectors.EForbidden, "token has no subject")
	}
	org, _ := claims[v.orgClaim].(string)
	if org == "" {
		return connectors.Principal{}, connectors.Errorf(connectors.EForbidden, "token has no organization")
	}
	// The ids become store keys and Nango tags (255 characters at most):
	// refuse what no principal could be before any work is done.
	if !connectors.ValidID(sub) {
		return connectors.Principal{}, connectors.Errorf(connectors.EForbidden, "the token's sub claim is not a valid user id (1 to %d characters, no control characters)", connectors.MaxIDLength)
	}
	if !connectors.ValidID(org) {
		return connectors.Principal{}, connectors.Errorf(connectors.EForbidden, "the token's %s claim is not a valid organization id (1 to %d characters, no control characters)", v.orgClaim, connectors.MaxIDLength)
	}
	roles, err := parseRoles(claims["roles"])
	if err != nil {
		return connectors.Principal{}, unauthorized("malformed roles claim", err)
	}
	return connectors.Principal{UserID: sub, OrganizationID: org, Roles: roles}, nil
}

// parseRoles accepts a JSON list of strings or one space-separated string
// (the OAuth "scope" style), the two forms identity providers use.
func parseRoles(v any) ([]string, error) {
	switch r := v.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.Fields(r), nil
	case []any:
		roles := make([]string, 0, len(r))
		for _, item := range r {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("roles holds a %T, want strings", item)
			}
			roles = append(roles, s)
		}
		return roles, nil
	}
	return nil, fmt.Errorf("roles is a %T, want a list or a string", v)
}

func unauthorized(msg string, cause error) error {
	return connectors.Wrap(cause, connectors.EUnauthorized, msg)
}
