package executor

import (
	"context"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
)

// historyTimeout bounds the history write: the answer to Step Functions
// matters more than its entry in the history.
const historyTimeout = time.Second

// record adds the outcome of one invocation to its connection's execution
// history: names, numbers and times only, never the node's parameters,
// its output or an error's message (any of them can hold user data). It
// never fails the execution: a failed write is logged and counted
// (HistoryFailures).
func (e *Executor) record(ctx context.Context, id string, in Input, conn *connectors.Connection, out Output, err error, start time.Time) {
	if e.Executions == nil || conn == nil {
		return
	}
	outcome := connectors.OutcomeOK
	if err != nil {
		outcome = named(err).Name
	}
	_, action, _ := in.validate() // Execute validated it already
	now := e.Now()
	ex := connectors.Execution{
		ID: id, OrganizationID: conn.OrganizationID, ConnectionID: conn.ID,
		Connector: conn.Connector, Action: action, RouteStep: out.Route.Step, RouteTarget: out.Route.Target,
		Outcome: outcome, Attempts: out.Attempts, DurationMs: now.Sub(start).Milliseconds(),
		Time: start, ExpiresAt: start.Add(e.Retention),
	}
	// Written even when the invocation's context is cancelled or out of
	// time: that is an outcome too.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyTimeout)
	defer cancel()
	if werr := e.Executions.RecordExecution(wctx, ex); werr != nil {
		e.historyFailures.Add(1)
		metrics.Add(ctx, metrics.HistoryFailures, 1)
		logging.FromContext(ctx).Warn("record execution history", "connection_id", conn.ID, "outcome", outcome, "err", werr)
	}
}

// HistoryFailures is how many history writes failed since the executor
// was built (each is logged too).
func (e *Executor) HistoryFailures() int64 { return e.historyFailures.Load() }
