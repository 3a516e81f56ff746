package nango

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/automators/connectors/internal/httpcall"
)

// APIError is an answer of Nango other than 2xx. Nango's errors look like
// {"error":{"code":"not_found","message":"...","errors":[...],"payload":{...}}};
// older shapes ({"error":"message","type":"code"} and {"message":"..."}) are
// read too. Its message never holds the secret key or a token: it names the
// operation, the status, Nango's code and Nango's message.
type APIError struct {
	Op         string          // operation, e.g. "GET /connections/{connectionId}"
	Status     int             // HTTP status
	Code       string          // Nango's error code, e.g. "unknown_connection"; may be empty
	Message    string          // Nango's human-readable message
	Errors     any             // Nango's validation details ("errors"), when present
	Payload    json.RawMessage // Nango's "payload" (for a failed refresh: the connection, without credentials)
	RetryAfter time.Duration   // from Retry-After, when the answer had one
}

// Error implements the error interface.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("nango: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// parseAPIError builds the *APIError of a non-2xx answer, whatever its body.
func parseAPIError(op string, resp *response) *APIError {
	e := &APIError{Op: op, Status: resp.Status}
	if ra, ok := httpcall.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	var env struct {
		Error   json.RawMessage `json:"error"`
		Type    string          `json:"type"`
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Payload json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(resp.Body, &env) != nil {
		e.Message = http.StatusText(resp.Status)
		return e
	}
	e.Code, e.Message, e.Payload = env.Code, env.Message, env.Payload
	if e.Code == "" {
		e.Code = env.Type
	}
	switch {
	case len(env.Error) > 0 && env.Error[0] == '{':
		var inner struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Errors  any             `json:"errors"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(env.Error, &inner) == nil {
			e.Code, e.Message, e.Errors = inner.Code, inner.Message, inner.Errors
			if len(inner.Payload) > 0 {
				e.Payload = inner.Payload
			}
		}
	case len(env.Error) > 0 && env.Error[0] == '"':
		var msg string
		if json.Unmarshal(env.Error, &msg) == nil {
			e.Message = msg
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.Status)
	}
	return e
}

// Error codes of Nango that the predicates below recognise.
const (
	CodeNotFound                   = "not_found"
	CodeUnknownConnection          = "unknown_connection"
	CodeUnknownProviderConfig      = "unknown_provider_config"
	CodeInvalidCredentials         = "invalid_credentials"
	CodeConnectionRefreshBackoff   = "connection_refresh_backoff"
	CodeConnectionRefreshExhausted = "connection_refresh_exhausted"
	CodeTooManyRequest             = "too_many_request"
	CodeServerError                = "server_error"
)

// proxyUnknownConnection is the message of the 400 server_error that the proxy
// answers for an unknown connection (a known difference from the document).
const proxyUnknownConnection = "Failed to get connection"

// IsNotFound reports whether err says the connection or integration does not
// exist: 404, or 400 unknown_connection / unknown_provider_config (Nango's
// DELETE and its checks of the integration answer 400), or the proxy's
// 400 server_error "Failed to get connection".
func IsNotFound(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Status == http.StatusNotFound:
		return true
	case e.Code == CodeUnknownConnection, e.Code == CodeUnknownProviderConfig:
		return true
	case e.Code == CodeServerError && e.Status == http.StatusBadRequest && e.Message == proxyUnknownConnection:
		return true
	}
	return false
}

// IsRefreshFailure reports whether err says Nango could not refresh the
// connection's credentials, so the end user must reconnect: 424, or
// invalid_credentials / connection_refresh_backoff /
// connection_refresh_exhausted (400 when the provider refused).
func IsRefreshFailure(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeInvalidCredentials, CodeConnectionRefreshBackoff, CodeConnectionRefreshExhausted:
		return true
	}
	return e.Status == http.StatusFailedDependency
}

// IsRateLimited reports whether err is Nango's 429, and how long Nango asked
// to wait (0 when it did not say).
func IsRateLimited(err error) (retryAfter time.Duration, ok bool) {
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusTooManyRequests {
		return e.RetryAfter, true
	}
	return 0, false
}

// IsUnavailable reports whether err says Nango could not be reached or could
// not serve: a 5xx answer, a network error, a timeout, or the caller's
// deadline passing while calling. A caller's own cancellation is not.
func IsUnavailable(err error) bool {
	var e *APIError
	if errors.As(err, &e) && e.Status >= 500 {
		return true
	}
	var ce *callError
	if errors.As(err, &ce) {
		return !errors.Is(err, context.Canceled)
	}
	return false
}

var _ error = (*APIError)(nil)

// errorf is fmt.Errorf with the package prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf("nango: "+format, args...)
}
