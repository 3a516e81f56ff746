package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

type auditItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	ID             string `dynamodbav:"id"`
	OrganizationID string `dynamodbav:"organizationId"`
	ActorUserID    string `dynamodbav:"actorUserId"`
	Actor          string `dynamodbav:"actor"`
	Action         string `dynamodbav:"action"`
	ConnectionID   string `dynamodbav:"connectionId"`
	Connector      string `dynamodbav:"connector"`
	Outcome        string `dynamodbav:"outcome"`
	Detail         string `dynamodbav:"detail"`
	Time           string `dynamodbav:"time"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
}

func (it *auditItem) event() (connectors.AuditEvent, error) {
	t, err := parseTime(it.Time)
	if err != nil {
		return connectors.AuditEvent{}, err
	}
	return connectors.AuditEvent{
		ID:             it.ID,
		OrganizationID: it.OrganizationID,
		ActorUserID:    it.ActorUserID,
		Actor:          it.Actor,
		Action:         it.Action,
		ConnectionID:   it.ConnectionID,
		Connector:      it.Connector,
		Outcome:        it.Outcome,
		Detail:         it.Detail,
		Time:           t,
	}, nil
}

// AppendAudit implements connectors.AuditLog. The sort key leads with the
// fixed-width time, so an organization's events sort oldest first.
func (s *Store) AppendAudit(ctx context.Context, e connectors.AuditEvent) error {
	if err := e.PrepareNew(time.Now()); err != nil {
		return err
	}
	ts := formatTime(e.Time)
	it := auditItem{
		PK:             prefixAudit + e.OrganizationID,
		SK:             ts + "#" + e.ID,
		ID:             e.ID,
		OrganizationID: e.OrganizationID,
		ActorUserID:    e.ActorUserID,
		Actor:          e.Actor,
		Action:         e.Action,
		ConnectionID:   e.ConnectionID,
		Connector:      e.Connector,
		Outcome:        e.Outcome,
		Detail:         e.Detail,
		Time:           ts,
		ExpiresAtEpoch: epoch(e.Time.Add(connectors.AuditRetention)),
	}
	if err := s.put(ctx, it, expression.ConditionBuilder{}); err != nil {
		return wrapErr(err, "append audit event %s", e.ID)
	}
	return nil
}

// ListAudit implements connectors.AuditLog. limit <= 0 means
// connectors.DefaultPageSize; it is capped at 1000.
func (s *Store) ListAudit(ctx context.Context, orgID string, limit int) ([]connectors.AuditEvent, error) {
	if limit <= 0 {
		limit = connectors.DefaultPageSize
	}
	limit = min(limit, connectors.MaxAuditList)
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(prefixAudit + orgID))).Build()
	if err != nil {
		return nil, wrapErr(err, "list audit of %s", orgID)
	}
	var events []connectors.AuditEvent
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         start,
			ScanIndexForward:          aws.Bool(true),
			Limit:                     aws.Int32(int32(limit - len(events))),
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return nil, wrapErr(err, "list audit of %s", orgID)
		}
		for _, item := range out.Items {
			var it auditItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, wrapErr(err, "list audit of %s: decode", orgID)
			}
			e, err := it.event()
			if err != nil {
				return nil, wrapErr(err, "list audit of %s", orgID)
			}
			events = append(events, e)
		}
		if len(events) >= limit || len(out.LastEvaluatedKey) == 0 {
			return events, nil
		}
		start = out.LastEvaluatedKey
	}
}
