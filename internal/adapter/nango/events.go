package nango

import (
	"cmp"
	"context"
	"errors"
	"net/http"

	"github.com/automators/connectors/internal/connectors"
)

// WebhookKeys returns Nango's webhook signing keys; fresh asks for a re-read
// of the secret, after a signature matched none of the cached keys (the key
// may have just been rotated).
type WebhookKeys func(ctx context.Context, fresh bool) ([]string, error)

// Webhooks verifies Nango's signed webhooks and turns them into domain
// events.
type Webhooks struct {
	Keys WebhookKeys
}

// Event verifies body against its X-Nango-Hmac-Sha256 header and returns
// what it says happened. Types and operations this service does not act on
// are EventIgnored, so that Nango is acknowledged and never retries them.
// Errors: EUnauthorized for a missing or bad signature (the legacy
// signature alone included), ENotConfigured without signing keys, EInvalid
// for a body that is not JSON or ids no principal could have.
func (w Webhooks) Event(ctx context.Context, body []byte, header http.Header) (*connectors.ConnectionEvent, error) {
	if err := w.verify(ctx, body, header); err != nil {
		return nil, err
	}
	wh, err := ParseWebhook(body)
	if err != nil {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook body is not valid JSON")
	}
	ev := &connectors.ConnectionEvent{Provider: connectors.ProviderNango}
	a := wh.Auth
	if a == nil {
		return ev, nil
	}
	ev.Operation, ev.ProviderConfigKey, ev.ConnectionID = a.Operation, a.ProviderConfigKey, a.ConnectionID
	if ev.Claimed, err = claimedOwner(a); err != nil {
		return nil, err
	}
	switch {
	case a.Success && (a.Operation == OperationCreation || a.Operation == OperationOverride):
		ev.Kind = connectors.EventConnected
	case !a.Success && a.Operation == OperationRefresh:
		ev.Kind = connectors.EventRefreshFailed
	}
	return ev, nil
}

func (w Webhooks) verify(ctx context.Context, body []byte, header http.Header) error {
	refused := connectors.Errorf(connectors.EUnauthorized, "the webhook signature is missing or invalid")
	for _, fresh := range []bool{false, true} {
		ks, err := w.Keys(ctx, fresh)
		if err != nil {
			return err
		}
		if len(ks) == 0 {
			return connectors.Errorf(connectors.ENotConfigured, "no webhook signing key is configured: nango_webhook_signing_keys is empty")
		}
		err = VerifyWebhook(body, header, ks)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrLegacySignature) || header.Get(HeaderHMAC) == "" {
			return refused
		}
	}
	return refused
}

// claimedOwner is who a webhook's payload says the connection is for, or
// nil when it says nothing. Ids that no principal could have are refused
// before anything is written or audited.
func claimedOwner(a *AuthWebhook) (*connectors.Owner, error) {
	if !connectors.ValidID(a.ConnectionID) {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook connectionId is not a valid id")
	}
	userID, orgID := a.Tags[TagUser], a.Tags[TagOrg]
	if a.EndUser != nil {
		userID = cmp.Or(userID, a.EndUser.EndUserID)
		orgID = cmp.Or(orgID, a.EndUser.OrganizationID)
	}
	if userID == "" && orgID == "" {
		return nil, nil
	}
	if !connectors.ValidID(userID) || !connectors.ValidID(orgID) {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook tags do not name a valid user and organization")
	}
	return &connectors.Owner{OrganizationID: orgID, UserID: userID}, nil
}
