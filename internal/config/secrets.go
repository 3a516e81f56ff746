package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
)

// EncryptionKeySize is the size of a token encryption key: AES-256.
const EncryptionKeySize = 32

// EncryptionKey is one token encryption key. Keys are listed newest first:
// the first encrypts, all decrypt, so that keys can be rotated.
type EncryptionKey struct {
	ID     string // stored with each sealed value to pick the key that opens it
	Secret []byte // EncryptionKeySize bytes; base64 in every source
}

// String shows the key id only, never the key.
func (k EncryptionKey) String() string { return "EncryptionKey{ID:" + k.ID + ", Secret:[REDACTED]}" }

// GoString shows the key id only, never the key (for %#v).
func (k EncryptionKey) GoString() string { return k.String() }

// LogValue shows the key id only, never the key.
func (k EncryptionKey) LogValue() slog.Value { return slog.StringValue(k.ID) }

// MarshalJSON shows the key id only, so that a stray json.Marshal cannot leak
// the key.
func (k EncryptionKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"id": k.ID, "key": "[REDACTED]"})
}

// Secrets holds the secret settings. Deployed, they come from one
// Secrets Manager JSON secret; locally from upper-case environment variables.
// Which ones are required depends on the function, so none is checked for
// presence here. Its String, GoString, LogValue and MarshalJSON methods say
// which secrets are set, never what they are.
type Secrets struct {
	NangoSecretKey          string
	NangoWebhookSigningKeys []string // several during a rotation
	JWTHS256Secret          string   // optional: HS256 tokens are refused without it
	StateSigningKey         string
	TokenEncryptionKeys     []EncryptionKey // first encrypts, all decrypt
	GoogleClientID          string
	GoogleClientSecret      string
	MicrosoftClientID       string
	MicrosoftClientSecret   string
	// DiscordBotToken is the deployment's Discord application bot token,
	// the app credential Discord's send_message sends.
	DiscordBotToken string
	// ComposioAPIKey is the Composio project's API key (routing step 6);
	// ComposioWebhookSecrets verify its webhooks (several during a
	// rotation).
	ComposioAPIKey         string
	ComposioWebhookSecrets []string
	// PanoraAPIKey is the Panora project's API key (routing step 5);
	// PanoraWebhookSecrets verify its webhooks.
	PanoraAPIKey         string
	PanoraWebhookSecrets []string
	// PanoraDashboardToken authorizes creating magic links, which Panora
	// guards with its dashboard's JWT rather than the API key.
	PanoraDashboardToken string
}

// AppCredentials returns the deployment's app credentials that are set,
// by their key in the secret, as actions name them.
func (s Secrets) AppCredentials() map[string]string {
	out := map[string]string{}
	if s.DiscordBotToken != "" {
		out["discord_bot_token"] = s.DiscordBotToken
	}
	return out
}

// String describes s without any secret value.
func (s Secrets) String() string {
	var b strings.Builder
	b.WriteString("config.Secrets{")
	for i, f := range s.summary() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s:%v", f.name, f.value)
	}
	b.WriteString("}")
	return b.String()
}

// GoString describes s without any secret value (for %#v).
func (s Secrets) GoString() string { return s.String() }

// LogValue describes s without any secret value.
func (s Secrets) LogValue() slog.Value {
	fields := s.summary()
	attrs := make([]slog.Attr, len(fields))
	for i, f := range fields {
		attrs[i] = slog.Any(f.name, f.value)
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON describes s without any secret value, so that a stray
// json.Marshal cannot leak one.
func (s Secrets) MarshalJSON() ([]byte, error) {
	m := make(map[string]any)
	for _, f := range s.summary() {
		m[f.name] = f.value
	}
	return json.Marshal(m)
}

type summaryField struct {
	name  string
	value any
}

// summary says, per field, whether it is set (or how many keys, and the ids of
// the encryption keys, which are not secret).
func (s Secrets) summary() []summaryField {
	set := func(v string) string {
		if v == "" {
			return "unset"
		}
		return "set"
	}
	ids := make([]string, len(s.TokenEncryptionKeys))
	for i, k := range s.TokenEncryptionKeys {
		ids[i] = k.ID
	}
	return []summaryField{
		{"nango_secret_key", set(s.NangoSecretKey)},
		{"nango_webhook_signing_keys", len(s.NangoWebhookSigningKeys)},
		{"jwt_hs256_secret", set(s.JWTHS256Secret)},
		{"state_signing_key", set(s.StateSigningKey)},
		{"token_encryption_keys", ids},
		{"google_client_id", set(s.GoogleClientID)},
		{"google_client_secret", set(s.GoogleClientSecret)},
		{"microsoft_client_id", set(s.MicrosoftClientID)},
		{"microsoft_client_secret", set(s.MicrosoftClientSecret)},
		{"discord_bot_token", set(s.DiscordBotToken)},
		{"composio_api_key", set(s.ComposioAPIKey)},
		{"composio_webhook_secrets", len(s.ComposioWebhookSecrets)},
		{"panora_api_key", set(s.PanoraAPIKey)},
		{"panora_webhook_secrets", len(s.PanoraWebhookSecrets)},
		{"panora_dashboard_token", set(s.PanoraDashboardToken)},
	}
}

// Clone returns a deep copy of s, so that a cache can hand secrets out without
// letting a caller change its copy.
func (s Secrets) Clone() Secrets {
	c := s
	c.NangoWebhookSigningKeys = append([]string(nil), s.NangoWebhookSigningKeys...)
	if s.TokenEncryptionKeys != nil {
		c.TokenEncryptionKeys = make([]EncryptionKey, len(s.TokenEncryptionKeys))
		for i, k := range s.TokenEncryptionKeys {
			c.TokenEncryptionKeys[i] = EncryptionKey{ID: k.ID, Secret: bytes.Clone(k.Secret)}
		}
	}
	return c
}

// SecretKeys are the keys of the Secrets Manager document, in
// its order. Their local forms are the same names in upper case.
var SecretKeys = []string{
	"nango_secret_key", "nango_webhook_signing_keys", "jwt_hs256_secret", "state_signing_key",
	"token_encryption_keys", "google_client_id", "google_client_secret",
	"microsoft_client_id", "microsoft_client_secret", "discord_bot_token",
	"composio_api_key", "composio_webhook_secrets", "panora_api_key", "panora_webhook_secrets", "panora_dashboard_token",
}

// secretsJSON is the JSON form of the Secrets Manager document.
type secretsJSON struct {
	NangoSecretKey          string     `json:"nango_secret_key"`
	NangoWebhookSigningKeys stringList `json:"nango_webhook_signing_keys"`
	JWTHS256Secret          string     `json:"jwt_hs256_secret"`
	StateSigningKey         string     `json:"state_signing_key"`
	TokenEncryptionKeys     []keyJSON  `json:"token_encryption_keys"`
	GoogleClientID          string     `json:"google_client_id"`
	GoogleClientSecret      string     `json:"google_client_secret"`
	MicrosoftClientID       string     `json:"microsoft_client_id"`
	MicrosoftClientSecret   string     `json:"microsoft_client_secret"`
	DiscordBotToken         string     `json:"discord_bot_token"`
	ComposioAPIKey          string     `json:"composio_api_key"`
	ComposioWebhookSecrets  stringList `json:"composio_webhook_secrets"`
	PanoraAPIKey            string     `json:"panora_api_key"`
	PanoraWebhookSecrets    stringList `json:"panora_webhook_secrets"`
	PanoraDashboardToken    string     `json:"panora_dashboard_token"`
}

type keyJSON struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// stringList is a JSON list of strings; a single string is taken as a list of
// one, because that is what a person editing the secret in the console is
// likely to write for one key.
type stringList []string

// UnmarshalJSON reads a list of strings or a single string.
func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = SplitList(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		// An UnmarshalTypeError gets the field name added by encoding/json.
		return &json.UnmarshalTypeError{Value: "non-list", Type: reflect.TypeFor[[]string]()}
	}
	*l = many
	return nil
}

// ParseSecretsJSON parses the Secrets Manager JSON document. Unknown keys are
// ignored so that a secret can gain keys before the code that reads them is
// deployed. Errors name the offending key, never its value.
func ParseSecretsJSON(b []byte) (Secrets, error) {
	var doc secretsJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return Secrets{}, fmt.Errorf("config: secrets JSON: %w", safeJSONError(err))
	}
	s := Secrets{
		NangoSecretKey:         strings.TrimSpace(doc.NangoSecretKey),
		JWTHS256Secret:         strings.TrimSpace(doc.JWTHS256Secret),
		StateSigningKey:        strings.TrimSpace(doc.StateSigningKey),
		GoogleClientID:         strings.TrimSpace(doc.GoogleClientID),
		GoogleClientSecret:     strings.TrimSpace(doc.GoogleClientSecret),
		MicrosoftClientID:      strings.TrimSpace(doc.MicrosoftClientID),
		MicrosoftClientSecret:  strings.TrimSpace(doc.MicrosoftClientSecret),
		DiscordBotToken:        strings.TrimSpace(doc.DiscordBotToken),
		ComposioAPIKey:         strings.TrimSpace(doc.ComposioAPIKey),
		ComposioWebhookSecrets: doc.ComposioWebhookSecrets,
		PanoraAPIKey:           strings.TrimSpace(doc.PanoraAPIKey),
		PanoraWebhookSecrets:   doc.PanoraWebhookSecrets,
	}
	for i, k := range doc.NangoWebhookSigningKeys {
		if k = strings.TrimSpace(k); k == "" {
			return Secrets{}, fmt.Errorf("config: secrets JSON: nango_webhook_signing_keys[%d] is empty", i)
		}
		s.NangoWebhookSigningKeys = append(s.NangoWebhookSigningKeys, k)
	}
	for i, k := range doc.TokenEncryptionKeys {
		key, err := decodeKey(k.ID, k.Key)
		if err != nil {
			return Secrets{}, fmt.Errorf("config: secrets JSON: token_encryption_keys[%d]: %w", i, err)
		}
		s.TokenEncryptionKeys = append(s.TokenEncryptionKeys, key)
	}
	if err := checkKeyIDs(s.TokenEncryptionKeys); err != nil {
		return Secrets{}, fmt.Errorf("config: secrets JSON: token_encryption_keys: %w", err)
	}
	return s, nil
}

// safeJSONError keeps the position and field of a JSON error but drops
// anything that could quote the document, which is all secrets.
func safeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("%s: want %s, got JSON %s", typ.Field, typ.Type, typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("want a JSON object, got JSON %s", typ.Value)
	}
	return errors.New("invalid JSON document")
}

// SecretsFromEnv reads the secrets from upper-case environment variables, the
// local form of the Secrets Manager document: NANGO_SECRET_KEY,
// NANGO_WEBHOOK_SIGNING_KEYS=k1,k2, JWT_HS256_SECRET, STATE_SIGNING_KEY,
// TOKEN_ENCRYPTION_KEYS=id1:<base64 32 bytes>,id2:..., GOOGLE_CLIENT_ID,
// GOOGLE_CLIENT_SECRET, MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET.
// Errors name the variable, never its value.
func SecretsFromEnv(getenv func(string) string) (Secrets, error) {
	s := Secrets{
		NangoSecretKey:          strings.TrimSpace(getenv("NANGO_SECRET_KEY")),
		NangoWebhookSigningKeys: SplitList(getenv("NANGO_WEBHOOK_SIGNING_KEYS")),
		JWTHS256Secret:          strings.TrimSpace(getenv("JWT_HS256_SECRET")),
		StateSigningKey:         strings.TrimSpace(getenv("STATE_SIGNING_KEY")),
		GoogleClientID:          strings.TrimSpace(getenv("GOOGLE_CLIENT_ID")),
		GoogleClientSecret:      strings.TrimSpace(getenv("GOOGLE_CLIENT_SECRET")),
		MicrosoftClientID:       strings.TrimSpace(getenv("MICROSOFT_CLIENT_ID")),
		MicrosoftClientSecret:   strings.TrimSpace(getenv("MICROSOFT_CLIENT_SECRET")),
		DiscordBotToken:         strings.TrimSpace(getenv("DISCORD_BOT_TOKEN")),
		ComposioAPIKey:          strings.TrimSpace(getenv("COMPOSIO_API_KEY")),
		ComposioWebhookSecrets:  SplitList(getenv("COMPOSIO_WEBHOOK_SECRETS")),
		PanoraAPIKey:            strings.TrimSpace(getenv("PANORA_API_KEY")),
		PanoraWebhookSecrets:    SplitList(getenv("PANORA_WEBHOOK_SECRETS")),
		PanoraDashboardToken:    strings.TrimSpace(getenv("PANORA_DASHBOARD_TOKEN")),
	}
	for i, item := range SplitList(getenv("TOKEN_ENCRYPTION_KEYS")) {
		id, b64, ok := strings.Cut(item, ":")
		if !ok {
			return Secrets{}, &VarError{Name: "TOKEN_ENCRYPTION_KEYS", Err: fmt.Errorf("entry %d is not id:<base64 key>", i)}
		}
		key, err := decodeKey(strings.TrimSpace(id), strings.TrimSpace(b64))
		if err != nil {
			return Secrets{}, &VarError{Name: "TOKEN_ENCRYPTION_KEYS", Err: fmt.Errorf("entry %d: %w", i, err)}
		}
		s.TokenEncryptionKeys = append(s.TokenEncryptionKeys, key)
	}
	if err := checkKeyIDs(s.TokenEncryptionKeys); err != nil {
		return Secrets{}, &VarError{Name: "TOKEN_ENCRYPTION_KEYS", Err: err}
	}
	return s, nil
}

// decodeKey decodes one encryption key. Standard and URL-safe base64, padded
// or not, are accepted: people paste keys from many tools. So are 64 hex
// digits (either case), the form template.yaml has Secrets Manager generate,
// since its generator draws from a character set and cannot emit base64 of
// random bytes. The two cannot be confused: base64 of 32 bytes is 43 or 44
// characters long, never 64.
func decodeKey(id, b64 string) (EncryptionKey, error) {
	if id == "" {
		return EncryptionKey{}, errors.New("key id is empty")
	}
	if len(b64) == 2*EncryptionKeySize {
		if raw, err := hex.DecodeString(b64); err == nil {
			return EncryptionKey{ID: id, Secret: raw}, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(b64); err == nil {
			if len(raw) != EncryptionKeySize {
				return EncryptionKey{}, fmt.Errorf("key %q: decodes to %d bytes, want %d", id, len(raw), EncryptionKeySize)
			}
			return EncryptionKey{ID: id, Secret: raw}, nil
		}
	}
	return EncryptionKey{}, fmt.Errorf("key %q: not base64", id)
}

// checkKeyIDs refuses duplicate key ids: a sealed value names its key by id,
// so two keys with one id would make decryption ambiguous.
func checkKeyIDs(keys []EncryptionKey) error {
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[k.ID] {
			return fmt.Errorf("key id %q given twice", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}
