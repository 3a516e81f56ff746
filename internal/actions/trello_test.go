package actions

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

// trelloCases are Trello's actions sent directly, with an API-key
// connection: the documented request plus trello.json's key and token.
func trelloCases() []requestCase {
	f := sampleFields["trello"]
	auth := url.Values{"key": {f["api_key"]}, "token": {f["token"]}}
	with := func(q url.Values) url.Values {
		out := url.Values{}
		for k, v := range q {
			out[k] = v
		}
		for k, v := range auth {
			out[k] = v
		}
		return out
	}
	return []requestCase{
		{
			connector: "trello", action: "create_card",
			params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414", "name": "Write docs", "desc": "all of them", "pos": "top", "label_ids": []any{"5abbe4b7ddc1b351ef961416"}},
			want: wantRequest{
				method: "POST", path: "/1/cards",
				query:     with(url.Values{"idList": {"5abbe4b7ddc1b351ef961414"}, "name": {"Write docs"}, "desc": {"all of them"}, "pos": {"top"}, "idLabels": {"5abbe4b7ddc1b351ef961416"}}),
				noAuth:    true,
				operation: [2]string{"trello.json", "post-cards"},
			},
			status: 200, answer: `{"id":"5abbe4b7ddc1b351ef961415","name":"Write docs"}`,
		},
		{
			connector: "trello", action: "list_cards",
			params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414"},
			want: wantRequest{
				method: "GET", path: "/1/lists/5abbe4b7ddc1b351ef961414/cards",
				query:     with(nil),
				noAuth:    true,
				operation: [2]string{"trello.json", "get-lists-id-cards"},
			},
			status: 200, answer: `[{"id":"c1","name":"a"},{"id":"c2","name":"b"}]`,
		},
	}
}

// TestTrelloWithAPIKeyGoesDirect: an API-key connection's key and token
// reach https://api.trello.com/1 directly, as trello.json's security
// schemes APIKey and APIToken (query parameters key and token) describe,
// and never Nango's proxy, even when one is given.
func TestTrelloWithAPIKeyGoesDirect(t *testing.T) {
	cat := testCatalogue(t)
	creds := apiKeyCreds(t, "trello")
	for _, tc := range trelloCases() {
		t.Run(tc.action, func(t *testing.T) {
			var got *http.Request
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				body, _ = io.ReadAll(r.Body)
				io.WriteString(w, tc.answer)
			}))
			defer srv.Close()
			p := &fakeProxy{status: 200, body: tc.answer}
			out, err := cat.Run(context.Background(), srv.Client(), p, Request{Connector: "trello", Action: tc.action, Params: tc.params, Credentials: creds, BaseURL: srv.URL})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got == nil || len(p.calls) != 0 {
				t.Fatalf("direct request sent: %v; proxy calls %d, want 0", got != nil, len(p.calls))
			}
			checkRequest(t, tc.want, got.Method, got.URL, got.Header, body)
			so := checkOperation(t, "trello.json", tc.want.operation[1], got.Method, got.URL, got.Header, body)
			if reqs := requirementNames(so.security); len(reqs) != 1 || reqs[0] != "APIKey+APIToken" {
				t.Errorf("trello.json security %v, want APIKey and APIToken together", reqs)
			}
			doc := loadSpec(t, "trello.json")
			for name, param := range map[string]string{"APIKey": "key", "APIToken": "token"} {
				if s := doc.Components.SecuritySchemes[name]; s.Type != "apiKey" || s.In != "query" || s.Name != param {
					t.Errorf("trello.json %s = %+v, want the query parameter %s", name, s, param)
				}
			}
			if len(out) == 0 {
				t.Error("empty output")
			}
		})
	}
	// The production origin is Trello's own.
	d := &captureDoer{status: 200, body: `[]`}
	if _, err := cat.Run(context.Background(), d, &fakeProxy{}, Request{Connector: "trello", Action: "list_cards", Params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414"}, Credentials: creds}); err != nil {
		t.Fatal(err)
	}
	if u := d.req.URL; u.Scheme+"://"+u.Host+u.Path != "https://api.trello.com/1/lists/5abbe4b7ddc1b351ef961414/cards" {
		t.Errorf("URL %s", u.Redacted())
	}
	// Half an API key is not one: the proxy serves it (an OAuth connection).
	p := &fakeProxy{status: 200, body: `[]`}
	if _, err := cat.Run(context.Background(), &countingDoer{}, p, Request{Connector: "trello", Action: "list_cards", Params: map[string]any{"list_id": "x"}, Credentials: connectors.Credentials{APIKey: creds.APIKey}}); err != nil || len(p.calls) != 1 {
		t.Errorf("API key without token: err %v, proxy calls %d", err, len(p.calls))
	}
}

// TestTrelloAPIKeyNeverInErrors: the key and token travel in the URL, so
// every failure is checked for them: provider text that echoes them, and
// transport errors, whose text names the URL.
func TestTrelloAPIKeyNeverInErrors(t *testing.T) {
	cat := testCatalogue(t)
	creds := apiKeyCreds(t, "trello")
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name     string
		status   int
		body     string
		base     string // "" for a live server
		wantCode string
	}{
		{"invalid key", 401, "invalid key", "", connectors.EUnauthorized},
		{"echoed", 400, "invalid value for idList; key=" + creds.APIKey + " token=" + creds.AccessToken, "", connectors.EUpstream},
		{"echoed as a query", 400, "bad request /1/cards?key=" + creds.APIKey + "&token=" + creds.AccessToken, "", connectors.EUpstream},
		{"unreachable", 0, "", closedURL, connectors.EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body)
				}))
				defer srv.Close()
				base = srv.URL
			}
			_, err := cat.Run(context.Background(), http.DefaultClient, nil, Request{
				Connector: "trello", Action: "create_card", Params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414", "name": "n"},
				Credentials: creds, BaseURL: base,
			})
			if !hasCode(err, tt.wantCode) {
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
			for _, secret := range []string{creds.APIKey, creds.AccessToken} {
				if strings.Contains(err.Error(), secret) || strings.Contains(connectors.ErrorMessage(err), secret) {
					t.Errorf("error holds a credential: %v", err)
				}
			}
		})
	}
}

// TestRedactCutsTheQuery: a transport error names the URL, whose query
// may hold a credential percent-encoded (so not as scrub knows it); the
// query goes, the cause chain stays.
func TestRedactCutsTheQuery(t *testing.T) {
	c := connectors.Credentials{APIKey: "k+y/1=", AccessToken: "t0k3n-value"}
	u := "https://api.trello.com/1/cards?" + url.Values{"key": {c.APIKey}, "token": {c.AccessToken}}.Encode()
	err := redact(&url.Error{Op: "Post", URL: u, Err: context.DeadlineExceeded}, c)
	for _, s := range []string{"k+y/1=", url.QueryEscape(c.APIKey), c.AccessToken} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%q holds %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "https://api.trello.com/1/cards?[REDACTED]") {
		t.Errorf("%q lost the URL's path", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%q lost its cause", err)
	}
}
