package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/automators/connectors/internal/connectors"
)

// ListDueConnections implements connectors.SweepStore with a filtered Scan.
// The cursor is bound to the sweep, not to before, so that a sweeper may move
// its clock between pages.
func (s *Store) ListDueConnections(ctx context.Context, before time.Time, limit int, cursor string) (connectors.ConnectionPage, error) {
	// A missing expiresAt or checkAt (a zero time) fails its comparison, as
	// it should.
	at := expression.Value(formatTime(before))
	due := expression.Or(
		expression.Name(attrExpiresAt).LessThan(at),
		expression.Name(attrCheckAt).LessThan(at),
		expression.Name(attrStatus).Equal(expression.Value(string(connectors.StatusRefreshFailed))),
	)
	q := connQuery{
		scope: []string{"due"},
		filter: expression.Name(AttrPK).BeginsWith(prefixOrg).
			And(expression.Name(AttrSK).BeginsWith(prefixConn), due),
		keyAttrs: []string{AttrPK, AttrSK},
	}
	page, err := s.listConnections(ctx, q, connectors.PageSize(limit), cursor)
	if err != nil {
		return connectors.ConnectionPage{}, wrapErr(err, "list due connections")
	}
	return page, nil
}
