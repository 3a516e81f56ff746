package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/reftest"
)

func init() {
	moreCases = append(moreCases, slackCases)
	specCheckers["slack.json"] = checkSlackOperation
}

// slackOp names an operation of slack.json.
func slackOp(id string) [2]string { return [2]string{"slack.json", id} }

func slackCases() []requestCase {
	auth := map[string]string{"Authorization": "Bearer " + tok}
	authJSON := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC}
	return []requestCase{
		{
			connector: "slack", action: "send_message",
			params: map[string]any{"channel": "C123", "text": "Deploy <done> & dusted", "thread_ts": "1700000000.000100"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/chat.postMessage",
				header:    authJSON,
				json:      `{"channel":"C123","text":"Deploy <done> & dusted","thread_ts":"1700000000.000100"}`,
				operation: slackOp("chat_postMessage"),
				check: func(t *testing.T, b []byte) {
					if !strings.Contains(string(b), "<done> &") {
						t.Errorf("text was HTML-escaped: %s", b)
					}
				},
			},
			status: 200, answer: `{"ok":true,"channel":"C0123456789","ts":"1700000001.000200","message":{"type":"message","text":"Deploy","ts":"1700000001.000200"}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["ts"] != "1700000001.000200" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "slack", action: "send_message",
			params: map[string]any{"channel": "C123", "blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*hi*"}}}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/chat.postMessage",
				header:    authJSON,
				json:      `{"channel":"C123","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]}`,
				operation: slackOp("chat_postMessage"),
			},
			status: 200, answer: `{"ok":true,"channel":"C0123456789","ts":"1700000001.000300","message":{"type":"message","text":"","ts":"1700000001.000300"}}`,
		},
		{
			connector: "slack", action: "list_channels",
			params: map[string]any{"types": []any{"public_channel", "private_channel"}, "limit": float64(200), "cursor": "dGVhbTpDMDYxRkE1UEI="},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/api/conversations.list",
				query:     url.Values{"types": {"public_channel,private_channel"}, "limit": {"200"}, "cursor": {"dGVhbTpDMDYxRkE1UEI="}, "exclude_archived": {"true"}},
				header:    auth,
				operation: slackOp("conversations_list"),
			},
			status: 200, answer: `{"ok":true,"channels":[{"id":"C1","name":"general"}],"response_metadata":{"next_cursor":""}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if chs, _ := out["channels"].([]any); len(chs) != 1 {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "slack", action: "update_message",
			params: map[string]any{"channel": "C0123456789", "ts": "1700000001.000200", "text": "Deploy finished"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/chat.update",
				header:    authJSON,
				json:      `{"channel":"C0123456789","ts":"1700000001.000200","text":"Deploy finished"}`,
				operation: slackOp("chat_update"),
			},
			status: 200, answer: `{"ok":true,"channel":"C0123456789","ts":"1700000001.000200","text":"Deploy finished","message":{"text":"Deploy finished"}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["text"] != "Deploy finished" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "slack", action: "add_reaction",
			params: map[string]any{"channel": "C0123456789", "timestamp": "1700000001.000200", "name": "white_check_mark"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/reactions.add",
				header:    authJSON,
				json:      `{"channel":"C0123456789","timestamp":"1700000001.000200","name":"white_check_mark"}`,
				operation: slackOp("reactions_add"),
			},
			status: 200, answer: `{"ok":true}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["ok"] != true || out["already_reacted"] != false {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			// A retry of add_reaction: the reaction is there, which is success.
			connector: "slack", action: "add_reaction",
			params: map[string]any{"channel": "C0123456789", "timestamp": "1700000001.000200", "name": "thumbsup::skin-tone-2"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/api/reactions.add",
				header:    authJSON,
				json:      `{"channel":"C0123456789","timestamp":"1700000001.000200","name":"thumbsup::skin-tone-2"}`,
				operation: slackOp("reactions_add"),
			},
			status: 200, answer: `{"ok":false,"error":"already_reacted"}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["ok"] != true || out["already_reacted"] != true {
					t.Errorf("already_reacted gave %v, want success", out)
				}
			},
		},
		{
			connector: "slack", action: "lookup_user_by_email",
			params: map[string]any{"email": "ada+ops@example.com"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/api/users.lookupByEmail",
				query:     url.Values{"email": {"ada+ops@example.com"}},
				header:    auth,
				operation: slackOp("users_lookupByEmail"),
			},
			status: 200,
			answer: `{"ok":true,"user":{"id":"W012A3CDE","name":"ada","real_name":"Ada Lovelace","is_bot":false,"is_app_user":false,
				"updated":1502138686,"tz":"Europe/London","profile":{"email":"ada+ops@example.com"}}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if u, _ := out["user"].(map[string]any); u["id"] != "W012A3CDE" {
					t.Errorf("out = %v", out)
				}
			},
		},
	}
}

// documentedFailure is an action's request answered with a failure its
// provider documents, and the error code Run must give.
type documentedFailure struct {
	name              string
	connector, action string
	params            map[string]any
	operation         [2]string
	status            int
	header            map[string]string
	answer            string
	wantCode          string
	wantMsg           string // substring of the error's message
}

// runFailureCases runs each case as runFailures does: a server answering
// its failure, the request and the answer held to the operation's
// description, the error's code and message checked.
func runFailureCases(t *testing.T, cases []documentedFailure) {
	t.Helper()
	fcs := make([]failureCase, len(cases))
	for i, dc := range cases {
		h := http.Header{}
		for k, v := range dc.header {
			h.Set(k, v)
		}
		fcs[i] = failureCase{
			name: dc.connector + "." + dc.action + "/" + dc.name,
			req: requestCase{
				connector: dc.connector, action: dc.action, params: dc.params, creds: bearerCreds(),
				want: wantRequest{operation: dc.operation},
			},
			status: dc.status, header: h, answer: dc.answer, code: dc.wantCode, message: dc.wantMsg,
		}
	}
	runFailures(t, fcs)
}

// Documented ok:false errors of the operations (their "default" answers
// in slack.json), mapped as the package says: ok:false is EUpstream with
// Slack's code, except rate limits, credentials and missing scopes.
func TestSlackDocumentedFailures(t *testing.T) {
	msg := map[string]any{"channel": "C0123456789", "ts": "1700000001.000200", "text": "x"}
	react := map[string]any{"channel": "C0123456789", "timestamp": "1700000001.000200", "name": "tada"}
	runFailureCases(t, []documentedFailure{
		{"message_not_found", "slack", "update_message", msg, slackOp("chat_update"), 200, nil, `{"ok":false,"error":"message_not_found"}`, connectors.EUpstream, "message_not_found"},
		{"edit_window_closed", "slack", "update_message", msg, slackOp("chat_update"), 200, nil, `{"ok":false,"error":"edit_window_closed"}`, connectors.EUpstream, "edit_window_closed"},
		{"token_revoked", "slack", "update_message", msg, slackOp("chat_update"), 200, nil, `{"ok":false,"error":"token_revoked"}`, connectors.EUnauthorized, "token_revoked"},
		{"rate_limited", "slack", "update_message", msg, slackOp("chat_update"), 200, map[string]string{"Retry-After": "3"}, `{"ok":false,"error":"rate_limited"}`, connectors.ERateLimited, "rate_limited"},
		{"message_not_found", "slack", "add_reaction", react, slackOp("reactions_add"), 200, nil, `{"ok":false,"error":"message_not_found"}`, connectors.EUpstream, "message_not_found"},
		{"invalid_name", "slack", "add_reaction", react, slackOp("reactions_add"), 200, nil, `{"ok":false,"error":"invalid_name"}`, connectors.EUpstream, "invalid_name"},
		{"users_not_found", "slack", "lookup_user_by_email", map[string]any{"email": "nobody@example.com"}, slackOp("users_lookupByEmail"), 200, nil, `{"ok":false,"error":"users_not_found"}`, connectors.EUpstream, "users_not_found"},
		{"channel_not_found", "slack", "send_message", map[string]any{"channel": "C404", "text": "hi"}, slackOp("chat_postMessage"), 200, nil, `{"ok":false,"error":"channel_not_found"}`, connectors.EUpstream, "channel_not_found"},
		{"missing_scope", "slack", "list_channels", map[string]any{"types": "private_channel"}, slackOp("conversations_list"), 200, nil, `{"ok":false,"error":"missing_scope","needed":"groups:read","provided":"channels:read"}`, connectors.EForbidden, "groups:read"},
	})
}

// The actions' rules between fields are in their input schemas.
func TestSlackConstraints(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		action    string
		params    map[string]any
		wantField string // "" when valid
	}{
		{"update_message", map[string]any{"channel": "C1", "ts": "1.2", "text": "x"}, ""},
		{"update_message", map[string]any{"channel": "C1", "ts": "1.2", "blocks": []any{map[string]any{"type": "divider"}}}, ""},
		{"update_message", map[string]any{"channel": "C1", "ts": "1.2"}, "text"},
		{"update_message", map[string]any{"channel": "C1", "text": "x"}, "ts"},
		{"add_reaction", map[string]any{"channel": "C1", "timestamp": "1.2", "name": ":tada:"}, "name"},
		{"add_reaction", map[string]any{"channel": "C1", "timestamp": "1.2", "name": "party parrot"}, "name"},
		{"lookup_user_by_email", map[string]any{"email": "not an address"}, "email"},
		{"lookup_user_by_email", map[string]any{"email": "ada@example.com"}, ""},
	}
	for _, tt := range tests {
		a, _ := cat.Lookup("slack", tt.action)
		err := a.Validate(tt.params)
		checkParamErr(t, "slack."+tt.action, tt.params, err, tt.wantField)
	}
}

// checkParamErr checks that err is nil when wantField is "", else an
// EInvalid *ParamError naming wantField.
func checkParamErr(t *testing.T, key string, params map[string]any, err error, wantField string) {
	t.Helper()
	if wantField == "" {
		if err != nil {
			t.Errorf("%s %v: %v", key, params, err)
		}
		return
	}
	pe, ok := asParamErr(err)
	if !ok || !hasCode(err, connectors.EInvalid) || pe.Field != wantField {
		t.Errorf("%s %v: %v, want a problem with %q", key, params, err, wantField)
	}
}

func asParamErr(err error) (*ParamError, bool) {
	for e := err; e != nil; {
		if pe, ok := e.(*ParamError); ok {
			return pe, true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return nil, false
		}
		e = u.Unwrap()
	}
	return nil, false
}

var (
	slackDocOnce sync.Once
	slackDoc     *openapi3.T
	slackDocErr  error
)

// loadSlackSpec reads slack.json (OpenAPI 2.0) and converts it to 3.0 for
// kin-openapi's validators, once per test binary. Two things of the
// published document need mending first, neither of them loosening a check:
//   - securityDefinitions.slackAuth.scopes is a list, where OpenAPI 2.0
//     says a map of scope to description;
//   - some schemas give "items" as a list of schemas (draft-04 tuple form)
//     on values that are one of them (users.lookupByEmail's user is a
//     non-enterprise or an enterprise user; tz a string or null): read as
//     anyOf, and a null member as nullable.
func loadSlackSpec(t testing.TB) *openapi3.T {
	t.Helper()
	slackDocOnce.Do(func() {
		b, err := os.ReadFile(reftest.Path(t, "provider-specs/slack.json", ""))
		if err != nil {
			slackDocErr = err
			return
		}
		var raw map[string]any
		if slackDocErr = json.Unmarshal(b, &raw); slackDocErr != nil {
			return
		}
		if sd, ok := raw["securityDefinitions"].(map[string]any); ok {
			for _, v := range sd {
				scheme, _ := v.(map[string]any)
				if list, ok := scheme["scopes"].([]any); ok {
					m := map[string]any{}
					for _, s := range list {
						m[s.(string)] = ""
					}
					scheme["scopes"] = m
				}
			}
		}
		mendTupleItems(raw)
		if b, slackDocErr = json.Marshal(raw); slackDocErr != nil {
			return
		}
		var v2 openapi2.T
		if slackDocErr = json.Unmarshal(b, &v2); slackDocErr != nil {
			return
		}
		slackDoc, slackDocErr = openapi2conv.ToV3(&v2)
	})
	if slackDocErr != nil {
		t.Fatalf("slack.json: %v", slackDocErr)
	}
	return slackDoc
}

func mendTupleItems(v any) {
	switch x := v.(type) {
	case map[string]any:
		if list, ok := x["items"].([]any); ok {
			delete(x, "items")
			var alts []any
			for _, e := range list {
				if m, _ := e.(map[string]any); m["type"] == "null" && len(m) == 1 {
					x["nullable"] = true
					continue
				}
				alts = append(alts, e)
			}
			if len(alts) == 1 {
				for k, e := range alts[0].(map[string]any) {
					x[k] = e
				}
			} else {
				x["anyOf"] = alts
			}
		}
		for _, e := range x {
			mendTupleItems(e)
		}
	case []any:
		for _, e := range x {
			mendTupleItems(e)
		}
	}
}

// checkSlackOperation holds a request, and the answer given to it, to the
// operation opID of slack.json with kin-openapi's request and response
// validators.
//
// What the validators are given differs from the document in three
// documented ways:
//   - the token: slack.json declares a "token" header (or query) parameter;
//     Slack takes JSON bodies only with the token in "Authorization:
//     Bearer" (docs-rules slack.json_needs_bearer), which is checked here
//     instead, and the token parameter is left out;
//   - JSON bodies: Slack accepts JSON bodies for its write methods ("
//     keeping up with the JSONs"), and the document describes their fields
//     only as formData parameters, which the conversion to 3.0 turns into
//     one object schema per declared media type. A JSON body is held to
//     that schema (its properties are the formData parameters; it is made
//     closed, so an undeclared field fails), taken from the form's when the
//     operation declares only a form. blocks and attachments are "a
//     JSON-based array ... presented as a URL-encoded string" in a form;
//     in a JSON body they are the array itself;
//   - ok:false answers: Slack answers failures with HTTP 200, and the
//     document describes them as the operation's "default" answer, so an
//     ok:false answer is held to that one.
//
// Every query parameter sent must also be declared (the validator allows
// undeclared ones).
func checkSlackOperation(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
	t.Helper()
	for _, err := range slackOperationErrors(t, opID, r, status, answer) {
		t.Error(err)
	}
}

// slackOperationErrors is checkSlackOperation's findings.
func slackOperationErrors(t testing.TB, opID string, r sentRequest, status int, answer []byte) []error {
	t.Helper()
	doc := loadSlackSpec(t)
	path := strings.TrimPrefix(r.url.Path, "/api")
	item := doc.Paths.Find(path)
	if item == nil {
		return []error{fmt.Errorf("slack.json has no path %s", path)}
	}
	op := item.GetOperation(r.method)
	if op == nil || op.OperationID != opID {
		return []error{fmt.Errorf("%s %s is not slack.json %s", r.method, path, opID)}
	}
	var errs []error
	if got := r.header.Get("Authorization"); !strings.HasPrefix(got, "Bearer ") {
		errs = append(errs, fmt.Errorf("%s: Authorization %q, want a Bearer token (docs-rules slack.json_needs_bearer)", opID, got))
	}
	op = slackOperationForJSON(t, op)
	declared := map[string]bool{}
	for _, p := range op.Parameters {
		if p.Value.In == openapi3.ParameterInQuery {
			declared[p.Value.Name] = true
		}
	}
	for k := range r.url.Query() {
		if !declared[k] {
			errs = append(errs, fmt.Errorf("%s: query parameter %q is not declared", opID, k))
		}
	}
	req, err := http.NewRequest(r.method, "https://slack.com/api"+path+"?"+r.url.RawQuery, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = r.header.Clone()
	route := &routers.Route{Spec: doc, Server: doc.Servers[0], Path: path, PathItem: item, Method: r.method, Operation: op}
	in := &openapi3filter.RequestValidationInput{
		Request: req, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, RejectWhenRequestBodyNotSpecified: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		errs = append(errs, fmt.Errorf("%s: request does not match slack.json: %w", opID, err))
	}
	if ok := slackOK(answer); ok != nil && !*ok {
		// The "default" answer: any status the operation does not list.
		status = 599
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status,
		Header:  http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(bytes.NewReader(answer)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		errs = append(errs, fmt.Errorf("%s: answer does not match slack.json: %w", opID, err))
	}
	return errs
}

// The checker finds what a request or an answer gets wrong.
func TestSlackCheckerRefuses(t *testing.T) {
	post := func(path, body string) sentRequest {
		return sentRequest{"POST", &url.URL{Path: "/api" + path}, http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}, []byte(body)}
	}
	get := func(path, query string) sentRequest {
		return sentRequest{"GET", &url.URL{Path: "/api" + path, RawQuery: query}, http.Header{"Authorization": {"Bearer x"}}, nil}
	}
	okUpdate := `{"ok":true,"channel":"C1","ts":"1.2","text":"x","message":{"text":"x"}}`
	tests := []struct {
		name   string
		opID   string
		r      sentRequest
		answer string
		want   string // substring of a finding; "" for none
	}{
		{"valid", "chat_update", post("/chat.update", `{"channel":"C1","ts":"1.2","text":"x"}`), okUpdate, ""},
		{"undeclared body field", "chat_update", post("/chat.update", `{"channel":"C1","ts":"1.2","text":"x","thread_ts":"1"}`), okUpdate, "request does not match"},
		{"required body field missing", "chat_update", post("/chat.update", `{"channel":"C1","text":"x"}`), okUpdate, "request does not match"},
		{"blocks not an array", "chat_update", post("/chat.update", `{"channel":"C1","ts":"1.2","blocks":"[]"}`), okUpdate, "request does not match"},
		{"answer lacks ts", "chat_update", post("/chat.update", `{"channel":"C1","ts":"1.2","text":"x"}`), `{"ok":true,"channel":"C1","text":"x","message":{"text":"x"}}`, "answer does not match"},
		{"undocumented error", "reactions_add", post("/reactions.add", `{"channel":"C1","timestamp":"1.2","name":"x"}`), `{"ok":false,"error":"no_such_thing"}`, "answer does not match"},
		{"wrong operation", "chat_update", post("/reactions.add", `{"channel":"C1","timestamp":"1.2","name":"x"}`), `{"ok":true}`, "is not slack.json chat_update"},
		{"undeclared query", "users_lookupByEmail", get("/users.lookupByEmail", "email=a%40b.c&team=T1"), `{"ok":false,"error":"users_not_found"}`, `"team" is not declared`},
		{"required query missing", "users_lookupByEmail", get("/users.lookupByEmail", ""), `{"ok":false,"error":"users_not_found"}`, "request does not match"},
		{"body on a GET", "users_lookupByEmail", sentRequest{"GET", &url.URL{Path: "/api/users.lookupByEmail", RawQuery: "email=a%40b.c"}, http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}, []byte(`{"email":"a@b.c"}`)}, `{"ok":false,"error":"users_not_found"}`, "request does not match"},
		{"no bearer", "users_lookupByEmail", sentRequest{"GET", &url.URL{Path: "/api/users.lookupByEmail", RawQuery: "email=a%40b.c"}, http.Header{}, nil}, `{"ok":false,"error":"users_not_found"}`, "want a Bearer token"},
	}
	for _, tt := range tests {
		errs := slackOperationErrors(t, tt.opID, tt.r, 200, []byte(tt.answer))
		found := false
		for _, e := range errs {
			found = found || (tt.want != "" && strings.Contains(e.Error(), tt.want))
		}
		switch {
		case tt.want == "" && len(errs) > 0:
			t.Errorf("%s: %v", tt.name, errs)
		case tt.want != "" && !found:
			t.Errorf("%s: findings %v, want one saying %q", tt.name, errs, tt.want)
		}
	}
}

func slackOK(answer []byte) *bool {
	var env struct {
		OK *bool `json:"ok"`
	}
	_ = json.Unmarshal(answer, &env)
	return env.OK
}

// slackOperationForJSON is a copy of op as checkSlackOperation holds a
// request to it: without the token parameter, with a closed JSON body
// schema.
func slackOperationForJSON(t testing.TB, op *openapi3.Operation) *openapi3.Operation {
	t.Helper()
	cp := *op
	cp.Parameters = nil
	for _, p := range op.Parameters {
		if p.Value.Name != "token" {
			cp.Parameters = append(cp.Parameters, p)
		}
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return &cp
	}
	content := op.RequestBody.Value.Content
	mt := content.Get("application/json")
	if mt == nil {
		// Only a form is declared: the JSON body has the form's fields.
		mt = content.Get("application/x-www-form-urlencoded")
	}
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		t.Fatalf("%s declares no body schema", op.OperationID)
	}
	s := *mt.Schema.Value
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
	s.Properties = openapi3.Schemas{}
	for name, p := range mt.Schema.Value.Properties {
		if name == "blocks" || name == "attachments" {
			p = openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(openapi3.NewObjectSchema()))
		}
		s.Properties[name] = p
	}
	body := *op.RequestBody.Value
	body.Content = openapi3.Content{"application/json": &openapi3.MediaType{Schema: openapi3.NewSchemaRef("", &s)}}
	cp.RequestBody = &openapi3.RequestBodyRef{Value: &body}
	return &cp
}

// Every scope a Slack action needs is one its operation's security lists,
// chat:write apart: slack.json (2021) names the legacy chat:write:bot and
// chat:write:user, which Slack's granular scope chat:write replaced.
func TestSlackScopesAreTheOperations(t *testing.T) {
	legacy := map[string][]string{"chat:write": {"chat:write:bot", "chat:write:user"}}
	cat := testCatalogue(t)
	doc := loadSlackSpec(t)
	infos, _ := cat.Describe("slack")
	for _, a := range infos {
		_, opID, _ := strings.Cut(a.Operation, " ")
		var listed []string
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				if op.OperationID == opID && op.Security != nil {
					for _, req := range *op.Security {
						for _, scopes := range req {
							listed = append(listed, scopes...)
						}
					}
				}
			}
		}
		if len(listed) == 0 || len(a.Scopes) == 0 {
			t.Errorf("slack.%s: scopes %v, %s lists %v", a.Name, a.Scopes, opID, listed)
		}
		for _, entry := range a.Scopes {
			for _, alt := range strings.Split(entry, "|") {
				names := append([]string{alt}, legacy[alt]...)
				if !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(listed, n) }) {
					t.Errorf("slack.%s: scope %s is not one of %s's %v", a.Name, alt, opID, listed)
				}
			}
		}
	}
}

// The actions of the connectors held to their descriptions say which
// operation they are, what they need and answer, and what each parameter
// is: the front end shows the descriptions.
func TestActionsDeclareTheirDescription(t *testing.T) {
	cat := testCatalogue(t)
	for _, id := range []string{"slack", "google-sheets", "gmail"} {
		for _, name := range cat.Actions(id) {
			s := cat.byKey[id+"."+name]
			if s.operation == "" || len(s.scopes) == 0 || strings.TrimSpace(s.output) == "" {
				t.Errorf("%s: operation %q, scopes %v, output %q", s.key, s.operation, s.scopes, s.output)
			}
			for _, p := range s.params {
				if strings.TrimSpace(p.Description) == "" {
					t.Errorf("%s: parameter %s has no description", s.key, p.Name)
				}
			}
		}
	}
}
