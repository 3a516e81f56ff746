package connect

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/registry"
)

// WebhookKeys returns Nango's webhook signing keys; fresh asks for a re-read
// of the secret, after a signature matched none of the cached keys (the key
// may have just been rotated).
type WebhookKeys func(ctx context.Context, fresh bool) ([]string, error)

// HandleWebhook verifies and applies a Nango webhook. Unknown types and
// operations are accepted and ignored, so Nango never retries them.
//
// A webhook never names an owner by itself. It applies to the record that
// already holds its provider connection; for a connection not yet recorded,
// to the user and organization that Nango's own connection (fetched back)
// carries in its tags, and only while the state this service issued for
// that connect flow is live. A payload that names anyone else is a security
// event: audited, acknowledged (so that Nango stops resending it) and
// otherwise ignored.
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
	claimed, err := claimedOwner(a)
	if err != nil {
		return err
	}
	owner, err := s.Store.GetOwner(ctx, nangoConnection(a.ProviderConfigKey, a.ConnectionID))
	recorded := err == nil
	if err != nil && !errors.Is(err, connectors.ErrNotFound) {
		return fmt.Errorf("look up owner of %s: %w", a.ConnectionID, err)
	}
	if recorded && claimed != nil && (claimed.OrganizationID != owner.OrganizationID || claimed.UserID != owner.UserID) {
		s.ownerConflict(ctx, owner, *claimed, m.ID, a.ConnectionID, "webhook tags name another owner")
		return nil
	}
	switch {
	case a.Success && (a.Operation == nango.OperationCreation || a.Operation == nango.OperationOverride):
		return s.webhookConnected(ctx, m, a, claimed, recorded, owner)
	case !a.Success && a.Operation == nango.OperationRefresh && recorded:
		c, err := s.Store.GetConnection(ctx, owner.OrganizationID, owner.ConnectionID)
		if errors.Is(err, connectors.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load connection %s: %w", owner.ConnectionID, err)
		}
		_, err = s.update(ctx, c, func(c *connectors.Connection) error {
			c.Status = c.Status.After(connectors.RefreshFailed)
			return nil
		})
		s.auditDetail(ctx, webhookActor(owner.OrganizationID), "webhook", c.ID, m.ID, "auth refresh failed", err)
		return err
	}
	return nil
}

// webhookConnected applies a successful creation or override: it makes the
// record of the connection exist and be active, for its one owner.
func (s *Service) webhookConnected(ctx context.Context, m registry.Manifest, a *nango.AuthWebhook, claimed *connectors.Owner, recorded bool, owner connectors.Owner) error {
	nc := &nango.Connection{ConnectionID: a.ConnectionID, ProviderConfigKey: a.ProviderConfigKey}
	if !recorded {
		// Not recorded yet: only Nango's own connection, made by one of
		// our connect sessions while its state is live, names an owner.
		if s.Nango == nil {
			return connectors.Errorf(connectors.ENotConfigured, "Nango is not configured")
		}
		got, err := s.Nango.GetConnection(ctx, a.ProviderConfigKey, a.ConnectionID, nango.GetConnectionOptions{})
		if nango.IsNotFound(err) || nango.IsRefreshFailure(err) {
			return nil // deleted since, or unreadable: the callback records it
		}
		if err != nil {
			return nangoError("fetch connection", err)
		}
		nc = got
		tagged := connectors.Owner{OrganizationID: nc.Tags[TagOrg], UserID: nc.Tags[TagUser], ConnectionID: nc.ConnectionID}
		if !connectors.ValidID(tagged.OrganizationID) || !connectors.ValidID(tagged.UserID) {
			return nil // not created through our connect sessions: not ours to record
		}
		if claimed != nil && (claimed.OrganizationID != tagged.OrganizationID || claimed.UserID != tagged.UserID) {
			s.ownerConflict(ctx, tagged, *claimed, m.ID, a.ConnectionID, "webhook tags differ from Nango's connection")
			return nil
		}
		st, err := s.Store.GetState(ctx, nc.Tags[TagState])
		if err != nil || st.OrganizationID != tagged.OrganizationID || st.UserID != tagged.UserID || st.Connector != m.ID {
			logging.FromContext(ctx).Info("webhook ignored: no live state for the connection", "connector", m.ID)
			return nil
		}
		owner = tagged
	}
	_, err := s.upsertNango(ctx, owner.OrganizationID, owner.UserID, m, nc)
	if errors.Is(err, connectors.ErrOwned) || connectors.ErrorCode(err) == connectors.EForbidden {
		// Another record took the provider connection meanwhile.
		s.heldElsewhere(ctx, nangoConnection(a.ProviderConfigKey, a.ConnectionID), owner, m.ID, "the connection is held by another record")
		return nil
	}
	s.auditDetail(ctx, webhookActor(owner.OrganizationID), "webhook", a.ConnectionID, m.ID, "auth "+a.Operation, err)
	return err
}

// claimedOwner is who a webhook's payload says the connection is for, or
// nil when it says nothing. Ids that no principal could have are refused
// before anything is written or audited.
func claimedOwner(a *nango.AuthWebhook) (*connectors.Owner, error) {
	if !connectors.ValidID(a.ConnectionID) {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook connectionId is not a valid id")
	}
	userID, orgID := a.Tags[TagUser], a.Tags[TagOrg]
	if a.EndUser != nil {
		userID = firstNonEmpty(userID, a.EndUser.EndUserID)
		orgID = firstNonEmpty(orgID, a.EndUser.OrganizationID)
	}
	if userID == "" && orgID == "" {
		return nil, nil
	}
	if !connectors.ValidID(userID) || !connectors.ValidID(orgID) {
		return nil, connectors.Errorf(connectors.EInvalid, "webhook tags do not name a valid user and organization")
	}
	return &connectors.Owner{OrganizationID: orgID, UserID: userID}, nil
}

// ownerConflict records an attempt to give a provider connection a second
// owner, in both organizations' audit logs. The owner's event names the
// other organization; the other's names nobody, so that no organization
// learns another's ids.
func (s *Service) ownerConflict(ctx context.Context, owner, other connectors.Owner, connector, connID, why string) {
	logging.FromContext(ctx).Warn("security: provider connection claimed by another owner",
		"connector", connector, "ownerOrganization", owner.OrganizationID, "claimingOrganization", other.OrganizationID, "reason", why)
	s.appendAudit(ctx, connectors.AuditEvent{
		OrganizationID: owner.OrganizationID, Actor: "nango-webhook", Action: "security",
		ConnectionID: owner.ConnectionID, Connector: connector, Outcome: connectors.EOwned,
		Detail: why + "; claimed for organization " + other.OrganizationID,
	})
	if other.OrganizationID != owner.OrganizationID {
		s.appendAudit(ctx, connectors.AuditEvent{
			OrganizationID: other.OrganizationID, Actor: "nango-webhook", Action: "security",
			Connector: connector, Outcome: connectors.EOwned,
			Detail: why + "; refused: the connection belongs to another organization",
		})
	}
}

// heldElsewhere audits a refused claim of pc, which the store said another
// record holds, as a conflict with that record's owner.
func (s *Service) heldElsewhere(ctx context.Context, pc connectors.ProviderConnection, claimant connectors.Owner, connector, why string) {
	if holder, err := s.Store.GetOwner(ctx, pc); err == nil {
		s.ownerConflict(ctx, holder, claimant, connector, pc.ConnectionID, why)
	}
}

// nangoConnection names a Nango connection as a provider connection.
func nangoConnection(providerConfigKey, connectionID string) connectors.ProviderConnection {
	return connectors.ProviderConnection{AuthProvider: connectors.ProviderNango, ProviderConfigKey: providerConfigKey, ConnectionID: connectionID}
}

func webhookActor(orgID string) connectors.Principal {
	return connectors.Principal{OrganizationID: orgID}
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
