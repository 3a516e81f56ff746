package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/automators/connectors/internal/connectors"
)

// attrConsumedBy names a spent state's consumer token.
const attrConsumedBy = "consumedBy"

type stateItem struct {
	PK             string                  `dynamodbav:"PK"`
	SK             string                  `dynamodbav:"SK"`
	Nonce          string                  `dynamodbav:"nonce"`
	OrganizationID string                  `dynamodbav:"organizationId"`
	UserID         string                  `dynamodbav:"userId"`
	Connector      string                  `dynamodbav:"connector"`
	AuthProvider   connectors.AuthProvider `dynamodbav:"authProvider"`
	RedirectURI    string                  `dynamodbav:"redirectUri"`
	ConnectionID   string                  `dynamodbav:"connectionId"`
	SealedVerifier []byte                  `dynamodbav:"sealedVerifier,omitempty"`
	CreatedAt      string                  `dynamodbav:"createdAt"`
	ExpiresAt      string                  `dynamodbav:"expiresAt"`
	ExpiresAtEpoch int64                   `dynamodbav:"expiresAtEpoch"`
	// ConsumedBy marks a spent state with its consumer's token; the item
	// goes with its TTL.
	ConsumedBy string `dynamodbav:"consumedBy,omitempty"`
}

func (it *stateItem) state() (*connectors.OAuthState, error) {
	created, err := parseTime(it.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	expires, err := parseTime(it.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return &connectors.OAuthState{
		Nonce:          it.Nonce,
		OrganizationID: it.OrganizationID,
		UserID:         it.UserID,
		Connector:      it.Connector,
		AuthProvider:   it.AuthProvider,
		RedirectURI:    it.RedirectURI,
		ConnectionID:   it.ConnectionID,
		SealedVerifier: it.SealedVerifier,
		CreatedAt:      created,
		ExpiresAt:      expires,
	}, nil
}

func stateKey(nonce string) map[string]types.AttributeValue {
	return itemKey(prefixState+nonce, skState)
}

// CreateState implements connectors.StateStore. A zero CreatedAt becomes
// now; a zero ExpiresAt becomes CreatedAt plus connectors.DefaultStateTTL.
func (s *Store) CreateState(ctx context.Context, st *connectors.OAuthState) error {
	if err := st.PrepareNew(time.Now()); err != nil {
		return err
	}
	it := stateItem{
		PK:             prefixState + st.Nonce,
		SK:             skState,
		Nonce:          st.Nonce,
		OrganizationID: st.OrganizationID,
		UserID:         st.UserID,
		Connector:      st.Connector,
		AuthProvider:   st.AuthProvider,
		RedirectURI:    st.RedirectURI,
		ConnectionID:   st.ConnectionID,
		SealedVerifier: st.SealedVerifier,
		CreatedAt:      formatTime(st.CreatedAt),
		ExpiresAt:      formatTime(st.ExpiresAt),
		ExpiresAtEpoch: epoch(st.ExpiresAt),
	}
	err := s.put(ctx, it, expression.AttributeNotExists(expression.Name(AttrPK)))
	if isConditionFailed(err) {
		return connectors.Errorf(connectors.EConflict, "state already exists")
	}
	if err != nil {
		return wrapErr(err, "create state")
	}
	return nil
}

// ConsumeState implements connectors.StateStore: one conditional update
// marks the state spent with a token of this call, so that of any number
// of concurrent consumers exactly one gets it, and the SDK's retry of an
// update whose answer was lost (the same input, the same token) gets it
// again rather than "already used". A delete could not tell the two
// apart. The spent item goes with its TTL.
func (s *Store) ConsumeState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	token := uuid.NewString()
	consumed := expression.Name(attrConsumedBy)
	cond := expression.AttributeExists(expression.Name(AttrPK)).And(
		expression.Or(expression.AttributeNotExists(consumed), consumed.Equal(expression.Value(token))))
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(consumed, expression.Value(token))).WithCondition(cond).Build()
	if err != nil {
		return nil, wrapErr(err, "consume state")
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       stateKey(nonce),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
	}
	if err != nil {
		return nil, wrapErr(err, "consume state")
	}
	return liveState(out.Attributes)
}

// GetState implements connectors.StateStore with a consistent read.
func (s *Store) GetState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	item, err := s.getItem(ctx, stateKey(nonce))
	if err != nil {
		return nil, wrapErr(err, "get state")
	}
	if _, spent := item[attrConsumedBy]; len(item) == 0 || spent {
		return nil, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
	}
	return liveState(item)
}

// liveState decodes a state item and refuses it once expired: TTL deletion
// is lazy (up to days), so an expired item may still be there.
func liveState(item map[string]types.AttributeValue) (*connectors.OAuthState, error) {
	var it stateItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, wrapErr(err, "decode state")
	}
	st, err := it.state()
	if err != nil {
		return nil, err
	}
	if !time.Now().Before(st.ExpiresAt) {
		return nil, connectors.Errorf(connectors.EInvalidState, "state expired")
	}
	return st, nil
}
