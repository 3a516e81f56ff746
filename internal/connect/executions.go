package connect

import (
	"context"
	"fmt"

	"github.com/automators/connectors/internal/connectors"
)

// ExecutionsParams page a connection's execution history.
type ExecutionsParams struct {
	Limit  int
	Cursor string
}

// Executions returns a page of a connection's execution history, newest
// first, to those who manage it: its owner or an organization admin. A
// member who sees a connection another member shared is refused
// (forbidden): its history is every member's runs with it, which are not
// theirs to see. Any other connection answers not found, like Get. The
// page's cursor is bound to the caller and the connection.
func (s *Service) Executions(ctx context.Context, p connectors.Principal, id string, in ExecutionsParams) (connectors.ExecutionPage, error) {
	c, err := s.visible(ctx, p, id)
	if err != nil {
		return connectors.ExecutionPage{}, err
	}
	if !c.OwnedBy(p) {
		return connectors.ExecutionPage{}, connectors.Errorf(connectors.EForbidden, "the history of connection %s is for its owner and organization admins", c.ID)
	}
	page, err := s.store.ListExecutions(ctx, connectors.ExecutionFilter{
		OrganizationID: c.OrganizationID, ConnectionID: c.ID, Viewer: p.UserID, Limit: in.Limit, Cursor: in.Cursor,
	})
	if err != nil {
		if connectors.ErrorCode(err) == connectors.EInvalid {
			return page, err
		}
		return page, fmt.Errorf("list executions of %s: %w", c.ID, err)
	}
	return page, nil
}
