package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
)

// HandlerFunc serves a request, or returns the error to answer instead;
// Middleware turns the error into the JSON error body.
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// CORS answers browsers from the allowed origins.
type CORS struct {
	AllowOrigins []string // exact origins, or "*"
}

// apply adds CORS headers to h when the request's Origin is allowed.
func (c CORS) apply(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || len(c.AllowOrigins) == 0 {
		return
	}
	allowed := slices.Contains(c.AllowOrigins, origin)
	if !allowed && !slices.Contains(c.AllowOrigins, "*") {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if allowed {
		// Credentials only for an origin listed by name: a wildcard that
		// reflects any origin must not also let it send credentials.
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Expose-Headers", "ETag, Retry-After, WWW-Authenticate")
	h.Set("Vary", "Origin")
}

// Middleware wraps every handler of one function. Wrap it once, at cold
// start: it keeps no state per request.
type Middleware struct {
	Function string       // added to every log line; leave empty when Logger names it already
	Logger   *slog.Logger // the function's logger; nil discards
	CORS     CORS
	// RequestID returns the id of a request, for its log lines and error
	// bodies (apigw.RequestID behind API Gateway); nil gives none.
	RequestID func(*http.Request) string
}

// Wrap returns h with a request-scoped logger, CORS headers, errors turned
// into JSON answers and panics into a 500 that never reaches the server (or
// API Gateway, as a Lambda error).
func (m Middleware) Wrap(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var requestID string
		if m.RequestID != nil {
			requestID = m.RequestID(r)
		}
		ctx := logging.WithRequest(r.Context(), m.Logger, requestID, m.Function)
		r = r.WithContext(ctx)
		log := logging.FromContext(ctx)
		m.CORS.apply(w.Header(), r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				sw.writeError(errors.New("panic"), requestID)
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			log.Log(ctx, level, "request",
				"route", r.Pattern, "status", sw.status,
				"durationMs", time.Since(start).Milliseconds())
		}()
		if err := h(sw, r); err != nil {
			if connectors.ErrorCode(err) == connectors.EInternal {
				log.Error("request failed", "err", err)
			} else {
				// Not "code": the log redaction hides that key (OAuth codes).
				log.Info("request refused", "errorCode", connectors.ErrorCode(err), "err", err)
			}
			sw.writeError(err, requestID)
		}
	})
}

// statusWriter keeps the status written, for the log line and so that an
// error after an answer has started is not written over it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) writeError(err error, requestID string) {
	if w.status == 0 {
		WriteError(w, err, requestID)
	}
}
