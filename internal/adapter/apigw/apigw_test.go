package apigw_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/connectors"
)

// TestBody: the body reaches the handler as sent, base64-decoded when the
// gateway encoded it, and the API's size limit holds for both forms.
func TestBody(t *testing.T) {
	exact := strings.Repeat("a", httpapi.MaxBodyBytes)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		body   string
		base64 bool
		want   string
		code   string
	}{
		{"plain", `{"a":1}`, false, `{"a":1}`, ""},
		{"empty", "", false, "", ""},
		{"exactly the limit", exact, false, exact, ""},
		{"one byte over", exact + "a", false, "", connectors.ETooLarge},
		{"base64", b64(`{"a":1}`), true, `{"a":1}`, ""},
		{"base64 of exactly the limit", b64(exact), true, exact, ""},
		{"base64 one byte over", b64(exact + "a"), true, "", connectors.ETooLarge},
		{"base64 of binary", b64("\x00\xff\x10"), true, "\x00\xff\x10", ""},
		{"bad base64", "%%%%", true, "", connectors.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := apigw.NewRequest(t.Context(), events.APIGatewayV2HTTPRequest{Body: tt.body, IsBase64Encoded: tt.base64})
			got, err := httpapi.ReadBody(r)
			if code := connectors.ErrorCode(err); code != tt.code {
				t.Fatalf("ReadBody error %v, want code %q", err, tt.code)
			}
			if tt.code == "" && !bytes.Equal(got, []byte(tt.want)) {
				t.Errorf("ReadBody = %.40q, want %.40q", got, tt.want)
			}
		})
	}
}

// TestHeader: header names are case-insensitive; API Gateway sends them in
// lower case, but tests and local runs may not.
func TestHeader(t *testing.T) {
	r := apigw.NewRequest(t.Context(), events.APIGatewayV2HTTPRequest{Headers: map[string]string{"authorization": "Bearer a", "X-Mixed-Case": "m"}})
	for name, want := range map[string]string{"Authorization": "Bearer a", "authorization": "Bearer a", "x-mixed-case": "m", "X-MIXED-CASE": "m", "missing": ""} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("Header(%q) = %q, want %q", name, got, want)
		}
	}
	dup := apigw.NewRequest(t.Context(), events.APIGatewayV2HTTPRequest{Headers: map[string]string{"authorization": "lower", "Authorization": "mixed"}})
	if got := dup.Header.Get("Authorization"); got != "lower" {
		t.Errorf("duplicate header: %q, want the lower-case name's value", got)
	}
}

func TestNewRequest(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{
		RouteKey:       "GET /api/v1/nango/connections/{connectionId}",
		RawPath:        "/api/v1/nango/connections/conn%20one",
		RawQueryString: "a=1&a=2&redirect_uri=https%3A%2F%2Fx.test%2F%3Fb%3D1%2C2",
		Cookies:        []string{"a=1", "b=2"},
		Headers:        map[string]string{"host": "api.example.com", "user-agent": "curl/8"},
		PathParameters: map[string]string{"connectionId": "conn one"},
	}
	ev.RequestContext.RequestID = "req-1"
	ev.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "DELETE", Path: "/api/v1/nango/connections/conn one", Protocol: "HTTP/1.1", SourceIP: "192.0.2.7"}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "u1"}},
	}
	r := apigw.NewRequest(t.Context(), ev)
	if r.Method != "DELETE" || r.URL.Path != "/api/v1/nango/connections/conn one" || r.URL.EscapedPath() != ev.RawPath {
		t.Errorf("method %q path %q escaped %q", r.Method, r.URL.Path, r.URL.EscapedPath())
	}
	if q := r.URL.Query(); !slices.Equal(q["a"], []string{"1", "2"}) || q.Get("redirect_uri") != "https://x.test/?b=1,2" {
		t.Errorf("query %v", q)
	}
	if r.PathValue("connectionId") != "conn one" || r.Pattern != ev.RouteKey {
		t.Errorf("path value %q pattern %q", r.PathValue("connectionId"), r.Pattern)
	}
	if r.Host != "api.example.com" || r.UserAgent() != "curl/8" || r.RemoteAddr != "192.0.2.7" || r.Proto != "HTTP/1.1" {
		t.Errorf("host %q agent %q remote %q proto %q", r.Host, r.UserAgent(), r.RemoteAddr, r.Proto)
	}
	if c, err := r.Cookie("b"); err != nil || c.Value != "2" {
		t.Errorf("cookie b: %v %v", c, err)
	}
	got, ok := apigw.RequestFromContext(r.Context())
	if !ok || got.RequestContext.Authorizer.JWT.Claims["sub"] != "u1" || apigw.RequestID(r) != "req-1" {
		t.Errorf("event from context: %v %+v, request id %q", ok, got, apigw.RequestID(r))
	}
	if b, _ := io.ReadAll(r.Body); len(b) != 0 {
		t.Errorf("body %q", b)
	}
}

// TestNewRequestFromMap: an event with only the decoded query map (as hand
// written ones have) and no method still makes a request.
func TestNewRequestFromMap(t *testing.T) {
	r := apigw.NewRequest(t.Context(), events.APIGatewayV2HTTPRequest{QueryStringParameters: map[string]string{"state": "s 1"}})
	if r.Method != http.MethodGet || r.URL.Path != "/" || r.URL.Query().Get("state") != "s 1" {
		t.Errorf("method %q path %q query %q", r.Method, r.URL.Path, r.URL.RawQuery)
	}
	if apigw.RequestID(r) != "" {
		t.Error("a request id out of nothing")
	}
	if _, ok := apigw.RequestFromContext(t.Context()); ok {
		t.Error("an event in a context Wrap did not make")
	}
}

func TestWrapResponse(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		want events.APIGatewayV2HTTPResponse
	}{
		{"json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header()["WWW-Authenticate"] = []string{"Bearer"}
			w.WriteHeader(401)
			io.WriteString(w, `{"a":1}`)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 401, Headers: map[string]string{"Content-Type": "application/json", "WWW-Authenticate": "Bearer"}, Body: `{"a":1}`}},
		{"write without status is 200", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "hi")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hi"}},
		{"nothing written is 200", func(http.ResponseWriter, *http.Request) {}, events.APIGatewayV2HTTPResponse{StatusCode: 200}},
		{"first status wins", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(204)
			w.WriteHeader(500)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 204}},
		{"binary in base64", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte{0, 0xff, 1})
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: base64.StdEncoding.EncodeToString([]byte{0, 0xff, 1}), IsBase64Encoded: true}},
		{"repeated values joined, cookies apart", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Set-Cookie", "s=1; HttpOnly")
			w.Header().Add("Set-Cookie", "t=2")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Vary": "Origin,Accept"}, Cookies: []string{"s=1; HttpOnly", "t=2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apigw.Wrap(tt.h)(t.Context(), events.APIGatewayV2HTTPRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if got.StatusCode != tt.want.StatusCode || got.Body != tt.want.Body || got.IsBase64Encoded != tt.want.IsBase64Encoded ||
				!equalMaps(got.Headers, tt.want.Headers) || !slices.Equal(got.Cookies, tt.want.Cookies) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
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
