package tracing_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/automators/connectors/internal/adapter/tracing"
)

// TestFromEnv: an OTLP endpoint (the ADOT collector layer's) turns the
// exporter on, without contacting it before the first flush; without one,
// or with the SDK disabled, nothing is recorded.
func TestFromEnv(t *testing.T) {
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
	}))
	t.Cleanup(collector.Close)
	tests := []struct {
		name     string
		vars     map[string]string
		exported bool
	}{
		{"no endpoint", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.URL + "/v1/traces"}, true},
		{"disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_SDK_DISABLED": "true"}, false},
		{"http/json", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL + "/", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, true},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-a=1, x-b=two%20words"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := posts.Load()
			tr, err := tracing.FromEnv(func(k string) string { return tt.vars[k] }, "fn")
			if err != nil {
				t.Fatal(err)
			}
			if n := posts.Load() - before; n != 0 {
				t.Fatalf("%d exports at init, want none", n)
			}
			_, isNoop := tr.TracerProvider().(noop.TracerProvider)
			if isNoop == tt.exported {
				t.Errorf("provider %T, want exporting %v", tr.TracerProvider(), tt.exported)
			}
			h := tracing.Handler(tr, "fn", func(context.Context, struct{}) (int, error) { return 0, nil }, tracing.HandlerOptions[struct{}, int]{})
			if _, err := h(t.Context(), struct{}{}); err != nil {
				t.Fatal(err)
			}
			if got := posts.Load() - before; (got > 0) != tt.exported {
				t.Errorf("%d exports after an invocation, want exported %v", got, tt.exported)
			}
		})
	}
}

// TestFromEnvRefuses: a protocol this exporter does not speak, an
// endpoint that is not a URL, or headers it cannot read stop the cold
// start with an error that quotes no header value (it may be a key).
func TestFromEnvRefuses(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"protobuf for traces", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{"not a URL", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost:4318"}, "not an http(s) URL"},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_EXPORTER_OTLP_HEADERS": "authorization"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header value", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%zzsecret"}, "OTEL_EXPORTER_OTLP_HEADERS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tracing.FromEnv(func(k string) string { return tt.vars[k] }, "fn")
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("FromEnv = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestHandlerSpan: the parent comes from the input's W3C header when
// Lambda gave none; errors and failed answers mark the span, by the
// error's name only.
func TestHandlerSpan(t *testing.T) {
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name       string
		err        error
		status     int
		wantCode   codes.Code
		wantDetail string
	}{
		{"ok", nil, 200, codes.Unset, ""},
		{"5xx answer", nil, 503, codes.Error, ""},
		{"lambda error", messages.InvokeResponse_Error{Type: "Connectors.ProviderUnavailable", Message: "slack said: secret stuff"}, 0, codes.Error, "Connectors.ProviderUnavailable"},
		{"plain error", errors.New("token sk_live_123 refused"), 0, codes.Error, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tr := tracing.New(exp, "fn")
			h := tracing.Handler(tr, "fn", func(ctx context.Context, in map[string]string) (int, error) {
				if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
					t.Error("the handler's context carries no span")
				}
				return tt.status, tt.err
			}, tracing.HandlerOptions[map[string]string, int]{
				Carrier: func(in map[string]string) propagation.TextMapCarrier { return propagation.MapCarrier(in) },
				Failed:  func(status int) bool { return status >= 500 },
			})
			h(t.Context(), map[string]string{"traceparent": traceparent})
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1 (flushed before the answer)", len(spans))
			}
			s := spans[0]
			if got := s.SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent.SpanID().String() != "00f067aa0ba902b7" {
				t.Errorf("trace %s parent %s, want the traceparent's", got, s.Parent.SpanID())
			}
			if s.Status.Code != tt.wantCode || s.Status.Description != tt.wantDetail {
				t.Errorf("status %v %q, want %v %q", s.Status.Code, s.Status.Description, tt.wantCode, tt.wantDetail)
			}
		})
	}
}

// TestTransportSpans: an outbound call is a client span under the caller's
// span; its exported url.full has no query (tokens ride there); the
// request carries no trace header to the provider.
func TestTransportSpans(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	t.Cleanup(srv.Close)
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(exp, "fn")
	client := tr.Client(nil)
	h := tracing.Handler(tr, "fn", func(ctx context.Context, _ struct{}) (struct{}, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/things?api_key=sk_live_secret#frag", nil)
		res, err := client.Do(req)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, res.Body.Close()
	}, tracing.HandlerOptions[struct{}, struct{}]{})
	if _, err := h(t.Context(), struct{}{}); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the handler's and the call's", len(spans))
	}
	call, handler := spans[0], spans[1]
	if call.SpanKind != trace.SpanKindClient || call.Parent.SpanID() != handler.SpanContext.SpanID() {
		t.Errorf("call span %q kind %v parent %s, want a client span under %s", call.Name, call.SpanKind, call.Parent.SpanID(), handler.SpanContext.SpanID())
	}
	sawURL := false
	for _, kv := range call.Attributes {
		if strings.Contains(kv.Value.Emit(), "sk_live_secret") {
			t.Errorf("attribute %s keeps the query's key: %s", kv.Key, kv.Value.Emit())
		}
		if kv.Key == "url.full" {
			sawURL = true
		}
		if kv.Key == "url.full" && kv.Value.AsString() != srv.URL+"/v1/things" {
			t.Errorf("url.full %s, want %s", kv.Value.AsString(), srv.URL+"/v1/things")
		}
	}
	if !sawURL {
		t.Error("the call span has no url.full")
	}
	if got.Get("Traceparent") != "" || got.Get("X-Amzn-Trace-Id") != "" {
		t.Errorf("the provider got trace headers: %v", got)
	}
}
