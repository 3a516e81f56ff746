package tracing_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/automators/connectors/internal/adapter/tracing"
)

// collector is an OTLP/HTTP receiver that decodes each body with the
// protocol's generated types, refusing fields they do not have.
type collector struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	headers  []http.Header
	status   int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status != 0 {
		w.WriteHeader(c.status)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "not an OTLP/HTTP JSON export", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	body, err := hexIDsToBase64(body)
	if err == nil {
		err = (protojson.UnmarshalOptions{}).Unmarshal(body, &req)
	}
	if err != nil {
		http.Error(w, "not an ExportTraceServiceRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	c.requests = append(c.requests, &req)
	c.headers = append(c.headers, r.Header.Clone())
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{}`)
}

// hexIDsToBase64 rewrites an OTLP/JSON body's trace and span ids, which
// OTLP/JSON writes in hex (the specification's one departure from the
// protobuf JSON mapping), in base64 for protojson; an id that is not hex
// of the right length is an error.
func hexIDsToBase64(body []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	var walk func(any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if n, ok := map[string]int{"traceId": 16, "spanId": 8, "parentSpanId": 8}[k]; ok {
					b, err := hex.DecodeString(e.(string))
					if err != nil || len(b) != n {
						return fmt.Errorf("%s %q is not %d bytes of hex", k, e, n)
					}
					x[k] = base64.StdEncoding.EncodeToString(b)
					continue
				}
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func attrs(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	out := map[string]*commonpb.AnyValue{}
	for _, kv := range kvs {
		out[kv.Key] = kv.Value
	}
	return out
}

// TestOTLPBodyIsTheProtocols: what the exporter sends is an OTLP
// ExportTraceServiceRequest as the protocol's own types read it: ids,
// parentage, kinds, times, typed attributes, events, links, and status
// codes in OTLP's numbering (which differs from OpenTelemetry Go's).
func TestOTLPBodyIsTheProtocols(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	tr, err := tracing.FromEnv(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-team=connectors"}[k]
	}, "execute-connector")
	if err != nil {
		t.Fatal(err)
	}
	tracer := tr.TracerProvider().Tracer("test-scope")
	ctx, root := tracer.Start(t.Context(), "execute-connector", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("s", "v"), attribute.Bool("b", true), attribute.Int64("i", 1<<40), attribute.Float64("f", 0.5),
		attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, 2}),
		attribute.BoolSlice("bs", []bool{false, true}), attribute.Float64Slice("fs", []float64{0.25}),
	))
	_, child := tracer.Start(ctx, "DynamoDB.Query", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", "test")}}))
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	child.SetStatus(codes.Error, "ProvisionedThroughputExceededException")
	child.End()
	root.SetStatus(codes.Ok, "")
	root.End()
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 1 {
		t.Fatalf("%d exports, want 1", len(col.requests))
	}
	if got := col.headers[0].Get("X-Team"); got != "connectors" {
		t.Errorf("header x-team %q, want OTEL_EXPORTER_OTLP_HEADERS's", got)
	}
	rs := col.requests[0].ResourceSpans
	if len(rs) != 1 || attrs(rs[0].Resource.Attributes)["service.name"].GetStringValue() != "execute-connector" {
		t.Fatalf("resource spans %v, want one resource named execute-connector", rs)
	}
	if len(rs[0].ScopeSpans) != 1 || rs[0].ScopeSpans[0].Scope.Name != "test-scope" || len(rs[0].ScopeSpans[0].Spans) != 2 {
		t.Fatalf("scope spans %v, want test-scope's two spans", rs[0].ScopeSpans)
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range rs[0].ScopeSpans[0].Spans {
		byName[s.Name] = s
	}
	r, c := byName["execute-connector"], byName["DynamoDB.Query"]
	if r == nil || c == nil {
		t.Fatalf("spans %v", byName)
	}
	rsc := root.SpanContext()
	tid, sid := rsc.TraceID(), rsc.SpanID()
	if string(r.TraceId) != string(tid[:]) || string(r.SpanId) != string(sid[:]) || len(r.ParentSpanId) != 0 {
		t.Errorf("root ids %x/%x parent %x, want %s/%s and none", r.TraceId, r.SpanId, r.ParentSpanId, rsc.TraceID(), rsc.SpanID())
	}
	if string(c.TraceId) != string(tid[:]) || string(c.ParentSpanId) != string(sid[:]) {
		t.Errorf("child trace %x parent %x, want the root's", c.TraceId, c.ParentSpanId)
	}
	if r.Kind != tracepb.Span_SPAN_KIND_SERVER || c.Kind != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("kinds %v %v, want server and client", r.Kind, c.Kind)
	}
	if r.Status.GetCode() != tracepb.Status_STATUS_CODE_OK || c.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR ||
		c.Status.GetMessage() != "ProvisionedThroughputExceededException" {
		t.Errorf("statuses %v %v, want OK and ERROR with the message", r.Status, c.Status)
	}
	if r.StartTimeUnixNano == 0 || r.EndTimeUnixNano < r.StartTimeUnixNano || c.StartTimeUnixNano < r.StartTimeUnixNano {
		t.Errorf("times %d-%d, child from %d", r.StartTimeUnixNano, r.EndTimeUnixNano, c.StartTimeUnixNano)
	}
	a := attrs(r.Attributes)
	if a["s"].GetStringValue() != "v" || !a["b"].GetBoolValue() || a["i"].GetIntValue() != 1<<40 || a["f"].GetDoubleValue() != 0.5 ||
		len(a["ss"].GetArrayValue().GetValues()) != 2 || a["ss"].GetArrayValue().GetValues()[1].GetStringValue() != "b" ||
		len(a["is"].GetArrayValue().GetValues()) != 2 || a["is"].GetArrayValue().GetValues()[1].GetIntValue() != 2 ||
		len(a["bs"].GetArrayValue().GetValues()) != 2 || !a["bs"].GetArrayValue().GetValues()[1].GetBoolValue() ||
		len(a["fs"].GetArrayValue().GetValues()) != 1 || a["fs"].GetArrayValue().GetValues()[0].GetDoubleValue() != 0.25 {
		t.Errorf("typed attributes %v", a)
	}
	if len(c.Events) != 1 || c.Events[0].Name != "retry" || attrs(c.Events[0].Attributes)["attempt"].GetIntValue() != 2 {
		t.Errorf("events %v, want retry with attempt 2", c.Events)
	}
	if len(c.Links) != 1 || string(c.Links[0].SpanId) != string(sid[:]) || attrs(c.Links[0].Attributes)["why"].GetStringValue() != "test" {
		t.Errorf("links %v, want the root's", c.Links)
	}
	if c.Flags&0x100 == 0 || c.Flags&0x200 != 0 || c.Flags&0xff != uint32(trace.FlagsSampled) {
		t.Errorf("flags %#x, want sampled, parent known local", c.Flags)
	}
}

// TestOTLPCollectorRefuses: an export the collector refuses, or one it
// does not answer, is the flush's error, and the invocation still answers.
func TestOTLPCollectorRefuses(t *testing.T) {
	col := &collector{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	exp, err := tracing.NewOTLP(srv.URL+"/v1/traces", "authorization=Bearer%20sk_secret")
	if err != nil {
		t.Fatal(err)
	}
	tr := tracing.New(exp, "fn")
	_, s := tr.TracerProvider().Tracer("t").Start(t.Context(), "op")
	s.End()
	err = tr.Flush(t.Context())
	if err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "sk_secret") {
		t.Errorf("Flush = %v, want the collector's 503 without the header", err)
	}
	h := tracing.Handler(tr, "fn", func(context.Context, struct{}) (string, error) { return "answer", nil }, tracing.HandlerOptions[struct{}, string]{})
	if out, err := h(t.Context(), struct{}{}); out != "answer" || err != nil {
		t.Errorf("handler = %q, %v; want its answer though the export failed", out, err)
	}
}
