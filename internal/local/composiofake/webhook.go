package composiofake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Webhook event types.
const (
	EventConnectedAccountExpired = "composio.connected_account.expired"
	EventTriggerMessage          = "composio.trigger.message"
)

// Event builds a signed V3 webhook about connected account id, as Composio
// sends it: body {"id","type","metadata","data":<the account, as GET
// answers it>,"timestamp"} and the Standard Webhooks headers webhook-id,
// webhook-timestamp and webhook-signature (one "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>" per secret, space-separated, the HMAC keyed with the
// secret's bytes), plus x-composio-webhook-version: V3.
func (s *Server) Event(eventType, id string) ([]byte, http.Header, error) {
	s.mu.Lock()
	a := s.accounts[id]
	if a == nil {
		s.mu.Unlock()
		return nil, nil, ErrUnknownAccount
	}
	data := s.accountJSONLocked(a)
	secrets := append([]string(nil), s.opts.WebhookSecrets...)
	now := s.opts.Now()
	s.mu.Unlock()
	return SignedEvent(secrets, eventType, data, now)
}

// SignedEvent builds a V3 webhook of eventType with data, signed at ts with
// each secret.
func SignedEvent(secrets []string, eventType string, data any, ts time.Time) ([]byte, http.Header, error) {
	if len(secrets) == 0 {
		return nil, nil, errors.New("composiofake: no webhook secret to sign with")
	}
	msgID := "msg_" + randomID(20)
	body, err := json.Marshal(map[string]any{
		"id":        msgID,
		"type":      eventType,
		"metadata":  map[string]any{"project_id": "pr_fake", "org_id": "ok_fake"},
		"data":      data,
		"timestamp": ts.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("composiofake: encoding webhook: %w", err)
	}
	var sigs []string
	for _, secret := range secrets {
		wh, _ := standardwebhooks.NewWebhookRaw([]byte(secret)) // never fails
		sig, err := wh.Sign(msgID, ts, body)
		if err != nil {
			return nil, nil, err
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	h.Set("x-composio-webhook-version", "V3")
	h.Set("x-composio-delivery-attempt", "1")
	return body, h, nil
}

// SendEvent POSTs Event(eventType, id) to url. The caller closes the
// answer's body.
func (s *Server) SendEvent(ctx context.Context, url, eventType, id string) (*http.Response, error) {
	body, h, err := s.Event(eventType, id)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("composiofake: webhook request: %w", err)
	}
	req.Header = h
	req.Header.Set("User-Agent", "composiofake")
	return http.DefaultClient.Do(req)
}
