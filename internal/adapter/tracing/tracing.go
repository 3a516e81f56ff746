// Package tracing gives the functions OpenTelemetry traces: the tracer
// provider built at cold start, the propagation of X-Ray and W3C trace
// headers, and the edges that make spans: the handler (Handler), the AWS
// SDK's calls (AppendAWS) and outbound HTTP calls (Transport).
//
// Spans leave the process only when an OTLP endpoint is configured, as the
// ADOT collector Lambda layer serves on localhost
// (OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318); they are sent as
// OTLP/HTTP with JSON bodies (otlp.go), which the collector's OTLP
// receiver accepts, at the end of each invocation. Otherwise the provider
// is a no-op that still carries the invocation's trace context to the AWS
// calls. Nothing is dialled at init.
//
// The exporter and the AWS SDK middleware are this package's, not
// OpenTelemetry's otlptracehttp and otelaws: those link gRPC and protobuf,
// and the SQS, SNS and S3 clients, whose package inits cost every cold
// start about 3 ms (the README's cold-start figures).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// instrumentation names this package's tracer.
const instrumentation = "github.com/automators/connectors/internal/adapter/tracing"

// flushTimeout bounds the flush at the end of an invocation: a collector
// that does not answer must not hold the function's answer for long.
const flushTimeout = 2 * time.Second

// Tracing is one process's tracer provider and propagation.
type Tracing struct {
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
	flush      func(context.Context) error // nil for the no-op provider
}

// Propagator is X-Ray's header (what Lambda, Step Functions and the AWS
// SDK carry) and W3C trace context (what other callers send), extracted in
// that order: the later one found wins.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(xray.Propagator{}, propagation.TraceContext{})
}

// FromEnv returns the tracing of the function named service, configured
// by OpenTelemetry's variables: spans are exported (OTLP/HTTP, JSON) to
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT
// followed by /v1/traces, with OTEL_EXPORTER_OTLP_HEADERS, unless
// OTEL_SDK_DISABLED is "true"; with neither endpoint, tracing is
// Disabled. OTEL_EXPORTER_OTLP_PROTOCOL, when set, must be http/json.
func FromEnv(getenv func(string) string, service string) (*Tracing, error) {
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		if base := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); base != "" {
			endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
		}
	}
	if getenv("OTEL_SDK_DISABLED") == "true" || endpoint == "" {
		return Disabled(), nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := getenv(k); p != "" && p != "http/json" {
			return nil, fmt.Errorf("tracing: %s=%q: this exporter sends http/json only", k, p)
		}
	}
	exp, err := NewOTLP(endpoint, getenv("OTEL_EXPORTER_OTLP_HEADERS"))
	if err != nil {
		return nil, err
	}
	return New(exp, service), nil
}

// Disabled returns tracing that records nothing and still propagates the
// incoming trace context.
func Disabled() *Tracing {
	return &Tracing{provider: noop.NewTracerProvider(), propagator: Propagator()}
}

// New returns tracing that exports to exp (OTLP, or an in-memory exporter
// in tests) in batches, flushed at the end of every invocation, with X-Ray
// compatible ids (X-Ray reads the time from the trace id). Every span's
// url.full loses its query before exp sees it (redacting).
func New(exp sdktrace.SpanExporter, service string) *Tracing {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(redacting{exp}),
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
		// Sampled when the caller sampled (Lambda's X-Ray header says so);
		// every root otherwise: X-Ray's own sampling is upstream.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service),
			attribute.String("cloud.provider", "aws"),
			attribute.String("cloud.platform", "aws_lambda"),
		)),
	)
	return &Tracing{provider: tp, propagator: Propagator(), flush: tp.ForceFlush}
}

// TracerProvider returns the provider, for the rare span made by hand.
func (t *Tracing) TracerProvider() trace.TracerProvider { return t.provider }

// Flush exports the spans ended so far, within flushTimeout. A failure is
// returned for the caller to ignore or log: traces never fail a request.
func (t *Tracing) Flush(ctx context.Context) error {
	if t.flush == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	return t.flush(ctx)
}

// HandlerOptions say what a handler's input and output carry.
type HandlerOptions[In, Out any] struct {
	// Carrier returns the trace headers the input carries (an HTTP
	// request's), extracted after Lambda's own X-Ray header; nil: none.
	Carrier func(In) propagation.TextMapCarrier
	// Failed reports an output that is a failure though no error was
	// returned (an HTTP 5xx answer); nil: none is.
	Failed func(Out) bool
}

// Handler wraps a Lambda handler in a server span named name, the parent
// of every span its work makes. The parent is the invocation's X-Ray trace
// header (Lambda's, which continues Step Functions' or the caller's trace),
// then the input's own headers (opts.Carrier). The spans are flushed before
// the answer is returned, as Lambda may freeze the process right after.
func Handler[In, Out any](t *Tracing, name string, h func(context.Context, In) (Out, error), opts HandlerOptions[In, Out]) func(context.Context, In) (Out, error) {
	tracer := t.provider.Tracer(instrumentation)
	var warm atomic.Bool // the local API and tests may call concurrently
	return func(ctx context.Context, in In) (Out, error) {
		ctx = t.propagator.Extract(ctx, propagation.MapCarrier{"X-Amzn-Trace-Id": lambdaTraceHeader(ctx)})
		if opts.Carrier != nil {
			if c := opts.Carrier(in); c != nil {
				ctx = t.propagator.Extract(ctx, c)
			}
		}
		attrs := []attribute.KeyValue{attribute.String("faas.name", name), attribute.Bool("faas.coldstart", !warm.Swap(true))}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			attrs = append(attrs, attribute.String("faas.invocation_id", lc.AwsRequestID))
		}
		ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		out, err := h(ctx, in)
		switch {
		case err != nil:
			// The error's name only: its message may carry a provider's words.
			span.SetStatus(codes.Error, errorType(err))
		case opts.Failed != nil && opts.Failed(out):
			span.SetStatus(codes.Error, "")
		}
		span.End()
		_ = t.Flush(ctx) // a trace lost is not the caller's failure
		return out, err
	}
}

// lambdaTraceHeader returns the invocation's X-Ray trace header, as
// aws-lambda-go puts it in the context (and in _X_AMZN_TRACE_ID).
func lambdaTraceHeader(ctx context.Context) string {
	s, _ := ctx.Value("x-amzn-trace-id").(string)
	return s
}

// errorType names err for a span's status: a Lambda error's type (e.g.
// Connectors.ProviderUnavailable), else "error".
func errorType(err error) string {
	var ie messages.InvokeResponse_Error
	if errors.As(err, &ie) {
		return ie.Type
	}
	var iep *messages.InvokeResponse_Error
	if errors.As(err, &iep) && iep != nil {
		return iep.Type
	}
	return "error"
}

// Transport returns base (http.DefaultTransport when nil) with a client
// span per request. It sends no trace header: the requests go to Nango,
// managed providers and the providers' APIs, which are not ours to trace.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelTransport(base, t.provider)
}

// Client returns a copy of c (a new client when nil) whose transport makes
// spans (Transport); with Disabled tracing, c itself.
func (t *Tracing) Client(c *http.Client) *http.Client {
	if t.flush == nil && c != nil {
		return c
	}
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	out.Transport = t.Transport(out.Transport)
	return out
}
