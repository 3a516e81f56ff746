package wiring_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/automators/connectors/internal/adapter/tracing"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/wiring"
)

// toServer sends every request to one test server, whatever its host, as
// the provider's API would answer it.
type toServer struct {
	target *url.URL
	mu     sync.Mutex
	seen   []http.Header
}

func (s *toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.seen = append(s.seen, r.Header.Clone())
	s.mu.Unlock()
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = s.target.Scheme, s.target.Host, s.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// TestExecutionIsOneTrace: one execution through the deployed wiring
// (DynamoDB on moto, a provider over HTTP) is one trace continuing the
// invocation's X-Ray header (Step Functions' trace): the handler span,
// child of the incoming parent, with the DynamoDB calls and the provider
// call under it; the provider gets no trace header.
func TestExecutionIsOneTrace(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", awstest.Endpoint(t, "dynamodb"))
	table := awstest.Table(t, awstest.DynamoDB(t))
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"cus_1","object":"customer","email":"ada@example.com"}`)
	}))
	t.Cleanup(provider.Close)
	target, _ := url.Parse(provider.URL)
	transport := &toServer{target: target}

	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(exp, "execute-connector")
	app, err := wiring.New(t.Context(), "", wiring.Options{
		Getenv:         env(merge(legacyKeys(), map[string]string{"TABLE_NAME": table, "LOG_LEVEL": "error"})),
		HTTPClient:     &http.Client{Transport: transport},
		APIKeyVerifier: func(context.Context, registry.Manifest, connectors.Credentials) error { return nil },
		Tracing:        tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := connectors.Principal{UserID: "u1", OrganizationID: "acme"}
	if _, err := app.Connections.Create(t.Context(), p, connect.CreateParams{
		Connector: "stripe", Credentials: map[string]string{"secret_key": "sk_test_tracing0123456789"}, Label: "Stripe",
	}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	exp.Reset() // the connection's own calls are not the execution's

	// What Lambda gives the invocation when Step Functions (traced) invokes it.
	const header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	ctx := context.WithValue(t.Context(), "x-amzn-trace-id", header) //nolint:staticcheck // aws-lambda-go's own key
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	out, err := app.ExecutorTask()(ctx, executor.Input{
		ExecutionID: "exec-1", NodeID: "n1", NodeType: "integration.stripe.create_customer",
		UserID: p.UserID, OrganizationID: p.OrganizationID,
		Params: map[string]any{"email": "ada@example.com", "name": "Ada"},
	})
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	if out.Attempts == 0 {
		t.Fatalf("output %+v: no provider attempt", out)
	}

	spans := exp.GetSpans()
	wantTrace, _ := trace.TraceIDFromHex("5759e988bd862e3fe1be46a994272793")
	wantParent, _ := trace.SpanIDFromHex("53995c3f42cd8ad8")
	byID := map[trace.SpanID]tracetest.SpanStub{}
	var root tracetest.SpanStub
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
		if s.Name == "execute-connector" {
			root = s
		}
		if s.SpanContext.TraceID() != wantTrace {
			t.Errorf("span %q in trace %s, want the invocation's %s", s.Name, s.SpanContext.TraceID(), wantTrace)
		}
	}
	if !root.SpanContext.IsValid() {
		t.Fatalf("no handler span among %d spans", len(spans))
	}
	if root.Parent.SpanID() != wantParent || !root.Parent.IsRemote() || root.SpanKind != trace.SpanKindServer {
		t.Errorf("handler span: parent %s (remote %v), kind %v; want %s, remote, server", root.Parent.SpanID(), root.Parent.IsRemote(), root.SpanKind, wantParent)
	}
	// under reports whether s descends from the handler span.
	under := func(s tracetest.SpanStub) bool {
		for range len(spans) {
			if s.Parent.SpanID() == root.SpanContext.SpanID() {
				return true
			}
			var ok bool
			if s, ok = byID[s.Parent.SpanID()]; !ok {
				return false
			}
		}
		return false
	}
	var dynamo, http int
	for _, s := range spans {
		if s.SpanKind != trace.SpanKindClient {
			continue
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		switch {
		case attrs["rpc.service"] == "DynamoDB":
			dynamo++
		case attrs["http.request.method"] != "":
			http++
			if strings.Contains(attrs["url.full"], "?") {
				t.Errorf("provider span %q keeps the query: %s", s.Name, attrs["url.full"])
			}
		default:
			continue
		}
		if !under(s) {
			t.Errorf("client span %q is not under the handler span", s.Name)
		}
	}
	if dynamo == 0 || http == 0 {
		t.Errorf("%d DynamoDB spans and %d HTTP spans under the handler, want both (spans: %v)", dynamo, http, names(spans))
	}
	// No span holds the key or the customer's e-mail (user data): not in
	// a name, an attribute, an event or a status.
	for _, sp := range spans {
		text := sp.Name + " " + sp.Status.Description
		for _, kv := range sp.Attributes {
			text += " " + kv.Value.Emit()
		}
		for _, ev := range sp.Events {
			text += " " + ev.Name
			for _, kv := range ev.Attributes {
				text += " " + kv.Value.Emit()
			}
		}
		for _, secret := range []string{"sk_test_tracing0123456789", "ada@example.com"} {
			if strings.Contains(text, secret) {
				t.Errorf("span %q holds %q: %s", sp.Name, secret, text)
			}
		}
	}
	for _, h := range transport.seen {
		if h.Get("Traceparent") != "" || h.Get("X-Amzn-Trace-Id") != "" {
			t.Errorf("the provider was sent trace headers: %v", h)
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// TestRouteSpan: an API function's Lambda handler, as wired, is one server
// span named after the function, continuing the request's W3C traceparent
// (API Gateway gives no X-Ray parent to HTTP APIs), with the store's
// DynamoDB calls under it; a 401 is not a failed span, a 5xx would be.
func TestRouteSpan(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", awstest.Endpoint(t, "dynamodb"))
	table := awstest.Table(t, awstest.DynamoDB(t))
	exp := tracetest.NewInMemoryExporter()
	app, err := wiring.New(t.Context(), "", wiring.Options{
		Getenv:  env(merge(legacyKeys(), map[string]string{"TABLE_NAME": table, "LOG_LEVEL": "error"})),
		Tracing: tracing.New(exp, "nango-list-connections"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.Lambda("nango-list-connections")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue([]byte("jwt-secret-for-wiring-tests-0123456789"), auth.DevClaims{UserID: "u1", OrgID: "acme", TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name   string
		bearer string
		status int
	}{{"listed", tok, 200}, {"unauthenticated", "not-a-token", 401}} {
		exp.Reset()
		res, err := h(t.Context(), events.APIGatewayV2HTTPRequest{
			RouteKey: "GET /api/v1/nango/connections", RawPath: "/api/v1/nango/connections",
			Headers: map[string]string{"authorization": "Bearer " + tc.bearer, "traceparent": traceparent},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "req-" + tc.name, HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/api/v1/nango/connections"},
			},
		})
		if err != nil || res.StatusCode != tc.status {
			t.Fatalf("%s: %d %v, want %d", tc.name, res.StatusCode, err, tc.status)
		}
		var root tracetest.SpanStub
		var dynamo int
		for _, s := range exp.GetSpans() {
			if s.Name == "nango-list-connections" {
				root = s
			}
			if strings.HasPrefix(s.Name, "DynamoDB.") {
				dynamo++
			}
		}
		if root.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || root.Parent.SpanID().String() != "00f067aa0ba902b7" || root.SpanKind != trace.SpanKindServer {
			t.Errorf("%s: route span %+v, want a server span continuing the traceparent", tc.name, root.SpanContext)
		}
		if root.Status.Code != codes.Unset {
			t.Errorf("%s: route span status %v, want unset", tc.name, root.Status)
		}
		if want := tc.status == 200; (dynamo > 0) != want {
			t.Errorf("%s: %d DynamoDB spans, want some %v", tc.name, dynamo, want)
		}
	}
}
