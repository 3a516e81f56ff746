// Package connectors holds the domain of Automators Connectors: connections,
// OAuth states, idempotency records and audit events, the typed errors every
// layer speaks, and the small store interfaces (ports) that adapters implement.
//
// It imports no AWS SDK and no Lambda event types; adapters depend on it, never
// the other way round.
package connectors

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are the "code" field of the HTTP API's error body
// and are mapped to HTTP statuses and executor error names at the
// edges, never inside the domain.
const (
	EInvalid      = "invalid_request"
	EInvalidState = "invalid_state"
	// EInvalidCredentials: the provider refused credentials a user
	// submitted (an API key tested before it is stored).
	EInvalidCredentials = "invalid_credentials"
	EUnauthorized       = "unauthorized"
	EForbidden          = "forbidden"
	ENotFound           = "not_found"
	EUnknownConnector   = "unknown_connector"
	EConflict           = "conflict"
	ETooLarge           = "payload_too_large"
	ERateLimited        = "rate_limited"
	EUpstream           = "upstream_error"
	EUnavailable        = "upstream_unavailable"
	ENotConfigured      = "not_configured"
	EReauthRequired     = "reauth_required"
	ENotImplemented     = "not_implemented"
	EInternal           = "internal"
	// EOwned is a store's refusal to give a provider connection a second
	// owner. It never reaches a caller as such: the service answers it as
	// forbidden (API) or acknowledges and ignores it (webhooks).
	EOwned = "owned_elsewhere"
)

// Error is the domain's typed error. Code is one of the E* constants; Message
// is safe to show to a caller (it never holds a token or secret); Err, when
// set, is the underlying cause, kept for logs and errors.Is/As.
type Error struct {
	Code       string
	Message    string
	RetryAfter time.Duration // set with ERateLimited when the upstream said how long to wait
	// Temporary marks a failure that may pass (an upstream answered 5xx):
	// the API still answers it as a bad gateway, but a task may retry it.
	Temporary bool
	Err       error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, connectors.ErrNotFound) works for any not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels for errors.Is: they match any *Error with the same code.
var (
	ErrNotFound       = &Error{Code: ENotFound}
	ErrConflict       = &Error{Code: EConflict}
	ErrInvalidState   = &Error{Code: EInvalidState}
	ErrReauthRequired = &Error{Code: EReauthRequired}
	// ErrOwned matches the refusal to record a provider connection that
	// another organization or user already holds.
	ErrOwned = &Error{Code: EOwned}
)

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message whose cause is err.
func Wrap(err error, code, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain; any other error gets a generic message so internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// IsTemporary reports whether the first *Error in err's chain may pass.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

// RetryAfter returns the wait the first *Error in err's chain carries.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
