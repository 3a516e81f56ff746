package connect

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
)

// audit records an event, best effort: a failed audit write is logged,
// never turned into a failed request after the work is done.
func (s *Service) audit(ctx context.Context, p connectors.Principal, action, connID, connector string, err error) {
	s.auditDetail(ctx, p, action, connID, connector, "", err)
}

func (s *Service) auditDetail(ctx context.Context, p connectors.Principal, action, connID, connector, detail string, err error) {
	s.auditEvent(ctx, p.OrganizationID, p.UserID, "user", action, connID, connector, detail, err)
}

// auditWebhook records what a provider's webhook did, with the provider's
// webhook as the actor ("nango-webhook").
func (s *Service) auditWebhook(ctx context.Context, provider connectors.AuthProvider, orgID, connID, connector, detail string, err error) {
	s.auditEvent(ctx, orgID, "", webhookActor(provider), "webhook", connID, connector, detail, err)
}

func (s *Service) auditEvent(ctx context.Context, orgID, userID, actor, action, connID, connector, detail string, err error) {
	if orgID == "" {
		return
	}
	outcome := "success"
	if err != nil {
		outcome = connectors.ErrorCode(err)
	}
	s.appendAudit(ctx, connectors.AuditEvent{
		OrganizationID: orgID, ActorUserID: userID, Actor: actor,
		Action: action, ConnectionID: connID, Connector: connector, Outcome: outcome, Detail: detail,
		Time: s.now(),
	})
}

// webhookActor names a provider's webhooks as an audit actor.
func webhookActor(p connectors.AuthProvider) string { return string(p) + "-webhook" }

// appendAudit writes e, best effort. Its ids were validated on the way in
// (tokens, callbacks and webhooks are checked before any work), so a failed
// write is the store's fault and worth an ERROR line.
func (s *Service) appendAudit(ctx context.Context, e connectors.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if aerr := s.store.AppendAudit(ctx, e); aerr != nil {
		logging.FromContext(ctx).Error("audit write failed", "action", e.Action, "err", aerr)
	}
}
