package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// Answers held to an OpenAPI operation's responses (discord.json,
// trello.json, asana.json), which checkOperation does not read: the
// status must be one the operation documents (exactly, as 4XX, or
// default); an answer to a response without content must be empty; a
// JSON answer's top-level properties (and those of an object or array
// one level down, such as Asana's "data") must be declared where the
// schema lists them, of the declared types, with the required ones
// present. A pruned reference ({"x-pruned-ref"}) is any value, and an
// allOf with a pruned part lists only some properties, so there extra
// ones are let through.

// checkOpenAPIAnswer holds status and answer to opID of provider-specs/file.
func checkOpenAPIAnswer(t reporter, tb testing.TB, file, opID string, status int, answer []byte) {
	t.Helper()
	var op struct {
		Responses map[string]struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	}
	found := false
	for _, item := range loadSpec(tb, file).Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var id struct {
				OperationID string `json:"operationId"`
			}
			if json.Unmarshal(raw, &id) == nil && id.OperationID == opID {
				if err := json.Unmarshal(raw, &op); err != nil {
					t.Errorf("%s %s responses: %v", file, opID, err)
					return
				}
				found = true
			}
		}
	}
	if !found {
		t.Errorf("%s has no operation %s", file, opID)
		return
	}
	code := strconv.Itoa(status)
	resp, ok := op.Responses[code]
	if !ok {
		resp, ok = op.Responses[code[:1]+"XX"]
	}
	if !ok {
		resp, ok = op.Responses["default"]
	}
	if !ok {
		t.Errorf("%s %s documents no %d answer (it documents %v)", file, opID, status, slices.Sorted(maps.Keys(op.Responses)))
		return
	}
	body := strings.TrimSpace(string(answer))
	if len(resp.Content) == 0 {
		if body != "" {
			t.Errorf("%s %s: the %d answer has no content, and the test gave %s", file, opID, status, body)
		}
		return
	}
	media, ok := resp.Content["application/json"]
	if !ok {
		return // text answers (none among these operations' successes)
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Errorf("%s %s: the %d answer is not JSON: %s", file, opID, status, body)
		return
	}
	checkSchemaValue(t, file+" "+opID+" answer", media.Schema, v, 2)
}

// checkOpenAPIBody holds a JSON request body to the operation's
// application/json requestBody schema, two levels of objects down (so
// Asana's {"data":{...}} fields too, which checkOperation, one level,
// does not reach).
func checkOpenAPIBody(t reporter, tb testing.TB, file, opID string, body []byte) {
	t.Helper()
	so := findOperation(tb, loadSpec(tb, file), file, opID)
	var op struct {
		RequestBody struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	}
	if err := json.Unmarshal(loadSpec(tb, file).Paths[so.path][strings.ToLower(so.method)], &op); err != nil {
		t.Errorf("%s %s requestBody: %v", file, opID, err)
		return
	}
	media, ok := op.RequestBody.Content["application/json"]
	if !ok {
		t.Errorf("%s %s takes no JSON body", file, opID)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: body is not JSON: %s", file, opID, body)
		return
	}
	checkSchemaValue(t, file+" "+opID+" body", media.Schema, v, 2)
}

// checkSchemaValue holds v to schema s, depth levels of objects down.
func checkSchemaValue(t reporter, what string, s map[string]any, v any, depth int) {
	t.Helper()
	if _, pruned := s["x-pruned-ref"]; pruned || depth < 0 {
		return
	}
	if alts, ok := s["oneOf"].([]any); ok {
		// Some alternative must take v: tried on a recorder each.
		for _, alt := range alts {
			if m, ok := alt.(map[string]any); ok {
				r := &recorder{}
				checkSchemaValue(r, what, m, v, depth)
				if len(r.errs) == 0 {
					return
				}
			}
		}
		t.Errorf("%s: no alternative of oneOf takes %v", what, v)
		return
	}
	props, required, open := schemaProperties(s)
	types := schemaTypes(s)
	if v == nil {
		if len(types) > 0 && !slices.Contains(types, "null") && s["nullable"] != true {
			t.Errorf("%s is null, want %v", what, types)
		}
		return
	}
	got := jsonType(v)
	if len(types) > 0 && !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
		t.Errorf("%s is %s, want %v", what, got, types)
		return
	}
	switch x := v.(type) {
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				checkSchemaValue(t, what+"["+strconv.Itoa(i)+"]", items, e, depth)
			}
		}
	case map[string]any:
		for k, e := range x {
			ps, ok := props[k]
			if !ok {
				if !open && len(props) > 0 {
					t.Errorf("%s: property %s is not declared", what, k)
				}
				continue
			}
			checkSchemaValue(t, what+"."+k, ps, e, depth-1)
		}
		for _, k := range required {
			if _, ok := x[k]; !ok {
				t.Errorf("%s: required property %s missing", what, k)
			}
		}
	}
}

// schemaProperties merges an object schema's properties with its allOf
// parts'; open says some part was pruned, so that not every property is
// known.
func schemaProperties(s map[string]any) (props map[string]map[string]any, required []string, open bool) {
	props = map[string]map[string]any{}
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		if _, pruned := m["x-pruned-ref"]; pruned {
			open = true
			return
		}
		if ps, ok := m["properties"].(map[string]any); ok {
			for k, p := range ps {
				if pm, ok := p.(map[string]any); ok {
					props[k] = pm
				}
			}
		}
		if rs, ok := m["required"].([]any); ok {
			for _, r := range rs {
				if k, ok := r.(string); ok {
					required = append(required, k)
				}
			}
		}
		if ap, ok := m["additionalProperties"]; ok && ap != false {
			open = true
		}
		if all, ok := m["allOf"].([]any); ok {
			for _, part := range all {
				if pm, ok := part.(map[string]any); ok {
					walk(pm)
				}
			}
		}
	}
	walk(s)
	return props, required, open
}

// schemaTypes is type as a list (3.0 writes one, 3.1 a list).
func schemaTypes(s map[string]any) []string {
	switch x := s["type"].(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if t, ok := e.(string); ok {
				out = append(out, t)
			}
		}
		return out
	}
	return nil
}

// recorder is a reporter that keeps what it is told, for checks whose
// failures are the point (a oneOf's alternatives, the checks' own tests).
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, strings.TrimSpace(format))
}

// TestAnswersMatchOpenAPI holds the canned answers of the cases of
// discord.json, trello.json and asana.json (the guards' reads too) to
// their operations' responses.
func TestAnswersMatchOpenAPI(t *testing.T) {
	n := 0
	for _, tc := range requestCases() {
		for i, e := range tc.exchanges() {
			file, opID := e.want.operation[0], e.want.operation[1]
			if !slices.Contains([]string{"discord.json", "trello.json", "asana.json"}, file) {
				continue
			}
			n++
			t.Run(tc.connector+"."+tc.action+"/"+strconv.Itoa(i), func(t *testing.T) {
				checkOpenAPIAnswer(t, t, file, opID, e.status, []byte(e.answer))
				if e.want.json != "" {
					checkOpenAPIBody(t, t, file, opID, []byte(e.want.json))
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no case names an operation of discord.json, trello.json or asana.json")
	}
}

// TestOpenAPIAnswerCheckFails: the answer check refuses what the
// descriptions do not say.
func TestOpenAPIAnswerCheckFails(t *testing.T) {
	tests := []struct {
		name, file, opID string
		status           int
		answer           string
	}{
		{"undocumented status", "discord.json", "add_my_message_reaction", 201, ``},
		{"a body where none is documented", "discord.json", "add_my_message_reaction", 204, `{"ok":true}`},
		{"undeclared property", "trello.json", "post-cards-id-actions-comments", 200, `{"id":"5abbe4b7ddc1b351ef961414","text":"misplaced"}`},
		{"wrong type", "asana.json", "getProjects", 200, `{"data":{"gid":"1"}}`},
		{"array item of the wrong type", "trello.json", "get-members-id-boards", 200, `[{"id":"5abbe4b7ddc1b351ef961414","closed":"no"}]`},
		{"required property missing", "trello.json", "get-members-id-boards", 200, `[{"name":"b"}]`},
	}
	for _, tt := range tests {
		r := &recorder{}
		checkOpenAPIAnswer(r, t, tt.file, tt.opID, tt.status, []byte(tt.answer))
		if len(r.errs) == 0 {
			t.Errorf("%s: %s %s %d %s passed", tt.name, tt.file, tt.opID, tt.status, tt.answer)
		}
	}
	for _, body := range []string{
		`{"data":{"name":"n","completed":"yes"}}`, // a boolean
		`{"data":{"title":"n"}}`,                  // no such task field
		`{"task":{"name":"n"}}`,                   // not wrapped in data
	} {
		r := &recorder{}
		checkOpenAPIBody(r, t, "asana.json", "updateTask", []byte(body))
		if len(r.errs) == 0 {
			t.Errorf("asana updateTask body %s passed", body)
		}
	}
}

// failure is a documented failure answer and what Run must make of it.
type failure struct {
	name      string
	status    int
	header    map[string]string
	body      string
	wantCode  string
	wantMsg   string        // substring of the error message
	wantRetry time.Duration // RetryAfter, for rate limits
}

// runFailure runs tc with its guard's reads answered as the case says and
// its own request answered f, and checks the error Run returns.
func runFailure(t *testing.T, cat *Catalogue, tc requestCase, f failure) {
	t.Helper()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		i := n
		n++
		w.Header().Set("Content-Type", "application/json")
		if i < len(tc.pre) {
			w.WriteHeader(tc.pre[i].status)
			io.WriteString(w, tc.pre[i].answer)
			return
		}
		for k, v := range f.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	}))
	defer srv.Close()
	_, err := cat.Run(context.Background(), srv.Client(), nil, Request{
		Connector: tc.connector, Action: tc.action, Params: tc.params,
		Credentials: tc.creds, IdempotencyKey: tc.idempotencyKey, BaseURL: srv.URL,
	})
	if n != len(tc.pre)+1 {
		t.Errorf("%d requests, want %d", n, len(tc.pre)+1)
	}
	if !hasCode(err, f.wantCode) {
		t.Fatalf("err = %v, want %s", err, f.wantCode)
	}
	if !strings.Contains(connectors.ErrorMessage(err), f.wantMsg) {
		t.Errorf("message %q does not contain %q", connectors.ErrorMessage(err), f.wantMsg)
	}
	if got := connectors.RetryAfter(err); got > f.wantRetry || got < f.wantRetry-2*time.Second || (f.wantRetry == 0 && got != 0) {
		t.Errorf("RetryAfter = %v, want %v", got, f.wantRetry)
	}
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Status != f.status {
		t.Errorf("cause %v, want a ProviderError with status %d", pe, f.status)
	}
	for _, s := range tc.creds.Secrets() {
		if len(s) >= 4 && strings.Contains(err.Error(), s) {
			t.Errorf("error holds a credential: %v", err)
		}
	}
}

// caseFor finds the request case of connector.action among cases.
func caseFor(t *testing.T, cases []requestCase, connector, action string) requestCase {
	t.Helper()
	for _, tc := range cases {
		if tc.connector == connector && tc.action == action {
			return tc
		}
	}
	t.Fatalf("no request case for %s.%s", connector, action)
	return requestCase{}
}

// inputValid reports whether params pass the action's generated input
// schema (the one rule once Validate enforces it).
func inputValid(t *testing.T, cat *Catalogue, connector, action string, params map[string]any) error {
	t.Helper()
	s, ok := cat.byKey[connector+"."+action]
	if !ok {
		t.Fatalf("no action %s.%s", connector, action)
	}
	return mustCompiled(t, s).input.Validate(schemaValue(t, params))
}

// TestInputSchemasOfTheFive: every case of Teams, Outlook, Discord,
// Trello and Asana passes its action's input schema, and the schemas'
// constraints refuse what the providers refuse.
func TestInputSchemasOfTheFive(t *testing.T) {
	cat := testCatalogue(t)
	five := []string{"microsoft-teams", "outlook", "discord", "trello", "asana"}
	for _, tc := range requestCases() {
		if slices.Contains(five, tc.connector) {
			if err := inputValid(t, cat, tc.connector, tc.action, tc.params); err != nil {
				t.Errorf("%s.%s case params: %v", tc.connector, tc.action, err)
			}
		}
	}
	// Every action declares what the fidelity tests read, and a
	// description of every parameter.
	for _, id := range five {
		for _, name := range cat.Actions(id) {
			s := cat.byKey[id+"."+name]
			if s.operation == "" || len(s.scopes) == 0 || s.output == "" {
				t.Errorf("%s: operation %q, scopes %v, output %d bytes", s.key, s.operation, s.scopes, len(s.output))
			}
			for _, p := range s.params {
				if p.Description == "" {
					t.Errorf("%s: parameter %s has no description", s.key, p.Name)
				}
			}
		}
	}
	refused := []struct {
		connector, action string
		params            map[string]any
	}{
		{"outlook", "reply_to_message", map[string]any{"message_id": "m", "comment": "c", "body": "b"}},
		{"outlook", "reply_to_message", map[string]any{"message_id": "m", "to": "ada@example.com"}},
		{"outlook", "create_event", map[string]any{"subject": "s", "start": "2026-09-01 10:00", "end": "2026-09-01T11:00:00"}},
		{"outlook", "create_event", map[string]any{"subject": "s", "start": "2026-09-01T10:00:00", "end": "2026-09-01T11:00:00", "attendees": []any{"not an address"}}},
		{"outlook", "get_message", map[string]any{"message_id": "m", "select": []any{"subjectLine"}}},
		{"microsoft-teams", "send_chat_message", map[string]any{"chat_id": "a/b", "content": "x"}},
		{"discord", "edit_message", map[string]any{"channel_id": "1", "message_id": "x1", "content": "c"}},
		{"discord", "add_reaction", map[string]any{"channel_id": "1", "message_id": "2", "emoji": "fire"}},
		{"discord", "list_channels", map[string]any{"guild_id": ".."}},
		{"trello", "update_card", map[string]any{"card_id": "5abbe4b7ddc1b351ef961415"}},
		{"trello", "update_card", map[string]any{"card_id": "short", "name": "n"}},
		{"trello", "list_boards", map[string]any{"member": "someone-else"}},
		{"asana", "update_task", map[string]any{"task_gid": "1"}},
		{"asana", "add_comment", map[string]any{"task_gid": "1", "text": "a", "html_text": "<body>a</body>"}},
		{"asana", "add_comment", map[string]any{"task_gid": "1"}},
		{"asana", "list_projects", map[string]any{"limit": float64(10)}},
		{"asana", "create_task", map[string]any{"name": "n"}},
		{"asana", "list_tasks", map[string]any{"assignee": "me"}},
	}
	for _, tt := range refused {
		if err := inputValid(t, cat, tt.connector, tt.action, tt.params); err == nil {
			t.Errorf("%s.%s accepted %v", tt.connector, tt.action, tt.params)
		}
	}
}
