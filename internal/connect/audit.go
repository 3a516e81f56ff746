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
	if p.OrganizationID == "" {
		return
	}
	outcome := "success"
	if err != nil {
		outcome = connectors.ErrorCode(err)
	}
	e := connectors.AuditEvent{
		OrganizationID: p.OrganizationID, ActorUserID: p.UserID, Actor: "user",
		Action: action, ConnectionID: connID, Connector: connector, Outcome: outcome, Detail: detail,
		Time: s.now(),
	}
	if p.UserID == "" {
		e.Actor = "nango-webhook"
	}
	s.appendAudit(ctx, e)
}

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
