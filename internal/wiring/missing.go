package wiring

import (
	"context"
	"log/slog"

	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connectors"
)

// A value only some routes need never fails a cold start: New logs one line
// per missing value, naming it, and wires a stand-in that answers 503
// not_configured naming it too, on the routes (or executor and sweeper
// calls) that need it. Values every call needs (TABLE_NAME,
// state_signing_key) and values that are present but invalid still fail the
// cold start: there is nothing useful to serve without them.

// Missing values, as New reports them: the secret's key (its local form is
// the same name in upper case) or the environment variable.
const (
	MissingNangoSecretKey   = "nango_secret_key"
	MissingWebhookKeys      = "nango_webhook_signing_keys"
	MissingJWTKey           = "jwt_hs256_secret or JWT_JWKS_URL"
	MissingTokenKeys        = "KMS_KEY_ID or token_encryption_keys"
	MissingGoogleClientID   = "google_client_id"
	MissingGoogleSecret     = "google_client_secret"
	MissingMicrosoftID      = "microsoft_client_id"
	MissingMicrosoftSecret  = "microsoft_client_secret"
	MissingPublicURL        = "PUBLIC_URL"
	MissingDiscordBotToken  = "discord_bot_token"
	missingValueLogMessage  = "configuration value missing; what needs it answers 503 not_configured"
	missingValueLogAffected = "affects"
)

// missingValue is one missing value and what it leaves unserved.
type missingValue struct {
	name    string
	affects string
}

// missingValues lists the missing values of a configuration and its
// secrets, in a fixed order.
func missingValues(cfg config.Config, sec config.Secrets) []missingValue {
	var out []missingValue
	add := func(missing bool, name, affects string) {
		if missing {
			out = append(out, missingValue{name, affects})
		}
	}
	add(sec.NangoSecretKey == "", MissingNangoSecretKey, "every Nango connector: authorize, callback, refresh, delete, executor")
	add(len(sec.NangoWebhookSigningKeys) == 0, MissingWebhookKeys, "POST /api/v1/nango/webhooks")
	add(len(sec.JWTHS256Secret) == 0 && cfg.JWTJWKSURL == "", MissingJWTKey, "every route that needs a bearer token")
	add(len(sec.TokenEncryptionKeys) == 0 && cfg.KMSKeyID == "", MissingTokenKeys, "storing and reading tokens: built-in OAuth, refresh, executor, sweeper")
	add(sec.GoogleClientID == "", MissingGoogleClientID, "gmail (built-in OAuth)")
	add(sec.GoogleClientSecret == "", MissingGoogleSecret, "gmail (built-in OAuth)")
	add(sec.MicrosoftClientID == "", MissingMicrosoftID, "outlook (built-in OAuth)")
	add(sec.MicrosoftClientSecret == "", MissingMicrosoftSecret, "outlook (built-in OAuth)")
	add(cfg.PublicURL == "", MissingPublicURL, "gmail and outlook (built-in OAuth redirect URLs)")
	add(sec.DiscordBotToken == "", MissingDiscordBotToken, "discord send_message (the bot's app credential)")
	return out
}

// logMissing writes one warning line per missing value, naming it, never a
// value.
func logMissing(ctx context.Context, logger *slog.Logger, missing []missingValue) {
	for _, m := range missing {
		logger.WarnContext(ctx, missingValueLogMessage, slog.String("missing", m.name), slog.String(missingValueLogAffected, m.affects))
	}
}

// notConfiguredAuth stands in for the token verifier when there is no key
// to verify tokens with: every authenticated route answers 503
// not_configured naming what to set, rather than the function failing its
// init (which API Gateway would turn into an unexplained 500).
type notConfiguredAuth struct{}

// Authenticate implements httpapi.Authenticator.
func (notConfiguredAuth) Authenticate(context.Context, string) (connectors.Principal, error) {
	return connectors.Principal{}, connectors.Errorf(connectors.ENotConfigured,
		"bearer tokens cannot be verified: set jwt_hs256_secret in the secret or JWT_JWKS_URL")
}

// notConfiguredSealer stands in for the token sealer when there is neither a
// KMS key nor a token encryption key: what stores or reads a token answers
// not_configured.
type notConfiguredSealer struct{}

func (notConfiguredSealer) err() error {
	return connectors.Errorf(connectors.ENotConfigured, "tokens cannot be sealed or opened: set KMS_KEY_ID or token_encryption_keys")
}

// SealFor implements connections.Sealer.
func (s notConfiguredSealer) SealFor(context.Context, string, string, []byte, []byte) ([]byte, error) {
	return nil, s.err()
}

// OpenFor implements connections.Sealer.
func (s notConfiguredSealer) OpenFor(context.Context, string, string, []byte, []byte) ([]byte, error) {
	return nil, s.err()
}

// oauthMissing returns the missing values of one built-in OAuth provider.
func oauthMissing(missing []missingValue, names ...string) []string {
	var out []string
	for _, m := range missing {
		for _, n := range names {
			if m.name == n {
				out = append(out, n)
			}
		}
	}
	return out
}
