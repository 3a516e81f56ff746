package executor

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/metrics"
)

// observation is what an execution's metrics say: its connector and
// action once the registry knows them (never the raw input: its values
// are unbounded), its target once its connection is found, and whether a
// recorded result answered it.
type observation struct {
	connector, action string
	target            connectors.AuthProvider
	replayed          bool
}

// replay notes that a recorded result answers the execution.
func (o *observation) replay(out Output, err error) (Output, error) {
	o.replayed = err == nil
	if out.Route.Target != "" {
		o.target = out.Route.Target
	}
	return out, err
}

// record adds Executions (by Outcome: "ok" or the error's name) and
// IdempotentReplays.
func (o *observation) record(ctx context.Context, err error) {
	outcome := metrics.OutcomeOK
	if err != nil {
		outcome = named(err).Name
	}
	metrics.Add(ctx, metrics.Executions, 1, metrics.Outcome(outcome),
		metrics.Connector(o.connector), metrics.Action(o.action), metrics.Target(string(o.target)))
	if o.replayed {
		metrics.Add(ctx, metrics.IdempotentReplays, 1, metrics.Connector(o.connector))
	}
}
