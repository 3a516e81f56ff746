package registry

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// Mode is a way a connector's requests are authorized.
type Mode string

// Auth modes.
const (
	// ModeOAuth: the user connects through the connector's OAuth provider
	// (Nango, or the built-in OAuth for Gmail and Outlook).
	ModeOAuth Mode = "oauth"
	// ModeAPIKey: the user pastes an API key or token (Manifest.APIKey).
	ModeAPIKey Mode = "api_key"
	// ModeApp: some actions send an app credential of the deployment
	// (Manifest.AppCredentials), with the user's connection deciding
	// what they may reach.
	ModeApp Mode = "app_credential"
)

// FieldUse is where a submitted credential field goes in the credentials
// an action sends.
type FieldUse string

// Field uses.
const (
	UseAPIKey      FieldUse = "api_key"      // connectors.Credentials.APIKey
	UseAccessToken FieldUse = "access_token" // connectors.Credentials.AccessToken
	// UseConfig is connection configuration, not a secret (Shopify's shop
	// subdomain), read by the base URL's placeholders; it is sealed with
	// the rest all the same.
	UseConfig FieldUse = "config"
)

// Field is one value a user submits to connect with an API key.
type Field struct {
	Name  string // key in the request's "credentials" object
	Label string // what the front end shows
	Use   FieldUse
	// Pattern is what a valid value looks like; a value that does not
	// match is refused before the provider is asked.
	Pattern *regexp.Regexp
	// MaxLen bounds the value's length in bytes, when below the bound of
	// every field (1,024). A length limit is a field of its own rather than
	// a bounded repetition in Pattern: `{32,256}` compiles to 256 copies,
	// a quarter of a millisecond of every cold start.
	MaxLen int
}

// APIKeyMode is how a connector accepts an API key: the fields a user
// submits. The test call that proves them lives with the actions.
type APIKeyMode struct {
	Fields []Field
	// Doc is the provider's page on creating such a key.
	Doc string
}

// printable is what every credential field is made of.
var printable = regexp.MustCompile(`^[!-~]+$`)

// maxFieldLength bounds a submitted credential field.
const maxFieldLength = 1024

// Modes returns the auth modes the connector accepts.
func (m Manifest) Modes() []Mode {
	var out []Mode
	if m.AuthType.IsOAuth() {
		out = append(out, ModeOAuth)
	}
	if m.APIKey != nil {
		out = append(out, ModeAPIKey)
	}
	if len(m.AppCredentials) > 0 {
		out = append(out, ModeApp)
	}
	return out
}

// AcceptsAPIKey reports whether a user may connect m with an API key.
func (m Manifest) AcceptsAPIKey() bool { return m.APIKey != nil }

// CheckFields checks credentials a user submitted for m: exactly the
// fields of its API-key mode, each matching its pattern. Errors are
// EInvalid and name the field, never its value.
func (m Manifest) CheckFields(fields map[string]string) error {
	if m.APIKey == nil {
		return connectors.Errorf(connectors.EInvalid, "%s does not accept an API key; connect it with OAuth", m.ID)
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !slices.ContainsFunc(m.APIKey.Fields, func(f Field) bool { return f.Name == name }) {
			return connectors.Errorf(connectors.EInvalid, "credentials.%s is not a %s credential field (want %s)", truncate(name, 64), m.ID, strings.Join(m.FieldNames(), ", "))
		}
	}
	for _, f := range m.APIKey.Fields {
		v := fields[f.Name]
		switch {
		case v == "":
			return connectors.Errorf(connectors.EInvalid, "credentials.%s is required", f.Name)
		case len(v) > cmp.Or(f.MaxLen, maxFieldLength):
			return connectors.Errorf(connectors.EInvalid, "credentials.%s is longer than %d bytes", f.Name, cmp.Or(f.MaxLen, maxFieldLength))
		case !printable.MatchString(v):
			// A credential goes into a header: no space or control
			// character may split or extend it.
			return connectors.Errorf(connectors.EInvalid, "credentials.%s must be printable ASCII without spaces", f.Name)
		case f.Pattern != nil && !f.Pattern.MatchString(v):
			return connectors.Errorf(connectors.EInvalid, "credentials.%s does not look like %s", f.Name, f.Label)
		}
	}
	return nil
}

// FieldNames returns the names of m's API-key fields.
func (m Manifest) FieldNames() []string {
	if m.APIKey == nil {
		return nil
	}
	names := make([]string, len(m.APIKey.Fields))
	for i, f := range m.APIKey.Fields {
		names[i] = f.Name
	}
	return names
}

// FieldCredentials returns the credentials an action sends for fields a
// user submitted (checked by CheckFields), each where its Use says.
func (m Manifest) FieldCredentials(fields map[string]string) connectors.Credentials {
	var c connectors.Credentials
	if m.APIKey == nil {
		return c
	}
	for _, f := range m.APIKey.Fields {
		v := fields[f.Name]
		switch f.Use {
		case UseAPIKey:
			c.APIKey = v
		case UseAccessToken:
			c.AccessToken = v
		case UseConfig:
			if c.ConnectionConfig == nil {
				c.ConnectionConfig = map[string]string{}
			}
			c.ConnectionConfig[f.Name] = v
		}
	}
	return c
}

// Credential is what an action's requests authenticate with.
type Credential string

// CredentialConnection is the connection's own credentials: its OAuth
// token, or the API key it holds.
const CredentialConnection Credential = "connection"

// AppCredential is the Credential of the deployment's app credential name
// (a key of the secret, e.g. "discord_bot_token").
func AppCredential(name string) Credential { return Credential("app:" + name) }

// App returns the app credential c names, if it names one.
func (c Credential) App() (name string, ok bool) {
	return strings.CutPrefix(string(c), "app:")
}

// Action is one action as the registry lists it: its name and the
// credential its requests send.
type Action struct {
	Name       string
	Credential Credential
}

// Credential returns the credential the named action sends; "" when m has
// no such action.
func (m Manifest) Credential(action string) Credential { return m.ActionCredentials[action] }

func (m Manifest) checkModes() error {
	if m.APIKey != nil {
		if len(m.APIKey.Fields) == 0 {
			return fmt.Errorf("registry: %s: an API-key mode without fields", m.ID)
		}
		for _, f := range m.APIKey.Fields {
			switch f.Use {
			case UseAPIKey, UseAccessToken, UseConfig:
			default:
				return fmt.Errorf("registry: %s: field %s has no use", m.ID, f.Name)
			}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
