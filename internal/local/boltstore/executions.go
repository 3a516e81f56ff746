package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/automators/connectors/internal/connectors"
)

// execRecord is one entry of a connection's execution history.
type execRecord struct {
	ID             string                  `json:"id"`
	OrganizationID string                  `json:"organizationId"`
	ConnectionID   string                  `json:"connectionId"`
	Connector      string                  `json:"connector"`
	Action         string                  `json:"action"`
	RouteStep      int                     `json:"routeStep"`
	RouteTarget    connectors.AuthProvider `json:"routeTarget"`
	Outcome        string                  `json:"outcome"`
	Attempts       int                     `json:"attempts"`
	DurationMs     int64                   `json:"durationMs"`
	Time           time.Time               `json:"time"`
	ExpiresAt      time.Time               `json:"expiresAt"`
}

// execKey is org sep connection sep time sep id: a prefix scan of
// org sep connection sep reads one connection's history in time order. One
// file has no partitions to spread, so the embedded store does not shard.
func execKey(e connectors.Execution) []byte {
	return joinKey(e.OrganizationID, e.ConnectionID, e.Time.UTC().Format(timeLayout), e.ID)
}

// RecordExecution implements connectors.ExecutionLog. An entry under the
// same key (a retried record) is left as it is.
func (s *Store) RecordExecution(ctx context.Context, e connectors.Execution) error {
	if err := e.Validate(); err != nil {
		return err
	}
	rec := execRecord(e)
	rec.Time, rec.ExpiresAt = e.Time.UTC(), e.ExpiresAt.UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return modify(tx.Bucket(bucketExecs), execKey(e), func(r *execRecord, found bool) (change, error) {
			if found {
				return keep, nil
			}
			*r = rec
			return write, nil
		})
	})
	return wrap(err, "record execution %s", e.ID)
}

// ListExecutions implements connectors.ExecutionLog: the connection's keys
// read backwards, newest first, from the cursor's key (exclusive).
func (s *Store) ListExecutions(ctx context.Context, f connectors.ExecutionFilter) (connectors.ExecutionPage, error) {
	if err := f.Validate(); err != nil {
		return connectors.ExecutionPage{}, err
	}
	limit := connectors.PageSize(f.Limit)
	after, err := s.cursors.decode(f.CursorScope(), f.Cursor)
	if err != nil {
		return connectors.ExecutionPage{}, err
	}
	prefix := prefixKey(f.OrganizationID, f.ConnectionID)
	if after != nil && !bytes.HasPrefix(after, prefix) {
		return connectors.ExecutionPage{}, connectors.Errorf(connectors.EInvalid, "invalid cursor")
	}
	now := time.Now()
	page := connectors.ExecutionPage{Executions: []connectors.Execution{}}
	err = s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketExecs).Cursor()
		// Start at the last key of the prefix (or just before after).
		var k, v []byte
		if after != nil {
			if k, _ = c.Seek(after); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			end := append(bytes.Clone(prefix), 0xff)
			if k, _ = c.Seek(end); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			var rec execRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			e := connectors.Execution(rec)
			if !f.Keeps(e, now) {
				continue
			}
			if len(page.Executions) == limit {
				page.NextCursor = s.cursors.encode(f.CursorScope(), last)
				return nil
			}
			page.Executions = append(page.Executions, e)
			last = bytes.Clone(k)
		}
		return nil
	})
	if err != nil {
		return connectors.ExecutionPage{}, wrap(err, "list executions of %s", f.ConnectionID)
	}
	return page, nil
}
