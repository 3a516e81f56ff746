package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
)

// serve answers ev with h behind the middleware and the API Gateway adapter,
// as a deployed function does.
func serve(t *testing.T, mw httpapi.Middleware, h httpapi.HandlerFunc, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	if mw.RequestID == nil {
		mw.RequestID = apigw.RequestID
	}
	resp, err := apigw.Wrap(mw.Wrap(h))(t.Context(), ev)
	if err != nil {
		t.Fatalf("Lambda error %v: API Gateway would answer 500 without our body", err)
	}
	return resp
}

func TestStatusOfEveryCode(t *testing.T) {
	want := map[string]int{
		connectors.EInvalid: 400, connectors.EInvalidState: 400, connectors.EInvalidCredentials: 400, connectors.EUnauthorized: 401, connectors.EForbidden: 403,
		connectors.ENotFound: 404, connectors.EUnknownConnector: 404, connectors.EConflict: 409, connectors.EReauthRequired: 409,
		connectors.ETooLarge: 413, connectors.ERateLimited: 429, connectors.EUpstream: 502, connectors.EUnavailable: 503,
		connectors.ENotConfigured: 503, connectors.ENotImplemented: 501, connectors.EInternal: 500, "something-else": 500,
	}
	for code, status := range want {
		if got := httpapi.Status(code); got != status {
			t.Errorf("Status(%q) = %d, want %d", code, got, status)
		}
	}
}

func TestError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		message    string
		retryAfter string
		wwwAuth    bool
	}{
		{"domain error", connectors.Errorf(connectors.ENotFound, "connection x not found"), 404, "not_found", "connection x not found", "", false},
		{"wrapped domain error", fmt.Errorf("ctx: %w", connectors.Errorf(connectors.EForbidden, "no")), 403, "forbidden", "no", "", false},
		{"plain error hides its text", errors.New("dial tcp 10.0.0.1: secret detail"), 500, "internal", "internal error", "", false},
		{"cause hidden", connectors.Wrap(errors.New("SECRET cause"), connectors.EUpstream, "Nango answered an error"), 502, "upstream_error", "Nango answered an error", "", false},
		{"refused credentials", connectors.Errorf(connectors.EInvalidCredentials, "Stripe refused the key"), 400, "invalid_credentials", "Stripe refused the key", "", false},
		{"401 challenges", connectors.Errorf(connectors.EUnauthorized, "no token"), 401, "unauthorized", "no token", "", true},
		{"429 with wait", &connectors.Error{Code: connectors.ERateLimited, Message: "slow down", RetryAfter: 7 * time.Second}, 429, "rate_limited", "slow down", "7", false},
		{"429 rounds", &connectors.Error{Code: connectors.ERateLimited, Message: "m", RetryAfter: 2600 * time.Millisecond}, 429, "rate_limited", "m", "3", false},
		{"429 without wait says 1", connectors.Errorf(connectors.ERateLimited, "m"), 429, "rate_limited", "m", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{}
			ev.RequestContext.RequestID = "req-1"
			resp := serve(t, httpapi.Middleware{}, func(http.ResponseWriter, *http.Request) error { return tt.err }, ev)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			var body httpapi.ErrorBody
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error != (httpapi.ErrorDetail{Code: tt.code, Message: tt.message, RequestID: "req-1"}) {
				t.Errorf("body %+v", body.Error)
			}
			if strings.Contains(resp.Body, "SECRET") || strings.Contains(resp.Body, "10.0.0.1") {
				t.Errorf("body leaks the cause: %s", resp.Body)
			}
			if got := resp.Headers["Retry-After"]; got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if got := resp.Headers["WWW-Authenticate"]; (got != "") != tt.wwwAuth || (tt.wwwAuth && !strings.HasPrefix(got, "Bearer")) {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("headers %v", resp.Headers)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		ConnectionID string `json:"connectionId"`
	}
	tests := []struct {
		name string
		body string
		code string
	}{
		{"valid", `{"connectionId":"c1"}`, ""},
		{"valid with spaces", " \n{\"connectionId\":\"c1\"}\n ", ""},
		{"empty", "", connectors.EInvalid},
		{"blank", "  \n", connectors.EInvalid},
		{"truncated", `{"connectionId":`, connectors.EInvalid},
		{"syntax", `{connectionId:1}`, connectors.EInvalid},
		{"wrong type", `{"connectionId":1}`, connectors.EInvalid},
		{"unknown field", `{"connectionId":"c1","x":1}`, connectors.EInvalid},
		{"trailing", `{"connectionId":"c1"} {}`, connectors.EInvalid},
		{"array", `[1]`, connectors.EInvalid},
		{"too large", `{"connectionId":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, connectors.ETooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v in
			err := httpapi.DecodeJSON(apigw.NewRequest(t.Context(), events.APIGatewayV2HTTPRequest{Body: tt.body}), &v)
			if code := connectors.ErrorCode(err); code != tt.code {
				t.Fatalf("DecodeJSON = %v, want code %q", err, tt.code)
			}
			if err != nil && strings.Contains(connectors.ErrorMessage(err), "connectionId\":") {
				t.Errorf("message echoes the input: %s", connectors.ErrorMessage(err))
			}
			if tt.code == "" && v.ConnectionID != "c1" {
				t.Errorf("decoded %+v", v)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	mw := httpapi.Middleware{Function: "fn", Logger: logging.New(&logs, "debug"), CORS: httpapi.CORS{AllowOrigins: []string{"https://app.example.com"}}}
	req := func(origin string) events.APIGatewayV2HTTPRequest {
		r := events.APIGatewayV2HTTPRequest{RouteKey: "GET /x", Headers: map[string]string{}}
		r.RequestContext.RequestID = "req-9"
		if origin != "" {
			r.Headers["origin"] = origin
		}
		return r
	}
	tests := []struct {
		name   string
		h      httpapi.HandlerFunc
		origin string
		status int
		code   string
		cors   string
	}{
		{"ok", func(w http.ResponseWriter, _ *http.Request) error {
			httpapi.WriteJSON(w, 200, map[string]bool{"ok": true})
			return nil
		}, "https://app.example.com", 200, "", "https://app.example.com"},
		{"domain error", func(http.ResponseWriter, *http.Request) error {
			return connectors.Errorf(connectors.EForbidden, "no")
		}, "https://evil.com", 403, "forbidden", ""},
		{"internal error", func(http.ResponseWriter, *http.Request) error {
			return errors.New("db down: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig")
		}, "", 500, "internal", ""},
		{"panic", func(http.ResponseWriter, *http.Request) error {
			panic("boom")
		}, "https://app.example.com", 500, "internal", "https://app.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			resp := serve(t, mw, tt.h, req(tt.origin))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.code != "" {
				var body httpapi.ErrorBody
				json.Unmarshal([]byte(resp.Body), &body)
				if body.Error.Code != tt.code || body.Error.RequestID != "req-9" {
					t.Errorf("body %s", resp.Body)
				}
				if !strings.Contains(logs.String(), `"errorCode":"`+tt.code+`"`) && tt.name == "domain error" {
					t.Errorf("the refusal's code is not in the log: %s", logs.String())
				}
			}
			if got := resp.Headers["Access-Control-Allow-Origin"]; got != tt.cors {
				t.Errorf("Allow-Origin %q, want %q", got, tt.cors)
			}
			if strings.Contains(logs.String(), "eyJzdWIiOiJ1In0") || strings.Contains(resp.Body, "db down") {
				t.Errorf("secret or cause leaked:\nlogs: %s\nbody: %s", logs.String(), resp.Body)
			}
			if !strings.Contains(logs.String(), `"request_id":"req-9"`) {
				t.Errorf("log lines lack the request id: %s", logs.String())
			}
			if !strings.Contains(logs.String(), `"route":"GET /x"`) {
				t.Errorf("log lines lack the route: %s", logs.String())
			}
		})
	}
}

func TestCORS(t *testing.T) {
	ok := func(w http.ResponseWriter, _ *http.Request) error {
		httpapi.NoContent(w)
		return nil
	}
	tests := []struct {
		name        string
		allow       []string
		origin      string
		wantOrigin  string
		credentials bool
	}{
		{"listed origin", []string{"https://app.example.com"}, "https://app.example.com", "https://app.example.com", true},
		{"other origin", []string{"https://app.example.com"}, "https://evil.com", "", false},
		{"no origin", []string{"https://app.example.com"}, "", "", false},
		{"none configured", nil, "https://app.example.com", "", false},
		{"wildcard reflects without credentials", []string{"*"}, "https://evil.com", "https://evil.com", false},
		{"listed beside a wildcard", []string{"*", "https://app.example.com"}, "https://app.example.com", "https://app.example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw := httpapi.Middleware{CORS: httpapi.CORS{AllowOrigins: tt.allow}}
			r := events.APIGatewayV2HTTPRequest{Headers: map[string]string{}}
			if tt.origin != "" {
				r.Headers["origin"] = tt.origin
			}
			resp := serve(t, mw, ok, r)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Headers["Access-Control-Allow-Origin"]; got != tt.wantOrigin {
				t.Errorf("Allow-Origin %q, want %q", got, tt.wantOrigin)
			}
			if got := resp.Headers["Access-Control-Allow-Credentials"] == "true"; got != tt.credentials {
				t.Errorf("Allow-Credentials %v, want %v", got, tt.credentials)
			}
			if tt.wantOrigin != "" && resp.Headers["Vary"] != "Origin" {
				t.Errorf("Vary %q", resp.Headers["Vary"])
			}
			// A script revalidating the catalogue reads its ETag.
			if exp := resp.Headers["Access-Control-Expose-Headers"]; tt.wantOrigin != "" && !strings.Contains(exp, "ETag") {
				t.Errorf("Expose-Headers %q, want ETag among them", exp)
			}
		})
	}
}

func TestRedirectAndNoContent(t *testing.T) {
	r := serve(t, httpapi.Middleware{}, func(w http.ResponseWriter, _ *http.Request) error {
		httpapi.Redirect(w, "https://app.example.com/cb?status=success")
		return nil
	}, events.APIGatewayV2HTTPRequest{})
	if r.StatusCode != 302 || r.Headers["Location"] != "https://app.example.com/cb?status=success" || r.Body != "" {
		t.Errorf("Redirect = %+v", r)
	}
	n := serve(t, httpapi.Middleware{}, func(w http.ResponseWriter, _ *http.Request) error {
		httpapi.NoContent(w)
		return nil
	}, events.APIGatewayV2HTTPRequest{})
	if n.StatusCode != 204 || n.Body != "" {
		t.Errorf("NoContent = %+v", n)
	}
}

// TestHandlers: every route's function has its handler, and nothing else.
func TestHandlers(t *testing.T) {
	api := httpapi.New(nil, nil, nil, httpapi.Middleware{})
	for _, r := range httpapi.Routes() {
		if api.Handler(r.Function) == nil {
			t.Errorf("no handler for %s", r.Function)
		}
	}
	if n := len(api.Handlers()); n != len(httpapi.Routes()) {
		t.Errorf("%d handlers for %d routes", n, len(httpapi.Routes()))
	}
	if api.Handler("nope") != nil {
		t.Error("a handler for an unknown function")
	}
}
