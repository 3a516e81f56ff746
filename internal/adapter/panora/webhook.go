package panora

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// HeaderSignature carries a webhook's signature: the lower-case hex
// HMAC-SHA256, keyed with the webhook endpoint's secret, of
// JSON.stringify(payload.data) (packages/api/src/@core/@core-services/
// webhooks/panora-webhooks/webhook.processor.ts, processWebhooks, and
// webhook.service.ts, generateSignature and verifyPayloadSignature, which
// POST /webhooks/verifyEvent runs with the document's
// SignatureVerificationDto {payload, signature, secret}).
//
// Panora POSTs {"id_event","data","type"} with axios, which writes the body
// with JSON.stringify: the bytes of the body's "data" member are therefore
// exactly JSON.stringify(payload.data), and they are what is signed. Panora
// stores the payload as a JSON string (webhooks_payloads.data is a Json
// column holding JSON.stringify of the event's object), so "data" is a
// string holding JSON; an object is read too.
//
// Only "data" is signed: "id_event" and "type" are not, and a captured
// delivery can be replayed (the scheme has no timestamp). Event therefore
// decides from the signed connection's status as well as from the type.
const HeaderSignature = "Panora-Signature"

// Event types of Panora's connection webhooks. Panora emits only
// connection.created at c6741e9e (packages/shared/src/webhookScopes.ts; the
// connection services of packages/api/src/@core/connections/*/services/);
// the others are names a later Panora may send for a connection that
// stopped working, read in case it does.
const (
	EventConnectionCreated = "connection.created"
	EventConnectionInvalid = "connection.invalid"
	EventConnectionExpired = "connection.expired"
)

// Errors of VerifyWebhook, for errors.Is.
var (
	// ErrBadSignature: the Panora-Signature header is missing or
	// malformed, the body has no "data", or no secret matches.
	ErrBadSignature = errors.New("panora: bad webhook signature")
	// ErrNoSecrets: no webhook secret is configured, so nothing can be
	// verified.
	ErrNoSecrets = errors.New("panora: no webhook secret configured")
)

// envelope is the body Panora POSTs to a webhook endpoint.
type envelope struct {
	IDEvent string          `json:"id_event"`
	Data    json.RawMessage `json:"data"`
	Type    string          `json:"type"`
}

// SignWebhook returns the Panora-Signature of a webhook whose body's "data"
// member is the JSON text data (for a string payload, the quoted string as
// the body holds it) under secret.
func SignWebhook(data []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks the Panora-Signature header of a webhook against its
// raw body with each secret (several during a rotation), in constant time
// per secret. It returns nil when one matches, else an error matching
// ErrBadSignature or ErrNoSecrets.
func VerifyWebhook(body []byte, header http.Header, secrets []string) error {
	if len(secrets) == 0 {
		return ErrNoSecrets
	}
	got, err := hex.DecodeString(strings.TrimSpace(header.Get(HeaderSignature)))
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	var env envelope
	if json.Unmarshal(body, &env) != nil || len(env.Data) == 0 {
		return ErrBadSignature
	}
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write(env.Data)
		// Every secret is tried, so the time taken does not say which matched.
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// WebhookSecrets returns the secrets of this service's Panora webhook
// endpoint (WebhookResponse.secret); fresh asks for a re-read of the secret
// store, after a signature matched none of the cached secrets (the secret
// may have just been rotated).
type WebhookSecrets func(ctx context.Context, fresh bool) ([]string, error)

// Webhooks verifies Panora's signed webhooks and turns them into domain
// events.
type Webhooks struct {
	Secrets WebhookSecrets
	// ProviderConfigKey names a connector's provider config key in this
	// deployment (the registry's), which ConnectionEvent carries; nil uses
	// the connector's registry id.
	ProviderConfigKey func(connector string) string
}

// webhookConnection is the part of a connection webhook's data this service
// reads: the connection Panora made (its connections row, which also holds
// the connection token and the provider's encrypted tokens: never log a
// Panora webhook's body).
type webhookConnection struct {
	ID           string `json:"id_connection"`
	Status       string `json:"status"`
	ProviderSlug string `json:"provider_slug"`
	Vertical     string `json:"vertical"`
	LinkedUserID string `json:"id_linked_user"`
}

// Event verifies body against its Panora-Signature header and returns what
// it says happened. Events of other types, of apps this service does not
// use, and whose signed connection contradicts the type are EventIgnored,
// so that Panora is acknowledged. Claimed stays nil: the payload names
// Panora's linked user, not an owner of this service's (the owner item
// decides). Errors: EUnauthorized for a missing or bad signature,
// ENotConfigured without secrets, EInvalid for a body that is not a
// webhook or ids no principal could have.
func (w Webhooks) Event(ctx context.Context, body []byte, header http.Header) (*connectors.ConnectionEvent, error) {
	if err := w.verify(ctx, body, header); err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook body is not valid JSON")
	}
	ev := &connectors.ConnectionEvent{Provider: connectors.ProviderPanora, Operation: env.Type}
	if !strings.HasPrefix(env.Type, "connection.") {
		return ev, nil
	}
	data := bytes.TrimSpace(env.Data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if json.Unmarshal(data, &s) != nil {
			return nil, connectors.Errorf(connectors.EInvalid, "webhook data is not valid JSON")
		}
		data = []byte(s)
	}
	var c webhookConnection
	if json.Unmarshal(data, &c) != nil {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook data is not a connection")
	}
	connector, ok := ConnectorFor(c.Vertical, c.ProviderSlug)
	if !ok {
		return ev, nil // an app this service does not use
	}
	if !connectors.ValidID(c.ID) {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook id_connection is not a valid id")
	}
	ev.ConnectionID = c.ID
	ev.ProviderConfigKey = connector
	if w.ProviderConfigKey != nil {
		ev.ProviderConfigKey = w.ProviderConfigKey(connector)
	}
	usable := (&Connection{Status: c.Status}).Usable()
	switch env.Type {
	case EventConnectionCreated:
		if usable {
			ev.Kind = connectors.EventConnected
		}
	case EventConnectionInvalid, EventConnectionExpired:
		if !usable {
			ev.Kind = connectors.EventRefreshFailed
		}
	}
	return ev, nil
}

func (w Webhooks) verify(ctx context.Context, body []byte, header http.Header) error {
	refused := connectors.Errorf(connectors.EUnauthorized, "the webhook signature is missing or invalid")
	if w.Secrets == nil {
		return connectors.Errorf(connectors.ENotConfigured, "no Panora webhook secret is configured")
	}
	for _, fresh := range []bool{false, true} {
		ss, err := w.Secrets(ctx, fresh)
		if err != nil {
			return err
		}
		if len(ss) == 0 {
			return connectors.Errorf(connectors.ENotConfigured, "no Panora webhook secret is configured")
		}
		err = VerifyWebhook(body, header, ss)
		if err == nil {
			return nil
		}
		if header.Get(HeaderSignature) == "" {
			return refused // no secret can help
		}
	}
	return refused
}
