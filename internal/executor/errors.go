package executor

import (
	"context"
	"errors"

	"github.com/automators/connectors/internal/connectors"
)

// Error names Step Functions sees as a failed task's errorType.
// Retry and Catch in the state machine match on them.
const (
	NameInvalidInput        = "Connectors.InvalidInput"
	NameUnknownConnector    = "Connectors.UnknownConnector"
	NameConnectionNotFound  = "Connectors.ConnectionNotFound"
	NameReauthRequired      = "Connectors.ReauthRequired"
	NameRateLimited         = "Connectors.RateLimited"
	NameProviderUnavailable = "Connectors.ProviderUnavailable"
	NameActionFailed        = "Connectors.ActionFailed"
	NameInternal            = "Connectors.Internal"
)

// Error is an executor failure with its Step Functions name.
type Error struct {
	Name    string
	Message string
	Err     error
}

// Error implements error. It returns the caller-safe message only.
func (e *Error) Error() string { return e.Name + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether Step Functions should retry the task.
func (e *Error) Retryable() bool {
	return e.Name == NameRateLimited || e.Name == NameProviderUnavailable
}

// named wraps err with the name its domain code maps to.
func named(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	name := NameInternal
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// Out of time before the work could finish: a retry may make it.
		return &Error{Name: NameProviderUnavailable, Message: "the invocation ran out of time; retry", Err: err}
	}
	switch connectors.ErrorCode(err) {
	case connectors.EInvalid:
		name = NameInvalidInput
	case connectors.EUnknownConnector:
		name = NameUnknownConnector
	case connectors.ENotFound:
		name = NameConnectionNotFound
	case connectors.EReauthRequired, connectors.EUnauthorized, connectors.EForbidden:
		name = NameReauthRequired
	case connectors.ERateLimited:
		name = NameRateLimited
	case connectors.EUnavailable, connectors.EConflict:
		// A conflict here is another invocation holding the same
		// idempotency key: retrying later is the right answer.
		name = NameProviderUnavailable
	case connectors.EUpstream:
		name = NameActionFailed
		if connectors.IsTemporary(err) {
			name = NameProviderUnavailable
		}
	}
	msg := connectors.ErrorMessage(err)
	if d := connectors.RetryAfter(err); d > 0 && name == NameRateLimited {
		msg += " (retry after " + d.String() + ")"
	}
	return &Error{Name: name, Message: msg, Err: err}
}

// AsError returns err as an *Error, naming it from its domain code when it
// is not one already.
func AsError(err error) *Error { return named(err) }
