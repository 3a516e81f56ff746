package tracing

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func otelTransport(base http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Host }))
}

// redacting gives exp every span with its url.full cut to scheme, host
// and path: the query, fragment and user info can carry tokens and API
// keys (Trello's key and token are query parameters), and otelhttp
// records the whole URL. (A span processor cannot do it: otelhttp sets
// the attribute after the span starts, and an ended span is read-only.)
type redacting struct{ exp sdktrace.SpanExporter }

func (r redacting) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out, cloned := spans, false
	for i, s := range spans {
		attrs := s.Attributes()
		j := slices.IndexFunc(attrs, func(kv attribute.KeyValue) bool { return kv.Key == "url.full" })
		if j < 0 {
			continue
		}
		if !cloned {
			out, cloned = slices.Clone(spans), true // the batch is the SDK's
		}
		attrs = slices.Clone(attrs)
		attrs[j] = attribute.String("url.full", stripQuery(attrs[j].Value.AsString()))
		out[i] = redactedSpan{s, attrs}
	}
	return r.exp.ExportSpans(ctx, out)
}

func (r redacting) Shutdown(ctx context.Context) error { return r.exp.Shutdown(ctx) }

// redactedSpan is a span with other attributes.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (s redactedSpan) Attributes() []attribute.KeyValue { return s.attrs }

func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}
