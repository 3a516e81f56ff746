package panora

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/automators/connectors/internal/httpcall"
)

// APIError is an answer of Panora other than 2xx. Panora's errors are
// written by its global exception filter as
// {"statusCode":500,"timestamp":"...","path":"/...","message":"..."}
// (packages/api/src/@core/utils/exception.filter.ts, installed in
// packages/api/src/main.ts); NestJS's own shapes ({"statusCode","message"
// (a string or a list),"error"}) are read too. Its message never holds the
// API key, the dashboard token or the call's connection token (Panora's
// messages may repeat a connection token: they are scrubbed), and never the
// answer's `path`, whose query can hold a linked user's origin id.
type APIError struct {
	Op         string        // operation, e.g. "GET /linked_users/fromRemoteId"
	Status     int           // HTTP status
	Message    string        // Panora's message, scrubbed
	RetryAfter time.Duration // from Retry-After, when the answer had one
}

// Error implements the error interface.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("panora: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// maxMessage bounds the message kept from an answer.
const maxMessage = 300

// parseAPIError builds the *APIError of a non-2xx answer, whatever its body;
// secrets are replaced in Panora's message.
func parseAPIError(op string, resp *response, secrets []string) *APIError {
	e := &APIError{Op: op, Status: resp.Status}
	if ra, ok := httpcall.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	var env struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(resp.Body, &env) == nil {
		e.Message = text(env.Message)
		if e.Message == "" {
			e.Message = text(env.Error)
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.Status)
	}
	e.Message = scrub(e.Message, secrets)
	if len(e.Message) > maxMessage {
		e.Message = e.Message[:maxMessage] + "…"
	}
	return e
}

// text reads a message: a string, a list of strings (class-validator's), or
// an object with a message.
func text(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	var obj struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil && len(obj.Message) > 0 && obj.Message[0] != '{' {
		return text(obj.Message)
	}
	return ""
}

// minSecret is the shortest value scrub replaces: Panora's secrets are
// long (API keys sk_<env>_<uuid>, connection tokens UUIDs), and replacing a
// one-letter value would garble every message.
const minSecret = 8

// scrub replaces each secret in s.
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= minSecret {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

// QueuedError is Panora's answer to a passthrough request the provider
// rate limited: Panora put the request in its retry queue and answered
// {"statusCode":200,"retryId":"<uuid>"} instead of the provider's answer
// (packages/api/src/@core/@core-services/request-retry/retry.handler.ts,
// makeRequest). Panora sends the request again itself (retry.consumer.ts):
// up to 10 attempts, exponential back-off from 1 s doubling to at most
// 60 s, full jitter, honouring the provider's Retry-After or rate-limit
// reset headers. Its outcome is read with GET /passthrough/{retryId}
// (Client.RetriedResponse), which answers nothing until the job finished.
// IsRateLimited matches it.
type QueuedError struct {
	Op      string
	RetryID string
	// RetryAfter is when the caller may try again: Panora's Retry-After
	// when its answer had one (it has none at c6741e9e), else
	// QueuedRetryAfter.
	RetryAfter time.Duration
}

// QueuedRetryAfter is the wait a queued passthrough request reports when
// Panora's answer says none: the longest pause of Panora's retry job between
// two attempts (maxDelay 60000 ms in retry.handler.ts's retryWithBackoff), by
// which time its first retries have run.
const QueuedRetryAfter = time.Minute

// Error implements the error interface. The retry id is not a secret (it
// reads only the job's result, with the API key).
func (e *QueuedError) Error() string {
	return "panora: " + e.Op + ": the provider rate limited the request; Panora queued it for retry " + e.RetryID
}

// IsNotFound reports whether err says the thing asked for does not exist:
// 404, or a lookup Panora answered with nothing.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsConflict reports whether err is a 409.
func IsConflict(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// IsUnauthorized reports whether Panora refused the credentials: 401 or 403.
func IsUnauthorized(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// unknownTokenMessage starts the message of Panora's 500 for a connection
// token it does not know (packages/api/src/@core/connections/@utils/index.ts,
// getConnectionMetadataFromConnectionToken: a ReferenceError
// "Connection undefined for token <token>", answered 500 by the exception
// filter).
const unknownTokenMessage = "Connection undefined for token"

// IsUnknownConnection reports whether err says Panora has no connection for
// the connection token sent.
func IsUnknownConnection(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusInternalServerError && strings.HasPrefix(e.Message, unknownTokenMessage)
}

// IsRateLimited reports whether err is a 429 of Panora's or a passthrough
// request Panora queued, and how long to wait (0 when Panora did not say).
func IsRateLimited(err error) (retryAfter time.Duration, ok bool) {
	var q *QueuedError
	if errors.As(err, &q) {
		return q.RetryAfter, true
	}
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusTooManyRequests {
		return e.RetryAfter, true
	}
	return 0, false
}

// IsUnavailable reports whether err says Panora could not be reached or could
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

var (
	_ error = (*APIError)(nil)
	_ error = (*QueuedError)(nil)
)
