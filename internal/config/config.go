// Package config reads the service's non-secret settings from the environment
// and its secrets from a SecretsSource.
//
// It imports no AWS SDK: the Secrets Manager adapter lives in
// internal/adapter/awssecrets and implements SecretsSource.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultOrgClaim is the JWT claim that carries the organization id when
// JWT_ORG_CLAIM is not set.
const DefaultOrgClaim = "org_id"

// Config holds the non-secret settings, all from environment variables.
type Config struct {
	TableName           string            // TABLE_NAME
	NangoHost           string            // NANGO_HOST
	JWTIssuer           string            // JWT_ISSUER; checked when set
	JWTAudience         string            // JWT_AUDIENCE; checked when set
	JWTJWKSURL          string            // JWT_JWKS_URL; enables RS256/ES256
	JWTOrgClaim         string            // JWT_ORG_CLAIM, default DefaultOrgClaim
	RedirectAllowlist   []string          // REDIRECT_ALLOWLIST: origins scheme://host[:port]
	CORSAllowOrigins    []string          // CORS_ALLOW_ORIGINS: origins, or "*"
	LogLevel            string            // LOG_LEVEL: debug, info, warn or error; default info
	SecretsID           string            // SECRETS_ID: the Secrets Manager secret's name or ARN
	KMSKeyID            string            // KMS_KEY_ID: the KMS key wrapping organizations' data keys; empty: none
	FunctionName        string            // AWS_LAMBDA_FUNCTION_NAME, set by Lambda
	RoutingPolicy       string            // ROUTING_POLICY, parsed by the router
	ProviderConfigKeys  map[string]string // NANGO_INTEGRATIONS=slack=slack-prod,...: connector id -> Nango integration key
	ProviderBaseURLs    map[string]string // PROVIDER_BASE_URLS=slack=http://127.0.0.1:9000,...: API origin overrides for sandboxes and tests
	PublicURL           string            // PUBLIC_URL: the API's base URL as browsers see it; the built-in OAuth's redirect URL is built on it
	ComposioBaseURL     string            // COMPOSIO_BASE_URL: Composio's API; default https://backend.composio.dev
	ComposioAuthConfigs map[string]string // COMPOSIO_AUTH_CONFIGS=asana=ac_...,...: connector id -> Composio auth config
	PanoraHost          string            // PANORA_HOST: Panora's API, e.g. https://api.panora.dev
	PanoraConnectHost   string            // PANORA_CONNECT_HOST: Panora's magic-link page; default https://connect.panora.dev
	ExecutionRetention  time.Duration     // EXECUTION_RETENTION_DAYS: how long execution history is kept, 1 to 3653 days; default 30
}

// VarError reports an environment variable that could not be used. Err never
// holds the value of a secret variable.
type VarError struct {
	Name string // the variable, e.g. "REDIRECT_ALLOWLIST"
	Err  error
}

// Error implements the error interface.
func (e *VarError) Error() string { return "config: " + e.Name + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *VarError) Unwrap() error { return e.Err }

// FromEnv reads the configuration through getenv (os.Getenv in production, a
// map in tests). It reports every invalid variable at once (errors.Join of
// *VarError), so that a misconfigured deployment is fixed in one go.
func FromEnv(getenv func(string) string) (Config, error) {
	var errs []error
	fail := func(name string, err error) { errs = append(errs, &VarError{Name: name, Err: err}) }

	c := Config{
		TableName:         strings.TrimSpace(getenv("TABLE_NAME")),
		NangoHost:         strings.TrimSpace(getenv("NANGO_HOST")),
		JWTIssuer:         strings.TrimSpace(getenv("JWT_ISSUER")),
		JWTAudience:       strings.TrimSpace(getenv("JWT_AUDIENCE")),
		JWTJWKSURL:        strings.TrimSpace(getenv("JWT_JWKS_URL")),
		JWTOrgClaim:       strings.TrimSpace(getenv("JWT_ORG_CLAIM")),
		SecretsID:         strings.TrimSpace(getenv("SECRETS_ID")),
		KMSKeyID:          strings.TrimSpace(getenv("KMS_KEY_ID")),
		FunctionName:      strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_NAME")),
		RoutingPolicy:     strings.TrimSpace(getenv("ROUTING_POLICY")),
		PublicURL:         strings.TrimSpace(getenv("PUBLIC_URL")),
		ComposioBaseURL:   strings.TrimSpace(getenv("COMPOSIO_BASE_URL")),
		PanoraHost:        strings.TrimSpace(getenv("PANORA_HOST")),
		PanoraConnectHost: strings.TrimSpace(getenv("PANORA_CONNECT_HOST")),
	}
	for name, u := range map[string]string{"COMPOSIO_BASE_URL": c.ComposioBaseURL, "PANORA_HOST": c.PanoraHost, "PANORA_CONNECT_HOST": c.PanoraConnectHost} {
		if u != "" {
			if err := checkBaseURL(u); err != nil {
				fail(name, err)
			}
		}
	}
	if c.PublicURL != "" {
		if err := checkBaseURL(c.PublicURL); err != nil {
			fail("PUBLIC_URL", err)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.JWTOrgClaim == "" {
		c.JWTOrgClaim = DefaultOrgClaim
	}
	if c.NangoHost != "" {
		if err := checkBaseURL(c.NangoHost); err != nil {
			fail("NANGO_HOST", err)
		}
		c.NangoHost = strings.TrimRight(c.NangoHost, "/")
	}
	if c.JWTJWKSURL != "" {
		if err := checkBaseURL(c.JWTJWKSURL); err != nil {
			fail("JWT_JWKS_URL", err)
		}
	}

	var err error
	if c.RedirectAllowlist, err = parseOrigins(getenv("REDIRECT_ALLOWLIST"), false); err != nil {
		fail("REDIRECT_ALLOWLIST", err)
	}
	if c.CORSAllowOrigins, err = parseOrigins(getenv("CORS_ALLOW_ORIGINS"), true); err != nil {
		fail("CORS_ALLOW_ORIGINS", err)
	}

	c.LogLevel = strings.ToLower(strings.TrimSpace(getenv("LOG_LEVEL")))
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	case "warning":
		c.LogLevel = "warn"
	default:
		fail("LOG_LEVEL", fmt.Errorf("%q is not one of debug, info, warn, error", c.LogLevel))
	}

	c.ExecutionRetention = 30 * 24 * time.Hour
	if v := strings.TrimSpace(getenv("EXECUTION_RETENTION_DAYS")); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > 3653 {
			fail("EXECUTION_RETENTION_DAYS", fmt.Errorf("%q is not a whole number of days from 1 to 3653", v))
		}
		c.ExecutionRetention = time.Duration(days) * 24 * time.Hour
	}

	if c.ProviderConfigKeys, err = parsePairs(getenv("NANGO_INTEGRATIONS")); err != nil {
		fail("NANGO_INTEGRATIONS", err)
	}
	if c.ComposioAuthConfigs, err = parsePairs(getenv("COMPOSIO_AUTH_CONFIGS")); err != nil {
		fail("COMPOSIO_AUTH_CONFIGS", err)
	}
	if c.ProviderBaseURLs, err = parsePairs(getenv("PROVIDER_BASE_URLS")); err != nil {
		fail("PROVIDER_BASE_URLS", err)
	}
	for k, u := range c.ProviderBaseURLs {
		if err := checkBaseURL(u); err != nil {
			fail("PROVIDER_BASE_URLS", fmt.Errorf("%s: %w", k, err))
		}
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// LogValue lets a Config be logged as one structured group. It holds no
// secret, so every field is shown.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("table_name", c.TableName),
		slog.String("nango_host", c.NangoHost),
		slog.String("jwt_issuer", c.JWTIssuer),
		slog.String("jwt_audience", c.JWTAudience),
		slog.String("jwt_jwks_url", c.JWTJWKSURL),
		slog.String("jwt_org_claim", c.JWTOrgClaim),
		slog.Any("redirect_allowlist", c.RedirectAllowlist),
		slog.Any("cors_allow_origins", c.CORSAllowOrigins),
		slog.String("log_level", c.LogLevel),
		slog.String("secrets_id", c.SecretsID),
		slog.String("kms_key_id", c.KMSKeyID),
		slog.String("function_name", c.FunctionName),
		slog.Duration("execution_retention", c.ExecutionRetention),
	)
}

// SplitList splits a comma-separated list, trims each item and drops empty
// ones, so that "a, b," is [a b].
func SplitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseOrigins parses a list of origins. allowWildcard admits the single
// entry "*" (CORS only: a redirect allowlist must name its origins).
func parseOrigins(s string, allowWildcard bool) ([]string, error) {
	items := SplitList(s)
	out := make([]string, 0, len(items))
	for _, item := range items {
		if allowWildcard && item == "*" {
			out = append(out, item)
			continue
		}
		o, err := ParseOrigin(item)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ParseOrigin checks that s is an origin, scheme://host[:port] with scheme
// http or https and nothing else (no path, query, fragment or user info), and
// returns it with scheme and host in lower case, as browsers compare them.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port]): %w", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("%q is not an origin: scheme must be http or https", s)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q is not an origin: host missing", s)
	case u.User != nil:
		return "", fmt.Errorf("%q is not an origin: user info not allowed", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.Opaque != "":
		return "", fmt.Errorf("%q is not an origin: no path, query or fragment allowed (use scheme://host[:port])", s)
	}
	return scheme + "://" + strings.ToLower(u.Host), nil
}

// checkBaseURL checks that s is an absolute http(s) URL with a host.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// parsePairs parses "k1=v1,k2=v2" into a map; a key given twice is an error.
// It returns nil for an empty list.
func parsePairs(s string) (map[string]string, error) {
	items := SplitList(s)
	if len(items) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(items))
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q is not key=value", item)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%q given twice", k)
		}
		m[k] = v
	}
	return m, nil
}
