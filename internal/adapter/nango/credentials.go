package nango

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Auth modes of Nango's credentials ("type").
const (
	AuthOAuth2    = "OAUTH2"
	AuthOAuth1    = "OAUTH1"
	AuthOAuth2CC  = "OAUTH2_CC"
	AuthAPIKey    = "API_KEY"
	AuthBasic     = "BASIC"
	AuthApp       = "APP"
	AuthNone      = "NONE"
	AuthCustom    = "CUSTOM"
	AuthJWT       = "JWT"
	AuthTwoStep   = "TWO_STEP"
	AuthSignature = "SIGNATURE"
)

// Credentials are a connection's secrets as Nango gives them, per auth mode.
//
// Printing them never shows a secret: String, GoString, LogValue and
// MarshalJSON all redact. To store credentials (sealed), copy the fields you
// need explicitly.
type Credentials struct {
	Type string // one of the Auth* constants

	// OAUTH2 (and OAUTH2_CC, APP, JWT, TWO_STEP, SIGNATURE: their "token" or
	// "access_token").
	AccessToken  string
	RefreshToken string    // only when asked for (GetConnectionOptions.RefreshToken)
	ExpiresAt    time.Time // zero when the token does not expire or Nango did not say

	// OAUTH1.
	OAuthToken       string
	OAuthTokenSecret string

	// API_KEY.
	APIKey string

	// BASIC (and SIGNATURE).
	Username string
	Password string

	// Raw is the provider's raw token answer ("raw"), which may hold secrets
	// too; it is redacted like the rest.
	Raw map[string]any
}

// UnmarshalJSON reads Nango's credentials object, whatever its auth mode.
func (c *Credentials) UnmarshalJSON(b []byte) error {
	var w struct {
		Type             string         `json:"type"`
		AccessToken      string         `json:"access_token"`
		Token            string         `json:"token"`
		RefreshToken     string         `json:"refresh_token"`
		ExpiresAt        string         `json:"expires_at"`
		OAuthToken       string         `json:"oauth_token"`
		OAuthTokenSecret string         `json:"oauth_token_secret"`
		APIKey           string         `json:"apiKey"`
		Username         string         `json:"username"`
		Password         string         `json:"password"`
		Raw              map[string]any `json:"raw"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Credentials{
		Type:             w.Type,
		AccessToken:      w.AccessToken,
		RefreshToken:     w.RefreshToken,
		OAuthToken:       w.OAuthToken,
		OAuthTokenSecret: w.OAuthTokenSecret,
		APIKey:           w.APIKey,
		Username:         w.Username,
		Password:         w.Password,
		Raw:              w.Raw,
		ExpiresAt:        parseTime(w.ExpiresAt),
	}
	if c.AccessToken == "" {
		c.AccessToken = w.Token
	}
	return nil
}

// redacted lists which secrets are set, without their values.
func (c Credentials) redacted() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nango.Credentials{Type:%q", c.Type)
	for _, f := range []struct{ name, v string }{
		{"AccessToken", c.AccessToken}, {"RefreshToken", c.RefreshToken},
		{"OAuthToken", c.OAuthToken}, {"OAuthTokenSecret", c.OAuthTokenSecret},
		{"APIKey", c.APIKey}, {"Username", c.Username}, {"Password", c.Password},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, ", %s:[redacted]", f.name)
		}
	}
	if !c.ExpiresAt.IsZero() {
		fmt.Fprintf(&b, ", ExpiresAt:%s", c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if c.Raw != nil {
		b.WriteString(", Raw:[redacted]")
	}
	b.WriteString("}")
	return b.String()
}

// String implements fmt.Stringer without showing any secret.
func (c Credentials) String() string { return c.redacted() }

// GoString implements fmt.GoStringer (%#v) without showing any secret.
func (c Credentials) GoString() string { return c.redacted() }

// LogValue implements slog.LogValuer: the type and expiry only.
func (c Credentials) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", c.Type)}
	if !c.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("expires_at", c.ExpiresAt))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the redacted form, so that a structured logger that
// falls back to encoding/json cannot leak a secret either.
func (c Credentials) MarshalJSON() ([]byte, error) {
	v := struct {
		Type      string     `json:"type"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		Redacted  bool       `json:"redacted"`
	}{Type: c.Type, Redacted: true}
	if !c.ExpiresAt.IsZero() {
		v.ExpiresAt = &c.ExpiresAt
	}
	return json.Marshal(v)
}

// parseTime reads Nango's timestamps; an empty or unreadable one is zero
// (Nango's are ISO 8601, sometimes without a zone).
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
