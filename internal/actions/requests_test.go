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
	cases := baseCases()
	for _, more := range moreCases {
		cases = append(cases, more()...)
	}
	return cases
}

func baseCases() []requestCase {
	return []requestCase{
		{
			connector: "salesforce", action: "create_record",
			params: map[string]any{"sobject": "Account", "fields": map[string]any{"Name": "Express Logistics", "NumberOfEmployees": float64(120)}},
			creds:  connectors.Credentials{AccessToken: tok, ConnectionConfig: map[string]string{"instance_url": "https://acme.my.salesforce.com"}},
			want: wantRequest{
				method: "POST", path: "/services/data/v60.0/sobjects/Account/",
				header: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:   `{"Name":"Express Logistics","NumberOfEmployees":120}`,
			},
			status: 201, answer: `{"id":"001D000000IqhSLIAZ","errors":[],"success":true}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["id"] != "001D000000IqhSLIAZ" || out["success"] != true {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "salesforce", action: "query",
			params: map[string]any{"soql": "SELECT Id, Name FROM Account WHERE Name = 'A&B'"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/services/data/v60.0/query/",
				raw:    "q=SELECT+Id%2C+Name+FROM+Account+WHERE+Name+%3D+%27A%26B%27",
				header: map[string]string{"Authorization": "Bearer " + tok},
			},
			status: 200, answer: `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account"},"Id":"001","Name":"A&B"}]}`,
		},
		{
			connector: "hubspot", action: "create_contact",
			params: map[string]any{"properties": map[string]any{"email": "ada@example.com", "firstname": "Ada"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/crm/v3/objects/contacts",
				header: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:   `{"properties":{"email":"ada@example.com","firstname":"Ada"}}`,
			},
			status: 201, answer: `{"id":"512","properties":{"email":"ada@example.com"},"archived":false}`,
		},
		{
			connector: "hubspot", action: "search_contacts",
			params: map[string]any{"email": "ada@example.com", "properties": []any{"email", "firstname"}, "limit": float64(5)},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/crm/v3/objects/contacts/search",
				header: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:   `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"ada@example.com"}]}],"properties":["email","firstname"],"limit":5}`,
			},
			status: 200, answer: `{"total":1,"results":[{"id":"512"}]}`,
		},
		{
			connector: "microsoft-teams", action: "send_channel_message",
			params: map[string]any{"team_id": "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b", "channel_id": "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2", "content": "<b>Hello</b>", "content_type": "html"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/channels/19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2/messages",
				header: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:   `{"body":{"contentType":"html","content":"<b>Hello</b>"}}`,
			},
			status: 201, answer: `{"id":"1616990032035","messageType":"message"}`,
		},
		{
			connector: "microsoft-teams", action: "list_channels",
			params: map[string]any{"team_id": "team 1"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/teams/team%201/channels",
				header: map[string]string{"Authorization": "Bearer " + tok},
			},
			status: 200, answer: `{"value":[{"id":"19:abc@thread.tacv2","displayName":"General"}]}`,
		},
		{
			connector: "discord", action: "send_message",
			params: map[string]any{"channel_id": "1099090999999999999", "content": "hi", "tts": false},
			creds:  connectors.Credentials{AccessToken: "user-oauth-token", AppToken: "bot.token.value"},
			pre: []exchange{
				{
					// Get Channel, as the bot: not in discord.json (Discord's
					// documented GET /channels/{channel.id}).
					want: wantRequest{
						method: "GET", path: "/api/v10/channels/1099090999999999999",
						header: map[string]string{"Authorization": "Bot bot.token.value", "User-Agent": discordUserAgent},
					},
					status: 200, answer: `{"id":"1099090999999999999","type":0,"guild_id":"80351110224678912","name":"general"}`,
				},
				{
					// The user's guilds, as the user (OAuth2 scope guilds).
					want: wantRequest{
						method: "GET", path: "/api/v10/users/@me/guilds",
						query:     url.Values{"limit": {"200"}},
						header:    map[string]string{"Authorization": "Bearer user-oauth-token", "User-Agent": discordUserAgent},
						operation: [2]string{"discord.json", "list_my_guilds"},
					},
					status: 200, answer: `[{"id":"80351110224678912","name":"1337 Krew","icon":null,"banner":null,"owner":true,"permissions":"36953089","features":[]}]`,
				},
			},
			want: wantRequest{
				method: "POST", path: "/api/v10/channels/1099090999999999999/messages",
				header:    map[string]string{"Authorization": "Bot bot.token.value", "Content-Type": jsonC, "User-Agent": discordUserAgent},
				json:      `{"content":"hi","tts":false}`,
				operation: [2]string{"discord.json", "create_message"},
			},
			status: 200, answer: `{"id":"1100000000000000001","channel_id":"1099090999999999999","content":"hi"}`,
		},
		{
			connector: "discord", action: "list_guilds",
			params: map[string]any{"limit": float64(50)},
			creds:  connectors.Credentials{AccessToken: "user-oauth-token"},
			want: wantRequest{
				method: "GET", path: "/api/v10/users/@me/guilds",
				query:     url.Values{"limit": {"50"}},
				header:    map[string]string{"Authorization": "Bearer user-oauth-token", "User-Agent": discordUserAgent},
				operation: [2]string{"discord.json", "list_my_guilds"},
			},
			status: 200, answer: `[{"id":"80351110224678912","name":"1337 Krew"}]`,
			wantOut: func(t *testing.T, out map[string]any) {
				if items, _ := out["items"].([]any); len(items) != 1 {
					t.Errorf("array answer not under items: %v", out)
				}
			},
		},
		{
			connector: "asana", action: "create_task",
			params: map[string]any{"name": "Ship it", "projects": []any{"1200"}, "due_on": "2026-09-01", "notes": "n"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/1.0/tasks",
				header: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:   `{"data":{"name":"Ship it","projects":["1200"],"due_on":"2026-09-01","notes":"n"}}`,
			},
			status: 201, answer: `{"data":{"gid":"12345","resource_type":"task","name":"Ship it"}}`,
		},
		{
			connector: "asana", action: "list_tasks",
			params: map[string]any{"project": "1200", "limit": float64(20), "opt_fields": []any{"name", "completed"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/api/1.0/tasks",
				query:  url.Values{"project": {"1200"}, "limit": {"20"}, "opt_fields": {"name,completed"}},
				header: map[string]string{"Authorization": "Bearer " + tok},
			},
			status: 200, answer: `{"data":[{"gid":"1","name":"a"}],"next_page":null}`,
		},
		{
			connector: "stripe", action: "create_customer",
			params:         map[string]any{"email": "jenny@example.com", "name": "Jenny Rosen", "metadata": map[string]any{"order_id": "6735"}},
			creds:          connectors.Credentials{APIKey: "sk_test_secret"},
			idempotencyKey: "exec-1/node-2",
			want: wantRequest{
				method: "POST", path: "/v1/customers",
				header: map[string]string{"Authorization": "Bearer sk_test_secret", "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "exec-1/node-2"},
				form:   url.Values{"email": {"jenny@example.com"}, "name": {"Jenny Rosen"}, "metadata[order_id]": {"6735"}},
			},
			status: 200, answer: `{"id":"cus_NffrFeUfNV2Hib","object":"customer","email":"jenny@example.com"}`,
		},
		{
			connector: "stripe", action: "list_customers",
			params: map[string]any{"limit": float64(3), "email": "jenny@example.com"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1/customers",
				query:  url.Values{"limit": {"3"}, "email": {"jenny@example.com"}},
				header: map[string]string{"Authorization": "Bearer " + tok},
			},
			status: 200, answer: `{"object":"list","url":"/v1/customers","has_more":false,"data":[{"id":"cus_1"}]}`,
		},
		{
			connector: "outlook", action: "send_mail",
			params: map[string]any{"to": "Ada <ada@example.com>", "cc": []any{"bob@example.com"}, "subject": "Lunch", "body": "<p>At noon</p>", "html": true},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/me/sendMail",
				header: map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json: `{"message":{"subject":"Lunch","body":{"contentType":"HTML","content":"<p>At noon</p>"},
					"toRecipients":[{"emailAddress":{"address":"ada@example.com","name":"Ada"}}],
					"ccRecipients":[{"emailAddress":{"address":"bob@example.com"}}]},"saveToSentItems":true}`,
			},
			status: 202, answer: ``,
			wantOut: func(t *testing.T, out map[string]any) {
				if len(out) != 0 {
					t.Errorf("202 without body gave %v", out)
				}
			},
		},
		{
			connector: "outlook", action: "list_messages",
			params: map[string]any{"top": float64(5), "select": []any{"subject", "from"}, "filter": "isRead eq false"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/me/messages",
				raw:    "$top=5&$select=subject%2Cfrom&$filter=isRead%20eq%20false",
				header: map[string]string{"Authorization": "Bearer " + tok},
			},
			status: 200, answer: `{"value":[{"id":"AAMk","subject":"Hi"}]}`,
		},
	}
}

// TestRequestsMatchProviderDocs runs every action against an httptest
// server standing in for the provider and checks the exact request.
func TestRequestsMatchProviderDocs(t *testing.T) {
	cat := testCatalogue(t)
	covered := map[string]bool{}
	for _, tc := range requestCases() {
		if tc.connector == "trello" {
			continue
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
			if err := s.schemas.output.Validate(schemaValue(t, out)); err != nil {
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
