package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
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
	// Metrics receives each request's metrics (the route's and what it
	// called) when it is answered; nil discards them.
	Metrics metrics.Sink

	route string // the route's function, the Function of its metrics (New sets it)
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
		ctx, batch := metrics.Start(r.Context(), metrics.Function(cmp.Or(m.route, m.Function)))
		ctx = logging.WithRequest(ctx, m.Logger, requestID, m.Function)
		r = r.WithContext(ctx)
		var errorCode string // the answer's error code, for the metrics
		log := logging.FromContext(ctx)
		m.CORS.apply(w.Header(), r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				sw.writeError(errors.New("panic"), requestID)
				errorCode = connectors.EInternal
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			log.Log(ctx, level, "request",
				"route", r.Pattern, "status", sw.status,
				"durationMs", time.Since(start).Milliseconds())
			m.flushMetrics(ctx, batch, sw.status, errorCode, time.Since(start))
		}()
		if err := h(sw, r); err != nil {
			errorCode = connectors.ErrorCode(err)
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

// flushMetrics records the request's metrics and flushes its batch.
// ErrorCode is the answer's error code (the error body's code), none on
// success.
func (m Middleware) flushMetrics(ctx context.Context, batch *metrics.Batch, status int, errorCode string, took time.Duration) {
	code := metrics.ErrorCode(errorCode)
	batch.Add(metrics.Requests, 1, code)
	batch.Add(metrics.ClientErrors, b2f(status >= 400 && status < 500), code)
	batch.Add(metrics.ServerErrors, b2f(status >= 500), code)
	batch.Add(metrics.Latency, float64(took.Microseconds())/1000, code)
	sink := m.Metrics
	if sink == nil {
		sink = metrics.Discard
	}
	if err := sink.Flush(batch); err != nil {
		logging.FromContext(ctx).Warn("metrics not written", "err", err)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
