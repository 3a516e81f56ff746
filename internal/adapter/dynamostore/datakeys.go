package dynamostore

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

// prefixKey is the partition of an organization's data keys:
// PK=KEY#<orgId>, SK=<key id>. One partition per organization, so finding
// the newest key is one Query and shredding them all is one Query and a few
// deletes.
const prefixKey = "KEY#"

func keyPK(orgID string) string { return prefixKey + orgID }

// dataKeyItem is a wrapped data key as stored. It has no TTL: DynamoDB
// deleting a data key would shred every value sealed with it.
type dataKeyItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	OrganizationID string `dynamodbav:"organizationId"`
	KeyID          string `dynamodbav:"keyId"`
	Wrapped        []byte `dynamodbav:"wrappedKey"`
	WrappedBy      string `dynamodbav:"wrappedBy"`
	CreatedAt      string `dynamodbav:"createdAt"`
}

func (it *dataKeyItem) dataKey() (*connectors.DataKey, error) {
	created, err := parseTime(it.CreatedAt)
	if err != nil {
		return nil, wrapErr(err, "data key %s of %s", it.KeyID, it.OrganizationID)
	}
	return &connectors.DataKey{
		OrganizationID: it.OrganizationID, ID: it.KeyID, Wrapped: it.Wrapped,
		WrappedBy: it.WrappedBy, CreatedAt: created,
	}, nil
}

// CreateDataKey implements connectors.DataKeyStore with a conditional put:
// of two containers creating the same key id, exactly one wins.
func (s *Store) CreateDataKey(ctx context.Context, k *connectors.DataKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	it := dataKeyItem{
		PK: keyPK(k.OrganizationID), SK: k.ID, OrganizationID: k.OrganizationID, KeyID: k.ID,
		Wrapped: k.Wrapped, WrappedBy: k.WrappedBy, CreatedAt: formatTime(k.CreatedAt),
	}
	err := s.put(ctx, it, expression.AttributeNotExists(expression.Name(AttrPK)))
	if isConditionFailed(err) {
		return connectors.Errorf(connectors.EConflict, "data key %s of organization %s already exists", k.ID, k.OrganizationID)
	}
	if err != nil {
		return wrapErr(err, "create data key %s", k.ID)
	}
	return nil
}

// GetDataKey implements connectors.DataKeyStore.
func (s *Store) GetDataKey(ctx context.Context, orgID, id string) (*connectors.DataKey, error) {
	item, err := s.getItem(ctx, itemKey(keyPK(orgID), id))
	if err != nil {
		return nil, wrapErr(err, "get data key %s", id)
	}
	if len(item) == 0 {
		return nil, connectors.Errorf(connectors.ENotFound, "data key %s of organization %s not found", id, orgID)
	}
	return decodeDataKey(item)
}

// LatestDataKey implements connectors.DataKeyStore: key ids sort by
// generation, so the newest is the last sort key of the partition.
func (s *Store) LatestDataKey(ctx context.Context, orgID string) (*connectors.DataKey, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(keyPK(orgID)))).Build()
	if err != nil {
		return nil, wrapErr(err, "latest data key of %s", orgID)
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, wrapErr(err, "latest data key of %s", orgID)
	}
	if len(out.Items) == 0 {
		return nil, connectors.Errorf(connectors.ENotFound, "organization %s has no data key", orgID)
	}
	return decodeDataKey(out.Items[0])
}

// DeleteDataKeys implements connectors.DataKeyStore. It deletes page by page
// until the partition is empty, so keys created meanwhile go too.
func (s *Store) DeleteDataKeys(ctx context.Context, orgID string) (int, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(keyPK(orgID)))).
		WithProjection(expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))).Build()
	if err != nil {
		return 0, wrapErr(err, "delete data keys of %s", orgID)
	}
	n := 0
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			KeyConditionExpression:    expr.KeyCondition(),
			ProjectionExpression:      expr.Projection(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return n, wrapErr(err, "delete data keys of %s", orgID)
		}
		if len(out.Items) == 0 {
			return n, nil
		}
		for _, item := range out.Items {
			if _, err := s.deleteIf(ctx, item, expression.ConditionBuilder{}); err != nil {
				return n, wrapErr(err, "delete data keys of %s", orgID)
			}
			n++
		}
	}
}

func decodeDataKey(item map[string]types.AttributeValue) (*connectors.DataKey, error) {
	var it dataKeyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, wrapErr(err, "decode data key")
	}
	if it.KeyID == "" || len(it.Wrapped) == 0 {
		return nil, wrapErr(errors.New("missing key id or wrapped key"), "decode data key")
	}
	return it.dataKey()
}
