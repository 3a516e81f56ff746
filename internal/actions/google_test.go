package actions

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

const (
	sheetsSpec = "google-sheets-v4.json"
	gmailSpec  = "gmail-v1.json"
)

func init() {
	moreCases = append(moreCases, sheetsCases, gmailCases)
	specCheckers[sheetsSpec] = discoveryChecker(sheetsSpec)
	specCheckers[gmailSpec] = discoveryChecker(gmailSpec)
}

func sheetsOp(id string) [2]string { return [2]string{sheetsSpec, id} }
func gmailOp(id string) [2]string  { return [2]string{gmailSpec, id} }

func sheetsCases() []requestCase {
	auth := map[string]string{"Authorization": "Bearer " + tok}
	authJSON := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC}
	return []requestCase{
		{
			connector: "google-sheets", action: "append_values",
			params: map[string]any{"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "range": "Class Data!A1:E1", "values": []any{[]any{"Ada", float64(36), true, nil}}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v4/spreadsheets/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/values/Class%20Data%21A1:E1:append",
				query:     url.Values{"valueInputOption": {"USER_ENTERED"}, "insertDataOption": {"INSERT_ROWS"}},
				header:    authJSON,
				json:      `{"majorDimension":"ROWS","values":[["Ada",36,true,null]]}`,
				operation: sheetsOp("sheets.spreadsheets.values.append"),
			},
			status: 200,
			answer: `{"spreadsheetId":"1Bxi","tableRange":"'Class Data'!A1:E10","updates":{"spreadsheetId":"1Bxi","updatedRange":"'Class Data'!A11:D11","updatedRows":1,"updatedColumns":4,"updatedCells":4}}`,
		},
		{
			connector: "google-sheets", action: "get_values",
			params: map[string]any{"spreadsheet_id": "1Bxi", "range": "Sheet1!A1:B2", "major_dimension": "COLUMNS", "value_render_option": "UNFORMATTED_VALUE"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v4/spreadsheets/1Bxi/values/Sheet1%21A1:B2",
				query:     url.Values{"majorDimension": {"COLUMNS"}, "valueRenderOption": {"UNFORMATTED_VALUE"}},
				header:    auth,
				operation: sheetsOp("sheets.spreadsheets.values.get"),
			},
			status: 200, answer: `{"range":"Sheet1!A1:B2","majorDimension":"COLUMNS","values":[["a","b"]]}`,
		},
		{
			connector: "google-sheets", action: "update_values",
			params: map[string]any{"spreadsheet_id": "1Bxi", "range": "Sheet1!A2:B2", "values": []any{[]any{"=SUM(1,2)", float64(4)}}, "value_input_option": "USER_ENTERED", "include_values_in_response": true},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "PUT", path: "/v4/spreadsheets/1Bxi/values/Sheet1%21A2:B2",
				query:     url.Values{"valueInputOption": {"USER_ENTERED"}, "includeValuesInResponse": {"true"}},
				header:    authJSON,
				json:      `{"majorDimension":"ROWS","values":[["=SUM(1,2)",4]]}`,
				operation: sheetsOp("sheets.spreadsheets.values.update"),
			},
			status: 200,
			answer: `{"spreadsheetId":"1Bxi","updatedRange":"Sheet1!A2:B2","updatedRows":1,"updatedColumns":2,"updatedCells":2,
				"updatedData":{"range":"Sheet1!A2:B2","majorDimension":"ROWS","values":[["3","4"]]}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["updatedRange"] != "Sheet1!A2:B2" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "google-sheets", action: "clear_values",
			params: map[string]any{"spreadsheet_id": "1Bxi", "range": "Sheet1!A2:Z"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v4/spreadsheets/1Bxi/values/Sheet1%21A2:Z:clear",
				header:    authJSON,
				json:      `{}`,
				operation: sheetsOp("sheets.spreadsheets.values.clear"),
			},
			status: 200, answer: `{"spreadsheetId":"1Bxi","clearedRange":"Sheet1!A2:Z1000"}`,
		},
		{
			connector: "google-sheets", action: "create_spreadsheet",
			params: map[string]any{"title": "Leads 2026", "sheet_titles": []any{"Leads", "Archive"}, "locale": "en_GB", "time_zone": "Europe/London"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v4/spreadsheets",
				header:    authJSON,
				json:      `{"properties":{"title":"Leads 2026","locale":"en_GB","timeZone":"Europe/London"},"sheets":[{"properties":{"title":"Leads"}},{"properties":{"title":"Archive"}}]}`,
				operation: sheetsOp("sheets.spreadsheets.create"),
			},
			status: 200,
			answer: `{"spreadsheetId":"1NewSheet","spreadsheetUrl":"https://docs.google.com/spreadsheets/d/1NewSheet/edit",
				"properties":{"title":"Leads 2026","locale":"en_GB","timeZone":"Europe/London","autoRecalc":"ON_CHANGE"},
				"sheets":[{"properties":{"sheetId":0,"title":"Leads","index":0,"sheetType":"GRID","gridProperties":{"rowCount":1000,"columnCount":26}}},
				{"properties":{"sheetId":1530195471,"title":"Archive","index":1,"sheetType":"GRID","gridProperties":{"rowCount":1000,"columnCount":26}}}]}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["spreadsheetId"] != "1NewSheet" {
					t.Errorf("out = %v", out)
				}
			},
		},
	}
}

func gmailCases() []requestCase {
	auth := map[string]string{"Authorization": "Bearer " + tok}
	authJSON := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC}
	return []requestCase{
		{
			connector: "gmail", action: "send_email",
			params: map[string]any{"to": []any{"Ada Lovelace <ada@example.com>", "bob@example.com"}, "subject": "Grüße", "body": "Hello,\nworld"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/gmail/v1/users/me/messages/send",
				header:    authJSON,
				check:     checkGmailRaw,
				operation: gmailOp("gmail.users.messages.send"),
			},
			status: 200, answer: `{"id":"18c2f","threadId":"18c2f","labelIds":["SENT"]}`,
		},
		{
			// A reply: threadId, and the headers Gmail threads by.
			connector: "gmail", action: "send_email",
			params: map[string]any{"to": "ada@example.com", "subject": "Re: Lunch", "body": "Yes", "thread_id": "18c2e", "in_reply_to": "<CAF=abc123@mail.gmail.com>"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/gmail/v1/users/me/messages/send",
				header:    authJSON,
				check:     checkGmailReply("18c2e", "<CAF=abc123@mail.gmail.com>", false),
				operation: gmailOp("gmail.users.messages.send"),
			},
			status: 200, answer: `{"id":"18c30","threadId":"18c2e","labelIds":["SENT"]}`,
		},
		{
			connector: "gmail", action: "list_messages",
			params: map[string]any{"query": "from:ada is:unread", "max_results": float64(5), "label_ids": []any{"INBOX", "UNREAD"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/gmail/v1/users/me/messages",
				query:     url.Values{"q": {"from:ada is:unread"}, "maxResults": {"5"}, "labelIds": {"INBOX", "UNREAD"}},
				header:    auth,
				operation: gmailOp("gmail.users.messages.list"),
			},
			status: 200, answer: `{"messages":[{"id":"1","threadId":"1"}],"resultSizeEstimate":1}`,
		},
		{
			connector: "gmail", action: "get_message",
			params: map[string]any{"message_id": "18c2f", "format": "metadata", "metadata_headers": []any{"Subject", "Message-ID"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/gmail/v1/users/me/messages/18c2f",
				query:     url.Values{"format": {"metadata"}, "metadataHeaders": {"Subject", "Message-ID"}},
				header:    auth,
				operation: gmailOp("gmail.users.messages.get"),
			},
			status: 200,
			answer: `{"id":"18c2f","threadId":"18c2e","labelIds":["INBOX"],"snippet":"Lunch?","historyId":"4242","internalDate":"1700000000000","sizeEstimate":2048,
				"payload":{"mimeType":"text/plain","headers":[{"name":"Subject","value":"Lunch"},{"name":"Message-ID","value":"<CAF=abc123@mail.gmail.com>"}]}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["threadId"] != "18c2e" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "gmail", action: "create_draft",
			params: map[string]any{"to": "ada@example.com", "subject": "Re: Lunch", "body": "<p>Yes</p>", "html": true, "thread_id": "18c2e", "in_reply_to": "<CAF=abc123@mail.gmail.com>"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/gmail/v1/users/me/drafts",
				header:    authJSON,
				check:     checkGmailReply("18c2e", "<CAF=abc123@mail.gmail.com>", true),
				operation: gmailOp("gmail.users.drafts.create"),
			},
			status: 200, answer: `{"id":"r-123","message":{"id":"18c31","threadId":"18c2e","labelIds":["DRAFT"]}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["id"] != "r-123" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "gmail", action: "modify_labels",
			params: map[string]any{"message_id": "18c2f", "add_label_ids": "STARRED", "remove_label_ids": []any{"UNREAD", "INBOX"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/gmail/v1/users/me/messages/18c2f/modify",
				header:    authJSON,
				json:      `{"addLabelIds":["STARRED"],"removeLabelIds":["UNREAD","INBOX"]}`,
				operation: gmailOp("gmail.users.messages.modify"),
			},
			status: 200, answer: `{"id":"18c2f","threadId":"18c2e","labelIds":["STARRED"]}`,
		},
	}
}

// checkGmailRaw decodes the base64url "raw" message and checks it is the
// RFC 5322 message Gmail documents.
func checkGmailRaw(t *testing.T, body []byte) {
	t.Helper()
	var b struct {
		Raw string `json:"raw"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Raw == "" {
		t.Fatalf("body %s: %v", body, err)
	}
	msg := readRaw(t, b.Raw)
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ada@example.com" || to[0].Name != "Ada Lovelace" || to[1].Address != "bob@example.com" {
		t.Errorf("To = %v, %v", to, err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != "Grüße" {
		t.Errorf("Subject = %q (%q), %v", subj, msg.Header.Get("Subject"), err)
	}
	if !strings.HasPrefix(msg.Header.Get("Content-Type"), "text/plain") || msg.Header.Get("Content-Transfer-Encoding") != "base64" {
		t.Errorf("content headers %v", msg.Header)
	}
	if msg.Header.Get("In-Reply-To") != "" || msg.Header.Get("References") != "" {
		t.Errorf("a new message names a parent: %v", msg.Header)
	}
	text, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
	if string(text) != "Hello,\nworld" {
		t.Errorf("body = %q", text)
	}
}

// checkGmailReply checks a reply's Message (a Draft's message when
// draft): threadId, and In-Reply-To and References naming the parent.
func checkGmailReply(threadID, parent string, draft bool) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		type message struct {
			Raw      string `json:"raw"`
			ThreadID string `json:"threadId"`
		}
		var m message
		if draft {
			var d struct {
				Message message `json:"message"`
			}
			if err := json.Unmarshal(body, &d); err != nil {
				t.Fatal(err)
			}
			m = d.Message
		} else if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if m.ThreadID != threadID {
			t.Errorf("threadId = %q, want %q", m.ThreadID, threadID)
		}
		msg := readRaw(t, m.Raw)
		if got := msg.Header.Get("In-Reply-To"); got != parent {
			t.Errorf("In-Reply-To = %q, want %q", got, parent)
		}
		if got := msg.Header.Get("References"); got != parent {
			t.Errorf("References = %q, want %q", got, parent)
		}
		if !strings.HasPrefix(msg.Header.Get("Subject"), "Re: ") {
			t.Errorf("Subject = %q", msg.Header.Get("Subject"))
		}
	}
}

// readRaw decodes a base64url raw message as RFC 5322.
func readRaw(t *testing.T, raw string) *mail.Message {
	t.Helper()
	if strings.ContainsAny(raw, "+/") {
		t.Errorf("raw is not base64url: %q", raw)
	}
	b, err := base64.URLEncoding.DecodeString(raw)
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	if !strings.Contains(string(b), "\r\n\r\n") {
		t.Error("message lines do not end in CRLF")
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, b)
	}
	return msg
}

// Documented failures of the methods (Google's error model; the rate
// limits of docs-rules google.rate_limit), mapped as the package says.
func TestGoogleDocumentedFailures(t *testing.T) {
	const (
		notFound  = `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`
		exhausted = `{"error":{"code":429,"message":"Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user'","status":"RESOURCE_EXHAUSTED"}}`
		rate403   = `{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}],"status":"PERMISSION_DENIED"}}`
		user403   = `{"error":{"code":403,"message":"User-rate limit exceeded.","errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded","message":"User-rate limit exceeded."}]}}`
		denied    = `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`
		badRange  = `{"error":{"code":400,"message":"Unable to parse range: Nope!A1","status":"INVALID_ARGUMENT"}}`
		expired   = `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`
		badLabel  = `{"error":{"code":400,"message":"Invalid label: NOPE","errors":[{"message":"Invalid label: NOPE","domain":"global","reason":"invalidArgument"}],"status":"INVALID_ARGUMENT"}}`
	)
	update := map[string]any{"spreadsheet_id": "1Bxi", "range": "Sheet1!A1", "values": []any{[]any{"x"}}}
	msg := map[string]any{"message_id": "18c2f"}
	draft := map[string]any{"to": "ada@example.com", "subject": "s", "body": "b"}
	runFailureCases(t, []documentedFailure{
		{"404", "google-sheets", "update_values", update, sheetsOp("sheets.spreadsheets.values.update"), 404, nil, notFound, connectors.EUpstream, "Requested entity was not found."},
		{"429", "google-sheets", "update_values", update, sheetsOp("sheets.spreadsheets.values.update"), 429, map[string]string{"Retry-After": "7"}, exhausted, connectors.ERateLimited, "Quota exceeded"},
		{"403 rateLimitExceeded", "google-sheets", "append_values", update, sheetsOp("sheets.spreadsheets.values.append"), 403, nil, rate403, connectors.ERateLimited, "Rate Limit Exceeded"},
		{"400 range", "google-sheets", "clear_values", map[string]any{"spreadsheet_id": "1Bxi", "range": "Nope!A1"}, sheetsOp("sheets.spreadsheets.values.clear"), 400, nil, badRange, connectors.EUpstream, "Unable to parse range"},
		{"403 denied", "google-sheets", "create_spreadsheet", map[string]any{"title": "t"}, sheetsOp("sheets.spreadsheets.create"), 403, nil, denied, connectors.EUpstream, "does not have permission"},
		{"401", "google-sheets", "get_values", map[string]any{"spreadsheet_id": "1Bxi", "range": "A1"}, sheetsOp("sheets.spreadsheets.values.get"), 401, nil, expired, connectors.EUnauthorized, "UNAUTHENTICATED"},
		{"404", "gmail", "get_message", msg, gmailOp("gmail.users.messages.get"), 404, nil, notFound, connectors.EUpstream, "Requested entity was not found."},
		{"400 label", "gmail", "modify_labels", map[string]any{"message_id": "18c2f", "add_label_ids": "NOPE"}, gmailOp("gmail.users.messages.modify"), 400, nil, badLabel, connectors.EUpstream, "Invalid label: NOPE"},
		{"404", "gmail", "modify_labels", map[string]any{"message_id": "gone", "add_label_ids": "STARRED"}, gmailOp("gmail.users.messages.modify"), 404, nil, notFound, connectors.EUpstream, "not found"},
		{"403 userRateLimitExceeded", "gmail", "create_draft", draft, gmailOp("gmail.users.drafts.create"), 403, nil, user403, connectors.ERateLimited, "User-rate limit exceeded."},
		{"429", "gmail", "send_email", draft, gmailOp("gmail.users.messages.send"), 429, nil, exhausted, connectors.ERateLimited, "Quota exceeded"},
		{"401", "gmail", "list_messages", nil, gmailOp("gmail.users.messages.list"), 401, nil, expired, connectors.EUnauthorized, "UNAUTHENTICATED"},
	})
}

// The actions' rules between fields are in their input schemas.
func TestGoogleConstraints(t *testing.T) {
	cat := testCatalogue(t)
	mail := map[string]any{"to": "ada@example.com", "subject": "s", "body": "b"}
	with := func(base map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		connector, action string
		params            map[string]any
		wantField         string // "" when valid
	}{
		{"gmail", "send_email", with(mail, "thread_id", "t1", "in_reply_to", "<a@b.c>"), ""},
		{"gmail", "send_email", with(mail, "thread_id", "t1"), "in_reply_to"},
		{"gmail", "send_email", with(mail, "in_reply_to", "a@b.c"), "in_reply_to"},
		{"gmail", "send_email", with(mail, "in_reply_to", "<a@b.c>\r\nBcc: x@y.z"), "in_reply_to"},
		{"gmail", "create_draft", with(mail, "thread_id", "t1"), "in_reply_to"},
		{"gmail", "create_draft", with(mail, "to", "not an address"), "to[0]"},
		{"gmail", "get_message", map[string]any{"message_id": "1", "metadata_headers": "Subject"}, "format"},
		{"gmail", "get_message", map[string]any{"message_id": "1", "format": "full", "metadata_headers": "Subject"}, "format"},
		{"gmail", "get_message", map[string]any{"message_id": ".."}, "message_id"},
		{"gmail", "modify_labels", map[string]any{"message_id": "1"}, "add_label_ids"},
		{"gmail", "modify_labels", map[string]any{"message_id": "1", "remove_label_ids": "UNREAD"}, ""},
		{"google-sheets", "update_values", map[string]any{"spreadsheet_id": "s", "range": "A1", "values": []any{[]any{"a"}}, "value_input_option": "PARSED"}, "value_input_option"},
		{"google-sheets", "clear_values", map[string]any{"spreadsheet_id": "s"}, "range"},
		{"google-sheets", "create_spreadsheet", map[string]any{"title": "t", "locale": "English"}, "locale"},
		{"google-sheets", "create_spreadsheet", map[string]any{"title": " "}, "title"},
	}
	for _, tt := range tests {
		a, _ := cat.Lookup(tt.connector, tt.action)
		checkParamErr(t, tt.connector+"."+tt.action, tt.params, a.Validate(tt.params), tt.wantField)
	}
}

// Every scope a Google action needs is one its method's description
// lists.
func TestGoogleScopesAreTheMethods(t *testing.T) {
	cat := testCatalogue(t)
	for _, id := range []string{"google-sheets", "gmail"} {
		infos, _ := cat.Describe(id)
		for _, a := range infos {
			file, opID, _ := strings.Cut(a.Operation, " ")
			m, ok := loadDiscovery(t, file).method(opID)
			if !ok {
				t.Errorf("%s.%s: %s has no method %s", id, a.Name, file, opID)
				continue
			}
			if len(a.Scopes) == 0 {
				t.Errorf("%s.%s declares no scope", id, a.Name)
			}
			for _, entry := range a.Scopes {
				for _, alt := range strings.Split(entry, "|") {
					if !contains(m.Scopes, alt) {
						t.Errorf("%s.%s: scope %s is not one of %s's %v", id, a.Name, alt, opID, m.Scopes)
					}
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// The checker finds what a request or an answer gets wrong.
func TestDiscoveryCheckerRefuses(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer x"}}
	req := func(method, path, query, body string) sentRequest {
		return sentRequest{method, &url.URL{Path: path, RawPath: path, RawQuery: query}, h, []byte(body)}
	}
	okUpdate := `{"spreadsheetId":"s","updatedRows":1}`
	tests := []struct {
		name, file, opID string
		r                sentRequest
		status           int
		answer           string
		want             string // substring of a finding; "" for none
	}{
		{"valid", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW", `{"values":[["a"]]}`), 200, okUpdate, ""},
		{"method", sheetsSpec, "sheets.spreadsheets.values.update", req("POST", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW", `{"values":[["a"]]}`), 200, okUpdate, "the document says PUT"},
		{"range with a slash", sheetsSpec, "sheets.spreadsheets.values.clear", req("POST", "/v4/spreadsheets/s/values/a/b:clear", "", `{}`), 200, `{}`, "does not match"},
		{"undeclared query", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW&insertDataOption=OVERWRITE", `{}`), 200, okUpdate, `"insertDataOption" is not declared`},
		{"enum", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=PARSED", `{}`), 200, okUpdate, "is not one of"},
		{"boolean", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW&includeValuesInResponse=yes", `{}`), 200, okUpdate, "is not a boolean"},
		{"docs-required query", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "", `{}`), 200, okUpdate, "valueInputOption is missing"},
		{"undeclared body property", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW", `{"rows":[["a"]]}`), 200, okUpdate, "body.rows is not a property"},
		{"body enum", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW", `{"majorDimension":"ROW"}`), 200, okUpdate, "body.majorDimension"},
		{"answer type", sheetsSpec, "sheets.spreadsheets.values.update", req("PUT", "/v4/spreadsheets/s/values/A1", "valueInputOption=RAW", `{}`), 200, `{"spreadsheetId":"s","updatedRows":"1"}`, "answer.updatedRows is string"},
		{"answer property", sheetsSpec, "sheets.spreadsheets.values.clear", req("POST", "/v4/spreadsheets/s/values/A1:clear", "", `{}`), 200, `{"cleared":"A1"}`, "answer.cleared is not a property"},
		{"nested body", sheetsSpec, "sheets.spreadsheets.create", req("POST", "/v4/spreadsheets", "", `{"properties":{"name":"x"}}`), 200, `{}`, "body.properties.name is not a property"},
		{"read-only in a request", sheetsSpec, "sheets.spreadsheets.create", req("POST", "/v4/spreadsheets", "", `{"dataSourceSchedules":[]}`), 200, `{}`, "is read-only"},
		{"annotated required", gmailSpec, "gmail.users.drafts.create", req("POST", "/gmail/v1/users/me/drafts", "", `{"message":{"threadId":"t"}}`), 200, `{"id":"d"}`, "body.message.raw is required"},
		{"repeated", gmailSpec, "gmail.users.messages.get", req("GET", "/gmail/v1/users/me/messages/1", "format=raw&format=full", ""), 200, `{"id":"1"}`, "is not repeated"},
		{"body on a GET", gmailSpec, "gmail.users.messages.get", req("GET", "/gmail/v1/users/me/messages/1", "", `{}`), 200, `{"id":"1"}`, "takes no body"},
		{"int64 string", gmailSpec, "gmail.users.messages.get", req("GET", "/gmail/v1/users/me/messages/1", "", ""), 200, `{"id":"1","historyId":"abc"}`, "is not a uint64"},
		{"error model", gmailSpec, "gmail.users.messages.get", req("GET", "/gmail/v1/users/me/messages/1", "", ""), 404, `{"message":"not found"}`, "error answer"},
		{"unknown method", gmailSpec, "gmail.users.messages.trash", req("POST", "/gmail/v1/users/me/messages/1/trash", "", ""), 200, `{}`, "has no method"},
	}
	for _, tt := range tests {
		errs := discoveryErrors(t, tt.file, tt.opID, tt.r, tt.status, []byte(tt.answer))
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
