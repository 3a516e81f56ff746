package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/automators/connectors/internal/connectors"
)

const (
	testIssuer   = "https://issuer.test/"
	testAudience = "connectors"
)

var hsSecret = []byte("0123456789abcdef0123456789abcdef-test")

// keys are the test's signing keys; the JWKS server publishes the public
// halves of rsa, ec and rsaNoAlg, never of other.
type keys struct {
	rsa, other, rsaNoAlg *rsa.PrivateKey
	ec                   *ecdsa.PrivateKey
	rsaPEM               []byte // the public key of rsa, PEM-encoded
}

func newKeys(t *testing.T) *keys {
	t.Helper()
	k := &keys{}
	var err error
	for _, p := range []**rsa.PrivateKey{&k.rsa, &k.other, &k.rsaNoAlg} {
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k.rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return k
}

// jwksServer serves the public keys and counts its requests.
func jwksServer(t *testing.T, k *keys) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for _, e := range []struct {
		key any
		kid string
		alg jwkset.ALG
	}{
		{&k.rsa.PublicKey, "rsa1", jwkset.AlgRS256},
		{&k.ec.PublicKey, "ec1", jwkset.AlgES256},
		{&k.rsaNoAlg.PublicKey, "rsa-noalg", ""},
	} {
		jwk, err := jwkset.NewJWKFromKey(e.key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: e.kid, ALG: e.alg, USE: jwkset.UseSig}})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(t.Context(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// claims returns valid claims, changed by edit.
func claims(edit func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"sub":    "u1",
		"org_id": "o1",
		"roles":  []string{"admin"},
		"iss":    testIssuer,
		"aud":    testAudience,
		"iat":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// sign signs c with method and key, with kid in the header when not "".
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthenticate(t *testing.T) {
	k := newKeys(t)
	srv, _ := jwksServer(t, k)

	both, err := New(t.Context(), Options{HS256Secret: hsSecret, JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	jwksOnly, err := New(t.Context(), Options{JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hsOnly, err := New(t.Context(), Options{HS256Secret: hsSecret, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	customOrg, err := New(t.Context(), Options{HS256Secret: hsSecret, OrgClaim: "https://automators.io/org"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	hs := func(edit func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, hsSecret, "", claims(edit))
	}
	ago := func(d time.Duration) int64 { return time.Now().Add(-d).Unix() }
	noneToken := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil))
	confused := sign(t, jwt.SigningMethodHS256, k.rsaPEM, "rsa1", claims(nil))
	good := connectors.Principal{UserID: "u1", OrganizationID: "o1", Roles: []string{"admin"}}

	tests := []struct {
		name     string
		v        *Verifier // default both
		header   string
		want     connectors.Principal
		wantCode string // "" for success
		wantMsg  string
	}{
		{name: "HS256 good", header: "Bearer " + hs(nil), want: good},
		{name: "scheme any case", header: "bEaReR   " + hs(nil) + " ", want: good},
		{name: "RS256 good", header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claims(nil)), want: good},
		{name: "RS256 good, JWK without alg", header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsaNoAlg, "rsa-noalg", claims(nil)), want: good},
		{name: "ES256 good", header: "Bearer " + sign(t, jwt.SigningMethodES256, k.ec, "ec1", claims(nil)), want: good},
		{name: "RS256 good, JWKS only", v: jwksOnly, header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claims(nil)), want: good},
		{name: "roles as a string", header: "Bearer " + hs(func(c jwt.MapClaims) { c["roles"] = "admin  viewer" }),
			want: connectors.Principal{UserID: "u1", OrganizationID: "o1", Roles: []string{"admin", "viewer"}}},
		{name: "no roles", header: "Bearer " + hs(func(c jwt.MapClaims) { delete(c, "roles") }),
			want: connectors.Principal{UserID: "u1", OrganizationID: "o1"}},
		{name: "audience in a list", header: "Bearer " + hs(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAudience} }), want: good},
		{name: "custom org claim", v: customOrg, header: "Bearer " + hs(func(c jwt.MapClaims) { c["https://automators.io/org"] = "o9"; delete(c, "org_id") }),
			want: connectors.Principal{UserID: "u1", OrganizationID: "o9", Roles: []string{"admin"}}},
		{name: "expired within leeway", header: "Bearer " + hs(func(c jwt.MapClaims) { c["exp"] = ago(30 * time.Second) }), want: good},
		{name: "not yet valid within leeway", header: "Bearer " + hs(func(c jwt.MapClaims) { c["nbf"] = ago(-30 * time.Second) }), want: good},

		{name: "no header", header: "", wantCode: connectors.EUnauthorized, wantMsg: "missing bearer token"},
		{name: "bearer without token", header: "Bearer  ", wantCode: connectors.EUnauthorized, wantMsg: "missing bearer token"},
		{name: "wrong scheme", header: "Basic dXNlcjpwYXNz", wantCode: connectors.EUnauthorized, wantMsg: "authorization scheme must be Bearer"},
		{name: "token without scheme", header: hs(nil), wantCode: connectors.EUnauthorized, wantMsg: "authorization scheme must be Bearer"},
		{name: "malformed", header: "Bearer not-a-jwt", wantCode: connectors.EUnauthorized, wantMsg: "malformed token"},
		{name: "malformed segments", header: "Bearer a.b.c", wantCode: connectors.EUnauthorized, wantMsg: "malformed token"},
		{name: "too long", header: "Bearer " + strings.Repeat("a", maxTokenLen+1), wantCode: connectors.EUnauthorized, wantMsg: "malformed token"},
		{name: "expired", header: "Bearer " + hs(func(c jwt.MapClaims) { c["exp"] = ago(2 * time.Minute) }), wantCode: connectors.EUnauthorized, wantMsg: "token expired"},
		{name: "no exp", header: "Bearer " + hs(func(c jwt.MapClaims) { delete(c, "exp") }), wantCode: connectors.EUnauthorized, wantMsg: "token lacks a required claim"},
		{name: "not yet valid", header: "Bearer " + hs(func(c jwt.MapClaims) { c["nbf"] = ago(-2 * time.Minute) }), wantCode: connectors.EUnauthorized, wantMsg: "token not yet valid"},
		{name: "issued in the future", header: "Bearer " + hs(func(c jwt.MapClaims) { c["iat"] = ago(-2 * time.Minute) }), wantCode: connectors.EUnauthorized, wantMsg: "token not yet valid"},
		{name: "wrong issuer", header: "Bearer " + hs(func(c jwt.MapClaims) { c["iss"] = "https://evil.test/" }), wantCode: connectors.EUnauthorized, wantMsg: "invalid token issuer"},
		{name: "no issuer", header: "Bearer " + hs(func(c jwt.MapClaims) { delete(c, "iss") }), wantCode: connectors.EUnauthorized, wantMsg: "token lacks a required claim"},
		{name: "wrong audience", header: "Bearer " + hs(func(c jwt.MapClaims) { c["aud"] = "other" }), wantCode: connectors.EUnauthorized, wantMsg: "invalid token audience"},
		{name: "bad signature", header: "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), "", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "invalid token signature"},
		{name: "tampered payload", header: "Bearer " + tamper(t, hs(nil)), wantCode: connectors.EUnauthorized, wantMsg: "invalid token signature"},
		{name: "RS256 signed by a key not in the JWKS", header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.other, "rsa1", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "invalid token signature"},
		{name: "alg none", header: "Bearer " + noneToken, wantCode: connectors.EUnauthorized, wantMsg: "unsupported token algorithm"},
		{name: "HS256 signed with the RSA public key PEM", header: "Bearer " + confused, wantCode: connectors.EUnauthorized, wantMsg: "invalid token signature"},
		{name: "HS256 signed with the RSA public key PEM, JWKS only", v: jwksOnly, header: "Bearer " + confused, wantCode: connectors.EUnauthorized, wantMsg: "unsupported token algorithm"},
		{name: "HS256, JWKS only", v: jwksOnly, header: "Bearer " + hs(nil), wantCode: connectors.EUnauthorized, wantMsg: "unsupported token algorithm"},
		{name: "RS256, HS256 only", v: hsOnly, header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "unsupported token algorithm"},
		{name: "PS256 with a JWKS RSA key", header: "Bearer " + sign(t, jwt.SigningMethodPS256, k.rsaNoAlg, "rsa-noalg", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "unsupported token algorithm"},
		{name: "ES256 naming an RSA key", header: "Bearer " + sign(t, jwt.SigningMethodES256, k.ec, "rsa-noalg", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "unknown signing key"},
		{name: "RS256 naming the EC key", header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "ec1", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "unknown signing key"},
		{name: "unknown kid", header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.other, "nope", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "unknown signing key"},
		{name: "no kid", header: "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(nil)), wantCode: connectors.EUnauthorized, wantMsg: "unknown signing key"},
		{name: "roles malformed", header: "Bearer " + hs(func(c jwt.MapClaims) { c["roles"] = 7 }), wantCode: connectors.EUnauthorized, wantMsg: "malformed roles claim"},

		{name: "no organization", header: "Bearer " + hs(func(c jwt.MapClaims) { delete(c, "org_id") }), wantCode: connectors.EForbidden, wantMsg: "token has no organization"},
		{name: "organization not a string", header: "Bearer " + hs(func(c jwt.MapClaims) { c["org_id"] = 42 }), wantCode: connectors.EForbidden, wantMsg: "token has no organization"},
		{name: "sub over 255 characters", header: "Bearer " + hs(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("u", 256) }), wantCode: connectors.EForbidden, wantMsg: "the token's sub claim is not a valid user id (1 to 255 characters, no control characters)"},
		{name: "sub with a control character", header: "Bearer " + hs(func(c jwt.MapClaims) { c["sub"] = "u\x001" }), wantCode: connectors.EForbidden, wantMsg: "the token's sub claim is not a valid user id (1 to 255 characters, no control characters)"},
		{name: "organization over 255 characters", header: "Bearer " + hs(func(c jwt.MapClaims) { c["org_id"] = strings.Repeat("o", 256) }), wantCode: connectors.EForbidden, wantMsg: "the token's org_id claim is not a valid organization id (1 to 255 characters, no control characters)"},
		{name: "organization with a newline", header: "Bearer " + hs(func(c jwt.MapClaims) { c["org_id"] = "o1\nadmin" }), wantCode: connectors.EForbidden, wantMsg: "the token's org_id claim is not a valid organization id (1 to 255 characters, no control characters)"},
		{name: "org in the default claim, custom configured", v: customOrg, header: "Bearer " + hs(nil), wantCode: connectors.EForbidden, wantMsg: "token has no organization"},
		{name: "no subject", header: "Bearer " + hs(func(c jwt.MapClaims) { delete(c, "sub") }), wantCode: connectors.EForbidden, wantMsg: "token has no subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v
			if v == nil {
				v = both
			}
			got, err := v.Authenticate(t.Context(), tt.header)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("principal = %+v, want %+v", got, tt.want)
				}
				return
			}
			var ce *connectors.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (principal %+v), want a *connectors.Error", err, got)
			}
			if ce.Code != tt.wantCode || (tt.wantMsg != "" && ce.Message != tt.wantMsg) {
				t.Fatalf("err = %q / %q (%v), want %q / %q", ce.Code, ce.Message, err, tt.wantCode, tt.wantMsg)
			}
			if !reflect.DeepEqual(got, connectors.Principal{}) {
				t.Fatalf("principal %+v returned with an error", got)
			}
			if tok := strings.TrimSpace(tt.header[min(len(tt.header), 7):]); len(tok) > 10 && strings.Contains(err.Error(), tok) {
				t.Fatalf("error quotes the token: %v", err)
			}
		})
	}
}

// tamper changes the token's payload, keeping its signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	forged := sign(t, jwt.SigningMethodHS256, []byte("whatever-whatever-whatever-whate"), "", claims(func(c jwt.MapClaims) { c["roles"] = []string{"admin", "root"} }))
	parts[1] = strings.Split(forged, ".")[1]
	return strings.Join(parts, ".")
}

func TestJWKSCached(t *testing.T) {
	k := newKeys(t)
	srv, hits := jwksServer(t, k)
	v, err := New(t.Context(), Options{JWKSURL: srv.URL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for i := range 20 {
		tok := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", claims(nil))
		if i%2 == 1 {
			tok = sign(t, jwt.SigningMethodES256, k.ec, "ec1", claims(nil))
		}
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("Verify %d: %v", i, err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for 20 tokens, want 1", n)
	}

	// Unknown kids refetch the set (a rotation may have added the key), but
	// at most once per interval, and a refused token is refused at once.
	unknown := sign(t, jwt.SigningMethodRS256, k.other, "rotated", claims(nil))
	for i := range 5 {
		start := time.Now()
		if _, err := v.Verify(t.Context(), unknown); connectors.ErrorCode(err) != connectors.EUnauthorized {
			t.Fatalf("unknown kid %d: err = %v, want unauthorized", i, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("unknown kid %d took %s", i, d)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after unknown kids, want 2", n)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"HS256", Options{HS256Secret: hsSecret}, true},
		{"no key", Options{}, false},
		{"short secret", Options{HS256Secret: []byte("short")}, false},
		{"JWKS over http", Options{JWKSURL: "http://idp.example.com/jwks.json"}, false},
		{"JWKS relative", Options{JWKSURL: "/jwks.json"}, false},
		// A JWKS that cannot be fetched yet is not fatal at cold start.
		{"JWKS down", Options{JWKSURL: "http://127.0.0.1:1/jwks.json"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.Context(), tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	v, err := New(t.Context(), Options{HS256Secret: hsSecret, Issuer: "local", Audience: "connectors", OrgClaim: "org"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secret  []byte
		claims  DevClaims
		want    connectors.Principal
		wantErr string // from Issue
		code    string // from Verify
	}{
		{name: "full", secret: hsSecret, claims: DevClaims{UserID: "u1", OrgID: "o1", Roles: []string{"admin"}, Issuer: "local", Audience: "connectors"},
			want: connectors.Principal{UserID: "u1", OrganizationID: "o1", Roles: []string{"admin"}}},
		{name: "no org is forbidden", secret: hsSecret, claims: DevClaims{UserID: "u1", Issuer: "local", Audience: "connectors"}, code: connectors.EForbidden},
		{name: "wrong audience", secret: hsSecret, claims: DevClaims{UserID: "u1", OrgID: "o1", Issuer: "local"}, code: connectors.EUnauthorized},
		{name: "no user", secret: hsSecret, claims: DevClaims{OrgID: "o1"}, wantErr: "user id"},
		{name: "short secret", secret: []byte("x"), claims: DevClaims{UserID: "u1"}, wantErr: "at least 32"},
		{name: "negative ttl", secret: hsSecret, claims: DevClaims{UserID: "u1", TTL: -time.Second}, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Issue(tt.secret, tt.claims, "org")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Issue: err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			got, err := v.Verify(context.Background(), tok)
			if connectors.ErrorCode(err) != tt.code {
				t.Fatalf("Verify: err = %v, want code %q", err, tt.code)
			}
			if tt.code == "" && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("principal = %+v, want %+v", got, tt.want)
			}
		})
	}

	// The lifetime is the TTL asked for.
	tok, err := Issue(hsSecret, DevClaims{UserID: "u1", TTL: 10 * time.Minute}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := jwt.MapClaims{}
	if _, err := jwt.NewParser().ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return hsSecret, nil }); err != nil {
		t.Fatal(err)
	}
	exp, _ := c.GetExpirationTime()
	iat, _ := c.GetIssuedAt()
	if d := exp.Sub(iat.Time); d != 10*time.Minute {
		t.Fatalf("lifetime %s, want 10m", d)
	}
}
