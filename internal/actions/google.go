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

// sheetsActions builds the connector's actions: Sheets API v4,
// spreadsheets.values
// (https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values).
func sheetsActions() connector {
	return connector{provider: &provider{id: "google-sheets", auth: bearer, classify: googleClassify}, actions: []*spec{
		{
			name:       "append_values",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "spreadsheet_id", Kind: String, Required: true, Segment: true},
				{Name: "range", Kind: String, Required: true, Segment: true, SingleLine: true},
				{Name: "values", Kind: Rows, Required: true},
				{Name: "value_input_option", Kind: String, Enum: []string{"RAW", "USER_ENTERED"}},
				{Name: "insert_data_option", Kind: String, Enum: []string{"INSERT_ROWS", "OVERWRITE"}},
			},
			// POST .../values/{range}:append?valueInputOption=...
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
			params: []Param{
				{Name: "spreadsheet_id", Kind: String, Required: true, Segment: true},
				{Name: "range", Kind: String, Required: true, Segment: true, SingleLine: true},
				{Name: "major_dimension", Kind: String, Enum: []string{"ROWS", "COLUMNS"}},
				{Name: "value_render_option", Kind: String, Enum: []string{"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"}},
			},
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
	}}
}

// gmailActions builds the connector's actions: Gmail API v1, users.messages
// (https://developers.google.com/gmail/api/reference/rest/v1/users.messages).
func gmailActions() connector {
	return connector{provider: &provider{id: "gmail", auth: bearer, classify: googleClassify}, actions: []*spec{
		{
			name:       "send_email",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "to", Kind: Strings, Required: true, SingleLine: true},
				{Name: "cc", Kind: Strings, SingleLine: true},
				{Name: "bcc", Kind: Strings, SingleLine: true},
				{Name: "subject", Kind: String, Required: true, SingleLine: true, Max: 998},
				{Name: "body", Kind: String, Required: true},
				{Name: "html", Kind: Bool},
				{Name: "thread_id", Kind: String, SingleLine: true},
			},
			rule: checkAddresses,
			// users.messages.send: an RFC 5322 message, base64url, in "raw".
			build: func(a args, _ Request, c *call) error {
				msg := rfc5322(a)
				c.method, c.path = http.MethodPost, "/users/me/messages/send"
				body := map[string]any{"raw": base64.URLEncoding.EncodeToString(msg)}
				if a.has("thread_id") {
					body["threadId"] = a.str("thread_id")
				}
				return c.json(body)
			},
		},
		{
			name:       "list_messages",
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "query", Kind: String},
				{Name: "max_results", Kind: Int, Min: 1, Max: 500},
				{Name: "page_token", Kind: String, SingleLine: true},
				{Name: "label_ids", Kind: Strings, SingleLine: true},
			},
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
	}}
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
