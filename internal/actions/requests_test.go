package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/automators/connectors/internal/connectors"
)

// wantRequest is the request a provider documents for an action.
type wantRequest struct {
	method string
	path   string            // escaped path, exactly as sent
	query  url.Values        // compared as parsed values
	raw    string            // exact raw query, when the encoding matters
	header map[string]string // exact values
	noAuth bool              // no Authorization header at all
	json   string            // body, compared as JSON
	form   url.Values        // body, compared as a form
	check  func(t *testing.T, body []byte)
	// operation, when set, is {file, operationId} in provider-specs: the
	// request is also held to that operation's description.
	operation [2]string
}

// exchange is one request an action sends before its own (a guard's
// read) and the provider's answer to it.
type exchange struct {
	want   wantRequest
	status int
	answer string
}

type requestCase struct {
	connector, action string
	params            map[string]any
	creds             connectors.Credentials
	idempotencyKey    string
	pre               []exchange // sent, in this order, before the action's request
	want              wantRequest
	status            int
	answer            string
	wantOut           func(t *testing.T, out map[string]any)
}

// exchanges is every request the case sends, the action's own last.
func (tc requestCase) exchanges() []exchange {
	return append(slices.Clone(tc.pre), exchange{tc.want, tc.status, tc.answer})
}

const (
	tok   = "ya29.secret-access-token"
	jsonC = "application/json; charset=utf-8"
)

func bearerCreds() connectors.Credentials { return connectors.Credentials{AccessToken: tok} }

// moreCases are the request cases of the connectors' own test files
// (<connector>_test.go), each registered from an init function.
var moreCases []func() []requestCase

// specCheckers hold a request (and the answer the test gave it) to the
// description in provider-specs/<file>, by file name; a file without one
// is read as an OpenAPI document by checkOperation.
var specCheckers = map[string]func(t *testing.T, opID string, r sentRequest, status int, answer []byte){}

// sentRequest is a request as the provider received it.
type sentRequest struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
}

func requestCases() []requestCase {
	var cases []requestCase
	for _, more := range moreCases {
		cases = append(cases, more()...)
	}
	return cases
}

// TestRequestsMatchProviderDocs runs every action against an httptest
// server standing in for the provider and checks the exact request.
func TestRequestsMatchProviderDocs(t *testing.T) {
	cat := testCatalogue(t)
	covered := map[string]bool{}
	for _, tc := range requestCases() {
		if tc.connector == "trello" {
			continue // TestTrelloWithAPIKeyGoesDirect and TestTrelloGoesThroughNangoProxy
		}
		covered[tc.connector+"."+tc.action] = true
		t.Run(tc.connector+"."+tc.action, func(t *testing.T) {
			ex := tc.exchanges()
			var got []*http.Request
			var gotBodies [][]byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := len(got)
				got = append(got, r)
				b, _ := io.ReadAll(r.Body)
				gotBodies = append(gotBodies, b)
				if i >= len(ex) {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(ex[i].status)
				io.WriteString(w, ex[i].answer)
			}))
			defer srv.Close()
			out, err := cat.Run(context.Background(), srv.Client(), nil, Request{
				Connector: tc.connector, Action: tc.action, Params: tc.params,
				Credentials: tc.creds, IdempotencyKey: tc.idempotencyKey, BaseURL: srv.URL,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(got) != len(ex) {
				t.Fatalf("%d requests reached the provider, want %d", len(got), len(ex))
			}
			for i, e := range ex {
				checkRequest(t, e.want, got[i].Method, got[i].URL, got[i].Header, gotBodies[i])
				checkDescribed(t, e.want, sentRequest{got[i].Method, got[i].URL, got[i].Header, gotBodies[i]}, e.status, []byte(e.answer))
			}
			if tc.wantOut != nil {
				tc.wantOut(t, out)
			}
			// What Run returns is what the action's output schema says.
			s := cat.byKey[tc.connector+"."+tc.action]
			if err := mustCompiled(t, s).output.Validate(schemaValue(t, out)); err != nil {
				t.Errorf("output does not match the action's output schema: %v", err)
			}
		})
	}
	for _, m := range cat.Registry().All() {
		for _, name := range m.Actions {
			if m.ID != "trello" && !covered[m.ID+"."+name] {
				t.Errorf("no request test for %s.%s", m.ID, name)
			}
		}
	}
}

func checkRequest(t *testing.T, w wantRequest, method string, u *url.URL, h http.Header, body []byte) {
	t.Helper()
	if method != w.method {
		t.Errorf("method %s, want %s", method, w.method)
	}
	if p := u.EscapedPath(); p != w.path {
		t.Errorf("path %s, want %s", p, w.path)
	}
	switch {
	case w.raw != "":
		if u.RawQuery != w.raw {
			t.Errorf("query %s, want %s", u.RawQuery, w.raw)
		}
	case w.query != nil:
		if got := u.Query(); !reflect.DeepEqual(got, w.query) {
			t.Errorf("query %v, want %v", got, w.query)
		}
	default:
		if u.RawQuery != "" {
			t.Errorf("query %s, want none", u.RawQuery)
		}
	}
	for k, v := range w.header {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if w.noAuth && h.Get("Authorization") != "" {
		t.Errorf("unexpected Authorization header %q", h.Get("Authorization"))
	}
	switch {
	case w.json != "":
		var gotV, wantV any
		if err := json.Unmarshal(body, &gotV); err != nil {
			t.Fatalf("body is not JSON: %s", body)
		}
		if err := json.Unmarshal([]byte(w.json), &wantV); err != nil {
			t.Fatalf("bad want JSON: %v", err)
		}
		if !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("body\n got %s\nwant %s", body, w.json)
		}
	case w.form != nil:
		got, err := url.ParseQuery(string(body))
		if err != nil || !reflect.DeepEqual(got, w.form) {
			t.Errorf("form body %s (%v), want %v", body, err, w.form)
		}
	case w.check == nil && len(body) != 0:
		t.Errorf("unexpected body %s", body)
	}
	if w.check != nil {
		w.check(t, body)
	}
}

// checkDescribed holds a request and its answer to the operation w names
// in provider-specs, when it names one.
func checkDescribed(t *testing.T, w wantRequest, r sentRequest, status int, answer []byte) {
	t.Helper()
	file, opID := w.operation[0], w.operation[1]
	if file == "" {
		return
	}
	if check, ok := specCheckers[file]; ok {
		check(t, opID, r, status, answer)
		return
	}
	checkOperation(t, file, opID, r.method, r.url, r.header, r.body)
}

// fakeProxy stands in for Nango's proxy: it records the call and answers.
type fakeProxy struct {
	calls  []connectors.ProxyCall
	status int
	header http.Header
	body   string
	err    error
}

func (p *fakeProxy) Proxy(_ context.Context, c connectors.ProxyCall) (int, http.Header, []byte, error) {
	p.calls = append(p.calls, c)
	return p.status, p.header, []byte(p.body), p.err
}

func TestTrelloGoesThroughNangoProxy(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		action string
		params map[string]any
		want   wantRequest
		answer string
	}{
		{
			action: "create_card",
			params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414", "name": "Write docs", "desc": "all of them", "pos": "top"},
			want: wantRequest{
				method: "POST", path: "/1/cards",
				query: url.Values{"idList": {"5abbe4b7ddc1b351ef961414"}, "name": {"Write docs"}, "desc": {"all of them"}, "pos": {"top"}},
			},
			answer: `{"id":"5abbe4b7ddc1b351ef961415","name":"Write docs"}`,
		},
		{
			action: "list_cards",
			params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414", "fields": []any{"name", "due"}},
			want:   wantRequest{method: "GET", path: "/1/lists/5abbe4b7ddc1b351ef961414/cards", query: url.Values{"fields": {"name,due"}}},
			answer: `[{"id":"c1","name":"a"},{"id":"c2","name":"b"}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			p := &fakeProxy{status: 200, body: tt.answer}
			doer := &countingDoer{}
			out, err := cat.Run(context.Background(), doer, p, Request{
				Connector: "trello", Action: tt.action, Params: tt.params,
				Credentials: connectors.Credentials{OAuthToken: "oauth-tok", OAuthTokenSecret: "oauth-secret"},
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if doer.n != 0 || len(p.calls) != 1 {
				t.Fatalf("direct requests %d, proxy calls %d; want 0 and 1", doer.n, len(p.calls))
			}
			c := p.calls[0]
			u := &url.URL{Path: c.Path, RawQuery: c.Query.Encode()}
			checkRequest(t, tt.want, c.Method, u, c.Header, c.Body)
			for k, vs := range c.Header {
				for _, v := range vs {
					if strings.Contains(v, "oauth-") {
						t.Errorf("proxy call carries a credential in %s", k)
					}
				}
			}
			if len(out) == 0 {
				t.Error("empty output")
			}
		})
	}
	if _, err := cat.Run(context.Background(), nil, nil, Request{Connector: "trello", Action: "list_cards", Params: map[string]any{"list_id": "x"}}); !hasCode(err, "not_configured") {
		t.Errorf("Trello without a proxy: %v", err)
	}
}

type countingDoer struct{ n int }

func (d *countingDoer) Do(*http.Request) (*http.Response, error) {
	d.n++
	return nil, io.EOF
}

// schemaValue re-reads v as the JSON schema validator's values.
func schemaValue(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
