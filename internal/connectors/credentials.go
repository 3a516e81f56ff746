package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
)

// ProxyCall is one request sent through Nango's proxy. Path is relative to
// the provider's base URL in Nango's catalogue (for Trello,
// https://api.trello.com, so "/1/cards"); Nango adds the credentials.
type ProxyCall struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Proxy forwards a request to a provider with the connection's credentials
// (Nango's /proxy). A Proxy is bound to one connection by its caller. It
// returns the provider's status, headers and body; err is for failures to
// reach the provider (or Nango) at all.
type Proxy interface {
	Proxy(ctx context.Context, call ProxyCall) (status int, header http.Header, body []byte, err error)
}

// ProxyFunc adapts a function to the Proxy interface.
type ProxyFunc func(ctx context.Context, call ProxyCall) (int, http.Header, []byte, error)

// Proxy calls f.
func (f ProxyFunc) Proxy(ctx context.Context, call ProxyCall) (int, http.Header, []byte, error) {
	return f(ctx, call)
}

// Credentials are what an action authenticates with. Only the fields the
// connector's auth needs are set. They never print: String, GoString,
// LogValue and MarshalJSON show which fields are set, not their values.
type Credentials struct {
	AccessToken      string // OAuth 2.0 access token
	OAuthToken       string // OAuth 1.0a token (normally left to Nango's proxy)
	OAuthTokenSecret string // OAuth 1.0a token secret
	APIKey           string // an API key the user submitted
	// AppToken is the deployment's app credential an action sends instead
	// of the connection's (Discord's bot token); the connection still
	// decides what the user may reach.
	AppToken string
	// ConnectionConfig is the connection's non-secret configuration from
	// Nango (instance_url for Salesforce, subdomain for Shopify, ...).
	ConnectionConfig map[string]string
	// ViaProxy says the provider keeps the credentials and sends every
	// request itself (Composio's and Panora's proxies): an action sends
	// through the connection's Proxy, with no credential of its own.
	ViaProxy bool
}

// Secrets lists the credential values, for scrubbing them from provider text.
func (c Credentials) Secrets() []string {
	return []string{c.AccessToken, c.OAuthToken, c.OAuthTokenSecret, c.APIKey, c.AppToken}
}

func mark(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// String shows which credentials are set, never their values.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{AccessToken:%s OAuthToken:%s OAuthTokenSecret:%s APIKey:%s AppToken:%s ConnectionConfig:%v}",
		mark(c.AccessToken), mark(c.OAuthToken), mark(c.OAuthTokenSecret), mark(c.APIKey), mark(c.AppToken), sortedKeys(c.ConnectionConfig))
}

// GoString is String, so that %#v redacts too.
func (c Credentials) GoString() string { return "connectors." + c.String() }

// LogValue implements slog.LogValuer: which credentials are set, no values.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("access_token", c.AccessToken != ""),
		slog.Bool("oauth_token", c.OAuthToken != ""),
		slog.Bool("oauth_token_secret", c.OAuthTokenSecret != ""),
		slog.Bool("api_key", c.APIKey != ""),
		slog.Bool("app_token", c.AppToken != ""),
		slog.Any("connection_config_keys", sortedKeys(c.ConnectionConfig)),
	)
}

// MarshalJSON writes the redacted form, so that credentials dumped into a
// log or a result by mistake stay secret.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return []byte(`"` + c.String() + `"`), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
