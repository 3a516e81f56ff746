package connect

import (
	"context"
	"errors"
	"fmt"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/registry"
)

// HandleEvent applies what a provider's verified webhook says happened to
// one of its connections. Events this service does not act on, and
// integrations this deployment does not serve, are accepted and ignored, so
// that the provider never retries them.
//
// An event never names an owner by itself. It applies to the record that
// already holds its provider connection; for a connection not yet recorded,
// to the user and organization that the provider's own connection (read
// back) records, and only while the state this service issued for that
// connect flow is live. A payload that names anyone else is a security
// event: audited, acknowledged (so that the provider stops resending it)
// and otherwise ignored.
func (s *Service) HandleEvent(ctx context.Context, ev *connectors.ConnectionEvent) error {
	if ev.Kind == connectors.EventIgnored {
		return nil
	}
	pc := connectors.ProviderConnection{AuthProvider: ev.Provider, ProviderConfigKey: ev.ProviderConfigKey, ConnectionID: ev.ConnectionID}
	owner, err := s.store.GetOwner(ctx, pc)
	recorded := err == nil
	if err != nil && !errors.Is(err, connectors.ErrNotFound) {
		return fmt.Errorf("look up owner of %s: %w", ev.ConnectionID, err)
	}
	m, ok := s.byConfigKey(ev.ProviderConfigKey)
	if !ok && recorded {
		// Not a Nango integration key (a Composio auth config): the
		// record that holds the connection says its connector.
		c, err := s.store.GetConnection(ctx, owner.OrganizationID, owner.ConnectionID)
		if err == nil {
			m, ok = s.registry.Lookup(c.Connector)
		}
	}
	if !ok {
		return nil // an integration this deployment does not serve
	}
	claimed := ev.Claimed
	if recorded && claimed != nil && (claimed.OrganizationID != owner.OrganizationID || claimed.UserID != owner.UserID) {
		s.ownerConflict(ctx, ev.Provider, owner, *claimed, m.ID, ev.ConnectionID, "webhook tags name another owner")
		return nil
	}
	switch {
	case ev.Kind == connectors.EventConnected:
		return s.webhookConnected(ctx, m, ev, recorded, owner)
	case ev.Kind == connectors.EventRefreshFailed && recorded:
		metrics.Add(ctx, metrics.RefreshFailures, 1, metrics.Provider(string(ev.Provider))) // the provider's own refresh failed
		c, err := s.store.GetConnection(ctx, owner.OrganizationID, owner.ConnectionID)
		if errors.Is(err, connectors.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load connection %s: %w", owner.ConnectionID, err)
		}
		_, err = s.tokens.Save(ctx, c, func(c *connectors.Connection) error {
			c.Status = c.Status.After(connectors.RefreshFailed)
			return nil
		})
		s.auditWebhook(ctx, ev.Provider, owner.OrganizationID, c.ID, m.ID, "auth refresh failed", err)
		return err
	}
	return nil
}

// webhookConnected applies a connection made or replaced at the provider:
// it makes its record exist and be active, for its one owner.
func (s *Service) webhookConnected(ctx context.Context, m registry.Manifest, ev *connectors.ConnectionEvent, recorded bool, owner connectors.Owner) error {
	g := &connectors.Grant{ConnectionID: ev.ConnectionID, ProviderConfigKey: ev.ProviderConfigKey}
	if !recorded {
		// Not recorded yet: only the provider's own connection, made by one
		// of our connect flows while its state is live, names an owner.
		prov, err := s.providers.Get(ev.Provider)
		if err != nil {
			return err
		}
		got, err := prov.Grant(ctx, &connectors.Connection{ID: ev.ConnectionID, ProviderConfigKey: ev.ProviderConfigKey, AuthProvider: ev.Provider, Connector: m.ID}, nil, false)
		if code := connectors.ErrorCode(err); code == connectors.ENotFound || code == connectors.EReauthRequired {
			return nil // deleted since, or unreadable: the callback records it
		}
		if err != nil {
			return err
		}
		if got.Owner == nil {
			return nil // the provider records no owner: only the callback can
		}
		tagged := connectors.Owner{OrganizationID: got.Owner.OrganizationID, UserID: got.Owner.UserID, ConnectionID: got.ConnectionID}
		if !connectors.ValidID(tagged.OrganizationID) || !connectors.ValidID(tagged.UserID) {
			return nil // not created through our connect flows: not ours to record
		}
		if c := ev.Claimed; c != nil && (c.OrganizationID != tagged.OrganizationID || c.UserID != tagged.UserID) {
			s.ownerConflict(ctx, ev.Provider, tagged, *c, m.ID, ev.ConnectionID, "webhook tags differ from the provider's connection")
			return nil
		}
		st, err := s.store.GetState(ctx, got.State)
		if err != nil || st.OrganizationID != tagged.OrganizationID || st.UserID != tagged.UserID || st.Connector != m.ID {
			logging.FromContext(ctx).Info("webhook ignored: no live state for the connection", "connector", m.ID)
			return nil
		}
		g, owner = got, tagged
	}
	_, err := s.record(ctx, owner.OrganizationID, owner.UserID, "", m, ev.Provider, g)
	if errors.Is(err, connectors.ErrOwned) || connectors.ErrorCode(err) == connectors.EForbidden {
		// Another record took the provider connection meanwhile.
		s.heldElsewhere(ctx, connectors.ProviderConnection{AuthProvider: ev.Provider, ProviderConfigKey: ev.ProviderConfigKey, ConnectionID: ev.ConnectionID}, owner, m.ID, "the connection is held by another record")
		return nil
	}
	s.auditWebhook(ctx, ev.Provider, owner.OrganizationID, ev.ConnectionID, m.ID, "auth "+ev.Operation, err)
	return err
}

// ownerConflict records an attempt to give a provider connection a second
// owner, in both organizations' audit logs. The owner's event names the
// other organization; the other's names nobody, so that no organization
// learns another's ids.
func (s *Service) ownerConflict(ctx context.Context, provider connectors.AuthProvider, owner, other connectors.Owner, connector, connID, why string) {
	logging.FromContext(ctx).Warn("security: provider connection claimed by another owner",
		"connector", connector, "ownerOrganization", owner.OrganizationID, "claimingOrganization", other.OrganizationID, "reason", why)
	s.appendAudit(ctx, connectors.AuditEvent{
		OrganizationID: owner.OrganizationID, Actor: webhookActor(provider), Action: "security",
		ConnectionID: owner.ConnectionID, Connector: connector, Outcome: connectors.EOwned,
		Detail: why + "; claimed for organization " + other.OrganizationID,
	})
	if other.OrganizationID != owner.OrganizationID {
		s.appendAudit(ctx, connectors.AuditEvent{
			OrganizationID: other.OrganizationID, Actor: webhookActor(provider), Action: "security",
			Connector: connector, Outcome: connectors.EOwned,
			Detail: why + "; refused: the connection belongs to another organization",
		})
	}
}

// heldElsewhere audits a refused claim of pc, which the store said another
// record holds, as a conflict with that record's owner.
func (s *Service) heldElsewhere(ctx context.Context, pc connectors.ProviderConnection, claimant connectors.Owner, connector, why string) {
	if holder, err := s.store.GetOwner(ctx, pc); err == nil {
		s.ownerConflict(ctx, pc.AuthProvider, holder, claimant, connector, pc.ConnectionID, why)
	}
}

func (s *Service) byConfigKey(pck string) (registry.Manifest, bool) {
	for _, m := range s.registry.All() {
		if m.ProviderConfigKey == pck {
			return m, true
		}
	}
	return registry.Manifest{}, false
}
