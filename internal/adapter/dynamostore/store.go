// Package dynamostore is the DynamoDB adapter of connectors.Store, on one
// table (ConnectorCredentials) that holds every kind of item: connections
// under their organization's partition, with a per-user index (GSI1), and
// OAuth states, idempotency records, audit events, leases, provider
// connection owners and data keys under partitions of their own.
//
// Each entity has its file; this one holds the Store and the helpers every
// entity's requests share. Times are stored as fixed-width RFC 3339 strings
// in UTC (see timeLayout), TTL values as epoch seconds in AttrTTL.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/cursor"
)

// Store is a connectors.Store on one DynamoDB table. It is safe for
// concurrent use; all coordination is done by conditional writes.
type Store struct {
	client  *dynamodb.Client
	table   *string
	cursors cursorCodec
}

var _ connectors.Store = (*Store)(nil)

// New returns a Store on table. cursorKey signs page cursors; it must be
// secret and the same in every instance that serves one API, or cursors
// minted by one instance are refused by another. New panics on an empty
// cursorKey, because a store with forgeable cursors must never start.
func New(client *dynamodb.Client, table string, cursorKey []byte) *Store {
	if len(cursorKey) == 0 {
		panic("dynamostore: empty cursor key")
	}
	return &Store{client: client, table: aws.String(table), cursors: cursorCodec{cursor.Codec{Key: cursorKey}}}
}

// getItem reads one item with a consistent read; a missing item is an
// empty map, not an error.
func (s *Store) getItem(ctx context.Context, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// condition is a built condition in the three fields every conditional
// request takes; all are nil for an unset condition.
type condition struct {
	expr   *string
	names  map[string]string
	values map[string]types.AttributeValue
}

func buildCondition(cond expression.ConditionBuilder) (condition, error) {
	if !cond.IsSet() {
		return condition{}, nil
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return condition{}, fmt.Errorf("build condition: %w", err)
	}
	return condition{expr.Condition(), expr.Names(), expr.Values()}, nil
}

// putOp is the put of item if cond holds (always, when cond is unset), for
// PutItem or a transaction.
func (s *Store) putOp(item any, cond expression.ConditionBuilder) (*types.Put, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, fmt.Errorf("encode item: %w", err)
	}
	c, err := buildCondition(cond)
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName: s.table, Item: av,
		ConditionExpression: c.expr, ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
	}, nil
}

// deleteOp is the delete of the item under key if cond holds, for
// DeleteItem or a transaction.
func (s *Store) deleteOp(key map[string]types.AttributeValue, cond expression.ConditionBuilder) (*types.Delete, error) {
	c, err := buildCondition(cond)
	if err != nil {
		return nil, err
	}
	return &types.Delete{
		TableName: s.table, Key: key,
		ConditionExpression: c.expr, ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values,
	}, nil
}

// put writes item if cond holds when it is set; a failed condition is a
// ConditionalCheckFailedException (see isConditionFailed).
func (s *Store) put(ctx context.Context, item any, cond expression.ConditionBuilder) error {
	op, err := s.putOp(item, cond)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{
		TableName: op.TableName, Item: op.Item,
		ConditionExpression: op.ConditionExpression, ExpressionAttributeNames: op.ExpressionAttributeNames,
		ExpressionAttributeValues: op.ExpressionAttributeValues,
	}
	if cond.IsSet() {
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err = s.client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) > 0 && reflect.DeepEqual(ccf.Item, op.Item) {
		// The SDK retried a put whose answer was lost, and the first
		// attempt had landed: the item is exactly ours, so it succeeded.
		return nil
	}
	return err
}

// deleteIf deletes the item under key if cond holds and returns the item it
// deleted; a failed condition is a ConditionalCheckFailedException.
func (s *Store) deleteIf(ctx context.Context, key map[string]types.AttributeValue, cond expression.ConditionBuilder) (map[string]types.AttributeValue, error) {
	op, err := s.deleteOp(key, cond)
	if err != nil {
		return nil, err
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: op.TableName, Key: op.Key,
		ConditionExpression: op.ConditionExpression, ExpressionAttributeNames: op.ExpressionAttributeNames,
		ExpressionAttributeValues: op.ExpressionAttributeValues,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

// transact runs ops as one transaction. A transaction cancelled because
// conditions failed is no error: failed says, by position, which ops'
// conditions did. Any other cancellation (a conflicting transaction,
// throttling) is returned as the error.
func (s *Store) transact(ctx context.Context, ops ...types.TransactWriteItem) (failed []bool, err error) {
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	failed = make([]bool, len(ops))
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return failed, err
	}
	conditional := false
	for i, r := range tce.CancellationReasons {
		if i < len(ops) && aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed[i], conditional = true, true
		}
	}
	if !conditional {
		return failed, err
	}
	return failed, nil
}

// wrapErr adds context to a failed call. Throttling is the store being busy,
// not a fault of the request: it becomes an EUnavailable error, which the API
// answers with 503 and the executor with a retryable error.
func wrapErr(err error, format string, args ...any) error {
	wrapped := fmt.Errorf(format+": %w", append(args, err)...)
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded":
			return connectors.Wrap(wrapped, connectors.EUnavailable, "the connection store is busy; retry shortly")
		}
	}
	return wrapped
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// and joins conditions; expression.And wants at least two.
func and(conds []expression.ConditionBuilder) expression.ConditionBuilder {
	if len(conds) == 1 {
		return conds[0]
	}
	return expression.And(conds[0], conds[1], conds[2:]...)
}
