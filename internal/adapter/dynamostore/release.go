package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/connectors"
)

// ReleaseIdempotent implements connectors.IdempotencyStore: a conditional
// delete that only the in-progress owner can make.
func (s *Store) ReleaseIdempotent(ctx context.Context, key, owner string) error {
	cond := expression.Name(attrOwner).Equal(expression.Value(owner)).
		And(expression.Name(attrStatus).Equal(expression.Value(string(connectors.IdempotencyInProgress))))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return wrapErr(err, "release idempotent %s", key)
	}
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       itemKey(prefixIdemp+key, skIdemp),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isConditionFailed(err) {
		return nil // not ours (any more): nothing to give back
	}
	if err != nil {
		return wrapErr(err, "release idempotent %s", key)
	}
	return nil
}
