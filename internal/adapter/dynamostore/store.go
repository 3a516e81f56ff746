// Package dynamostore is the DynamoDB adapter of connectors.Store, on the
// single-table design of DESIGN §4 (table ConnectorCredentials).
//
// Times are stored as fixed-width RFC 3339 strings in UTC (see timeLayout),
// TTL values as epoch seconds in AttrTTL.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/cursor"
)

// Retention of the items that expire (DESIGN §4).
const (
	stateTTL   = 10 * time.Minute
	idempTTL   = 24 * time.Hour
	auditTTL   = 90 * 24 * time.Hour
	maxAudited = 1000 // cap of one ListAudit call
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

// CreateConnection implements connectors.ConnectionStore. An empty Status
// becomes StatusActive; zero CreatedAt/UpdatedAt become now.
func (s *Store) CreateConnection(ctx context.Context, c *connectors.Connection) error {
	if c.Status == "" {
		c.Status = connectors.StatusActive
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	connFailed, ownerFailed, err := s.writeWithOwner(ctx, c, newConnItem(c, 1), expression.AttributeNotExists(expression.Name(AttrPK)))
	switch {
	case err != nil:
		return wrapErr(err, "create connection %s", c.ID)
	case connFailed:
		return connectors.Errorf(connectors.EConflict, "connection %s already exists", c.ID)
	case ownerFailed:
		return connectors.Errorf(connectors.EOwned, "provider connection %s is held by another record", c.ID)
	}
	c.Version = 1
	return nil
}

// UpdateConnection implements connectors.ConnectionStore.
func (s *Store) UpdateConnection(ctx context.Context, c *connectors.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name(attrVersion).Equal(expression.Value(c.Version)))
	connFailed, ownerFailed, err := s.writeWithOwner(ctx, c, newConnItem(c, c.Version+1), cond)
	switch {
	case err != nil:
		return wrapErr(err, "update connection %s", c.ID)
	case connFailed:
		// Not every emulator returns the old item: look.
		if _, err := s.GetConnection(ctx, c.OrganizationID, c.ID); errors.Is(err, connectors.ErrNotFound) {
			return connectors.Errorf(connectors.ENotFound, "connection %s not found", c.ID)
		} else if err != nil {
			return wrapErr(err, "update connection %s", c.ID)
		}
		return connectors.Errorf(connectors.EConflict, "connection %s was changed by someone else (version %d is stale)", c.ID, c.Version)
	case ownerFailed:
		return connectors.Errorf(connectors.EOwned, "provider connection %s is held by another record", c.ID)
	}
	c.Version++
	return nil
}

// GetConnection implements connectors.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, orgID, id string) (*connectors.Connection, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            itemKey(orgPK(orgID), connSK(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrapErr(err, "get connection %s", id)
	}
	if len(out.Item) == 0 {
		return nil, connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	}
	return decodeConnection(out.Item)
}

// DeleteConnection implements connectors.ConnectionStore. The record and
// its owner item go in one transaction, so the provider connection is free
// exactly when no record holds it.
func (s *Store) DeleteConnection(ctx context.Context, orgID, id string) error {
	for range 5 {
		c, err := s.GetConnection(ctx, orgID, id)
		if errors.Is(err, connectors.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		stale, err := s.deleteWithOwner(ctx, c)
		if err != nil {
			return wrapErr(err, "delete connection %s", id)
		}
		if !stale {
			return nil
		}
	}
	return connectors.Errorf(connectors.EConflict, "connection %s is being changed concurrently; try again", id)
}

// ListConnections implements connectors.ConnectionStore. With a UserID it
// queries GSI1 (a connector filter narrows the sort key); without, it queries
// the organization's partition. Pages hold connectors.DefaultPageSize connections unless
// f.Limit says otherwise, at most connectors.MaxPageSize.
func (s *Store) ListConnections(ctx context.Context, f connectors.ConnectionFilter) (connectors.ConnectionPage, error) {
	if err := f.Validate(); err != nil {
		return connectors.ConnectionPage{}, err
	}
	scope := f.CursorScope()
	start, err := s.cursors.decode(scope, f.Cursor)
	if err != nil {
		return connectors.ConnectionPage{}, err
	}

	var (
		keyCond  expression.KeyConditionBuilder
		filters  []expression.ConditionBuilder
		index    *string
		keyAttrs = []string{AttrPK, AttrSK}
	)
	if f.UserID != "" {
		prefix := prefixConn
		if f.Connector != "" {
			prefix = userSK(f.Connector, "")
		}
		keyCond = expression.Key(AttrGSI1PK).Equal(expression.Value(userPK(f.OrganizationID, f.UserID))).
			And(expression.Key(AttrGSI1SK).BeginsWith(prefix))
		// GSI1PK joins org and user with '#', which ids may contain: the
		// filter keeps ("a#b", "c") out of ("a", "b#c")'s listing.
		filters = append(filters,
			expression.Name(attrOrg).Equal(expression.Value(f.OrganizationID)),
			expression.Name(attrUser).Equal(expression.Value(f.UserID)))
		index = aws.String(IndexGSI1)
		keyAttrs = append(keyAttrs, AttrGSI1PK, AttrGSI1SK)
	} else {
		keyCond = expression.Key(AttrPK).Equal(expression.Value(orgPK(f.OrganizationID))).
			And(expression.Key(AttrSK).BeginsWith(prefixConn))
	}
	if f.Connector != "" {
		filters = append(filters, expression.Name(attrConnector).Equal(expression.Value(f.Connector)))
	}
	if f.Status != "" {
		filters = append(filters, expression.Name(attrStatus).Equal(expression.Value(string(f.Status))))
	}
	b := expression.NewBuilder().WithKeyCondition(keyCond)
	if len(filters) > 0 {
		b = b.WithFilter(and(filters))
	}
	expr, err := b.Build()
	if err != nil {
		return connectors.ConnectionPage{}, wrapErr(err, "list connections")
	}

	limit := connectors.PageSize(f.Limit)
	fetch := func(ctx context.Context, start map[string]types.AttributeValue) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			IndexName:                 index,
			KeyConditionExpression:    expr.KeyCondition(),
			FilterExpression:          expr.Filter(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         start,
			Limit:                     aws.Int32(int32(limit + 1)),
			ConsistentRead:            aws.Bool(index == nil), // GSIs are eventually consistent only
		})
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	}
	page, err := s.collect(ctx, scope, limit, start, keyAttrs, fetch)
	if err != nil {
		return connectors.ConnectionPage{}, wrapErr(err, "list connections of %s", f.OrganizationID)
	}
	return page, nil
}

// ListDueConnections implements connectors.SweepStore with a filtered Scan.
// The cursor is bound to the sweep, not to before, so that a sweeper may move
// its clock between pages.
func (s *Store) ListDueConnections(ctx context.Context, before time.Time, limit int, cursor string) (connectors.ConnectionPage, error) {
	scope := []string{"due"}
	start, err := s.cursors.decode(scope, cursor)
	if err != nil {
		return connectors.ConnectionPage{}, err
	}
	// A missing expiresAt (zero ExpiresAt) fails the comparison, as it should.
	due := expression.Name(attrExpiresAt).LessThan(expression.Value(formatTime(before))).
		Or(expression.Name(attrStatus).Equal(expression.Value(string(connectors.StatusRefreshFailed))))
	filter := expression.Name(AttrPK).BeginsWith(prefixOrg).
		And(expression.Name(AttrSK).BeginsWith(prefixConn), due)
	expr, err := expression.NewBuilder().WithFilter(filter).Build()
	if err != nil {
		return connectors.ConnectionPage{}, wrapErr(err, "list due connections")
	}
	fetch := func(ctx context.Context, start map[string]types.AttributeValue) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
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
	page, err := s.collect(ctx, scope, connectors.PageSize(limit), start, []string{AttrPK, AttrSK}, fetch)
	if err != nil {
		return connectors.ConnectionPage{}, wrapErr(err, "list due connections")
	}
	return page, nil
}

type fetchFunc func(ctx context.Context, start map[string]types.AttributeValue) (items []map[string]types.AttributeValue, lastKey map[string]types.AttributeValue, err error)

// collect reads pages from fetch until it has limit connections and knows
// whether more follow. A filtered read can return short or empty pages, so
// DynamoDB's LastEvaluatedKey alone would give ragged pages and cursors to
// empty ones: instead it reads one item past the page and, when that item
// exists, resumes after the last item returned (any item's key is a valid
// ExclusiveStartKey).
func (s *Store) collect(ctx context.Context, scope []string, limit int, start map[string]types.AttributeValue, keyAttrs []string, fetch fetchFunc) (connectors.ConnectionPage, error) {
	var items []map[string]types.AttributeValue
	for {
		got, last, err := fetch(ctx, start)
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
		next := make(map[string]types.AttributeValue, len(keyAttrs))
		for _, a := range keyAttrs {
			next[a] = items[limit-1][a]
		}
		cursor, err := s.cursors.encode(scope, next)
		if err != nil {
			return connectors.ConnectionPage{}, err
		}
		page.NextCursor = cursor
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

// CreateState implements connectors.StateStore. A zero CreatedAt becomes
// now; a zero ExpiresAt becomes CreatedAt plus 10 minutes.
func (s *Store) CreateState(ctx context.Context, st *connectors.OAuthState) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = time.Now().UTC()
	}
	if st.ExpiresAt.IsZero() {
		st.ExpiresAt = st.CreatedAt.Add(stateTTL)
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

// ConsumeState implements connectors.StateStore: one conditional delete, so
// of any number of concurrent consumers exactly one gets the state.
func (s *Store) ConsumeState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	expr, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return nil, wrapErr(err, "consume state")
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       itemKey(prefixState+nonce, skState),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return nil, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
	}
	if err != nil {
		return nil, wrapErr(err, "consume state")
	}
	return liveState(out.Attributes)
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

// GetState implements connectors.StateStore with a consistent read.
func (s *Store) GetState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            itemKey(prefixState+nonce, skState),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrapErr(err, "get state")
	}
	if len(out.Item) == 0 {
		return nil, connectors.Errorf(connectors.EInvalidState, "state is unknown or already used")
	}
	return liveState(out.Item)
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
	cond := expression.Name(attrOwner).Equal(expression.Value(owner)).
		And(expression.Name(attrStatus).Equal(expression.Value(string(connectors.IdempotencyInProgress))))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return wrapErr(err, "complete idempotent %s", key)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       itemKey(prefixIdemp+key, skIdemp),
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
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            itemKey(prefixIdemp+key, skIdemp),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrapErr(err, "get idempotent %s", key)
	}
	var it idempItem
	if len(out.Item) > 0 {
		if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
			return nil, wrapErr(err, "get idempotent %s: decode", key)
		}
	}
	if len(out.Item) == 0 || it.ExpiresAtEpoch < time.Now().Unix() {
		return nil, connectors.Errorf(connectors.ENotFound, "idempotency key %s not found", key)
	}
	return it.record()
}

// AppendAudit implements connectors.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, e connectors.AuditEvent) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
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
		ExpiresAtEpoch: epoch(e.Time.Add(auditTTL)),
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
	limit = min(limit, maxAudited)
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
			t, err := parseTime(it.Time)
			if err != nil {
				return nil, wrapErr(err, "list audit of %s", orgID)
			}
			events = append(events, connectors.AuditEvent{
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
			})
		}
		if len(events) >= limit || len(out.LastEvaluatedKey) == 0 {
			return events, nil
		}
		start = out.LastEvaluatedKey
	}
}

// AcquireLease implements connectors.LeaseStore.
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

// ReleaseLease implements connectors.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	expr, err := expression.NewBuilder().
		WithCondition(expression.Name(attrOwner).Equal(expression.Value(owner))).Build()
	if err != nil {
		return wrapErr(err, "release lease %s", name)
	}
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       itemKey(prefixLease+name, skLease),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err != nil && !isConditionFailed(err) { // someone else's lease: nothing to do
		return wrapErr(err, "release lease %s", name)
	}
	return nil
}

// put writes item, if cond holds when it is set. A failed condition carries
// the existing item (see UpdateConnection).
func (s *Store) put(ctx context.Context, item any, cond expression.ConditionBuilder) error {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return wrapErr(err, "encode item")
	}
	in := &dynamodb.PutItemInput{TableName: s.table, Item: av}
	if cond.IsSet() {
		expr, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			return wrapErr(err, "build condition")
		}
		in.ConditionExpression = expr.Condition()
		in.ExpressionAttributeNames = expr.Names()
		in.ExpressionAttributeValues = expr.Values()
	}
	if cond.IsSet() {
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	_, err = s.client.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) > 0 && reflect.DeepEqual(ccf.Item, av) {
		// The SDK retried a put whose answer was lost, and the first
		// attempt had landed: the item is exactly ours, so it succeeded.
		return nil
	}
	return err
}

func decodeConnection(item map[string]types.AttributeValue) (*connectors.Connection, error) {
	var it connItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, wrapErr(err, "decode connection")
	}
	return it.connection()
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
