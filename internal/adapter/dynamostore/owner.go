package dynamostore

import (
	"context"
	"errors"
	"net/url"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

const (
	prefixOwner = "OWNER#"
	skOwner     = "OWNER"
	attrConnID  = "connectionId"
)

// ownerPK keys a provider connection's owner. Each part is path-escaped so
// that a '#' inside a key or id cannot make two triples meet.
func ownerPK(pc connectors.ProviderConnection) string {
	return prefixOwner + url.PathEscape(string(pc.AuthProvider)) + "#" + url.PathEscape(pc.ProviderConfigKey) + "#" + url.PathEscape(pc.ConnectionID)
}

// ownerItem records which connection holds a provider connection. It is
// written and deleted only in a transaction with that connection.
type ownerItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	OrganizationID string `dynamodbav:"organizationId"`
	UserID         string `dynamodbav:"userId"`
	ConnectionID   string `dynamodbav:"connectionId"`
}

// GetOwner implements connectors.OwnerStore.
func (s *Store) GetOwner(ctx context.Context, pc connectors.ProviderConnection) (connectors.Owner, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            itemKey(ownerPK(pc), skOwner),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return connectors.Owner{}, wrapErr(err, "get owner of %s", pc.ConnectionID)
	}
	if len(out.Item) == 0 {
		return connectors.Owner{}, connectors.Errorf(connectors.ENotFound, "no record holds %s", pc.ConnectionID)
	}
	var it ownerItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return connectors.Owner{}, wrapErr(err, "decode owner")
	}
	return connectors.Owner{OrganizationID: it.OrganizationID, UserID: it.UserID, ConnectionID: it.ConnectionID}, nil
}

// ownerPut puts c's owner item unless another record holds it: the item may
// be missing (a new connection, or one recorded before owners existed, which
// is adopted on its next write) or already name c and its user.
func (s *Store) ownerPut(c *connectors.Connection) (*types.Put, error) {
	av, err := attributevalue.MarshalMap(ownerItem{
		PK: ownerPK(c.ProviderConnection()), SK: skOwner,
		OrganizationID: c.OrganizationID, UserID: c.UserID, ConnectionID: c.ID,
	})
	if err != nil {
		return nil, wrapErr(err, "encode owner")
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.And(
		expression.Name(attrOrg).Equal(expression.Value(c.OrganizationID)),
		expression.Name(attrUser).Equal(expression.Value(c.UserID)),
		expression.Name(attrConnID).Equal(expression.Value(c.ID)),
	))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, wrapErr(err, "build owner condition")
	}
	return &types.Put{
		TableName: s.table, Item: av,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// writeWithOwner puts a connection item and its owner item in one
// transaction. It returns which of the two conditions failed.
func (s *Store) writeWithOwner(ctx context.Context, c *connectors.Connection, item connItem, cond expression.ConditionBuilder) (connFailed, ownerFailed bool, err error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return false, false, wrapErr(err, "encode connection")
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, false, wrapErr(err, "build condition")
	}
	owner, err := s.ownerPut(c)
	if err != nil {
		return false, false, err
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{
				TableName: s.table, Item: av,
				ConditionExpression:       expr.Condition(),
				ExpressionAttributeNames:  expr.Names(),
				ExpressionAttributeValues: expr.Values(),
			}},
			{Put: owner},
		},
	})
	connFailed, ownerFailed = cancelled(err)
	if !connFailed && !ownerFailed {
		return false, false, err
	}
	if connFailed && !ownerFailed && s.holds(ctx, av) {
		// The SDK retried a transaction whose answer was lost, and the
		// first attempt had landed: the item is exactly ours.
		return false, false, nil
	}
	return connFailed, ownerFailed, nil
}

// holds reports whether the stored item under av's key is av itself.
func (s *Store) holds(ctx context.Context, av map[string]types.AttributeValue) bool {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            map[string]types.AttributeValue{AttrPK: av[AttrPK], AttrSK: av[AttrSK]},
		ConsistentRead: aws.Bool(true),
	})
	return err == nil && reflect.DeepEqual(out.Item, av)
}

// cancelled reports which items of a two-item transaction failed their
// condition, when err is a cancelled transaction.
func cancelled(err error) (first, second bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false, false
	}
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) != "ConditionalCheckFailed" {
			continue
		}
		switch i {
		case 0:
			first = true
		case 1:
			second = true
		}
	}
	return first, second
}

// deleteWithOwner deletes c at version and its owner item, together. An
// owner item that names another record is left alone: it is not c's.
func (s *Store) deleteWithOwner(ctx context.Context, c *connectors.Connection) (stale bool, err error) {
	connCond, err := expression.NewBuilder().WithCondition(
		expression.Name(attrVersion).Equal(expression.Value(c.Version))).Build()
	if err != nil {
		return false, wrapErr(err, "build condition")
	}
	ownerCond, err := expression.NewBuilder().WithCondition(
		expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.And(
			expression.Name(attrOrg).Equal(expression.Value(c.OrganizationID)),
			expression.Name(attrConnID).Equal(expression.Value(c.ID)),
		))).Build()
	if err != nil {
		return false, wrapErr(err, "build owner condition")
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{
				TableName: s.table, Key: itemKey(orgPK(c.OrganizationID), connSK(c.ID)),
				ConditionExpression:       connCond.Condition(),
				ExpressionAttributeNames:  connCond.Names(),
				ExpressionAttributeValues: connCond.Values(),
			}},
			{Delete: &types.Delete{
				TableName: s.table, Key: itemKey(ownerPK(c.ProviderConnection()), skOwner),
				ConditionExpression:       ownerCond.Condition(),
				ExpressionAttributeNames:  ownerCond.Names(),
				ExpressionAttributeValues: ownerCond.Values(),
			}},
		},
	})
	connFailed, ownerFailed := cancelled(err)
	switch {
	case ownerFailed && !connFailed:
		// The owner item names another record: delete the record alone.
		return false, s.deleteItem(ctx, c)
	case connFailed:
		return true, nil
	}
	return false, err
}

func (s *Store) deleteItem(ctx context.Context, c *connectors.Connection) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: s.table,
		Key:       itemKey(orgPK(c.OrganizationID), connSK(c.ID)),
	})
	return err
}
