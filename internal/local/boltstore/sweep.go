package boltstore

import (
	"context"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// ListDueConnections implements connectors.SweepStore with a scan of every
// organization's connections. The cursor is bound to the sweep, not to
// before, so a sweeper may move its clock between pages.
func (s *Store) ListDueConnections(ctx context.Context, before time.Time, limit int, cursor string) (connectors.ConnectionPage, error) {
	q := connQuery{
		scope:  []string{"due"},
		bucket: bucketConns,
		match: func(c *connectors.Connection) bool {
			return c.Status == connectors.StatusRefreshFailed ||
				(!c.ExpiresAt.IsZero() && c.ExpiresAt.Before(before)) ||
				(!c.CheckAt.IsZero() && c.CheckAt.Before(before))
		},
	}
	page, err := s.listConnections(ctx, q, connectors.PageSize(limit), cursor)
	if err != nil {
		return connectors.ConnectionPage{}, wrap(err, "list due connections")
	}
	return page, nil
}
