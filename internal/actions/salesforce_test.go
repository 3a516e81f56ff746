package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/reftest"
)

func init() {
	moreCases = append(moreCases, salesforceCases)
	specCheckers[salesforceREST] = checkSalesforceREST
}

const salesforceREST = "salesforce-rest.json"

func salesforceCreds() connectors.Credentials {
	return connectors.Credentials{AccessToken: tok, ConnectionConfig: map[string]string{"instance_url": "https://acme.my.salesforce.com"}}
}

// salesforceOp is the operation id in salesforce-rest.json.
func salesforceOp(id string) [2]string { return [2]string{salesforceREST, id} }

// salesforceCases are the connector's actions as the REST API Developer
// Guide documents them (salesforce-rest.json), answers from its examples.
func salesforceCases() []requestCase {
	return []requestCase{
		{
			connector: "salesforce", action: "create_record",
			params: map[string]any{"sobject": "Account", "fields": map[string]any{"Name": "Express Logistics", "NumberOfEmployees": float64(120)}},
			creds:  salesforceCreds(),
			want: wantRequest{
				method: "POST", path: "/services/data/v60.0/sobjects/Account/",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"Name":"Express Logistics","NumberOfEmployees":120}`,
				operation: salesforceOp("sobject-basic-info-post"),
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
				raw:       "q=SELECT+Id%2C+Name+FROM+Account+WHERE+Name+%3D+%27A%26B%27",
				header:    map[string]string{"Authorization": "Bearer " + tok},
				operation: salesforceOp("query"),
			},
			status: 200, answer: `{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001D000000IRFmaIAH"},"Id":"001D000000IRFmaIAH","Name":"A&B"}]}`,
		},
		{
			connector: "salesforce", action: "update_record",
			params: map[string]any{"sobject": "Account", "id": "001D000000INjVe", "fields": map[string]any{"BillingCity": "San Francisco"}},
			creds:  salesforceCreds(),
			want: wantRequest{
				method: "PATCH", path: "/services/data/v60.0/sobjects/Account/001D000000INjVe/",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"BillingCity":"San Francisco"}`,
				operation: salesforceOp("sobject-rows-patch"),
			},
			status: 204, answer: ``,
			wantOut: func(t *testing.T, out map[string]any) {
				if len(out) != 0 {
					t.Errorf("204 gave %v", out)
				}
			},
		},
		{
			connector: "salesforce", action: "get_record",
			params: map[string]any{"sobject": "Account", "id": "001R0000005hDFYIA2", "fields": []any{"Name", "Industry", "NumberOfEmployees"}},
			creds:  salesforceCreds(),
			want: wantRequest{
				method: "GET", path: "/services/data/v60.0/sobjects/Account/001R0000005hDFYIA2/",
				query:     url.Values{"fields": {"Name,Industry,NumberOfEmployees"}},
				header:    map[string]string{"Authorization": "Bearer " + tok},
				operation: salesforceOp("sobject-rows-get"),
			},
			status: 200, answer: `{"attributes":{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001R0000005hDFYIA2"},"Name":"Acme","Industry":"Energy","NumberOfEmployees":120,"Id":"001R0000005hDFYIA2"}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["Name"] != "Acme" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "salesforce", action: "upsert_record",
			params: map[string]any{"sobject": "Account", "external_id_field": "customExtIdField__c", "external_id": "11999", "fields": map[string]any{"Name": "California Wheat Corporation", "Type": "New Customer"}},
			creds:  salesforceCreds(),
			// The external ID names the record: no idempotency key is sent.
			idempotencyKey: "exec-1/node-2",
			want: wantRequest{
				method: "PATCH", path: "/services/data/v60.0/sobjects/Account/customExtIdField__c/11999",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC, "Idempotency-Key": ""},
				json:      `{"Name":"California Wheat Corporation","Type":"New Customer"}`,
				operation: salesforceOp("sobject-rows-by-external-id-upsert"),
			},
			status: 201, answer: `{"id":"00190000001pPvHAAU","errors":[],"success":true,"created":true}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["created"] != true || out["id"] != "00190000001pPvHAAU" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "salesforce", action: "upsert_record",
			params: map[string]any{"sobject": "Invoice__c", "external_id_field": "Ext_Ref__c", "external_id": "INV/2026 7", "fields": map[string]any{"Amount__c": float64(10)}, "update_only": true},
			creds:  salesforceCreds(),
			want: wantRequest{
				method: "PATCH", path: "/services/data/v60.0/sobjects/Invoice__c/Ext_Ref__c/INV%2F2026%207",
				query:     url.Values{"updateOnly": {"true"}},
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"Amount__c":10}`,
				operation: salesforceOp("sobject-rows-by-external-id-upsert"),
			},
			// An update: 200 with created false (API 46.0 and later).
			status: 200, answer: `{"id":"a0B5e000001AbCdEAF","errors":[],"success":true,"created":false}`,
		},
	}
}

// salesforceDoc is salesforce-rest.json: its own shape, transcribed from
// the REST API Developer Guide.
type salesforceDoc struct {
	VersionPattern string                 `json:"version_pattern"`
	Auth           string                 `json:"auth"`
	Operations     map[string]sfOperation `json:"operations"`
	// Errors holds the error shape and the statuses (401, 403) every
	// operation may answer; an operation's errors refer to them
	// ("errors.403").
	Errors      map[string]json.RawMessage `json:"errors"`
	StatusCodes map[string]any             `json:"status_codes"`
}

type sfOperation struct {
	Method  string             `json:"method"`
	URI     string             `json:"uri"`
	Formats []string           `json:"formats"`
	Params  map[string]sfParam `json:"params"`
	Body    string             `json:"body"`
	Success json.RawMessage    `json:"success"`
	Errors  map[string]any     `json:"errors"`
}

type sfParam struct {
	In       string `json:"in"`
	Required bool   `json:"required"`
}

// salesforceSuccess is one documented success answer.
type salesforceSuccess struct {
	Status   int            `json:"status"`
	Example  map[string]any `json:"example"`
	Required []string       `json:"required"`
	Body     string         `json:"body"`
}

// successes are the documented success answers of o: one, or the
// upsert's created (and, where transcribed, updated).
func (o sfOperation) successes() []salesforceSuccess {
	var one salesforceSuccess
	if json.Unmarshal(o.Success, &one) == nil && one.Status != 0 {
		return []salesforceSuccess{one}
	}
	var many map[string]json.RawMessage
	_ = json.Unmarshal(o.Success, &many)
	var out []salesforceSuccess
	for _, k := range slices.Sorted(maps.Keys(many)) {
		var s salesforceSuccess
		if json.Unmarshal(many[k], &s) == nil && s.Status != 0 {
			out = append(out, s)
		}
	}
	return out
}

var (
	sfOnce sync.Once
	sfDoc  salesforceDoc
	sfErr  error
)

func loadSalesforceDoc(t testing.TB) *salesforceDoc {
	t.Helper()
	path := reftest.Path(t, "provider-specs/"+salesforceREST, "")
	sfOnce.Do(func() {
		b, err := os.ReadFile(path)
		if err != nil {
			sfErr = err
			return
		}
		sfErr = json.Unmarshal(b, &sfDoc)
	})
	if sfErr != nil {
		t.Fatalf("%s: %v", salesforceREST, sfErr)
	}
	return &sfDoc
}

// checkSalesforceREST is the specCheckers entry of salesforce-rest.json.
func checkSalesforceREST(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
	t.Helper()
	for _, p := range salesforceProblems(loadSalesforceDoc(t), opID, r, status, answer) {
		t.Errorf("%s %s: %s", salesforceREST, opID, p)
	}
}

// salesforceProblems holds r and its answer to operation opID: method;
// path (the version segment to version_pattern, each {param} to one
// non-empty segment; a trailing slash is not significant, as the guide's
// examples write the same resource with and without one); query keys to
// the declared query parameters, required ones present; the auth header;
// the body (none, or a JSON object in a declared format, without Id
// where the guide forbids it); and the answer: a documented success with
// its required fields, or a documented error status with the documented
// error shape.
func salesforceProblems(d *salesforceDoc, opID string, r sentRequest, status int, answer []byte) []string {
	op, ok := d.Operations[opID]
	if !ok {
		return []string{"no such operation"}
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if r.method != op.Method {
		add("method %s, documented %s", r.method, op.Method)
	}
	tmpl, _, _ := strings.Cut(op.URI, "?")
	want := strings.Split(strings.Trim(tmpl, "/"), "/")
	got := strings.Split(strings.Trim(r.url.EscapedPath(), "/"), "/")
	if len(got) != len(want) {
		add("path %s is not %s", r.url.EscapedPath(), op.URI)
	} else {
		version := regexp.MustCompile(d.VersionPattern)
		for i, w := range want {
			g, err := url.PathUnescape(got[i])
			switch {
			case err != nil:
				add("path segment %q: %v", got[i], err)
			case w == "vXX.X":
				if !version.MatchString(g) {
					add("API version %q does not match %s", g, d.VersionPattern)
				}
			case strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}"):
				name := strings.Trim(w, "{}")
				if p, ok := op.Params[name]; ok && p.In != "path" {
					add("%s is documented in %s, not in the path", name, p.In)
				}
				if g == "" {
					add("path parameter %s is empty", name)
				}
			case g != w:
				add("path segment %q, documented %q (%s)", g, w, op.URI)
			}
		}
	}
	q := r.url.Query()
	for k := range q {
		if p, ok := op.Params[k]; !ok || p.In != "query" {
			add("query parameter %q is not documented", k)
		}
	}
	for name, p := range op.Params {
		switch {
		case p.Required && p.In == "query" && q.Get(name) == "":
			add("required query parameter %s is missing", name)
		case p.Required && p.In == "header" && r.header.Get(name) == "":
			add("required header %s is missing", name)
		}
	}
	if scheme, _, _ := strings.Cut(strings.TrimPrefix(d.Auth, "Authorization: "), " "); !strings.HasPrefix(r.header.Get("Authorization"), scheme+" ") {
		add("Authorization is not %q", d.Auth)
	}
	switch {
	case op.Body == "none" || op.Body == "":
		if len(bytes.TrimSpace(r.body)) != 0 {
			add("a body, and the operation takes none")
		}
	default:
		ct, _, _ := strings.Cut(r.header.Get("Content-Type"), ";")
		if !slices.Contains(op.Formats, strings.TrimSpace(ct)) {
			add("Content-Type %q is not one of %v", ct, op.Formats)
		}
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			add("the body is not a JSON object: %v", err)
		}
		if strings.Contains(op.Body, "Do not specify Id") {
			for k := range body {
				if strings.EqualFold(k, "Id") {
					add("the body specifies %s, which the guide forbids", k)
				}
			}
		}
	}
	out = append(out, salesforceAnswerProblems(d, op, status, answer)...)
	return out
}

func salesforceAnswerProblems(d *salesforceDoc, op sfOperation, status int, answer []byte) []string {
	if status >= 200 && status < 300 {
		succ := op.successes()
		for _, s := range succ {
			if s.Status != status {
				continue
			}
			if s.Body != "" && strings.HasPrefix(s.Body, "none") {
				if len(bytes.TrimSpace(answer)) != 0 {
					return []string{fmt.Sprintf("answer %d has a body; documented none", status)}
				}
				return nil
			}
			var body map[string]any
			if err := json.Unmarshal(answer, &body); err != nil {
				return []string{fmt.Sprintf("answer %d is not a JSON object: %v", status, err)}
			}
			var out []string
			for _, k := range s.Required {
				if _, ok := body[k]; !ok {
					out = append(out, fmt.Sprintf("answer %d lacks %s", status, k))
				}
			}
			return out
		}
		// The upsert of an existing record: the guide's excerpts do not
		// transcribe it; status_codes documents 200 "for ... some PATCH
		// requests", and Salesforce answers an update with the create's
		// body and created false.
		if op.Method == http.MethodPatch && status == http.StatusOK && len(succ) == 1 && succ[0].Status == http.StatusCreated {
			var body map[string]any
			if err := json.Unmarshal(answer, &body); err != nil || body["created"] != false {
				return []string{fmt.Sprintf("an update's answer is the create's with created false: %s", answer)}
			}
			return nil
		}
		return []string{fmt.Sprintf("status %d is not a documented success of the operation", status)}
	}
	code := strconv.Itoa(status)
	_, common := d.Errors[code]
	if _, ok := op.Errors[code]; !ok && !common {
		return []string{fmt.Sprintf("status %d is not among the operation's documented errors", status)}
	}
	if _, ok := d.StatusCodes[code]; !ok {
		return []string{fmt.Sprintf("status %d is not in the guide's status code table", status)}
	}
	if status == http.StatusMultipleChoices {
		// "The response body contains the list of matching records."
		var urls []string
		if err := json.Unmarshal(answer, &urls); err != nil || len(urls) < 2 {
			return []string{fmt.Sprintf("a 300 answer lists the matching records: %s", answer)}
		}
		return nil
	}
	// errors.shape: array of {message, errorCode, fields}.
	var errs []map[string]any
	if err := json.Unmarshal(answer, &errs); err != nil || len(errs) == 0 {
		return []string{fmt.Sprintf("an error answer is %s: %s", d.Errors["shape"], answer)}
	}
	var out []string
	for _, e := range errs {
		if m, _ := e["message"].(string); m == "" {
			out = append(out, "an error without message")
		}
		if c, _ := e["errorCode"].(string); c == "" {
			out = append(out, "an error without errorCode")
		}
	}
	return out
}

// failureCase is a documented failure answer to a case's request and
// the error Run must give for it.
type failureCase struct {
	name    string
	req     requestCase // the request; its status and answer are replaced
	status  int
	header  http.Header
	answer  string
	code    string // the *connectors.Error code
	message string // in the error's message
}

// runFailures runs each case against a server giving its answer, checks
// the error, and holds the request and the answer to the description the
// request names.
func runFailures(t *testing.T, cases []failureCase) {
	t.Helper()
	cat := testCatalogue(t)
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			var sent []sentRequest
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				sent = append(sent, sentRequest{r.Method, r.URL, r.Header.Clone(), b})
				for k, v := range fc.header {
					w.Header()[k] = v
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(fc.status)
				io.WriteString(w, fc.answer)
			}))
			defer srv.Close()
			tc := fc.req
			_, err := cat.Run(context.Background(), srv.Client(), nil, Request{
				Connector: tc.connector, Action: tc.action, Params: tc.params,
				Credentials: tc.creds, IdempotencyKey: tc.idempotencyKey, BaseURL: srv.URL,
			})
			if !hasCode(err, fc.code) {
				t.Errorf("error %v, want code %s", err, fc.code)
			}
			if err != nil && !strings.Contains(err.Error(), fc.message) {
				t.Errorf("error %q does not say %q", err, fc.message)
			}
			if len(sent) != 1 {
				t.Fatalf("%d requests sent, want 1", len(sent))
			}
			checkDescribed(t, tc.want, sent[0], fc.status, []byte(fc.answer))
		})
	}
}

// actionCase is the request case of action in one connector's cases (the first).
func actionCase(t *testing.T, cases []requestCase, action string) requestCase {
	t.Helper()
	for _, tc := range cases {
		if tc.action == action {
			return tc
		}
	}
	t.Fatalf("no case for %s", action)
	return requestCase{}
}

func TestSalesforceFailures(t *testing.T) {
	cs := salesforceCases()
	limit := `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`
	notFound := `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`
	invalidField := `[{"message":"No such column 'Foo__c' on sobject of type Account","errorCode":"INVALID_FIELD"}]`
	var cases []failureCase
	for _, action := range []string{"update_record", "get_record", "upsert_record"} {
		tc := actionCase(t, cs, action)
		cases = append(cases,
			failureCase{name: action + " over the org's API limits", req: tc, status: 403, answer: limit, code: connectors.ERateLimited, message: "REQUEST_LIMIT_EXCEEDED"},
			failureCase{name: action + " not found", req: tc, status: 404, answer: notFound, code: connectors.EUpstream, message: "NOT_FOUND: The requested resource does not exist"},
		)
	}
	for _, action := range []string{"update_record", "upsert_record"} {
		cases = append(cases, failureCase{name: action + " invalid field", req: actionCase(t, cs, action), status: 400, answer: invalidField, code: connectors.EUpstream, message: "INVALID_FIELD: No such column"})
	}
	cases = append(cases,
		failureCase{name: "create_record over the org's API limits", req: actionCase(t, cs, "create_record"), status: 403, answer: limit, code: connectors.ERateLimited, message: "REQUEST_LIMIT_EXCEEDED"},
		failureCase{name: "a refusal is not a rate limit", req: actionCase(t, cs, "get_record"), status: 403, answer: `[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS"}]`, code: connectors.EUpstream, message: "INSUFFICIENT_ACCESS"},
		failureCase{
			name: "upsert matching several records", req: actionCase(t, cs, "upsert_record"), status: 300,
			answer: `["/services/data/v60.0/sobjects/Account/001D000000Kv4bTIAR","/services/data/v60.0/sobjects/Account/001D000000Kv4bUIAR"]`,
			code:   connectors.EUpstream, message: "the external ID matches 2 records",
		},
	)
	runFailures(t, cases)
}

// TestSalesforceCheckerRefuses shows the reader of salesforce-rest.json
// failing what it must fail.
func TestSalesforceCheckerRefuses(t *testing.T) {
	d := loadSalesforceDoc(t)
	h := http.Header{"Authorization": {"Bearer x"}, "Content-Type": {jsonC}}
	req := func(method, path, body string) sentRequest {
		u, _ := url.Parse(path)
		return sentRequest{method, u, h, []byte(body)}
	}
	for _, tt := range []struct {
		name   string
		opID   string
		r      sentRequest
		status int
		answer string
	}{
		{"wrong method", "sobject-rows-patch", req("PUT", "/services/data/v60.0/sobjects/Account/001/", `{}`), 204, ``},
		{"bad version", "sobject-rows-get", req("GET", "/services/data/60/sobjects/Account/001/", ``), 200, `{}`},
		{"undocumented query", "sobject-rows-get", req("GET", "/services/data/v60.0/sobjects/Account/001/?field=Name", ``), 200, `{}`},
		{"Id in the body", "sobject-basic-info-post", req("POST", "/services/data/v60.0/sobjects/Account/", `{"Id":"001"}`), 201, `{"id":"001","errors":[],"success":true}`},
		{"answer lacks success", "sobject-basic-info-post", req("POST", "/services/data/v60.0/sobjects/Account/", `{"Name":"a"}`), 201, `{"id":"001","errors":[]}`},
		{"undocumented error status", "sobject-rows-get", req("GET", "/services/data/v60.0/sobjects/Account/001/", ``), 409, `[{"message":"m","errorCode":"c"}]`},
		{"error without errorCode", "sobject-rows-get", req("GET", "/services/data/v60.0/sobjects/Account/001/", ``), 404, `{"message":"m"}`},
		{"body where none is documented", "sobject-rows-patch", req("PATCH", "/services/data/v60.0/sobjects/Account/001/", `{}`), 204, `{"id":"x"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if p := salesforceProblems(d, tt.opID, tt.r, tt.status, []byte(tt.answer)); len(p) == 0 {
				t.Error("the reader accepted it")
			}
		})
	}
}

// TestSalesforceFieldsRefuseId: the guide forbids Id in a record's body.
func TestSalesforceFieldsRefuseId(t *testing.T) {
	cat := testCatalogue(t)
	for _, action := range []string{"create_record", "update_record", "upsert_record"} {
		a, _ := cat.Lookup("salesforce", action)
		p := map[string]any{"sobject": "Account", "id": "001D000000INjVe", "external_id_field": "Ext__c", "external_id": "1", "fields": map[string]any{"ID": "001D000000INjVe"}}
		if action == "create_record" {
			delete(p, "id")
		}
		if action != "upsert_record" {
			delete(p, "external_id_field")
			delete(p, "external_id")
		}
		if err := a.Validate(p); !hasCode(err, connectors.EInvalid) {
			t.Errorf("%s with Id in fields: %v", action, err)
		}
	}
}

// TestCasesNameTheActionsOperation: every action of these connectors has
// a request case, and each case is held to the operation its action
// declares.
func TestCasesNameTheActionsOperation(t *testing.T) {
	cat := testCatalogue(t)
	cases := map[string][]requestCase{"salesforce": salesforceCases(), "hubspot": hubspotCases(), "stripe": stripeCases()}
	for id, cs := range cases {
		covered := map[string]bool{}
		for _, tc := range cs {
			a, ok := cat.Lookup(tc.connector, tc.action)
			if !ok {
				t.Errorf("case for unknown action %s.%s", tc.connector, tc.action)
				continue
			}
			if got := tc.want.operation[0] + " " + tc.want.operation[1]; got != a.Operation() {
				t.Errorf("%s.%s: case names operation %q, the action %q", tc.connector, tc.action, got, a.Operation())
			}
			covered[tc.action] = true
		}
		for _, name := range cat.Actions(id) {
			if !covered[name] {
				t.Errorf("%s.%s has no request case", id, name)
			}
		}
	}
}
