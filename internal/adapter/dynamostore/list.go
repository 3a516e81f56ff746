package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

// connQuery is one listing of connection items: a Query of the table or an
// index when keyCond is set, a Scan of the table otherwise. Both listings
// (ListConnections, ListDueConnections) page through listConnections.
type connQuery struct {
	scope    []string // what the listing's cursors are bound to
	index    string   // "" for the table
	keyCond  expression.KeyConditionBuilder
	filter   expression.ConditionBuilder // unset for none
	keyAttrs []string                    // the key attributes of the table or index read
}

// listConnections returns the page of at most limit connections that q
// selects after cursor. A filtered read can return short or empty pages, so
// DynamoDB's LastEvaluatedKey alone would give ragged pages and cursors to
// empty ones: instead it reads until it holds one item past the page and,
// when that item exists, resumes after the last item returned (any item's
// key is a valid ExclusiveStartKey).
func (s *Store) listConnections(ctx context.Context, q connQuery, limit int, cursor string) (connectors.ConnectionPage, error) {
	start, err := s.cursors.decode(q.scope, cursor)
	if err != nil {
		return connectors.ConnectionPage{}, err
	}
	b := expression.NewBuilder()
	if q.keyCond.IsSet() {
		b = b.WithKeyCondition(q.keyCond)
	}
	if q.filter.IsSet() {
		b = b.WithFilter(q.filter)
	}
	expr, err := b.Build()
	if err != nil {
		return connectors.ConnectionPage{}, fmt.Errorf("build listing: %w", err)
	}
	var items []map[string]types.AttributeValue
	for {
		got, last, err := s.readConnections(ctx, q, expr, limit+1, start)
		if err != nil {
			return connectors.ConnectionPage{}, err
		}
		items = append(items, got...)
		if len(items) > limit || len(last) == 0 {
			break
		}
		start = last
	}
	var page connectors.ConnectionPage
	if len(items) > limit {
		items = items[:limit]
		next := make(map[string]types.AttributeValue, len(q.keyAttrs))
		for _, a := range q.keyAttrs {
			next[a] = items[limit-1][a]
		}
		if page.NextCursor, err = s.cursors.encode(q.scope, next); err != nil {
			return connectors.ConnectionPage{}, err
		}
	}
	page.Connections = make([]*connectors.Connection, 0, len(items))
	for _, it := range items {
		c, err := decodeConnection(it)
		if err != nil {
			return connectors.ConnectionPage{}, err
		}
		page.Connections = append(page.Connections, c)
	}
	return page, nil
}

// readConnections makes one request of q from start and returns its items
// and LastEvaluatedKey.
func (s *Store) readConnections(ctx context.Context, q connQuery, expr expression.Expression, want int, start map[string]types.AttributeValue) (items []map[string]types.AttributeValue, last map[string]types.AttributeValue, err error) {
	if !q.keyCond.IsSet() {
		// No Limit: a Scan's Limit counts the items it reads, not those the
		// filter keeps, and connections are a small part of the table.
		out, err := s.client.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 s.table,
			FilterExpression:          expr.Filter(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         start,
		Limit:                     aws.Int32(int32(want)),
		ConsistentRead:            aws.Bool(q.index == ""), // GSIs are eventually consistent only
	}
	if q.index != "" {
		in.IndexName = aws.String(q.index)
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	return out.Items, out.LastEvaluatedKey, nil
}
