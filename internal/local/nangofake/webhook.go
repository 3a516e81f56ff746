package nangofake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/automators/connectors/internal/adapter/nango"
)

// AuthWebhook is the payload of an auth webhook, as the nango package parses it.
type AuthWebhook = nango.AuthWebhook

// SendAuthWebhook POSTs an auth webhook to url as Nango does: JSON body,
// X-Nango-Hmac-Sha256 (HMAC-SHA256 of the body with WebhookSigningKey) and
// the legacy X-Nango-Signature (SHA-256 of the webhook signing key and the
// body, as Nango computes it), which a receiver must not rely on. Type, From and Environment default to "auth",
// "nango" and "dev". The caller closes the answer's body.
func (s *Server) SendAuthWebhook(ctx context.Context, url string, w AuthWebhook) (*http.Response, error) {
	if w.Type == "" {
		w.Type = nango.WebhookAuth
	}
	if w.From == "" {
		w.From = "nango"
	}
	if w.Environment == "" {
		w.Environment = "dev"
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("nangofake: encoding webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("nangofake: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nangofake")
	req.Header.Set(nango.HeaderHMAC, nango.SignWebhook(body, s.opts.WebhookSigningKey))
	legacy := sha256.Sum256(append([]byte(s.opts.WebhookSigningKey), body...))
	req.Header.Set(nango.HeaderLegacySignature, hex.EncodeToString(legacy[:]))
	return http.DefaultClient.Do(req)
}
