package composio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/automators/connectors/internal/connectors"
)

// Composio signs its webhooks as Standard Webhooks (standardwebhooks.com):
// webhook-id, webhook-timestamp (Unix seconds) and webhook-signature, one or
// more space-separated "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
// Verification uses the Standard Webhooks reference library, which also
// refuses a timestamp more than 5 minutes away from now.
const (
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature
	// HeaderWebhookVersion is Composio's payload version (V3 for the
	// events below).
	HeaderWebhookVersion = "x-composio-webhook-version"
)

// Webhook event types Composio sends (V3 payloads).
const (
	EventConnectedAccountExpired = "composio.connected_account.expired"
	EventTriggerMessage          = "composio.trigger.message"
	EventTriggerDisabled         = "composio.trigger.disabled"
	connectedAccountEventPrefix  = "composio.connected_account."
)

// Errors of VerifyWebhook, for errors.Is.
var (
	// ErrBadSignature: the signature headers are missing or malformed, or
	// no signature matches any secret.
	ErrBadSignature = errors.New("composio: bad webhook signature")
	// ErrStaleWebhook: the signed timestamp is more than 5 minutes away
	// from now (a replay, or a clock far off).
	ErrStaleWebhook = errors.New("composio: webhook timestamp outside the tolerance")
	// ErrNoWebhookSecrets: no secret is configured, so nothing can be
	// verified.
	ErrNoWebhookSecrets = errors.New("composio: no webhook secret configured")
)

// webhookKeys are the HMAC keys a secret may stand for. Composio's own
// verification code keys the HMAC with the secret's bytes as given;
// Standard Webhooks decodes a "whsec_<base64>" secret to its bytes. Both are
// tried, so either form of the secret works: each key is the secret's, so
// accepting both lets no one without the secret sign.
func webhookKeys(secret string) []*standardwebhooks.Webhook {
	var out []*standardwebhooks.Webhook
	if raw, err := standardwebhooks.NewWebhookRaw([]byte(secret)); err == nil {
		out = append(out, raw)
	}
	if strings.HasPrefix(secret, "whsec_") {
		if dec, err := standardwebhooks.NewWebhook(secret); err == nil {
			out = append(out, dec)
		}
	}
	return out
}

// SignWebhook returns the webhook-signature value of body with id and
// timestamp under secret, keyed as Composio keys it (the secret's bytes).
func SignWebhook(secret, id string, timestamp time.Time, body []byte) string {
	wh, _ := standardwebhooks.NewWebhookRaw([]byte(secret)) // never fails
	sig, _ := wh.Sign(id, timestamp, body)                  // never fails
	return sig
}

// VerifyWebhook checks a webhook's Standard Webhooks signature against the
// raw body with each secret (several during a rotation). It returns nil
// when one matches, else an error matching ErrBadSignature, ErrStaleWebhook
// or ErrNoWebhookSecrets.
func VerifyWebhook(body []byte, header http.Header, secrets []string) error {
	var keys []*standardwebhooks.Webhook
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, webhookKeys(s)...)
		}
	}
	if len(keys) == 0 {
		return ErrNoWebhookSecrets
	}
	if header.Get(HeaderWebhookID) == "" || header.Get(HeaderWebhookTimestamp) == "" || header.Get(HeaderWebhookSignature) == "" {
		return ErrBadSignature
	}
	for _, wh := range keys {
		err := wh.Verify(body, header)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, standardwebhooks.ErrMessageTooOld), errors.Is(err, standardwebhooks.ErrMessageTooNew):
			return ErrStaleWebhook
		case errors.Is(err, standardwebhooks.ErrInvalidHeaders), errors.Is(err, standardwebhooks.ErrRequiredHeaders):
			return ErrBadSignature
		}
	}
	return ErrBadSignature
}

// WebhookSecrets returns Composio's webhook secrets; fresh asks for a
// re-read of the secret store, after a signature matched none of the cached
// secrets (the secret may have just been rotated).
type WebhookSecrets func(ctx context.Context, fresh bool) ([]string, error)

// Webhooks verifies Composio's signed webhooks and turns them into domain
// events.
type Webhooks struct {
	Secrets WebhookSecrets
}

// Webhook is a parsed V3 webhook payload. Account is set for connected
// account events.
type Webhook struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Timestamp string            `json:"timestamp"`
	Data      json.RawMessage   `json:"data"`
	Account   *ConnectedAccount `json:"-"`
}

// ParseWebhook parses a webhook body. Only a body that is not a JSON
// object is an error; an event of another type, or whose data is not an
// account, comes back without Account.
func ParseWebhook(body []byte) (*Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, errors.New("composio: parsing webhook: not a JSON object")
	}
	if strings.HasPrefix(w.Type, connectedAccountEventPrefix) {
		var a ConnectedAccount
		if json.Unmarshal(w.Data, &a) == nil {
			w.Account = &a
		}
	}
	return &w, nil
}

// Event verifies body against its signature headers and returns what it
// says happened. A connected account that expired or failed is
// EventRefreshFailed (Composio could not refresh it: the user must
// reconnect); every other event is EventIgnored, so that Composio is
// acknowledged and does not retry. Operation is the account's status (the
// event's type for other events); ConnectionID the account's id;
// ProviderConfigKey its auth config; Claimed the owner its user id names,
// or nil (and the event ignored) when the user id is not one this service
// made. Errors: EUnauthorized for a missing, bad or stale signature,
// ENotConfigured without secrets, EInvalid for a body that is not JSON or
// an account id no connection could have.
func (w Webhooks) Event(ctx context.Context, body []byte, header http.Header) (*connectors.ConnectionEvent, error) {
	if err := w.verify(ctx, body, header); err != nil {
		return nil, err
	}
	wh, err := ParseWebhook(body)
	if err != nil {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook body is not valid JSON")
	}
	ev := &connectors.ConnectionEvent{Provider: connectors.ProviderComposio, Operation: wh.Type}
	a := wh.Account
	if a == nil {
		return ev, nil
	}
	if !connectors.ValidID(a.ID) {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook account id is not a valid id")
	}
	ev.ConnectionID, ev.ProviderConfigKey, ev.Operation = a.ID, a.AuthConfig.ID, a.Status
	org, user, ok := ParseUserID(a.UserID)
	if !ok {
		return ev, nil // not an account of this service's flows
	}
	ev.Claimed = &connectors.Owner{OrganizationID: org, UserID: user}
	if a.Status == StatusExpired || a.Status == StatusFailed {
		ev.Kind = connectors.EventRefreshFailed
	}
	return ev, nil
}

func (w Webhooks) verify(ctx context.Context, body []byte, header http.Header) error {
	refused := connectors.Errorf(connectors.EUnauthorized, "the webhook signature is missing or invalid")
	for _, fresh := range []bool{false, true} {
		if w.Secrets == nil {
			break
		}
		secrets, err := w.Secrets(ctx, fresh)
		if err != nil {
			return err
		}
		switch err := VerifyWebhook(body, header, secrets); {
		case err == nil:
			return nil
		case errors.Is(err, ErrNoWebhookSecrets):
			if fresh {
				return notConfiguredSecrets()
			}
		case errors.Is(err, ErrStaleWebhook):
			return connectors.Errorf(connectors.EUnauthorized, "the webhook timestamp is too old or too new")
		case header.Get(HeaderWebhookSignature) == "":
			return refused
		}
	}
	if w.Secrets == nil {
		return notConfiguredSecrets()
	}
	return refused
}

func notConfiguredSecrets() error {
	return connectors.Errorf(connectors.ENotConfigured, "no Composio webhook secret is configured")
}
