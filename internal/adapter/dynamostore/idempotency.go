package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

// idempTTL is how long an executor result is remembered: longer than any
// retry of the step that produced it.
const idempTTL = 24 * time.Hour

type idempItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	Key            string `dynamodbav:"key"`
	Owner          string `dynamodbav:"owner"`
	Status         string `dynamodbav:"status"`
	Result         []byte `dynamodbav:"result,omitempty"`
	LeaseUntil     string `dynamodbav:"leaseUntil"`
	CreatedAt      string `dynamodbav:"createdAt"`
	ExpiresAt      string `dynamodbav:"expiresAt"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
}

func (it *idempItem) record() (*connectors.IdempotencyRecord, error) {
	r := &connectors.IdempotencyRecord{
		Key:    it.Key,
		Owner:  it.Owner,
		Status: connectors.IdempotencyStatus(it.Status),
		Result: it.Result,
	}
	if err := parseTimes(
		storedTime{&r.LeaseUntil, it.LeaseUntil}, storedTime{&r.CreatedAt, it.CreatedAt}, storedTime{&r.ExpiresAt, it.ExpiresAt},
	); err != nil {
		return nil, fmt.Errorf("idempotency record %s: %w", it.Key, err)
	}
	return r, nil
}

func idempKey(key string) map[string]types.AttributeValue {
	return itemKey(prefixIdemp+key, skIdemp)
}

// heldBy is the condition that owner holds an idempotency key in progress.
func heldBy(owner string) expression.ConditionBuilder {
	return expression.Name(attrOwner).Equal(expression.Value(owner)).
		And(expression.Name(attrStatus).Equal(expression.Value(string(connectors.IdempotencyInProgress))))
}

// BeginIdempotent implements connectors.IdempotencyStore with a conditional
// put: the key is claimed if absent, if its holder's lease ran out, or if the
// record outlived its 24 h (TTL deletion is lazy).
func (s *Store) BeginIdempotent(ctx context.Context, key, owner string, lease time.Duration) (*connectors.IdempotencyRecord, error) {
	if key == "" || owner == "" || lease <= 0 {
		return nil, connectors.Errorf(connectors.EInvalid, "idempotency key, owner and a positive lease are required")
	}
	// Two tries: the record seen after a failed claim may vanish (TTL, or a
	// concurrent takeover) before it is read.
	for range 2 {
		now := time.Now().UTC()
		it := idempItem{
			PK:             prefixIdemp + key,
			SK:             skIdemp,
			Key:            key,
			Owner:          owner,
			Status:         string(connectors.IdempotencyInProgress),
			LeaseUntil:     formatTime(now.Add(lease)),
			CreatedAt:      formatTime(now),
			ExpiresAt:      formatTime(now.Add(idempTTL)),
			ExpiresAtEpoch: epoch(now.Add(idempTTL)),
		}
		cond := expression.AttributeNotExists(expression.Name(AttrPK)).
			Or(expression.Name(attrStatus).Equal(expression.Value(string(connectors.IdempotencyInProgress))).
				And(expression.Name(attrLeaseUntil).LessThan(expression.Value(formatTime(now)))),
				expression.Name(AttrTTL).LessThan(expression.Value(now.Unix())))
		err := s.put(ctx, it, cond)
		if err == nil {
			return it.record()
		}
		if !isConditionFailed(err) {
			return nil, wrapErr(err, "begin idempotent %s", key)
		}
		rec, err := s.GetIdempotent(ctx, key)
		if errors.Is(err, connectors.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		// The SDK retries a put whose answer was lost; the retry then finds
		// our own claim. It is ours: take it, as the first attempt did.
		if rec.Status == connectors.IdempotencyCompleted || rec.Owner == owner {
			return rec, nil
		}
		return nil, connectors.Errorf(connectors.EConflict, "idempotency key %s is in progress", key)
	}
	return nil, connectors.Errorf(connectors.EConflict, "idempotency key %s is contended", key)
}

// CompleteIdempotent implements connectors.IdempotencyStore.
func (s *Store) CompleteIdempotent(ctx context.Context, key, owner string, result []byte) error {
	update := expression.Set(expression.Name(attrStatus), expression.Value(string(connectors.IdempotencyCompleted)))
	if len(result) > 0 { // an empty binary value is not storable everywhere
		update = update.Set(expression.Name(attrResult), expression.Value(result))
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(heldBy(owner)).Build()
	if err != nil {
		return wrapErr(err, "complete idempotent %s", key)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       idempKey(key),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isConditionFailed(err) {
		return connectors.Errorf(connectors.EConflict, "idempotency key %s is not held by this owner", key)
	}
	if err != nil {
		return wrapErr(err, "complete idempotent %s", key)
	}
	return nil
}

// GetIdempotent implements connectors.IdempotencyStore. A record past its
// ExpiresAt is not found, whether or not TTL has deleted it yet.
func (s *Store) GetIdempotent(ctx context.Context, key string) (*connectors.IdempotencyRecord, error) {
	item, err := s.getItem(ctx, idempKey(key))
	if err != nil {
		return nil, wrapErr(err, "get idempotent %s", key)
	}
	var it idempItem
	if len(item) > 0 {
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, wrapErr(err, "get idempotent %s: decode", key)
		}
	}
	if len(item) == 0 || it.ExpiresAtEpoch < time.Now().Unix() {
		return nil, connectors.Errorf(connectors.ENotFound, "idempotency key %s not found", key)
	}
	return it.record()
}

// ReleaseIdempotent implements connectors.IdempotencyStore: a conditional
// delete that only the in-progress owner can make.
func (s *Store) ReleaseIdempotent(ctx context.Context, key, owner string) error {
	_, err := s.deleteIf(ctx, idempKey(key), heldBy(owner))
	if isConditionFailed(err) {
		return nil // not ours (any more): nothing to give back
	}
	if err != nil {
		return wrapErr(err, "release idempotent %s", key)
	}
	return nil
}
