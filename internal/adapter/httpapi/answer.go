package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// MaxBodyBytes is the largest request body the API accepts.
const MaxBodyBytes = 64 << 10

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
	connectors.EInvalid:            http.StatusBadRequest,
	connectors.EInvalidState:       http.StatusBadRequest,
	connectors.EInvalidCredentials: http.StatusBadRequest, // the provider refused pasted credentials: the user's to fix
	connectors.EUnauthorized:       http.StatusUnauthorized,
	connectors.EForbidden:          http.StatusForbidden,
	connectors.EOwned:              http.StatusForbidden,
	connectors.ENotFound:           http.StatusNotFound,
	connectors.EUnknownConnector:   http.StatusNotFound,
	connectors.EConflict:           http.StatusConflict,
	connectors.EReauthRequired:     http.StatusConflict,
	connectors.ETooLarge:           http.StatusRequestEntityTooLarge,
	connectors.ERateLimited:        http.StatusTooManyRequests,
	connectors.EUpstream:           http.StatusBadGateway,
	connectors.EUnavailable:        http.StatusServiceUnavailable,
	connectors.ENotConfigured:      http.StatusServiceUnavailable,
	connectors.ENotImplemented:     http.StatusNotImplemented,
	connectors.EInternal:           http.StatusInternalServerError,
}

// Status returns the HTTP status for a domain error code.
func Status(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WriteJSON answers status with v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here; answer it as one.
		WriteError(w, fmt.Errorf("encode response: %w", err), "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b) // an error here is a client gone away: nothing to tell it
}

// NoContent answers 204.
func NoContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// Redirect answers 302 to location, without the body http.Redirect writes.
func Redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// WriteError answers err as the JSON error body. Only the caller-safe
// message of a *connectors.Error is shown; any other error is a generic 500.
func WriteError(w http.ResponseWriter, err error, requestID string) {
	code := connectors.ErrorCode(err)
	status := Status(code)
	switch status {
	case http.StatusUnauthorized:
		// Set as spelled in RFC 9110; Header.Set would write
		// "Www-Authenticate", and the response event keeps names as set.
		w.Header()["WWW-Authenticate"] = []string{`Bearer realm="automators-connectors"`}
	case http.StatusTooManyRequests:
		secs := int(connectors.RetryAfter(err).Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: connectors.ErrorMessage(err), RequestID: requestID}})
}

// ReadBody returns the request body, or a payload_too_large error above
// MaxBodyBytes.
func ReadBody(r *http.Request) ([]byte, error) {
	tooLarge := connectors.Errorf(connectors.ETooLarge, "request body exceeds %d bytes", MaxBodyBytes)
	// A declared length is checked first, so an oversized body costs no
	// allocation.
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var refused *connectors.Error
		if errors.As(err, &refused) {
			return nil, err
		}
		return nil, connectors.Wrap(err, connectors.EInvalid, "could not read the request body")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

// DecodeJSON decodes the request body into v, refusing unknown fields,
// trailing data and an empty body.
func DecodeJSON(r *http.Request, v any) error {
	b, err := ReadBody(r)
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
