package lambdarie

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

// Secrets are development values of the service's secret, for
// one emulator run: fresh random values, never a real credential.
type Secrets struct {
	NangoSecretKey    string
	WebhookSigningKey string
	JWTHS256Secret    string
	StateSigningKey   string
	TokenKeyID        string
	TokenKey          string // base64 of 32 bytes
}

// NewSecrets returns fresh random development secrets.
func NewSecrets() Secrets {
	return Secrets{
		NangoSecretKey:    randomHex(24),
		WebhookSigningKey: randomHex(32),
		JWTHS256Secret:    randomHex(32),
		StateSigningKey:   randomHex(32),
		TokenKeyID:        "dev1",
		TokenKey:          base64.StdEncoding.EncodeToString(randomBytes(32)),
	}
}

// Env returns the secrets as the local environment variables the
// configuration reads when SECRETS_ID is not set.
func (s Secrets) Env() []string {
	return []string{
		"NANGO_SECRET_KEY=" + s.NangoSecretKey,
		"NANGO_WEBHOOK_SIGNING_KEYS=" + s.WebhookSigningKey,
		"JWT_HS256_SECRET=" + s.JWTHS256Secret,
		"STATE_SIGNING_KEY=" + s.StateSigningKey,
		"TOKEN_ENCRYPTION_KEYS=" + s.TokenKeyID + ":" + s.TokenKey,
	}
}

// JSON returns the secrets as the Secrets Manager secret's JSON document.
func (s Secrets) JSON() string {
	b, _ := json.Marshal(map[string]any{
		"nango_secret_key":           s.NangoSecretKey,
		"nango_webhook_signing_keys": []string{s.WebhookSigningKey},
		"jwt_hs256_secret":           s.JWTHS256Secret,
		"state_signing_key":          s.StateSigningKey,
		"token_encryption_keys":      []map[string]string{{"id": s.TokenKeyID, "key": s.TokenKey}},
	})
	return string(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }
