package composio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/httpcall"
)

// APIError is an answer of Composio other than 2xx. Composio's errors look
// like {"error":{"message":"...","code":<number>,"slug":"...","status":<number>,
// "request_id":"...","suggested_fix":"..."}}. Its message never holds the
// API key: it names the operation, the status, Composio's slug and message.
type APIError struct {
	Op         string // operation, e.g. "GET /api/v3/connected_accounts/{nanoid}"
	Status     int    // HTTP status
	Code       string // Composio's numeric code, as text; may be empty
	Slug       string // Composio's error name, when it sends one
	Message    string // Composio's human-readable message
	RequestID  string
	RetryAfter time.Duration // from Retry-After, when the answer had one
}

// Error implements the error interface.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("composio: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.Slug != "" {
		b.WriteString(" ")
		b.WriteString(e.Slug)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// parseAPIError builds the *APIError of a non-2xx answer, whatever its body.
func (c *Client) parseAPIError(op string, resp *response) *APIError {
	e := &APIError{Op: op, Status: resp.Status}
	if ra, ok := httpcall.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	var env struct {
		Error *struct {
			Message   string          `json:"message"`
			Code      json.RawMessage `json:"code"`
			Slug      string          `json:"slug"`
			RequestID string          `json:"request_id"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(resp.Body, &env) == nil {
		if env.Error != nil {
			e.Message, e.Slug, e.RequestID = env.Error.Message, env.Error.Slug, env.Error.RequestID
			e.Code = strings.Trim(string(env.Error.Code), `"`)
		} else {
			e.Message = env.Message
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.Status)
	}
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "..."
	}
	if c.apiKey != "" {
		e.Message = strings.ReplaceAll(e.Message, c.apiKey, "[REDACTED]")
	}
	return e
}

func apiError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err is Composio's 404 (no such connected
// account, or one deleted).
func IsNotFound(err error) bool {
	e, ok := apiError(err)
	return ok && e.Status == http.StatusNotFound
}

// IsRateLimited reports whether err is Composio's 429, and how long it
// asked to wait (0 when it did not say).
func IsRateLimited(err error) (time.Duration, bool) {
	if e, ok := apiError(err); ok && e.Status == http.StatusTooManyRequests {
		return e.RetryAfter, true
	}
	return 0, false
}

// IsUnavailable reports whether err says Composio could not be reached or
// could not serve: a 5xx answer, a network error, a timeout, or the
// caller's deadline passing while calling. A caller's own cancellation is
// not.
func IsUnavailable(err error) bool {
	if e, ok := apiError(err); ok && e.Status >= 500 {
		return true
	}
	var ce *callError
	if errors.As(err, &ce) {
		return !errors.Is(err, context.Canceled)
	}
	return false
}

// domainError is the one place Composio's failures become domain errors:
//   - 404: ENotFound (Composio has no such connected account);
//   - 429: ERateLimited with Composio's wait;
//   - an answered 5xx: EUpstream (a bad gateway), temporary;
//   - no answer at all: EUnavailable;
//   - 401: ENotConfigured (Composio refused this deployment's API key);
//   - 403: ENotConfigured (the key may not do this: a scoped key without
//     the permission, or another project's account);
//   - any other refusal (400, 422, ...): EUpstream.
//
// The user's own request is never the cause of these (this service builds
// every call), so none of them is EUnauthorized or EInvalid.
func domainError(op string, err error) error {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return err // classified already
	}
	apiErr, answered := apiError(err)
	var de *DecodeError
	switch wait, limited := IsRateLimited(err); {
	case IsNotFound(err):
		return connectors.Wrap(err, connectors.ENotFound, op+": Composio has no such connected account")
	case limited:
		return &connectors.Error{Code: connectors.ERateLimited, Message: "Composio is rate limiting; retry later", RetryAfter: wait, Err: err}
	case answered && apiErr.Status >= 500:
		return &connectors.Error{Code: connectors.EUpstream, Message: op + ": Composio answered an error", Temporary: true, Err: err}
	case IsUnavailable(err):
		return connectors.Wrap(err, connectors.EUnavailable, op+": Composio is unavailable")
	case answered && apiErr.Status == http.StatusUnauthorized:
		return connectors.Wrap(err, connectors.ENotConfigured, op+": Composio refused this deployment's API key")
	case answered && apiErr.Status == http.StatusForbidden:
		return connectors.Wrap(err, connectors.ENotConfigured, op+": Composio does not let this deployment's API key do this")
	case errors.As(err, &de):
		return connectors.Wrap(err, connectors.EUpstream, op+": Composio's answer is not what its API describes")
	}
	return connectors.Wrap(err, connectors.EUpstream, op+": Composio refused the request")
}
