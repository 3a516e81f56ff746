package connections

import (
	"context"
	"errors"
	"net/http"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/nango"
	"github.com/automators/connectors/internal/registry"
)

// WebhookKeys returns Nango's webhook signing keys; fresh asks for a re-read
// of the secret, after a signature matched none of the cached keys (the key
// may have just been rotated).
type WebhookKeys func(ctx context.Context, fresh bool) ([]string, error)

// HandleWebhook verifies and applies a Nango webhook. Unknown types and
// operations are accepted and ignored, so Nango never retries them.
func (s *Service) HandleWebhook(ctx context.Context, keys WebhookKeys, body []byte, header http.Header) error {
	if err := s.verifyWebhook(ctx, keys, body, header); err != nil {
		return err
	}
	w, err := nango.ParseWebhook(body)
	if err != nil {
		return connectors.Errorf(connectors.EInvalid, "webhook body is not valid JSON")
	}
	if w.Auth == nil {
		return nil
	}
	a := w.Auth
	m, ok := s.byConfigKey(a.ProviderConfigKey)
	if !ok {
		return nil // an integration this deployment does not serve
	}
	userID, orgID := a.Tags[TagUser], a.Tags[TagOrg]
	if a.EndUser != nil {
		userID = firstNonEmpty(userID, a.EndUser.EndUserID)
		orgID = firstNonEmpty(orgID, a.EndUser.OrganizationID)
	}
	if userID == "" || orgID == "" {
		return nil // not created through our connect sessions: not ours to record
	}
	p := connectors.Principal{OrganizationID: orgID}
	switch {
	case a.Success && (a.Operation == nango.OperationCreation || a.Operation == nango.OperationOverride):
		nc := &nango.Connection{ConnectionID: a.ConnectionID, ProviderConfigKey: a.ProviderConfigKey}
		_, err = s.upsertNango(ctx, orgID, userID, m, nc)
		s.auditDetail(ctx, p, "webhook", a.ConnectionID, m.ID, "auth "+a.Operation, err)
		if connectors.ErrorCode(err) == connectors.EForbidden {
			return nil // tags naming another user than the record's owner: refused, logged, not retried
		}
		return err
	case !a.Success && a.Operation == nango.OperationRefresh:
		c, err := s.Store.GetConnection(ctx, orgID, a.ConnectionID)
		if errors.Is(err, connectors.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.UserID != userID {
			return nil
		}
		_, err = s.update(ctx, c, func(c *connectors.Connection) error {
			c.Status = c.Status.After(connectors.RefreshFailed)
			return nil
		})
		s.auditDetail(ctx, p, "webhook", a.ConnectionID, m.ID, "auth refresh failed", err)
		return err
	}
	return nil
}

func (s *Service) verifyWebhook(ctx context.Context, keys WebhookKeys, body []byte, header http.Header) error {
	refused := connectors.Errorf(connectors.EUnauthorized, "the webhook signature is missing or invalid")
	for _, fresh := range []bool{false, true} {
		ks, err := keys(ctx, fresh)
		if err != nil {
			return err
		}
		if len(ks) == 0 {
			return connectors.Errorf(connectors.ENotConfigured, "no webhook signing key is configured: nango_webhook_signing_keys is empty")
		}
		err = nango.VerifyWebhook(body, header, ks)
		if err == nil {
			return nil
		}
		if errors.Is(err, nango.ErrLegacySignature) || header.Get("X-Nango-Hmac-Sha256") == "" {
			return refused
		}
	}
	return refused
}

func (s *Service) byConfigKey(pck string) (registry.Manifest, bool) {
	for _, m := range s.Registry.All() {
		if m.ProviderConfigKey == pck {
			return m, true
		}
	}
	return registry.Manifest{}, false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
