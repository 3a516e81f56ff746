package nango

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Webhook signature headers.
const (
	// HeaderHMAC carries the lower-case hex HMAC-SHA256 of the raw body,
	// keyed with the environment's webhook signing key.
	HeaderHMAC = "X-Nango-Hmac-Sha256"
	// HeaderLegacySignature is Nango's older signature (a plain SHA-256 of
	// secret and body). It is not accepted on its own.
	HeaderLegacySignature = "X-Nango-Signature"
)

// Errors of VerifyWebhook, for errors.Is.
var (
	// ErrBadSignature: the X-Nango-Hmac-Sha256 header is missing, malformed,
	// or matches none of the keys.
	ErrBadSignature = errors.New("nango: bad webhook signature")
	// ErrLegacySignature: the request carries only the legacy
	// X-Nango-Signature header, which is refused.
	ErrLegacySignature = errors.New("nango: only the legacy webhook signature (X-Nango-Signature) was sent")
	// ErrNoSigningKeys: no webhook signing key is configured, so nothing can
	// be verified.
	ErrNoSigningKeys = errors.New("nango: no webhook signing key configured")
)

// SignWebhook returns the X-Nango-Hmac-Sha256 value of body under key: what
// `openssl dgst -sha256 -hmac KEY` prints for the same bytes.
func SignWebhook(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks the X-Nango-Hmac-Sha256 header of a webhook against
// the raw body bytes with each key (several during a rotation). It returns
// nil when one key matches, else an error matching ErrBadSignature,
// ErrLegacySignature or ErrNoSigningKeys.
func VerifyWebhook(body []byte, header http.Header, keys []string) error {
	sig := header.Get(HeaderHMAC)
	if sig == "" && header.Get(HeaderLegacySignature) != "" {
		if len(keys) == 0 {
			return ErrNoSigningKeys
		}
		return ErrLegacySignature
	}
	return VerifyWebhookSignature(body, sig, keys)
}

// VerifyWebhookSignature checks signature (the X-Nango-Hmac-Sha256 value)
// against body with each key, in constant time per key.
func VerifyWebhookSignature(body []byte, signature string, keys []string) error {
	if len(keys) == 0 {
		return ErrNoSigningKeys
	}
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	ok := false
	for _, k := range keys {
		if k == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(k))
		m.Write(body)
		// Every key is tried, so the time taken does not say which matched.
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// Webhook types Nango sends.
const (
	WebhookAuth        = "auth"
	WebhookSync        = "sync"
	WebhookForward     = "forward"
	WebhookAsyncAction = "async_action"
)

// Auth webhook operations.
const (
	OperationCreation = "creation"
	OperationOverride = "override"
	OperationRefresh  = "refresh"
)

// Webhook is a parsed webhook from Nango. Auth is set for type "auth"; any
// other type is kept as Raw only.
type Webhook struct {
	Type string
	From string
	Auth *AuthWebhook
	Raw  json.RawMessage
}

// AuthWebhook is the payload of an auth webhook: a connection was created,
// overridden (re-authorized) or failed to refresh.
type AuthWebhook struct {
	Type              string            `json:"type"` // "auth"
	From              string            `json:"from"` // "nango"
	Operation         string            `json:"operation"`
	Success           bool              `json:"success"`
	ConnectionID      string            `json:"connectionId"`
	ProviderConfigKey string            `json:"providerConfigKey"`
	Provider          string            `json:"provider"`
	Environment       string            `json:"environment"`
	AuthMode          string            `json:"authMode,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	EndUser           *WebhookEndUser   `json:"endUser,omitempty"`
	Error             *WebhookError     `json:"error,omitempty"`
}

// WebhookEndUser is the end user of an auth webhook.
type WebhookEndUser struct {
	EndUserID      string            `json:"endUserId"`
	EndUserEmail   string            `json:"endUserEmail,omitempty"`
	OrganizationID string            `json:"organizationId,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
}

// WebhookError is the error of a failed auth operation.
type WebhookError struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// ParseWebhook parses a webhook body. Unknown types are not an error: they
// come back with Raw set and Auth nil. Only a body that is not a JSON object
// is an error.
func ParseWebhook(body []byte) (*Webhook, error) {
	var head struct {
		Type string `json:"type"`
		From string `json:"from"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, errorf("parsing webhook: %w", err)
	}
	w := &Webhook{Type: head.Type, From: head.From, Raw: json.RawMessage(body)}
	if head.Type == WebhookAuth {
		var a AuthWebhook
		if err := json.Unmarshal(body, &a); err != nil {
			// A known type with an unexpected shape is still not fatal:
			// the caller gets the raw body.
			return w, nil
		}
		w.Auth = &a
	}
	return w, nil
}
