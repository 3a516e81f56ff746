package connect

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/metrics"
)

// Refresh refreshes one of the caller's connections of connector. A
// refusal marks the connection reauth_required; an outage changes nothing.
func (s *Service) Refresh(ctx context.Context, p connectors.Principal, connector, id string) (_ *connectors.Connection, err error) {
	defer func() { s.audit(ctx, p, "refresh", id, connector, err) }()
	if _, err := s.manifest(connector); err != nil {
		return nil, err
	}
	c, err := s.managed(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.Connector != connector {
		return nil, connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	}
	got, err := s.tokens.Refresh(ctx, c)
	metrics.RecordRefresh(ctx, string(c.AuthProvider), err, connectors.ErrorCode(err) == connectors.EReauthRequired)
	return got, err
}
