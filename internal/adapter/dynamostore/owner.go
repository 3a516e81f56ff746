package dynamostore

import (
	"context"
	"net/url"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
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
	item, err := s.getItem(ctx, itemKey(ownerPK(pc), skOwner))
	if err != nil {
		return connectors.Owner{}, wrapErr(err, "get owner of %s", pc.ConnectionID)
	}
	if len(item) == 0 {
		return connectors.Owner{}, connectors.Errorf(connectors.ENotFound, "no record holds %s", pc.ConnectionID)
	}
	var it ownerItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return connectors.Owner{}, wrapErr(err, "decode owner of %s", pc.ConnectionID)
	}
	return connectors.Owner{OrganizationID: it.OrganizationID, UserID: it.UserID, ConnectionID: it.ConnectionID}, nil
}

// ownerPut puts c's owner item unless another record holds it: the item may
// be missing (a new connection, or one recorded before owners existed, which
// is adopted on its next write) or already name c and its user.
func (s *Store) ownerPut(c *connectors.Connection) (*types.Put, error) {
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.And(
		expression.Name(attrOrg).Equal(expression.Value(c.OrganizationID)),
		expression.Name(attrUser).Equal(expression.Value(c.UserID)),
		expression.Name(attrConnID).Equal(expression.Value(c.ID)),
	))
	return s.putOp(ownerItem{
		PK: ownerPK(c.ProviderConnection()), SK: skOwner,
		OrganizationID: c.OrganizationID, UserID: c.UserID, ConnectionID: c.ID,
	}, cond)
}

// ownerDelete deletes c's owner item unless it names another record: an
// item already gone is fine, one naming another record is not c's.
func (s *Store) ownerDelete(c *connectors.Connection) (*types.Delete, error) {
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.And(
		expression.Name(attrOrg).Equal(expression.Value(c.OrganizationID)),
		expression.Name(attrConnID).Equal(expression.Value(c.ID)),
	))
	return s.deleteOp(itemKey(ownerPK(c.ProviderConnection()), skOwner), cond)
}

// writeWithOwner puts a connection item, if cond holds, and its owner item
// in one transaction. It returns which of the two conditions failed.
func (s *Store) writeWithOwner(ctx context.Context, c *connectors.Connection, item connItem, cond expression.ConditionBuilder) (connFailed, ownerFailed bool, err error) {
	conn, err := s.putOp(item, cond)
	if err != nil {
		return false, false, err
	}
	owner, err := s.ownerPut(c)
	if err != nil {
		return false, false, err
	}
	failed, err := s.transact(ctx, types.TransactWriteItem{Put: conn}, types.TransactWriteItem{Put: owner})
	if err != nil {
		return false, false, err
	}
	connFailed, ownerFailed = failed[0], failed[1]
	if connFailed && !ownerFailed && s.holds(ctx, conn.Item) {
		// The SDK retried a transaction whose answer was lost, and the
		// first attempt had landed: the item is exactly ours.
		return false, false, nil
	}
	return connFailed, ownerFailed, nil
}

// holds reports whether the stored item under av's key is av itself.
func (s *Store) holds(ctx context.Context, av map[string]types.AttributeValue) bool {
	item, err := s.getItem(ctx, map[string]types.AttributeValue{AttrPK: av[AttrPK], AttrSK: av[AttrSK]})
	return err == nil && reflect.DeepEqual(item, av)
}

// deleteWithOwner deletes c at its version and its owner item, together.
// stale reports that c changed since it was read. An owner item that names
// another record is left alone and the connection deleted by itself.
func (s *Store) deleteWithOwner(ctx context.Context, c *connectors.Connection) (stale bool, err error) {
	key := itemKey(orgPK(c.OrganizationID), connSK(c.ID))
	conn, err := s.deleteOp(key, expression.Name(attrVersion).Equal(expression.Value(c.Version)))
	if err != nil {
		return false, err
	}
	owner, err := s.ownerDelete(c)
	if err != nil {
		return false, err
	}
	failed, err := s.transact(ctx, types.TransactWriteItem{Delete: conn}, types.TransactWriteItem{Delete: owner})
	switch {
	case err != nil:
		return false, err
	case failed[0]:
		return true, nil
	case failed[1]:
		_, err := s.deleteIf(ctx, key, expression.ConditionBuilder{})
		return false, err
	}
	return false, nil
}
