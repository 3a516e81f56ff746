package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/automators/connectors/internal/adapter/tracing"
)

// BenchmarkHandler is the cost tracing adds to one invocation that makes
// three client spans: disabled (no endpoint), and exporting them to a
// loopback collector (OTLP/JSON, one POST per invocation, as Lambda
// flushes before each answer).
func BenchmarkHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	b.Cleanup(srv.Close)
	exp, err := tracing.NewOTLP(srv.URL+"/v1/traces", "")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tr   *tracing.Tracing
	}{{"disabled", tracing.Disabled()}, {"otlp", tracing.New(exp, "bench")}} {
		b.Run(tc.name, func(b *testing.B) {
			tracer := tc.tr.TracerProvider().Tracer("bench")
			h := tracing.Handler(tc.tr, "bench", func(ctx context.Context, _ struct{}) (struct{}, error) {
				for range 3 {
					_, s := tracer.Start(ctx, "DynamoDB.Query", trace.WithSpanKind(trace.SpanKindClient),
						trace.WithAttributes(attribute.String("rpc.system", "aws-api"), attribute.String("rpc.method", "Query")))
					s.End()
				}
				return struct{}{}, nil
			}, tracing.HandlerOptions[struct{}, struct{}]{})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h(b.Context(), struct{}{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
