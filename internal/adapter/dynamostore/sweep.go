package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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

// The sweep cursor's item: one per table, no TTL.
const (
	pkSweep = "SWEEP"
	skSweep = "CURSOR"
)

type sweepItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Cursor string `dynamodbav:"cursor"`
}

// SweepCursor implements connectors.SweepStore.
func (s *Store) SweepCursor(ctx context.Context) (string, error) {
	item, err := s.getItem(ctx, itemKey(pkSweep, skSweep))
	if err != nil {
		return "", wrapErr(err, "read sweep cursor")
	}
	var it sweepItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return "", wrapErr(err, "decode sweep cursor")
	}
	return it.Cursor, nil
}

// SaveSweepCursor implements connectors.SweepStore: the last writer wins,
// which for two sweeps at once only means one continues where the other
// stopped.
func (s *Store) SaveSweepCursor(ctx context.Context, cursor string) error {
	if err := s.put(ctx, sweepItem{PK: pkSweep, SK: skSweep, Cursor: cursor}, expression.ConditionBuilder{}); err != nil {
		return wrapErr(err, "save sweep cursor")
	}
	return nil
}
