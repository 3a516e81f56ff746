package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/automators/connectors/internal/connectors"
)

// leaseItem is a lease as stored. Its TTL is the lease's end, so a lease
// nobody released still leaves the table.
type leaseItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	Name           string `dynamodbav:"name"`
	Owner          string `dynamodbav:"owner"`
	LeaseUntil     string `dynamodbav:"leaseUntil"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"`
}

// AcquireLease implements connectors.LeaseStore with a conditional put: the
// lease is taken if absent, expired, or already owner's.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error {
	if name == "" || owner == "" || ttl <= 0 {
		return connectors.Errorf(connectors.EInvalid, "lease name, owner and a positive ttl are required")
	}
	now := time.Now().UTC()
	it := leaseItem{
		PK:             prefixLease + name,
		SK:             skLease,
		Name:           name,
		Owner:          owner,
		LeaseUntil:     formatTime(now.Add(ttl)),
		ExpiresAtEpoch: epoch(now.Add(ttl)),
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name(attrLeaseUntil).LessThan(expression.Value(formatTime(now))),
			expression.Name(attrOwner).Equal(expression.Value(owner)))
	err := s.put(ctx, it, cond)
	if isConditionFailed(err) {
		return connectors.Errorf(connectors.EConflict, "lease %s is held", name)
	}
	if err != nil {
		return wrapErr(err, "acquire lease %s", name)
	}
	return nil
}

// ReleaseLease implements connectors.LeaseStore with a delete conditional
// on the owner.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := s.deleteIf(ctx, itemKey(prefixLease+name, skLease), expression.Name(attrOwner).Equal(expression.Value(owner)))
	if err != nil && !isConditionFailed(err) { // someone else's lease: nothing to do
		return wrapErr(err, "release lease %s", name)
	}
	return nil
}
