package connectors

import (
	"context"
	"hash/fnv"
	"strings"
	"time"
)

// Execution is one entry of a connection's execution history: what the
// executor ran with the connection and how it ended. It holds no
// parameters, outputs, tokens or error messages (any of which can carry
// user data): only names, numbers and times.
type Execution struct {
	// ID names this outcome: one executor invocation of one node. The same
	// Execution recorded twice (a retried write) is one entry.
	ID             string
	OrganizationID string // for the authorization check on reading
	ConnectionID   string
	Connector      string       // registry id, e.g. "slack"
	Action         string       // e.g. "send_message"
	RouteStep      int          // the routing step that served it; 0 when it failed before routing
	RouteTarget    AuthProvider // the provider of that step; "" when it failed before routing
	// Outcome is OutcomeOK or the executor's error name, e.g.
	// "Connectors.RateLimited".
	Outcome    string
	Attempts   int   // provider calls made (2 after a refresh on 401)
	DurationMs int64 // from the invocation's start to its outcome
	Time       time.Time
	// ExpiresAt is when stores may forget the entry (Time plus the
	// deployment's retention).
	ExpiresAt time.Time
}

// OutcomeOK is the Outcome of an execution that succeeded.
const OutcomeOK = "ok"

// DefaultExecutionRetention is how long execution history is kept when the
// deployment does not say (EXECUTION_RETENTION_DAYS).
const DefaultExecutionRetention = 30 * 24 * time.Hour

// ExecutionShards is how many partitions one connection's history is
// spread over (README, "Execution history": the capacity arithmetic). It
// is part of the stored layout: a store reads every shard, so changing it
// means reading max(old, new) shards until the old entries expire.
const ExecutionShards = 4

// ExecutionShard is the shard of the execution with id: the same for the
// same id, so a retried write lands on the same item, and uniform over
// ids, so a busy connection's writes spread over every shard.
func ExecutionShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % ExecutionShards)
}

// Validate checks an execution before a store records it.
func (e Execution) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"id", e.ID}, {"organization", e.OrganizationID}, {"connection", e.ConnectionID}, {"outcome", e.Outcome},
	} {
		if f.v == "" {
			return Errorf(EInvalid, "execution %s is required", f.name)
		}
		if len(f.v) > 512 || strings.ContainsRune(f.v, 0) {
			return Errorf(EInvalid, "execution %s is too long or holds a NUL", f.name)
		}
	}
	switch {
	case e.Time.IsZero():
		return Errorf(EInvalid, "execution time is required")
	case !e.ExpiresAt.After(e.Time):
		return Errorf(EInvalid, "execution must expire after its time")
	}
	return nil
}

// ExecutionFilter selects one connection's history for listing.
type ExecutionFilter struct {
	OrganizationID string
	ConnectionID   string
	// Viewer is the caller the page is for: cursors are bound to it as
	// well as to the connection, so that one caller's cursor is no use to
	// another.
	Viewer string
	Limit  int    // page size; PageSize bounds it
	Cursor string // opaque, from a previous page
}

// Validate checks a filter before an adapter runs it.
func (f ExecutionFilter) Validate() error {
	if f.OrganizationID == "" || f.ConnectionID == "" {
		return Errorf(EInvalid, "organization and connection are required")
	}
	return nil
}

// CursorScope is what a page cursor of this listing is bound to: a cursor
// from one connection's (or caller's) history opens for no other.
func (f ExecutionFilter) CursorScope() []string {
	return []string{"executions", f.OrganizationID, f.ConnectionID, f.Viewer}
}

// Keeps reports whether an entry belongs in f's listing at now: the
// filter's organization and connection, and not expired (stores' TTL
// deletes lag behind the expiry).
func (f ExecutionFilter) Keeps(e Execution, now time.Time) bool {
	return e.OrganizationID == f.OrganizationID && e.ConnectionID == f.ConnectionID && now.Before(e.ExpiresAt)
}

// ExecutionPage is one page of a connection's history, newest first.
// NextCursor is "" on the last page.
type ExecutionPage struct {
	Executions []Execution
	NextCursor string
}

// ExecutionLog keeps connections' execution history.
type ExecutionLog interface {
	// RecordExecution stores e. Recording the same execution id again is
	// no error and leaves one entry (the first stands).
	RecordExecution(ctx context.Context, e Execution) error
	// ListExecutions returns a page of a connection's history, newest
	// first; a cursor from another listing is an EInvalid error.
	ListExecutions(ctx context.Context, f ExecutionFilter) (ExecutionPage, error)
}
