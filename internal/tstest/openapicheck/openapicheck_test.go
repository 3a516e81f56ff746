package openapicheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// spec is a small document: one operation with a path parameter, a
// required query, an API key and a closed answer.
const spec = `{
  "openapi": "3.0.3",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "https://api.example.com/v1/"}],
  "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "x-api-key"}}},
  "security": [{"key": []}],
  "paths": {
    "/things/{id}": {"get": {
      "operationId": "getThing",
      "parameters": [
        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "q", "in": "query", "required": true, "schema": {"type": "string"}}
      ],
      "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
        "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}}
    }},
    "/any/{rest}": {"get": {
      "parameters": [{"name": "rest", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "ok"}}
    }}
  }
}`

var errNoKey = errors.New("no key")

func keyAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.RequestValidationInput.Request.Header.Get("x-api-key") == "" {
		return errNoKey
	}
	return nil
}

func load(t *testing.T) *Doc {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(doc, keyAuth)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

func TestValidate(t *testing.T) {
	d := load(t)
	tests := []struct {
		name      string
		path, key string
		status    int
		answer    string
		opts      Options
		wantErr   string // substring of the one error reported; empty: none
		checked   int
		exceptedN int
	}{
		{"valid", "/things/a?q=1", "k", 200, `{"id":"a"}`, Options{}, "", 1, 0},
		{"answer missing id", "/things/a?q=1", "k", 200, `{}`, Options{}, "answer does not match Thing's document", 1, 0},
		{"request only skips the answer", "/things/a?q=1", "k", 200, `{}`, Options{RequestOnly: true}, "", 1, 0},
		{"missing query", "/things/a", "k", 200, `{"id":"a"}`, Options{}, "request does not match", 1, 0},
		{"no key", "/things/a?q=1", "", 200, `{"id":"a"}`, Options{}, "request does not match", 1, 0},
		{"excused", "/things/a?q=1", "k", 200, `{}`, Options{Except: func() bool { return true }}, "", 1, 1},
		{"unknown path", "/nope", "k", 200, `{}`, Options{Except: func() bool { return true }}, "no operation in Thing's document", 0, 0},
		{"route path", "/any/deep/er", "k", 200, ``, Options{RoutePath: "/any/x"}, "", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			excused := 0
			o := tt.opts
			if o.Except != nil {
				inner := o.Except
				o.Except = func() bool { excused++; return inner() }
			}
			v := NewValidator(rec, "Thing", nil, func(v *Validator, x *Exchange) { v.Validate(d, x, o) })
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.key != "" {
				req.Header.Set("x-api-key", tt.key)
			}
			v.Check(req, nil, tt.status, http.Header{"Content-Type": {"application/json"}}, []byte(tt.answer))
			got := strings.Join(rec.errs, "\n")
			switch {
			case tt.wantErr == "" && got != "":
				t.Errorf("unexpected errors:\n%s", got)
			case tt.wantErr != "" && (len(rec.errs) != 1 || !strings.Contains(got, tt.wantErr)):
				t.Errorf("errors %q, want one containing %q", got, tt.wantErr)
			}
			if v.Checked() != tt.checked {
				t.Errorf("Checked() = %d, want %d", v.Checked(), tt.checked)
			}
			if excused != tt.exceptedN {
				t.Errorf("Except asked %d times, want %d", excused, tt.exceptedN)
			}
		})
	}
}

// The RoundTripper hands the hook both bodies and leaves the answer
// readable for the client.
func TestRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"a"}`))
	}))
	defer srv.Close()
	tests := []struct {
		name, body string
	}{
		{"no body", ""},
		{"with body", `{"x":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen *Exchange
			v := NewValidator(t, "Thing", nil, func(v *Validator, x *Exchange) {
				seen = x
				v.Count("seen")
			})
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/things/a", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: v}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || string(got) != `{"id":"a"}` {
				t.Errorf("client read %q, %v", got, err)
			}
			if seen == nil || string(seen.RequestBody) != tt.body || string(seen.Body) != `{"id":"a"}` || seen.Status != 200 {
				t.Errorf("hook saw %+v", seen)
			}
			if got := v.Excepted()["seen"]; got != 1 {
				t.Errorf("Excepted()[seen] = %d, want 1", got)
			}
		})
	}
}

func TestNewNeedsAServer(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	if _, err := New(doc, nil); err == nil {
		t.Fatal("New accepted a document with no server")
	}
}

// TestOperation routes an exchange as Validate does: by its path, or by
// RoutePath; none is ErrNoRoute.
func TestOperation(t *testing.T) {
	d := load(t)
	tests := []struct {
		path, route, want string
	}{
		{"/things/1?q=x", "", "getThing"},
		{"/elsewhere", "/things/1", "getThing"},
		{"/nothing", "", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "http://fake"+tt.path, nil)
		op, err := d.Operation(&Exchange{Request: req}, Options{RoutePath: tt.route})
		switch {
		case tt.want == "" && !errors.Is(err, ErrNoRoute):
			t.Errorf("%s: %v, %v; want ErrNoRoute", tt.path, op, err)
		case tt.want != "" && (err != nil || op.OperationID != tt.want):
			t.Errorf("%s (route %q): %v, %v; want %s", tt.path, tt.route, op, err, tt.want)
		}
	}
}
