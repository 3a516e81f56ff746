package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

func init() { moreCases = append(moreCases, trelloCases) }

// trelloCases are Trello's actions sent directly, with an API-key
// connection: the documented request plus trello.json's key and token.
// TestRequestsMatchProviderDocs leaves Trello to
// TestTrelloWithAPIKeyGoesDirect, which holds them to trello.json.
func trelloCases() []requestCase {
	f := sampleFields["trello"]
	m, _ := registry.Default().Lookup("trello")
	creds := m.FieldCredentials(f)
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
	card := `{"id":"5abbe4b7ddc1b351ef961415","name":"Write docs","desc":"all of them","idList":"5abbe4b7ddc1b351ef961414","idBoard":"5abbe4b7ddc1b351ef961413","closed":false,"due":null,"url":"https://trello.com/c/AbCd1234/1-write-docs","shortUrl":"https://trello.com/c/AbCd1234"}`
	return []requestCase{
		{
			connector: "trello", action: "create_card",
			params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414", "name": "Write docs", "desc": "all of them", "pos": "top", "label_ids": []any{"5abbe4b7ddc1b351ef961416"}},
			creds:  creds,
			want: wantRequest{
				method: "POST", path: "/1/cards",
				query:     with(url.Values{"idList": {"5abbe4b7ddc1b351ef961414"}, "name": {"Write docs"}, "desc": {"all of them"}, "pos": {"top"}, "idLabels": {"5abbe4b7ddc1b351ef961416"}}),
				noAuth:    true,
				operation: [2]string{"trello.json", "post-cards"},
			},
			status: 200, answer: card,
		},
		{
			connector: "trello", action: "list_cards",
			params: map[string]any{"list_id": "5abbe4b7ddc1b351ef961414"},
			creds:  creds,
			want: wantRequest{
				method: "GET", path: "/1/lists/5abbe4b7ddc1b351ef961414/cards",
				query:     with(nil),
				noAuth:    true,
				operation: [2]string{"trello.json", "get-lists-id-cards"},
			},
			status: 200, answer: `[{"id":"5abbe4b7ddc1b351ef961415","name":"a"},{"id":"5abbe4b7ddc1b351ef961417","name":"b"}]`,
		},
		{
			connector: "trello", action: "update_card",
			params: map[string]any{"card_id": "5abbe4b7ddc1b351ef961415", "name": "Write more docs", "closed": false, "list_id": "5abbe4b7ddc1b351ef961418", "due_complete": true},
			creds:  creds,
			want: wantRequest{
				method: "PUT", path: "/1/cards/5abbe4b7ddc1b351ef961415",
				query:     with(url.Values{"name": {"Write more docs"}, "closed": {"false"}, "idList": {"5abbe4b7ddc1b351ef961418"}, "dueComplete": {"true"}}),
				noAuth:    true,
				operation: [2]string{"trello.json", "put-cards-id"},
			},
			status: 200, answer: strings.Replace(card, `"name":"Write docs"`, `"name":"Write more docs"`, 1),
		},
		{
			connector: "trello", action: "add_comment",
			params: map[string]any{"card_id": "5abbe4b7ddc1b351ef961415", "text": "Done & dusted"},
			creds:  creds,
			want: wantRequest{
				method: "POST", path: "/1/cards/5abbe4b7ddc1b351ef961415/actions/comments",
				query:     with(url.Values{"text": {"Done & dusted"}}),
				noAuth:    true,
				operation: [2]string{"trello.json", "post-cards-id-actions-comments"},
			},
			status: 200, answer: `{"id":"5abbe4b7ddc1b351ef961420","idMemberCreator":"5abbe4b7ddc1b351ef961421","type":"commentCard","date":"2026-05-01T09:00:00.000Z","data":{"text":"Done & dusted","card":{"id":"5abbe4b7ddc1b351ef961415"}}}`,
		},
		{
			connector: "trello", action: "list_boards",
			params: map[string]any{"filter": "open", "fields": []any{"name", "url"}},
			creds:  creds,
			want: wantRequest{
				method: "GET", path: "/1/members/me/boards",
				query:     with(url.Values{"filter": {"open"}, "fields": {"name,url"}}),
				noAuth:    true,
				operation: [2]string{"trello.json", "get-members-id-boards"},
			},
			status: 200, answer: `[{"id":"5abbe4b7ddc1b351ef961413","name":"Roadmap","url":"https://trello.com/b/AbCd1234/roadmap"}]`,
		},
	}
}

// checkTrello holds a request to trello.json with checkOperation. The one
// departure: get-members-id-boards describes its id as "The ID or
// username of the member" (Trello's reference documents "me" too), and
// its schema's pattern admits only a 24-digit id; list_boards sends "me",
// which is held to the description rather than the pattern, as the
// operation's own text says.
func checkTrello(t *testing.T, w wantRequest, r sentRequest) specOp {
	t.Helper()
	u := *r.url
	if w.operation[1] == "get-members-id-boards" {
		var op struct {
			Parameters []struct {
				Name, In, Description string
			} `json:"parameters"`
		}
		if err := json.Unmarshal(loadSpec(t, "trello.json").Paths["/members/{id}/boards"]["get"], &op); err != nil {
			t.Fatal(err)
		}
		for _, p := range op.Parameters {
			if p.Name == "id" && p.In == "path" && !strings.Contains(p.Description, "ID or username") {
				t.Errorf("trello.json get-members-id-boards id: %q no longer admits a username", p.Description)
			}
		}
		u.RawPath = ""
		u.Path = strings.Replace(u.Path, "/members/me/", "/members/000000000000000000000000/", 1)
	}
	return checkOperation(t, "trello.json", w.operation[1], r.method, &u, r.header, r.body)
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
			so := checkTrello(t, tc.want, sentRequest{got.Method, got.URL, got.Header, body})
			checkOpenAPIAnswer(t, t, "trello.json", tc.want.operation[1], tc.status, []byte(tc.answer))
			if err := mustCompiled(t, cat.byKey["trello."+tc.action]).output.Validate(schemaValue(t, out)); err != nil {
				t.Errorf("output does not match the action's output schema: %v", err)
			}
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

// TestTrelloFailures: Trello's documented failures (401 "invalid token",
// 404 plain text, 429) over the direct path map to the connectors codes.
func TestTrelloFailures(t *testing.T) {
	cat := testCatalogue(t)
	failures := []failure{
		{name: "invalid token", status: 401, header: map[string]string{"Content-Type": "text/plain"}, body: "invalid token", wantCode: connectors.EUnauthorized, wantMsg: "invalid token"},
		{name: "not found", status: 404, body: "The requested resource was not found.", wantCode: connectors.EUpstream, wantMsg: "The requested resource was not found."},
		{name: "invalid id", status: 400, body: "invalid id", wantCode: connectors.EUpstream, wantMsg: "invalid id"},
		{name: "rate limited", status: 429, header: map[string]string{"Retry-After": "10"}, body: `{"message":"Rate limit exceeded"}`, wantCode: connectors.ERateLimited, wantMsg: "Rate limit exceeded", wantRetry: 10 * time.Second},
	}
	for _, action := range []string{"update_card", "add_comment", "list_boards"} {
		tc := caseFor(t, trelloCases(), "trello", action)
		for _, f := range failures {
			t.Run(action+"/"+f.name, func(t *testing.T) { runFailure(t, cat, tc, f) })
		}
	}
}
