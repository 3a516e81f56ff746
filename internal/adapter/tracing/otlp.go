package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLP exports spans as OTLP/HTTP requests with JSON bodies
// (ExportTraceServiceRequest in the protobuf JSON mapping of the OTLP
// specification: hex trace and span ids, 64-bit integers as strings,
// enums as numbers), to one endpoint such as the ADOT collector layer's
// http://localhost:4318/v1/traces. TestOTLPBodyIsTheProtocols decodes its
// bodies with the protocol's own generated types.
type OTLP struct {
	endpoint string
	headers  http.Header
	client   *http.Client // untraced: exporting makes no spans
}

var _ sdktrace.SpanExporter = (*OTLP)(nil)

// NewOTLP returns the exporter to endpoint (an http or https URL) sending
// headers, given as OTEL_EXPORTER_OTLP_HEADERS gives them
// ("k1=v1,k2=v2", values URL-encoded).
func NewOTLP(endpoint, headers string) (*OTLP, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: OTLP endpoint %q is not an http(s) URL", endpoint)
	}
	h := http.Header{}
	for _, kv := range strings.Split(headers, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		dv, err := url.QueryUnescape(strings.TrimSpace(v))
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			// The variable may hold a credential: its name only.
			return nil, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_HEADERS is not k=v,k=v")
		}
		h.Set(strings.TrimSpace(k), dv)
	}
	return &OTLP{endpoint: u.String(), headers: h, client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// ExportSpans implements sdktrace.SpanExporter: one request for spans.
func (e *OTLP) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(otlpRequest(spans))
	if err != nil {
		return fmt.Errorf("tracing: encode spans: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("tracing: export: %w", err)
	}
	for k, v := range e.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("tracing: export %d spans: %w", len(spans), err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("tracing: export %d spans: collector answered %s", len(spans), res.Status)
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter; there is nothing to close.
func (e *OTLP) Shutdown(context.Context) error { return nil }

// The OTLP JSON shapes (opentelemetry-proto, trace/v1 and common/v1).
type (
	exportRequest struct {
		ResourceSpans []resourceSpans `json:"resourceSpans"`
	}
	resourceSpans struct {
		Resource   otlpResource `json:"resource"`
		ScopeSpans []scopeSpans `json:"scopeSpans"`
		SchemaURL  string       `json:"schemaUrl,omitempty"`
	}
	otlpResource struct {
		Attributes []keyValue `json:"attributes,omitempty"`
	}
	scopeSpans struct {
		Scope scope      `json:"scope"`
		Spans []otlpSpan `json:"spans"`
	}
	scope struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	otlpSpan struct {
		TraceID           string      `json:"traceId"`
		SpanID            string      `json:"spanId"`
		TraceState        string      `json:"traceState,omitempty"`
		ParentSpanID      string      `json:"parentSpanId,omitempty"`
		Flags             uint32      `json:"flags,omitempty"`
		Name              string      `json:"name"`
		Kind              int         `json:"kind"`
		StartTimeUnixNano string      `json:"startTimeUnixNano"`
		EndTimeUnixNano   string      `json:"endTimeUnixNano"`
		Attributes        []keyValue  `json:"attributes,omitempty"`
		Events            []spanEvent `json:"events,omitempty"`
		Links             []spanLink  `json:"links,omitempty"`
		Status            spanStatus  `json:"status"`
	}
	spanEvent struct {
		TimeUnixNano string     `json:"timeUnixNano"`
		Name         string     `json:"name"`
		Attributes   []keyValue `json:"attributes,omitempty"`
	}
	spanLink struct {
		TraceID    string     `json:"traceId"`
		SpanID     string     `json:"spanId"`
		TraceState string     `json:"traceState,omitempty"`
		Attributes []keyValue `json:"attributes,omitempty"`
	}
	spanStatus struct {
		Message string `json:"message,omitempty"`
		Code    int    `json:"code,omitempty"`
	}
	keyValue struct {
		Key   string   `json:"key"`
		Value anyValue `json:"value"`
	}
	anyValue struct {
		StringValue *string     `json:"stringValue,omitempty"`
		BoolValue   *bool       `json:"boolValue,omitempty"`
		IntValue    *string     `json:"intValue,omitempty"`
		DoubleValue *float64    `json:"doubleValue,omitempty"`
		ArrayValue  *arrayValue `json:"arrayValue,omitempty"`
	}
	arrayValue struct {
		Values []anyValue `json:"values"`
	}
)

// otlpRequest groups spans by resource and instrumentation scope, in the
// order first seen.
func otlpRequest(spans []sdktrace.ReadOnlySpan) exportRequest {
	var req exportRequest
	type key struct {
		res   attribute.Distinct
		scope string
	}
	resIndex := map[attribute.Distinct]int{}
	scopeIndex := map[key]int{}
	for _, s := range spans {
		rd := s.Resource().Equivalent()
		ri, ok := resIndex[rd]
		if !ok {
			ri = len(req.ResourceSpans)
			resIndex[rd] = ri
			req.ResourceSpans = append(req.ResourceSpans, resourceSpans{
				Resource:  otlpResource{Attributes: keyValues(s.Resource().Attributes())},
				SchemaURL: s.Resource().SchemaURL(),
			})
		}
		rs := &req.ResourceSpans[ri]
		sc := s.InstrumentationScope()
		k := key{rd, sc.Name + "\x00" + sc.Version}
		si, ok := scopeIndex[k]
		if !ok {
			si = len(rs.ScopeSpans)
			scopeIndex[k] = si
			rs.ScopeSpans = append(rs.ScopeSpans, scopeSpans{Scope: scope{Name: sc.Name, Version: sc.Version}})
		}
		rs.ScopeSpans[si].Spans = append(rs.ScopeSpans[si].Spans, span(s))
	}
	return req
}

func span(s sdktrace.ReadOnlySpan) otlpSpan {
	sc := s.SpanContext()
	out := otlpSpan{
		TraceID:           sc.TraceID().String(),
		SpanID:            sc.SpanID().String(),
		TraceState:        sc.TraceState().String(),
		Flags:             uint32(sc.TraceFlags()) | 0x100, // bit 8: the parent's remoteness is known
		Name:              s.Name(),
		Kind:              int(s.SpanKind()), // trace.SpanKind has OTLP's numbering
		StartTimeUnixNano: nanos(s.StartTime()),
		EndTimeUnixNano:   nanos(s.EndTime()),
		Attributes:        keyValues(s.Attributes()),
		Status:            spanStatus{Code: statusCode(s.Status().Code), Message: s.Status().Description},
	}
	if p := s.Parent(); p.IsValid() {
		out.ParentSpanID = p.SpanID().String()
		if p.IsRemote() {
			out.Flags |= 0x200
		}
	}
	for _, ev := range s.Events() {
		out.Events = append(out.Events, spanEvent{TimeUnixNano: nanos(ev.Time), Name: ev.Name, Attributes: keyValues(ev.Attributes)})
	}
	for _, l := range s.Links() {
		out.Links = append(out.Links, spanLink{
			TraceID: l.SpanContext.TraceID().String(), SpanID: l.SpanContext.SpanID().String(),
			TraceState: l.SpanContext.TraceState().String(), Attributes: keyValues(l.Attributes),
		})
	}
	return out
}

// statusCode maps OpenTelemetry Go's status codes (Unset, Error, Ok) to
// OTLP's (UNSET 0, OK 1, ERROR 2), which are numbered differently.
func statusCode(c codes.Code) int {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

func nanos(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func keyValues(attrs []attribute.KeyValue) []keyValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]keyValue, 0, len(attrs))
	for _, kv := range attrs {
		out = append(out, keyValue{Key: string(kv.Key), Value: value(kv.Value)})
	}
	return out
}

func value(v attribute.Value) anyValue {
	switch v.Type() {
	case attribute.BOOL:
		b := v.AsBool()
		return anyValue{BoolValue: &b}
	case attribute.INT64:
		s := strconv.FormatInt(v.AsInt64(), 10)
		return anyValue{IntValue: &s}
	case attribute.FLOAT64:
		f := v.AsFloat64()
		return anyValue{DoubleValue: &f}
	case attribute.BOOLSLICE:
		return array(v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return array(v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return array(v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return array(v.AsStringSlice(), attribute.StringValue)
	}
	s := v.Emit()
	return anyValue{StringValue: &s}
}

// array is an OTLP array value of xs, each made an attribute value by f.
func array[T any](xs []T, f func(T) attribute.Value) anyValue {
	vs := make([]anyValue, len(xs))
	for i, x := range xs {
		vs[i] = value(f(x))
	}
	return anyValue{ArrayValue: &arrayValue{Values: vs}}
}
