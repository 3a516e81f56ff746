package localapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/automators/connectors/internal/local/samtemplate"
)

var testRoutes = []Route{
	{Method: "GET", Path: "/api/v1/nango/connections", Function: "list"},
	{Method: "GET", Path: "/api/v1/nango/connections/{connectionId}", Function: "get"},
	{Method: "DELETE", Path: "/api/v1/nango/connections/{connectionId}", Function: "delete"},
	{Method: "GET", Path: "/api/v1/nango/connections/special", Function: "special"},
	{Method: "POST", Path: "/api/v1/nango/oauth/{provider}/refresh", Function: "refresh"},
	{Method: "ANY", Path: "/files/{proxy+}", Function: "files"},
}

// recorder is a handler that keeps the event it got and answers resp.
type recorder struct {
	got  events.APIGatewayV2HTTPRequest
	ctx  context.Context
	resp events.APIGatewayV2HTTPResponse
	err  error
}

func (r *recorder) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	r.got, r.ctx = req, ctx
	return r.resp, r.err
}

func newServer(t *testing.T, rec *recorder) *Server {
	t.Helper()
	handlers := map[string]Handler{}
	for _, r := range testRoutes {
		handlers[r.Function] = rec.handle
	}
	s, err := New(testRoutes, handlers, Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Date(2025, 3, 12, 19, 3, 58, 0, time.UTC) },
		CORS:   &CORS{AllowOrigins: []string{"http://app.test"}, AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"authorization"}, MaxAge: 600},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequestTranslation(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		header     http.Header
		body       string
		wantFn     string
		wantRoute  string
		wantParams map[string]string
		wantQuery  map[string]string
		wantBody   string
		wantB64    bool
	}{
		{
			name: "list with query and repeated key", method: "GET",
			target:    "/api/v1/nango/connections?connector=slack&status=active&status=revoked",
			wantFn:    "list",
			wantRoute: "GET /api/v1/nango/connections",
			wantQuery: map[string]string{"connector": "slack", "status": "active,revoked"},
		},
		{
			name: "path parameter, decoded", method: "GET",
			target:     "/api/v1/nango/connections/conn%20one",
			wantFn:     "get",
			wantRoute:  "GET /api/v1/nango/connections/{connectionId}",
			wantParams: map[string]string{"connectionId": "conn one"},
		},
		{
			name: "literal segment wins over a parameter", method: "GET",
			target: "/api/v1/nango/connections/special", wantFn: "special",
			wantRoute: "GET /api/v1/nango/connections/special",
		},
		{
			name: "same path, other method", method: "DELETE",
			target: "/api/v1/nango/connections/c1", wantFn: "delete",
			wantRoute:  "DELETE /api/v1/nango/connections/{connectionId}",
			wantParams: map[string]string{"connectionId": "c1"},
		},
		{
			name: "json body as text", method: "POST",
			target: "/api/v1/nango/oauth/slack/refresh",
			header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
			body:   `{"connectionId":"c1"}`, wantFn: "refresh",
			wantRoute:  "POST /api/v1/nango/oauth/{provider}/refresh",
			wantParams: map[string]string{"provider": "slack"},
			wantBody:   `{"connectionId":"c1"}`,
		},
		{
			name: "binary body as base64", method: "POST",
			target: "/api/v1/nango/oauth/slack/refresh",
			header: http.Header{"Content-Type": {"application/octet-stream"}},
			body:   "\x00\x01\xff", wantFn: "refresh",
			wantRoute:  "POST /api/v1/nango/oauth/{provider}/refresh",
			wantParams: map[string]string{"provider": "slack"},
			wantBody:   base64.StdEncoding.EncodeToString([]byte("\x00\x01\xff")), wantB64: true,
		},
		{
			name: "greedy proxy, any method", method: "PUT",
			target: "/files/a/b/c.txt", wantFn: "files",
			wantRoute:  "ANY /files/{proxy+}",
			wantParams: map[string]string{"proxy": "a/b/c.txt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200}}
			s := newServer(t, rec)
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			ev := rec.got
			if ev.RouteKey != tt.wantRoute || ev.RequestContext.RouteKey != tt.wantRoute {
				t.Errorf("route key %q / %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, tt.wantRoute)
			}
			if !equalMaps(ev.PathParameters, tt.wantParams) {
				t.Errorf("path parameters %v, want %v", ev.PathParameters, tt.wantParams)
			}
			if !equalMaps(ev.QueryStringParameters, tt.wantQuery) {
				t.Errorf("query %v, want %v", ev.QueryStringParameters, tt.wantQuery)
			}
			if ev.Body != tt.wantBody || ev.IsBase64Encoded != tt.wantB64 {
				t.Errorf("body %q base64=%v, want %q base64=%v", ev.Body, ev.IsBase64Encoded, tt.wantBody, tt.wantB64)
			}
			if ev.RequestContext.HTTP.Method != tt.method {
				t.Errorf("method %q, want %q", ev.RequestContext.HTTP.Method, tt.method)
			}
			if ev.RawQueryString != req.URL.RawQuery || ev.RawPath != req.URL.EscapedPath() {
				t.Errorf("raw path/query %q %q", ev.RawPath, ev.RawQueryString)
			}
		})
	}
}

func TestRequestEnvelope(t *testing.T) {
	rec := &recorder{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200}}
	s := newServer(t, rec)
	req := httptest.NewRequest("GET", "http://localhost:3000/api/v1/nango/connections", nil)
	req.Header.Add("Authorization", "Bearer abc")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Add("Cookie", "a=1; b=2")
	req.Header.Set("User-Agent", "curl/8")
	req.RemoteAddr = "192.0.2.7:5555"
	s.ServeHTTP(httptest.NewRecorder(), req)
	ev := rec.got

	if ev.Version != "2.0" {
		t.Errorf("version %q", ev.Version)
	}
	for k, want := range map[string]string{"authorization": "Bearer abc", "x-multi": "a,b", "host": "localhost:3000", "user-agent": "curl/8"} {
		if got := ev.Headers[k]; got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q is not lower case", k)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("cookie header kept; payload 2.0 moves it to cookies")
	}
	if !slices.Equal(ev.Cookies, []string{"a=1", "b=2"}) {
		t.Errorf("cookies %v", ev.Cookies)
	}
	rc := ev.RequestContext
	if rc.Stage != "$default" || rc.APIID != "local" || rc.DomainName != "localhost" || len(rc.RequestID) != 16 {
		t.Errorf("request context %+v", rc)
	}
	if rc.HTTP.SourceIP != "192.0.2.7" || rc.HTTP.Protocol != "HTTP/1.1" || rc.HTTP.UserAgent != "curl/8" || rc.HTTP.Path != "/api/v1/nango/connections" {
		t.Errorf("http context %+v", rc.HTTP)
	}
	if rc.TimeEpoch != 1741806238000 || rc.Time != "12/Mar/2025:19:03:58 +0000" {
		t.Errorf("time %q %d", rc.Time, rc.TimeEpoch)
	}
	if lc, ok := lambdacontext.FromContext(rec.ctx); !ok || lc.AwsRequestID != rc.RequestID {
		t.Errorf("lambda context %+v, want the request id %q", lc, rc.RequestID)
	}
}

func TestResponseTranslation(t *testing.T) {
	tests := []struct {
		name       string
		resp       events.APIGatewayV2HTTPResponse
		err        error
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name: "json with headers and cookies",
			resp: events.APIGatewayV2HTTPResponse{
				StatusCode:        201,
				Headers:           map[string]string{"Content-Type": "application/json"},
				MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}},
				Cookies:           []string{"s=1; HttpOnly", "t=2"},
				Body:              `{"ok":true}`,
			},
			wantStatus: 201, wantBody: `{"ok":true}`,
			wantHeader: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "Set-Cookie": {"s=1; HttpOnly", "t=2"}},
		},
		{
			name:       "base64 body decoded",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), IsBase64Encoded: true, Headers: map[string]string{"Content-Type": "application/octet-stream"}},
			wantStatus: 200, wantBody: "\x00\x01\x02",
		},
		{
			name:       "redirect",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 302, Headers: map[string]string{"Location": "https://app.test/done"}},
			wantStatus: 302, wantHeader: http.Header{"Location": {"https://app.test/done"}},
		},
		{
			name:       "no status means 200",
			resp:       events.APIGatewayV2HTTPResponse{Body: "hi", Headers: map[string]string{"Content-Type": "text/plain"}},
			wantStatus: 200, wantBody: "hi",
		},
		{
			name:       "function error is the gateway's 500",
			err:        errors.New("boom"),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}` + "\n",
		},
		{
			name:       "bad base64 is the gateway's 500",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "!!", IsBase64Encoded: true},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{resp: tt.resp, err: tt.err}
			s := newServer(t, rec)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/nango/connections", nil))
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := w.Header().Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if w.Header().Get("Apigw-Requestid") == "" {
				t.Error("no Apigw-Requestid header")
			}
		})
	}
}

func TestGatewayErrors(t *testing.T) {
	tests := []struct {
		name, method, target string
		header               http.Header
		wantStatus           int
		wantCode             string
		wantAllow            string
	}{
		{name: "unknown path", method: "GET", target: "/api/v1/nope", wantStatus: 404, wantCode: "not_found"},
		{name: "too short", method: "GET", target: "/api/v1/nango", wantStatus: 404, wantCode: "not_found"},
		{name: "empty parameter", method: "GET", target: "/api/v1/nango/connections/", wantStatus: 404, wantCode: "not_found"},
		{name: "wrong method", method: "POST", target: "/api/v1/nango/connections/c1", wantStatus: 405, wantCode: "method_not_allowed", wantAllow: "DELETE, GET"},
		{name: "options without preflight headers", method: "OPTIONS", target: "/api/v1/nango/connections", wantStatus: 405, wantCode: "method_not_allowed", wantAllow: "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, rec)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			var body struct {
				Error struct{ Code, Message, RequestID string }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if body.Error.Code != tt.wantCode || body.Error.Message == "" || body.Error.RequestID != w.Header().Get("Apigw-Requestid") {
				t.Errorf("error body %+v", body.Error)
			}
			if got := w.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("content type %q", got)
			}
			if rec.got.RouteKey != "" {
				t.Error("the function was called")
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, rec)
	for origin, wantAllowed := range map[string]bool{"http://app.test": true, "http://evil.test": false} {
		req := httptest.NewRequest("OPTIONS", "/api/v1/nango/connections", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 204 {
			t.Errorf("%s: status %d", origin, w.Code)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin") == origin; got != wantAllowed {
			t.Errorf("%s: allowed %v, want %v", origin, got, wantAllowed)
		}
	}
	if rec.got.RouteKey != "" {
		t.Error("the function was called for a preflight")
	}
}

func TestTimeoutAndPanic(t *testing.T) {
	slow := func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	panicky := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		panic("oops")
	}
	routes := []Route{{Method: "GET", Path: "/slow", Function: "slow"}, {Method: "GET", Path: "/panic", Function: "panic"}}
	s, err := New(routes, map[string]Handler{"slow": slow, "panic": panicky}, Options{
		Timeout: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/slow": 503, "/panic": 500} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s: status %d, want %d", path, w.Code, want)
		}
	}
}

func TestNewRefusesMissingHandler(t *testing.T) {
	_, err := New([]Route{{Method: "GET", Path: "/x", Function: "x"}}, map[string]Handler{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "x") {
		t.Fatalf("err = %v, want a missing handler error", err)
	}
}

// TestRoutesFromRepoTemplate serves the real template: every route reaches
// its function, named by its folder.
func TestRoutesFromRepoTemplate(t *testing.T) {
	path, err := samtemplate.Locate(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	routes := RoutesFromTemplate(tpl)
	if len(routes) != 13 {
		t.Fatalf("%d routes in %s, want 13", len(routes), filepath.Base(path))
	}
	var called string
	handlers := map[string]Handler{}
	for _, r := range routes {
		name := r.Function
		handlers[name] = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			called = name
			return events.APIGatewayV2HTTPResponse{StatusCode: 204}, nil
		}
	}
	s, err := New(routes, handlers, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path, fn string }{
		{"GET", "/api/v1/nango/oauth/slack/authorize", "nango-authorize"},
		{"GET", "/api/v1/nango/oauth/slack/callback", "nango-callback"},
		{"POST", "/api/v1/nango/oauth/slack/refresh", "nango-refresh"},
		{"GET", "/api/v1/nango/connections", "nango-list-connections"},
		{"GET", "/api/v1/nango/connections/c1", "nango-get-connection"},
		{"DELETE", "/api/v1/nango/connections/c1", "nango-delete-connection"},
		{"POST", "/api/v1/nango/connections", "nango-create-connection"},
		{"PUT", "/api/v1/nango/connections/c1/credentials", "nango-rotate-credentials"},
		{"PATCH", "/api/v1/nango/connections/c1", "nango-update-connection"},
		{"GET", "/api/v1/nango/connectors", "nango-list-connectors"},
		{"GET", "/api/v1/nango/connectors/slack", "nango-get-connector"},
		{"GET", "/api/v1/nango/connections/c1/executions", "nango-list-executions"},
		{"POST", "/api/v1/nango/webhooks", "nango-webhook"},
	} {
		called = ""
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != 204 || called != tt.fn {
			t.Errorf("%s %s: status %d, called %q, want %q", tt.method, tt.path, w.Code, called, tt.fn)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPattern(t *testing.T) {
	for _, tt := range []struct {
		route Route
		want  string
	}{
		{Route{Method: "GET", Path: "/api/v1/nango/oauth/{provider}/authorize"}, "GET /api/v1/nango/oauth/{provider}/authorize"},
		{Route{Method: "ANY", Path: "/files/{proxy+}"}, "/files/{proxy...}"},
		{Route{Method: "DELETE", Path: "/a/{x}/b/{rest+}"}, "DELETE /a/{x}/b/{rest...}"},
	} {
		if got := tt.route.Pattern(); got != tt.want {
			t.Errorf("Pattern(%v) = %q, want %q", tt.route, got, tt.want)
		}
	}
}

// TestHeadOnlyWhenDeclared: net/http's GET routes serve HEAD, but the Allow
// header names only the methods the routes declare.
func TestHeadOnlyWhenDeclared(t *testing.T) {
	rec := &recorder{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200}}
	s := newServer(t, rec)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("PATCH", "/api/v1/nango/connections", nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET" {
		t.Errorf("status %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	withHead, err := New([]Route{{Method: "GET", Path: "/x", Function: "x"}, {Method: "HEAD", Path: "/x", Function: "x"}},
		map[string]Handler{"x": rec.handle}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	withHead.ServeHTTP(w, httptest.NewRequest("POST", "/x", nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("declared HEAD: status %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestNewRefusesConflictingRoutes: routes that ServeMux cannot order are
// an error at start, not a panic.
func TestNewRefusesConflictingRoutes(t *testing.T) {
	h := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, nil
	}
	_, err := New([]Route{{Method: "GET", Path: "/a/{x}/b", Function: "f"}, {Method: "GET", Path: "/a/c/{y}", Function: "f"}},
		map[string]Handler{"f": h}, Options{})
	if err == nil {
		t.Fatal("conflicting routes accepted")
	}
}
