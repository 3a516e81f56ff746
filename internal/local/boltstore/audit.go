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

type auditRecord struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organizationId"`
	ActorUserID    string    `json:"actorUserId"`
	Actor          string    `json:"actor"`
	Action         string    `json:"action"`
	ConnectionID   string    `json:"connectionId"`
	Connector      string    `json:"connector"`
	Outcome        string    `json:"outcome"`
	Detail         string    `json:"detail"`
	Time           time.Time `json:"time"`
}

// AppendAudit implements connectors.AuditLog. The key leads with the
// organization and the fixed-width time, so a prefix scan lists an
// organization's events oldest first.
func (s *Store) AppendAudit(ctx context.Context, e connectors.AuditEvent) error {
	if err := e.PrepareNew(time.Now()); err != nil {
		return err
	}
	rec := auditRecord(e)
	rec.Time = e.Time.UTC()
	k := joinKey(e.OrganizationID, rec.Time.Format(timeLayout), e.ID)
	err := s.update(ctx, func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketAudit), k, rec) })
	return wrap(err, "append audit event %s", e.ID)
}

// ListAudit implements connectors.AuditLog. limit <= 0 means
// connectors.DefaultPageSize; it is capped at 1000.
func (s *Store) ListAudit(ctx context.Context, orgID string, limit int) ([]connectors.AuditEvent, error) {
	if limit <= 0 {
		limit = connectors.DefaultPageSize
	}
	limit = min(limit, connectors.MaxAuditList)
	var events []connectors.AuditEvent
	prefix := prefixKey(orgID)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(events) < limit; k, v = c.Next() {
			var rec auditRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			e := connectors.AuditEvent(rec)
			e.Time = utc(e.Time)
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list audit of %s", orgID)
	}
	return events, nil
}
