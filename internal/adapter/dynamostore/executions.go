package dynamostore

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/connectors"
)

// Execution history items. A connection's history is spread over
// connectors.ExecutionShards partitions,
//
//	PK "EXEC#<len(org)>:<org>#<connection>#<shard>", SK "<time>#<id>",
//
// with shard = connectors.ExecutionShard(id): a busy connection's writes
// are spread over the shards instead of one partition's 1,000 WCU, and the
// same id always lands on the same item. The organization is length
// prefixed so that no pair of ids makes two connections share a
// partition; the fixed-width time leads the sort key so that each shard
// reads newest first. A listing queries every shard and merges them.
const prefixExec = "EXEC#"

func execPK(orgID, connID string, shard int) string {
	return prefixExec + strconv.Itoa(len(orgID)) + ":" + orgID + "#" + connID + "#" + strconv.Itoa(shard)
}

type execItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	ID             string `dynamodbav:"id"`
	OrganizationID string `dynamodbav:"organizationId"`
	ConnectionID   string `dynamodbav:"connectionId"`
	Connector      string `dynamodbav:"connector"`
	Action         string `dynamodbav:"action"`
	RouteStep      int    `dynamodbav:"routeStep"`
	RouteTarget    string `dynamodbav:"routeTarget"`
	Outcome        string `dynamodbav:"outcome"`
	Attempts       int    `dynamodbav:"attempts"`
	DurationMs     int64  `dynamodbav:"durationMs"`
	Time           string `dynamodbav:"time"`
	ExpiresAt      string `dynamodbav:"expiresAt"`
	ExpiresAtEpoch int64  `dynamodbav:"expiresAtEpoch"` // AttrTTL: DynamoDB deletes the item after it
}

func (it *execItem) execution() (connectors.Execution, error) {
	e := connectors.Execution{
		ID: it.ID, OrganizationID: it.OrganizationID, ConnectionID: it.ConnectionID,
		Connector: it.Connector, Action: it.Action, RouteStep: it.RouteStep, RouteTarget: connectors.AuthProvider(it.RouteTarget),
		Outcome: it.Outcome, Attempts: it.Attempts, DurationMs: it.DurationMs,
	}
	return e, parseTimes(storedTime{&e.Time, it.Time}, storedTime{&e.ExpiresAt, it.ExpiresAt})
}

// RecordExecution implements connectors.ExecutionLog: a put on the
// condition that the item is new, so a retried record (same id, same
// time) leaves the first item as it is.
func (s *Store) RecordExecution(ctx context.Context, e connectors.Execution) error {
	if err := e.Validate(); err != nil {
		return err
	}
	ts := formatTime(e.Time)
	it := execItem{
		PK: execPK(e.OrganizationID, e.ConnectionID, connectors.ExecutionShard(e.ID)), SK: ts + "#" + e.ID,
		ID: e.ID, OrganizationID: e.OrganizationID, ConnectionID: e.ConnectionID,
		Connector: e.Connector, Action: e.Action, RouteStep: e.RouteStep, RouteTarget: string(e.RouteTarget),
		Outcome: e.Outcome, Attempts: e.Attempts, DurationMs: e.DurationMs,
		Time: ts, ExpiresAt: formatTime(e.ExpiresAt), ExpiresAtEpoch: epoch(e.ExpiresAt),
	}
	err := s.put(ctx, it, expression.AttributeNotExists(expression.Name(AttrPK)))
	if err != nil && !isConditionFailed(err) {
		return wrapErr(err, "record execution %s", e.ID)
	}
	return nil
}

// execCursor is a history cursor's payload: where each shard's reading
// resumes (the sort key of the last item returned from it, "" for its
// start), and which shards have nothing left.
type execCursor struct {
	After []string `json:"a"`
	Done  []bool   `json:"d"`
}

// shardRead is what one page's read of one shard found.
type shardRead struct {
	items []connectors.Execution
	sks   []string // the items' sort keys
	more  bool     // the shard has items past these
}

// ListExecutions implements connectors.ExecutionLog. It reads up to
// limit+1 live items from each shard not yet done, merges them newest
// first and keeps limit; each shard's position in the next cursor is the
// last of its items kept, so nothing is skipped or repeated.
func (s *Store) ListExecutions(ctx context.Context, f connectors.ExecutionFilter) (connectors.ExecutionPage, error) {
	if err := f.Validate(); err != nil {
		return connectors.ExecutionPage{}, err
	}
	limit := connectors.PageSize(f.Limit)
	scope := f.CursorScope()
	cur := execCursor{After: make([]string, connectors.ExecutionShards), Done: make([]bool, connectors.ExecutionShards)}
	if f.Cursor != "" {
		payload, err := s.cursors.Open(scope, f.Cursor)
		if err != nil {
			return connectors.ExecutionPage{}, err
		}
		if err := json.Unmarshal(payload, &cur); err != nil || len(cur.After) != connectors.ExecutionShards || len(cur.Done) != connectors.ExecutionShards {
			return connectors.ExecutionPage{}, connectors.Errorf(connectors.EInvalid, "invalid cursor")
		}
	}
	now := time.Now()
	reads := make([]shardRead, connectors.ExecutionShards)
	type ref struct{ shard, i int }
	var all []ref
	for shard := range connectors.ExecutionShards {
		if cur.Done[shard] {
			continue
		}
		r, err := s.readShard(ctx, f, shard, cur.After[shard], limit+1, now)
		if err != nil {
			return connectors.ExecutionPage{}, wrapErr(err, "list executions of %s", f.ConnectionID)
		}
		reads[shard] = r
		for i := range r.items {
			all = append(all, ref{shard, i})
		}
	}
	// Newest first: the sort key is the fixed-width time, then the id.
	slices.SortFunc(all, func(a, b ref) int { return strings.Compare(reads[b.shard].sks[b.i], reads[a.shard].sks[a.i]) })
	kept := all[:min(limit, len(all))]
	page := connectors.ExecutionPage{Executions: make([]connectors.Execution, 0, len(kept))}
	taken := make([]int, connectors.ExecutionShards)
	for _, r := range kept {
		page.Executions = append(page.Executions, reads[r.shard].items[r.i])
		taken[r.shard]++
	}
	next := execCursor{After: slices.Clone(cur.After), Done: slices.Clone(cur.Done)}
	more := false
	for shard, r := range reads {
		if cur.Done[shard] {
			continue
		}
		if taken[shard] > 0 {
			next.After[shard] = r.sks[taken[shard]-1]
		}
		next.Done[shard] = taken[shard] == len(r.items) && !r.more
		more = more || !next.Done[shard]
	}
	if more {
		payload, err := json.Marshal(next)
		if err != nil {
			return connectors.ExecutionPage{}, wrapErr(err, "list executions of %s: encode cursor", f.ConnectionID)
		}
		page.NextCursor = s.cursors.Seal(scope, payload)
	}
	return page, nil
}

// readShard reads shard newest first from after ("" for its newest item)
// until it holds want live items of f or the shard ends. Expired items
// (TTL deletion lags) and any item not of f's connection are passed over.
func (s *Store) readShard(ctx context.Context, f connectors.ExecutionFilter, shard int, after string, want int, now time.Time) (shardRead, error) {
	pk := execPK(f.OrganizationID, f.ConnectionID, shard)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return shardRead{}, err
	}
	var start map[string]types.AttributeValue
	if after != "" {
		start = itemKey(pk, after)
	}
	var r shardRead
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         start,
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(want - len(r.items))),
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return shardRead{}, err
		}
		for _, raw := range out.Items {
			var it execItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return shardRead{}, err
			}
			e, err := it.execution()
			if err != nil {
				return shardRead{}, err
			}
			if f.Keeps(e, now) {
				r.items = append(r.items, e)
				r.sks = append(r.sks, it.SK)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return r, nil
		}
		if len(r.items) >= want {
			r.more = true
			return r, nil
		}
		start = out.LastEvaluatedKey
	}
}
