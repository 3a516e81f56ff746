package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The OpenAPI 3.1 document of the API, loaded once.
var (
	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
)

// loadSpec loads and validates openapi.yaml.
func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		spec, specErr = loader.LoadFromFile("openapi.yaml")
		if specErr == nil {
			specErr = spec.Validate(context.Background())
		}
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return spec
}

// validateAnswer holds one handler answer to the document: the status must be
// declared for the function's operation, the body must match its schema (no
// body where none is declared), and every required header must be present.
func validateAnswer(doc *openapi3.T, fn string, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	rt, ok := routes[fn]
	if !ok {
		return fmt.Errorf("unknown function %q", fn)
	}
	item := doc.Paths.Value(rt.Path)
	if item == nil {
		return fmt.Errorf("openapi.yaml has no path %s", rt.Path)
	}
	op := item.GetOperation(rt.Method)
	if op == nil {
		return fmt.Errorf("openapi.yaml has no %s %s", rt.Method, rt.Path)
	}
	u := &url.URL{Path: ev.RawPath, RawQuery: ev.RawQueryString}
	req, err := http.NewRequest(rt.Method, u.String(), nil)
	if err != nil {
		return err
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: ev.PathParameters,
			Route:      &routers.Route{Spec: doc, Path: rt.Path, PathItem: item, Method: rt.Method, Operation: op},
		},
		Status:  resp.StatusCode,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes([]byte(resp.Body))
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %d does not conform: %w", fn, resp.StatusCode, err)
	}
	declared := op.Responses.Status(resp.StatusCode)
	if declared == nil || declared.Value == nil {
		return fmt.Errorf("%s answered undeclared status %d", fn, resp.StatusCode)
	}
	for name, h := range declared.Value.Headers {
		if h.Value != nil && h.Value.Required && header.Get(name) == "" {
			return fmt.Errorf("%s %d lacks the required header %s", fn, resp.StatusCode, name)
		}
	}
	if len(declared.Value.Content) == 0 && resp.Body != "" {
		return fmt.Errorf("%s %d has a body where the document declares none", fn, resp.StatusCode)
	}
	return nil
}

// checkOpenAPI fails the test when an answer does not conform to the document.
func checkOpenAPI(t *testing.T, fn string, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if err := validateAnswer(loadSpec(t), fn, ev, resp); err != nil {
		t.Errorf("OpenAPI: %v\nbody: %s\nheaders: %v", err, resp.Body, resp.Headers)
	}
}

func TestOpenAPIDocumentCoversEveryFunction(t *testing.T) {
	doc := loadSpec(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is %s, want 3.1", doc.OpenAPI)
	}
	paths := map[string]bool{}
	for _, rt := range routes {
		paths[rt.Path] = true
	}
	if got := doc.Paths.Len(); got != len(paths) {
		t.Errorf("document has %d paths, want the routes' %d", got, len(paths))
	}
	for fn, rt := range routes {
		item := doc.Paths.Value(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s: %s %s is not in the document", fn, rt.Method, rt.Path)
		}
	}
}

// TestValidatorRejectsNonConformingAnswers proves the validator used by every
// other test can fail: each answer here breaks the document in one way.
func TestValidatorRejectsNonConformingAnswers(t *testing.T) {
	doc := loadSpec(t)
	jsonHeaders := func(extra ...string) map[string]string {
		h := map[string]string{"Content-Type": "application/json"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	conn := `{"id":"c1","connector":"slack","authProvider":"nango","providerConfigKey":"slack","userId":"u","organizationId":"o",` +
		`"status":"active","scopes":[],"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z","lastRefreshedAt":null,"expiresAt":null,` +
		`"label":null,"shared":false,"readOnly":false}`
	keyConn := strings.NewReplacer(`"authProvider":"nango"`, `"authProvider":"api_key"`, `"providerConfigKey":"slack"`, `"providerConfigKey":""`,
		`"label":null`, `"label":"Stripe live"`).Replace(conn)
	errBody := func(code string) string {
		return `{"error":{"code":"` + code + `","message":"m","requestId":"r"}}`
	}
	trace := strings.TrimSuffix(strings.Repeat(`{"step":1,"name":"n","target":"nango","matched":true,"available":true,"reason":"r"},`, 12), ",")
	connector := `{"id":"slack","displayName":"Slack","category":"c","authType":"oauth2","authModes":["oauth"],"scopes":["chat:write"],` +
		`"routing":{"step":1,"name":"nango_oauth","target":"nango","trace":[` + trace + `],"error":null},` +
		`"connection":{"status":"not_connected","defaultConnectionId":null,"connections":[]},` +
		`"actions":[{"name":"send_message","write":true,"operation":"","scopes":[],"missingScopes":[],"inputSchema":{},"outputSchema":{}}]}`
	cached := jsonHeaders("ETag", `"0123456789abcdef0123456789abcdef"`, "Cache-Control", "private, no-cache")
	tests := []struct {
		name    string
		fn      string
		resp    events.APIGatewayV2HTTPResponse
		wantErr bool
	}{
		{"valid connection", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + conn + `}`}, false},
		{"valid 401", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 401, Headers: jsonHeaders("WWW-Authenticate", "Bearer"), Body: errBody("unauthorized")}, false},
		{"valid 204", "nango-delete-connection", events.APIGatewayV2HTTPResponse{StatusCode: 204}, false},
		{"valid 201", "nango-create-connection", events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: jsonHeaders("Location", basePath+"/connections/c1"), Body: `{"connection":` + keyConn + `}`}, false},
		{"valid rotate", "nango-rotate-credentials", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + keyConn + `}`}, false},
		{"valid share", "nango-update-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `"shared":false`, `"shared":true`, 1) + `}`}, false},
		{"valid invalid_credentials", "nango-create-connection", events.APIGatewayV2HTTPResponse{StatusCode: 400, Headers: jsonHeaders(), Body: errBody("invalid_credentials")}, false},
		{"201 without Location", "nango-create-connection", events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: jsonHeaders(), Body: `{"connection":` + keyConn + `}`}, true},
		{"200 for create", "nango-create-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + keyConn + `}`}, true},
		{"readOnly missing", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `,"readOnly":false`, "", 1) + `}`}, true},
		{"label not a string", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `"label":null`, `"label":7`, 1) + `}`}, true},
		{"credentials field", "nango-create-connection", events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: jsonHeaders("Location", "/x"),
			Body: `{"connection":` + strings.Replace(keyConn, `"id":"c1",`, `"id":"c1","credentials":{"secret_key":"sk_live_x"},`, 1) + `}`}, true},
		{"share answers no 502", "nango-update-connection", events.APIGatewayV2HTTPResponse{StatusCode: 502, Headers: jsonHeaders(), Body: errBody("upstream_error")}, true},
		{"undeclared status", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 418, Headers: jsonHeaders(), Body: errBody("internal")}, true},
		{"status not of this operation", "nango-list-connections", events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: jsonHeaders(), Body: errBody("not_found")}, true},
		{"missing field", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `"status":"active",`, "", 1) + `}`}, true},
		{"token field", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `"id":"c1",`, `"id":"c1","accessToken":"x",`, 1) + `}`}, true},
		{"unknown status value", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `"active"`, `"broken"`, 1) + `}`}, true},
		{"bad date", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connection":` + strings.Replace(conn, `"expiresAt":null`, `"expiresAt":"tomorrow"`, 1) + `}`}, true},
		{"401 without WWW-Authenticate", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 401, Headers: jsonHeaders(), Body: errBody("unauthorized")}, true},
		{"429 without Retry-After", "nango-authorize", events.APIGatewayV2HTTPResponse{StatusCode: 429, Headers: jsonHeaders(), Body: errBody("rate_limited")}, true},
		{"unknown error code", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: jsonHeaders(), Body: errBody("nope")}, true},
		{"error without requestId", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: jsonHeaders(), Body: `{"error":{"code":"not_found","message":"m"}}`}, true},
		{"list nextCursor missing", "nango-list-connections", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"connections":[]}`}, true},
		{"webhook received false", "nango-webhook", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(), Body: `{"received":false}`}, true},
		{"not JSON", "nango-get-connection", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "ok"}, true},
		{"body on 204", "nango-delete-connection", events.APIGatewayV2HTTPResponse{StatusCode: 204, Body: "{}"}, true},
		{"valid connector", "nango-get-connector", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: cached, Body: `{"connector":` + connector + `}`}, false},
		{"valid 304", "nango-get-connector", events.APIGatewayV2HTTPResponse{StatusCode: 304, Headers: map[string]string{"ETag": cached["ETag"], "Cache-Control": cached["Cache-Control"]}}, false},
		{"connector without ETag", "nango-get-connector", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders("Cache-Control", "private, no-cache"), Body: `{"connector":` + connector + `}`}, true},
		{"connector with an unknown status", "nango-get-connector", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: cached, Body: `{"connector":` + strings.Replace(connector, "not_connected", "maybe", 1) + `}`}, true},
		{"304 with a body", "nango-list-connectors", events.APIGatewayV2HTTPResponse{StatusCode: 304, Headers: cached, Body: `{"connectors":[]}`}, true},
		{"list of connectors", "nango-list-connectors", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: cached, Body: `{"connectors":[` + connector + `]}`}, false},
		{"short trace", "nango-authorize", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: jsonHeaders(),
			Body: `{"provider":"slack","route":{"step":1,"name":"n","target":"nango","trace":[]},"authorizationUrl":"https://x/y","state":"s","expiresAt":"2026-01-02T03:04:05Z"}`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := routes[tt.fn]
			path := basePath + strings.NewReplacer("{provider}", "slack", "{connectionId}", "c1", "{connector}", "slack").Replace(rt.Path)
			ev := events.APIGatewayV2HTTPRequest{RawPath: path, PathParameters: map[string]string{"provider": "slack", "connectionId": "c1", "connector": "slack"}}
			err := validateAnswer(doc, tt.fn, ev, tt.resp)
			if (err != nil) != tt.wantErr {
				t.Fatalf("validateAnswer() = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
