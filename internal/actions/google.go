package actions

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// Google APIs report failures as {"error":{"code","message","status",
// "errors":[{"reason"}]}}. Quota errors may come as 403 with reason
// rateLimitExceeded or userRateLimitExceeded rather than 429.
func googleClassify(status int, body []byte) (code, message string) {
	if status != http.StatusForbidden {
		return "", ""
	}
	var env struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", ""
	}
	reasons := make([]string, 0, 2)
	for _, e := range env.Error.Errors {
		reasons = append(reasons, e.Reason)
	}
	for _, d := range env.Error.Details {
		reasons = append(reasons, d.Reason)
	}
	for _, r := range reasons {
		switch r {
		case "rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED":
			return connectors.ERateLimited, env.Error.Message
		}
	}
	return "", ""
}

// Google OAuth scopes the actions need.
const (
	scopeSheets         = "https://www.googleapis.com/auth/spreadsheets"
	scopeSheetsReadonly = "https://www.googleapis.com/auth/spreadsheets.readonly"
	scopeDriveFile      = "https://www.googleapis.com/auth/drive.file"
	scopeGmailSend      = "https://www.googleapis.com/auth/gmail.send"
	scopeGmailReadonly  = "https://www.googleapis.com/auth/gmail.readonly"
	scopeGmailCompose   = "https://www.googleapis.com/auth/gmail.compose"
	scopeGmailModify    = "https://www.googleapis.com/auth/gmail.modify"
)

// Parameters the Sheets actions share.
var (
	sheetsSpreadsheetID = Param{Name: "spreadsheet_id", Kind: String, Required: true, Segment: true, Description: "ID of the spreadsheet, from its URL (docs.google.com/spreadsheets/d/<id>/...)."}
	sheetsValues        = Param{Name: "values", Kind: Rows, Required: true, Description: "Rows of cell values, each row a list of cells (text, numbers, booleans or null)."}
	sheetsValueInput    = Param{Name: "value_input_option", Kind: String, Enum: []string{"RAW", "USER_ENTERED"}, Description: "RAW stores values as given; USER_ENTERED parses them as if typed (formulas, dates). USER_ENTERED when not given."}
)

// sheetsRange is the A1 range parameter, described for what the action
// does with it.
func sheetsRange(what string) Param {
	return Param{Name: "range", Kind: String, Required: true, Segment: true, SingleLine: true, Description: "A1 notation of the range " + what + ", e.g. Sheet1!A1:D10."}
}

// sheetsValueRange is the ValueRange schema of the Sheets API.
const sheetsValueRange = `{"type":"object","properties":{"range":{"type":"string"},"majorDimension":{"enum":["DIMENSION_UNSPECIFIED","ROWS","COLUMNS"]},"values":{"type":"array","items":{"type":"array"}}}}`

// sheetsUpdateValues is the UpdateValuesResponse schema of the Sheets API.
const sheetsUpdateValues = `{"type":"object","properties":{"spreadsheetId":{"type":"string"},"updatedRange":{"type":"string"},
	"updatedRows":{"type":"integer"},"updatedColumns":{"type":"integer"},"updatedCells":{"type":"integer"},"updatedData":` + sheetsValueRange + `}}`

// sheetsActions builds the connector's actions: Sheets API v4,
// spreadsheets and spreadsheets.values
// (https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values).
// The values methods' docs say "The caller must specify ... a
// valueInputOption", which the discovery document does not mark required:
// the write actions always send one.
func sheetsActions() connector {
	return connector{provider: &provider{id: "google-sheets", auth: bearer, classify: googleClassify}, actions: []*spec{
		{
			name:       "append_values",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "google-sheets-v4.json sheets.spreadsheets.values.append",
			scopes:     []string{scopeSheets},
			params: []Param{
				sheetsSpreadsheetID, sheetsRange("whose table the rows are appended to"), sheetsValues, sheetsValueInput,
				{Name: "insert_data_option", Kind: String, Enum: []string{"INSERT_ROWS", "OVERWRITE"}, Description: "INSERT_ROWS inserts new rows for the data; OVERWRITE writes over the cells after the table. INSERT_ROWS when not given."},
			},
			output: `{"type":"object","required":["spreadsheetId"],"properties":{"spreadsheetId":{"type":"string"},"tableRange":{"type":"string"},"updates":` + sheetsUpdateValues + `}}`,
			// POST .../values/{range}:append?valueInputOption=... Not
			// idempotent: a retry after a lost answer appends the rows
			// again (the API has no request id for values.append).
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/spreadsheets/" + seg(a.str("spreadsheet_id")) + "/values/" + seg(a.str("range")) + ":append"
				c.query = url.Values{
					"valueInputOption": {orDefault(a.str("value_input_option"), "USER_ENTERED")},
					"insertDataOption": {orDefault(a.str("insert_data_option"), "INSERT_ROWS")},
				}
				return c.json(map[string]any{"majorDimension": "ROWS", "values": a.rows("values")})
			},
		},
		{
			name:       "get_values",
			credential: registry.CredentialConnection,
			operation:  "google-sheets-v4.json sheets.spreadsheets.values.get",
			scopes:     []string{scopeSheetsReadonly + "|" + scopeSheets},
			params: []Param{
				sheetsSpreadsheetID, sheetsRange("to read"),
				{Name: "major_dimension", Kind: String, Enum: []string{"ROWS", "COLUMNS"}, Description: "Whether values come as rows or as columns. ROWS when not given."},
				{Name: "value_render_option", Kind: String, Enum: []string{"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"}, Description: "How values are rendered: as formatted, unformatted, or formulas. FORMATTED_VALUE when not given."},
			},
			// values is absent when the range is empty.
			output: `{"type":"object","required":["range"],"properties":{"range":{"type":"string"},"majorDimension":{"enum":["DIMENSION_UNSPECIFIED","ROWS","COLUMNS"]},"values":{"type":"array","items":{"type":"array"}}}}`,
			// GET .../values/{range}
			build: func(a args, _ Request, c *call) error {
				c.path = "/spreadsheets/" + seg(a.str("spreadsheet_id")) + "/values/" + seg(a.str("range"))
				c.query = url.Values{}
				if a.has("major_dimension") {
					c.query.Set("majorDimension", a.str("major_dimension"))
				}
				if a.has("value_render_option") {
					c.query.Set("valueRenderOption", a.str("value_render_option"))
				}
				return nil
			},
		},
		{
			name:       "update_values",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "google-sheets-v4.json sheets.spreadsheets.values.update",
			scopes:     []string{scopeSheets},
			params: []Param{
				sheetsSpreadsheetID, sheetsRange("to write"), sheetsValues, sheetsValueInput,
				{Name: "include_values_in_response", Kind: Bool, Description: "Answer with the cells' values after the update (updatedData)."},
			},
			output: `{"allOf":[` + sheetsUpdateValues + `],"required":["spreadsheetId"]}`,
			// PUT .../values/{range}?valueInputOption=... Idempotent by
			// nature: it sets the cells to the values, so a retry writes the
			// same values again.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPut
				c.path = "/spreadsheets/" + seg(a.str("spreadsheet_id")) + "/values/" + seg(a.str("range"))
				c.query = url.Values{"valueInputOption": {orDefault(a.str("value_input_option"), "USER_ENTERED")}}
				if v, ok := a.boolean("include_values_in_response"); ok {
					c.query.Set("includeValuesInResponse", strconv.FormatBool(v))
				}
				return c.json(map[string]any{"majorDimension": "ROWS", "values": a.rows("values")})
			},
		},
		{
			name:       "clear_values",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "google-sheets-v4.json sheets.spreadsheets.values.clear",
			scopes:     []string{scopeSheets},
			params:     []Param{sheetsSpreadsheetID, sheetsRange("to clear (values only; formatting is kept)")},
			output:     `{"type":"object","required":["spreadsheetId"],"properties":{"spreadsheetId":{"type":"string"},"clearedRange":{"type":"string"}}}`,
			// POST .../values/{range}:clear with an empty ClearValuesRequest.
			// Idempotent: clearing cleared cells changes nothing.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/spreadsheets/" + seg(a.str("spreadsheet_id")) + "/values/" + seg(a.str("range")) + ":clear"
				return c.json(map[string]any{})
			},
		},
		{
			name:       "create_spreadsheet",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "google-sheets-v4.json sheets.spreadsheets.create",
			// drive.file is enough for a spreadsheet the app creates.
			scopes: []string{scopeDriveFile + "|" + scopeSheets},
			params: []Param{
				{Name: "title", Kind: String, Required: true, SingleLine: true, Description: "Title of the new spreadsheet."},
				{Name: "sheet_titles", Kind: Strings, SingleLine: true, Description: "Titles of its sheets (tabs), in order; one sheet named Sheet1 when not given."},
				{Name: "locale", Kind: String, SingleLine: true, Pattern: `^[a-z]{2,3}(_[A-Z]{2})?$`, Description: "Locale of the spreadsheet, e.g. en_US."},
				{Name: "time_zone", Kind: String, SingleLine: true, Description: "Time zone of the spreadsheet, a CLDR name such as America/New_York."},
			},
			output: `{"type":"object","required":["spreadsheetId","spreadsheetUrl"],"properties":{"spreadsheetId":{"type":"string"},"spreadsheetUrl":{"type":"string"},
				"properties":{"type":"object","properties":{"title":{"type":"string"},"locale":{"type":"string"},"timeZone":{"type":"string"}}},
				"sheets":{"type":"array","items":{"type":"object","properties":{"properties":{"type":"object","properties":{"sheetId":{"type":"integer"},"title":{"type":"string"}}}}}}}}`,
			// POST /spreadsheets with a Spreadsheet. Not idempotent: each
			// request creates another spreadsheet (the API has no request
			// id), so a retry after a lost answer leaves two.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/spreadsheets"
				props := map[string]any{"title": a.str("title")}
				if a.has("locale") {
					props["locale"] = a.str("locale")
				}
				if a.has("time_zone") {
					props["timeZone"] = a.str("time_zone")
				}
				body := map[string]any{"properties": props}
				if titles := a.strs("sheet_titles"); len(titles) > 0 {
					sheets := make([]any, len(titles))
					for i, t := range titles {
						sheets[i] = map[string]any{"properties": map[string]any{"title": t}}
					}
					body["sheets"] = sheets
				}
				return c.json(body)
			},
		},
	}}
}

// gmailMessageID is a Message-ID header value: <left@right>.
const gmailMessageID = `^<[^<>\s@]+@[^<>\s@]+>$`

// gmailComposeParams are the parameters of the actions that write a
// message (send_email, create_draft).
func gmailComposeParams() []Param {
	return []Param{
		{Name: "to", Kind: Strings, Required: true, SingleLine: true, Description: "Recipients: addresses such as ada@example.com or \"Ada Lovelace <ada@example.com>\"; an entry may hold several, comma-separated."},
		{Name: "cc", Kind: Strings, SingleLine: true, Description: "Cc recipients, as to."},
		{Name: "bcc", Kind: Strings, SingleLine: true, Description: "Bcc recipients, as to."},
		{Name: "subject", Kind: String, Required: true, SingleLine: true, Max: 998, Description: "Subject. A reply must keep the thread's subject for Gmail to thread it."},
		{Name: "body", Kind: String, Required: true, Description: "Body of the message."},
		{Name: "html", Kind: Bool, Description: "The body is HTML rather than plain text."},
		{Name: "thread_id", Kind: String, SingleLine: true, Description: "Gmail thread ID to add the message to; needs in_reply_to."},
		{Name: "in_reply_to", Kind: String, SingleLine: true, Pattern: gmailMessageID, Description: "Message-ID header of the message replied to, e.g. <CAF=abc@mail.gmail.com>: sent as In-Reply-To and References."},
	}
}

// gmailThreading is the rule of the compose actions: Gmail adds a message
// to a thread only when "The References and In-Reply-To headers [are] set
// in compliance with the RFC 2822 standard" (Message.threadId in the
// discovery document), so a thread_id without the Message-ID it replies to
// would start a new conversation instead.
const gmailThreading = `{"if":{"required":["thread_id"]},"then":{"required":["in_reply_to"]}}`

// gmailMessage is the Message schema of the Gmail API, as the actions'
// outputs promise it.
const gmailMessage = `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"threadId":{"type":"string"},
	"labelIds":{"type":"array","items":{"type":"string"}},"snippet":{"type":"string"},"historyId":{"type":"string"},
	"internalDate":{"type":"string"},"sizeEstimate":{"type":"integer"},"raw":{"type":"string"},"payload":{"type":"object"}}}`

// gmailActions builds the connector's actions: Gmail API v1, users.messages
// and users.drafts
// (https://developers.google.com/gmail/api/reference/rest/v1/users.messages).
// Every request is the authenticated user's: userId "me".
//
// The compose actions keep checkAddresses as a rule: an address list with
// display names ("Ada <ada@example.com>, bob@example.com") is RFC 5322
// syntax, which JSON Schema's "email" format (one bare address) cannot say.
func gmailActions() connector {
	return connector{provider: &provider{id: "gmail", auth: bearer, classify: googleClassify}, actions: []*spec{
		{
			name:        "send_email",
			write:       true,
			credential:  registry.CredentialConnection,
			operation:   "gmail-v1.json gmail.users.messages.send",
			scopes:      []string{scopeGmailSend},
			params:      gmailComposeParams(),
			constraints: gmailThreading,
			rule:        checkAddresses,
			output:      gmailMessage,
			// users.messages.send: an RFC 5322 message, base64url, in "raw".
			// Not idempotent: Gmail has no request id, so a retry after a
			// lost answer sends the mail twice.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/users/me/messages/send"
				return c.json(gmailRaw(a))
			},
		},
		{
			name:       "list_messages",
			credential: registry.CredentialConnection,
			operation:  "gmail-v1.json gmail.users.messages.list",
			// gmail.metadata would be narrower, but it refuses q.
			scopes: []string{scopeGmailReadonly + "|" + scopeGmailModify},
			params: []Param{
				{Name: "query", Kind: String, Description: "Gmail search query, as in the search box, e.g. from:ada is:unread."},
				{Name: "max_results", Kind: Int, Min: 1, Max: 500, Description: "Most messages to return in one page (1-500); 20 when not given."},
				{Name: "page_token", Kind: String, SingleLine: true, Description: "nextPageToken of the previous page."},
				{Name: "label_ids", Kind: Strings, SingleLine: true, Description: "Only messages with all these label IDs, e.g. INBOX, UNREAD."},
			},
			// messages is absent when nothing matches.
			output: `{"type":"object","properties":{"messages":{"type":"array","items":{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"threadId":{"type":"string"}}}},
				"nextPageToken":{"type":"string"},"resultSizeEstimate":{"type":"integer"}}}`,
			// users.messages.list
			build: func(a args, _ Request, c *call) error {
				c.path = "/users/me/messages"
				q := url.Values{"maxResults": {strconv.FormatInt(defaultInt(a, "max_results", 20), 10)}}
				if a.has("query") {
					q.Set("q", a.str("query"))
				}
				if a.has("page_token") {
					q.Set("pageToken", a.str("page_token"))
				}
				for _, l := range a.strs("label_ids") {
					q.Add("labelIds", l)
				}
				c.query = q
				return nil
			},
		},
		{
			name:       "get_message",
			credential: registry.CredentialConnection,
			operation:  "gmail-v1.json gmail.users.messages.get",
			scopes:     []string{scopeGmailReadonly + "|" + scopeGmailModify},
			params: []Param{
				{Name: "message_id", Kind: String, Required: true, Segment: true, SingleLine: true, Description: "ID of the message, from list_messages."},
				{Name: "format", Kind: String, Enum: []string{"minimal", "full", "raw", "metadata"}, Description: "minimal: ids and labels; full: parsed payload; raw: the whole message base64url in raw; metadata: ids, labels and headers. full when not given."},
				{Name: "metadata_headers", Kind: Strings, SingleLine: true, Description: "With format metadata, only these headers, e.g. Subject, From."},
			},
			// metadataHeaders applies "When given and format is METADATA".
			constraints: `{"if":{"required":["metadata_headers"]},"then":{"required":["format"],"properties":{"format":{"const":"metadata"}}}}`,
			output:      gmailMessage,
			// users.messages.get
			build: func(a args, _ Request, c *call) error {
				c.path = "/users/me/messages/" + seg(a.str("message_id"))
				q := url.Values{}
				if a.has("format") {
					q.Set("format", a.str("format"))
				}
				for _, h := range a.strs("metadata_headers") {
					q.Add("metadataHeaders", h)
				}
				c.query = q
				return nil
			},
		},
		{
			name:        "create_draft",
			write:       true,
			credential:  registry.CredentialConnection,
			operation:   "gmail-v1.json gmail.users.drafts.create",
			scopes:      []string{scopeGmailCompose},
			params:      gmailComposeParams(),
			constraints: gmailThreading,
			rule:        checkAddresses,
			output:      `{"type":"object","required":["id","message"],"properties":{"id":{"type":"string"},"message":` + gmailMessage + `}}`,
			// users.drafts.create: a Draft whose message is the RFC 5322
			// message in raw. Not idempotent: each request creates another
			// draft (no request id), so a retry after a lost answer leaves
			// two drafts.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/users/me/drafts"
				return c.json(map[string]any{"message": gmailRaw(a)})
			},
		},
		{
			name:       "modify_labels",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "gmail-v1.json gmail.users.messages.modify",
			scopes:     []string{scopeGmailModify},
			params: []Param{
				{Name: "message_id", Kind: String, Required: true, Segment: true, SingleLine: true, Description: "ID of the message, from list_messages."},
				{Name: "add_label_ids", Kind: Strings, SingleLine: true, Schema: `{"maxItems":100}`, Description: "Label IDs to add (up to 100), e.g. STARRED."},
				{Name: "remove_label_ids", Kind: Strings, SingleLine: true, Schema: `{"maxItems":100}`, Description: "Label IDs to remove (up to 100), e.g. UNREAD to mark it read."},
			},
			constraints: `{"anyOf":[{"required":["add_label_ids"]},{"required":["remove_label_ids"]}]}`,
			output:      gmailMessage,
			// users.messages.modify. Idempotent: adding a label the message
			// has, or removing one it lacks, changes nothing.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/users/me/messages/"+seg(a.str("message_id"))+"/modify"
				body := map[string]any{}
				if a.has("add_label_ids") {
					body["addLabelIds"] = a.strs("add_label_ids")
				}
				if a.has("remove_label_ids") {
					body["removeLabelIds"] = a.strs("remove_label_ids")
				}
				return c.json(body)
			},
		},
	}}
}

// gmailRaw is the Message the compose actions send: the RFC 5322 message
// base64url-encoded in raw, and the thread it joins.
func gmailRaw(a args) map[string]any {
	m := map[string]any{"raw": base64.URLEncoding.EncodeToString(rfc5322(a))}
	if a.has("thread_id") {
		m["threadId"] = a.str("thread_id")
	}
	return m
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// parseAddresses parses each entry of a recipients list; an entry may hold
// several comma-separated addresses.
func parseAddresses(s *spec, field string, list []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for i, e := range list {
		addrs, err := mail.ParseAddressList(e)
		if err != nil {
			return nil, s.paramErr(field+"["+strconv.Itoa(i)+"]", "is not an email address list: %v", err)
		}
		out = append(out, addrs...)
	}
	return out, nil
}

// addresses parses a recipients list that the action's rule has accepted
// with parseAddresses, so it cannot fail.
func addresses(list []string) []*mail.Address {
	var out []*mail.Address
	for _, e := range list {
		addrs, _ := mail.ParseAddressList(e)
		out = append(out, addrs...)
	}
	return out
}

// rfc5322 writes the message Gmail sends: headers with RFC 2047 encoded
// words where needed, CRLF line ends, and a base64 body so any text is safe.
func rfc5322(a args) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	for _, f := range []struct{ key, name string }{{"to", "To"}, {"cc", "Cc"}, {"bcc", "Bcc"}} {
		addrs := addresses(a.strs(f.key))
		if len(addrs) == 0 {
			continue
		}
		parts := make([]string, len(addrs))
		for i, ad := range addrs {
			parts[i] = ad.String()
		}
		header(f.name, strings.Join(parts, ", "))
	}
	header("Subject", mime.QEncoding.Encode("utf-8", a.str("subject")))
	// A reply names the message it answers: Gmail threads a message with
	// threadId only when In-Reply-To and References are set (RFC 5322
	// 3.6.4). References should also carry the parent's own References;
	// the parent's Message-ID alone is what Gmail needs to thread.
	if id := a.str("in_reply_to"); id != "" {
		header("In-Reply-To", id)
		header("References", id)
	}
	header("MIME-Version", "1.0")
	ct := "text/plain"
	if html, _ := a.boolean("html"); html {
		ct = "text/html"
	}
	header("Content-Type", ct+`; charset="UTF-8"`)
	header("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(a.str("body")))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// checkAddresses is the rule of the mail actions (Gmail, Outlook): every
// address of to, cc and bcc parses.
func checkAddresses(s *spec, a args) error {
	for _, f := range []string{"to", "cc", "bcc"} {
		if _, err := parseAddresses(s, f, a.strs(f)); err != nil {
			return err
		}
	}
	return nil
}
