// Package lambdatask adapts the non-HTTP invocations to the service: the
// Step Functions task that runs the executor, and the EventBridge schedule
// that runs the sweeper.
package lambdatask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/sweeper"
)

// Task is a Lambda handler that decodes its own input. The runtime's decoder
// would answer a payload that is not JSON with its own errorType
// (SyntaxError, UnmarshalTypeError), which no Retry or Catch of the state
// machine names; Invoke answers it as Connectors.InvalidInput instead. A
// Task is still a plain function for in-process callers.
type Task[In, Out any] func(context.Context, In) (Out, error)

// Invoke implements lambda.Handler. An empty payload is In's zero value.
func (t Task[In, Out]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var in In
	if len(bytes.TrimSpace(payload)) > 0 {
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, messages.InvokeResponse_Error{Type: executor.NameInvalidInput, Message: "the input is not a valid JSON object of this function's input: " + decodeProblem(err)}
		}
	}
	out, err := t(ctx, in)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, messages.InvokeResponse_Error{Type: executor.NameInternal, Message: "encode the output"}
	}
	return b, nil
}

// decodeProblem says what was wrong with an input without echoing it: the
// input may hold parameters that are user data.
func decodeProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be a JSON %s", typ.Field, typ.Type.Kind())
	}
	return "malformed JSON"
}

// Executor returns the execute-connector handler. A failure is returned as
// messages.InvokeResponse_Error so that Step Functions sees its name
// (Connectors.*) as the errorType; a wrapped Go error would lose it.
func Executor(e *executor.Executor, logger *slog.Logger) Task[executor.Input, executor.Output] {
	return func(ctx context.Context, in executor.Input) (executor.Output, error) {
		ctx = logging.WithRequest(ctx, logger, requestID(ctx), "execute-connector")
		log := logging.FromContext(ctx).With("executionId", in.ExecutionID, "nodeId", in.NodeID, "nodeType", in.NodeType)
		out, err := e.Execute(ctx, in)
		if err != nil {
			xe := executor.AsError(err)
			log.Warn("node failed", "errorType", xe.Name, "err", err)
			return executor.Output{}, messages.InvokeResponse_Error{Type: xe.Name, Message: xe.Message}
		}
		log.Info("node succeeded", "attempts", out.Attempts, "durationMs", out.DurationMs)
		return out, nil
	}
}

// SweepInput is the sweeper's event: the schedule's (ignored fields), or a
// manual invocation carrying a cursor to continue from.
type SweepInput struct {
	events.CloudWatchEvent
	Cursor string `json:"cursor,omitempty"`
}

// Sweeper returns the connection-sweeper handler.
func Sweeper(s *sweeper.Sweeper, logger *slog.Logger) Task[json.RawMessage, sweeper.Result] {
	return func(ctx context.Context, raw json.RawMessage) (sweeper.Result, error) {
		ctx = logging.WithRequest(ctx, logger, requestID(ctx), "connection-sweeper")
		var in SweepInput
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &in); err != nil {
				return sweeper.Result{}, messages.InvokeResponse_Error{Type: executor.NameInvalidInput, Message: "the sweeper input is not valid JSON"}
			}
		}
		res, err := s.Run(ctx, in.Cursor)
		if err != nil {
			logging.FromContext(ctx).Error("sweep failed", "err", err)
			return res, messages.InvokeResponse_Error{Type: executor.NameInternal, Message: connectors.ErrorMessage(err)}
		}
		return res, nil
	}
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
