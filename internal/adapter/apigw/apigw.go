// Package apigw maps API Gateway HTTP API (payload 2.0) events to the
// service and back: request bodies with their size limit and base64 form,
// case-insensitive headers, the JSON error body with the request id, CORS
// headers, and a middleware that turns errors and panics into answers.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
)

// MaxBodyBytes is the largest request body the API accepts.
const MaxBodyBytes = 64 << 10

// Handler is an API Gateway HTTP API Lambda handler.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// statusOf maps a domain error code to its HTTP status.
var statusOf = map[string]int{
	connectors.EInvalid:          http.StatusBadRequest,
	connectors.EInvalidState:     http.StatusBadRequest,
	connectors.EUnauthorized:     http.StatusUnauthorized,
	connectors.EForbidden:        http.StatusForbidden,
	connectors.EOwned:            http.StatusForbidden,
	connectors.ENotFound:         http.StatusNotFound,
	connectors.EUnknownConnector: http.StatusNotFound,
	connectors.EConflict:         http.StatusConflict,
	connectors.EReauthRequired:   http.StatusConflict,
	connectors.ETooLarge:         http.StatusRequestEntityTooLarge,
	connectors.ERateLimited:      http.StatusTooManyRequests,
	connectors.EUpstream:         http.StatusBadGateway,
	connectors.EUnavailable:      http.StatusServiceUnavailable,
	connectors.ENotConfigured:    http.StatusServiceUnavailable,
	connectors.ENotImplemented:   http.StatusNotImplemented,
	connectors.EInternal:         http.StatusInternalServerError,
}

// Status returns the HTTP status for a domain error code.
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here; answer it as one.
		return Error(fmt.Errorf("encode response: %w", err), "")
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}

// NoContent answers 204.
func NoContent() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"Cache-Control": "no-store"}}
}

// Redirect answers 302 to location.
func Redirect(location string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusFound,
		Headers:    map[string]string{"Location": location, "Cache-Control": "no-store"},
	}
}

// Error answers err as the JSON error body. Only the caller-safe message of a
// *connectors.Error is shown; any other error is a generic 500.
func Error(err error, requestID string) events.APIGatewayV2HTTPResponse {
	code := connectors.ErrorCode(err)
	status := Status(code)
	resp := JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: connectors.ErrorMessage(err), RequestID: requestID}})
	switch status {
	case http.StatusUnauthorized:
		resp.Headers["WWW-Authenticate"] = `Bearer realm="automators-connectors"`
	case http.StatusTooManyRequests:
		secs := int(connectors.RetryAfter(err).Round(time.Second) / time.Second)
		resp.Headers["Retry-After"] = strconv.Itoa(max(secs, 1))
	}
	return resp
}

// Body returns the request body, base64-decoded when API Gateway encoded it,
// or a payload_too_large error above MaxBodyBytes.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	// Checked before decoding so an oversized body costs no allocation;
	// base64 is 4/3 of the raw size.
	limit := MaxBodyBytes
	if req.IsBase64Encoded {
		limit = base64.StdEncoding.EncodedLen(MaxBodyBytes)
	}
	if len(req.Body) > limit {
		return nil, connectors.Errorf(connectors.ETooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, connectors.Errorf(connectors.EInvalid, "request body is not valid base64")
	}
	if len(b) > MaxBodyBytes {
		return nil, connectors.Errorf(connectors.ETooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	}
	return b, nil
}

// DecodeJSON decodes the request body into v, refusing unknown fields,
// trailing data and an empty body.
func DecodeJSON(req events.APIGatewayV2HTTPRequest, v any) error {
	b, err := Body(req)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return connectors.Errorf(connectors.EInvalid, "request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return connectors.Errorf(connectors.EInvalid, "field %q has the wrong type", typ.Field)
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return connectors.Errorf(connectors.EInvalid, "request body is not valid JSON")
		default:
			return connectors.Errorf(connectors.EInvalid, "request body is not valid: %s", safeJSONError(err))
		}
	}
	if dec.More() {
		return connectors.Errorf(connectors.EInvalid, "request body has trailing data")
	}
	return nil
}

// safeJSONError keeps the decoder's message short and free of input bytes.
func safeJSONError(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return msg[len("json: "):]
	}
	return "malformed JSON"
}

// Header returns the first value of the named header, whatever its case.
// API Gateway sends lower-case names, but tests and local runs may not.
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// CORS answers browsers from the allowed origins.
type CORS struct {
	AllowOrigins []string // exact origins, or "*"
}

// apply adds CORS headers to resp when the request's Origin is allowed.
func (c CORS) apply(req events.APIGatewayV2HTTPRequest, resp *events.APIGatewayV2HTTPResponse) {
	origin := Header(req, "Origin")
	if origin == "" || len(c.AllowOrigins) == 0 {
		return
	}
	allowed := slices.Contains(c.AllowOrigins, origin)
	if !allowed && !slices.Contains(c.AllowOrigins, "*") {
		return
	}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["Access-Control-Allow-Origin"] = origin
	if allowed {
		// Credentials only for an origin listed by name: a wildcard that
		// reflects any origin must not also let it send credentials.
		resp.Headers["Access-Control-Allow-Credentials"] = "true"
	}
	resp.Headers["Access-Control-Expose-Headers"] = "Retry-After, WWW-Authenticate"
	resp.Headers["Vary"] = "Origin"
}

// Middleware wraps every HTTP handler of one function.
type Middleware struct {
	Function string       // added to every log line; leave empty when Logger names it already
	Logger   *slog.Logger // the function's logger; nil discards
	CORS     CORS
}

// Wrap returns h with a request-scoped logger, CORS headers, errors turned
// into JSON answers and panics into a 500 that never reaches API Gateway as
// a Lambda error.
func (m Middleware) Wrap(h Handler) Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
		start := time.Now()
		requestID := req.RequestContext.RequestID
		ctx = logging.WithRequest(ctx, m.Logger, requestID, m.Function)
		log := logging.FromContext(ctx)
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp = Error(errors.New("panic"), requestID)
			}
			m.CORS.apply(req, &resp)
			err = nil
			level := slog.LevelInfo
			if resp.StatusCode >= 500 {
				level = slog.LevelError
			}
			log.Log(ctx, level, "request",
				"route", req.RouteKey, "status", resp.StatusCode,
				"durationMs", time.Since(start).Milliseconds())
		}()
		resp, err = h(ctx, req)
		if err != nil {
			if connectors.ErrorCode(err) == connectors.EInternal {
				log.Error("request failed", "err", err)
			} else {
				// Not "code": the log redaction hides that key (OAuth codes).
				log.Info("request refused", "errorCode", connectors.ErrorCode(err), "err", err)
			}
			resp = Error(err, requestID)
		}
		return resp, nil
	}
}
