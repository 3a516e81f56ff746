package panoracontract

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

const (
	lu   = `{"id_linked_user":"801f9ede-c698-4e66-a7fc-48d19eebaa4f","linked_user_origin_id":"o/u","alias":"o","id_project":"801f9ede-c698-4e66-a7fc-48d19eebaa40"}`
	conn = `{"id_connection":"c","status":"valid","provider_slug":"hubspot","vertical":"crm","account_url":"https://api.hubapi.com","token_type":"oauth2","access_token":"x","refresh_token":"y","expiration_timestamp":"2024-10-01T12:00:00.000Z","created_at":"2024-10-01T12:00:00.000Z","connection_token":"t","id_project":"p","id_linked_user":"l"}`
	link = `{"id_invite_link":"801f9ede-c698-4e66-a7fc-48d19eebaa41","status":"generated","email":"","id_linked_user":"801f9ede-c698-4e66-a7fc-48d19eebaa4f","displayed_verticals":[],"displayed_providers":[]}`
	errA = `{"statusCode":500,"timestamp":"2024-10-01T12:00:00.000Z","path":"/passthrough","message":"boom"}`
)

// TestValidatorCatchesViolations proves the contract check can fail: each
// exchange breaks the document (or the source's shape) in one way.
func TestValidatorCatchesViolations(t *testing.T) {
	c := Load(t)
	tests := []struct {
		name, method, path, body string
		key, token               bool
		status                   int
		answer                   string
		wantErr                  string // "" = must pass
	}{
		{"valid create", "POST", "/linked_users", `{"linked_user_origin_id":"o/u","alias":"o"}`, true, false, 201, lu, ""},
		{"create without alias", "POST", "/linked_users", `{"linked_user_origin_id":"o/u"}`, true, false, 201, lu, "request"},
		{"no api key", "POST", "/linked_users", `{"linked_user_origin_id":"o/u","alias":"o"}`, false, false, 201, lu, "request"},
		{"answer missing a required field", "GET", "/linked_users/fromRemoteId?remoteId=x", "", true, false, 200, `{"id_linked_user":"a"}`, "answer"},
		{"lookup without remoteId", "GET", "/linked_users/fromRemoteId", "", true, false, 200, lu, "request"},
		{"empty lookup passes (lookup-empty-200)", "GET", "/linked_users/fromRemoteId?remoteId=x", "", true, false, 200, "", ""},
		{"valid list of connections", "GET", "/connections", "", true, false, 200, "[" + conn + "]", ""},
		{"connection without connection_token", "GET", "/connections", "", true, false, 200, `[{"id_connection":"c"}]`, "answer"},
		{"valid passthrough (201 patched)", "POST", "/passthrough", `{"method":"GET","path":"x","data":{},"request_format":"JSON","overrideBaseUrl":null}`, true, true, 201, `{"status":200,"statusText":"OK","headers":{},"data":{}}`, ""},
		{"passthrough with PATCH", "POST", "/passthrough", `{"method":"PATCH","path":"x","data":{},"request_format":"JSON","overrideBaseUrl":null}`, true, true, 201, `{}`, "request"},
		{"passthrough without the connection token", "POST", "/passthrough", `{"method":"GET","path":"x","data":{},"request_format":"JSON","overrideBaseUrl":null}`, true, false, 201, `{}`, "request"},
		{"passthrough request_format not a format", "POST", "/passthrough", `{"method":"GET","path":"x","data":{},"request_format":"XML","overrideBaseUrl":null}`, true, true, 201, `{}`, "request"},
		{"passthrough headers not strings", "POST", "/passthrough", `{"method":"GET","path":"x","data":{},"request_format":"JSON","overrideBaseUrl":null,"headers":{"a":1}}`, true, true, 201, `{}`, "request"},
		{"error in Panora's shape", "POST", "/passthrough", `{"method":"GET","path":"x","data":{},"request_format":"JSON","overrideBaseUrl":null}`, true, true, 500, errA, ""},
		{"error in another shape", "GET", "/connections", "", true, false, 500, `{"error":"boom"}`, "answer (undeclared-errors)"},
		{"magic link (source shape)", "POST", "/magic_links", `{"linked_user_origin_id":"o/u","email":"","alias":"o","id_project":"801f9ede-c698-4e66-a7fc-48d19eebaa40"}`, true, false, 201, link, ""},
		{"magic link without id_project", "POST", "/magic_links", `{"linked_user_origin_id":"o/u","email":"","alias":"o"}`, true, false, 201, link, "request (magic-links-not-in-document)"},
		{"magic link answer without id", "POST", "/magic_links", `{"linked_user_origin_id":"o/u","email":"","alias":"o","id_project":"801f9ede-c698-4e66-a7fc-48d19eebaa40"}`, true, false, 201, `{"status":"generated"}`, "answer (magic-links-not-in-document)"},
		{"unknown path", "GET", "/nope", "", true, false, 200, `{}`, "no operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			v := c.Transport(rec, nil)
			req := httptest.NewRequest(tt.method, "http://fake"+tt.path, strings.NewReader(tt.body))
			if tt.key {
				req.Header.Set("x-api-key", "k")
			}
			if tt.token {
				req.Header.Set("x-connection-token", "t")
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			h := http.Header{}
			if tt.answer != "" {
				h.Set("Content-Type", "application/json; charset=utf-8")
			}
			v.Check(req, []byte(tt.body), tt.status, h, []byte(tt.answer))
			got := strings.Join(rec.errs, "\n")
			if tt.wantErr == "" && got != "" {
				t.Errorf("unexpected contract errors:\n%s", got)
			}
			if tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Errorf("want a %q contract error, got %q", tt.wantErr, got)
			}
		})
	}
}

func TestEveryExceptionHasAReason(t *testing.T) {
	names := map[string]bool{}
	for _, ex := range Exceptions {
		if ex.Name == "" || ex.Why == "" {
			t.Errorf("exception %q lacks a name or reason", ex.Name)
		}
		if names[ex.Name] {
			t.Errorf("exception %q listed twice", ex.Name)
		}
		names[ex.Name] = true
	}
}

func TestWebhookShape(t *testing.T) {
	c := Load(t)
	data := strings.ReplaceAll(conn, `"`, `\"`)
	good := `{"id_event":"e","data":"` + data + `","type":"connection.created"}`
	for _, tt := range []struct{ name, body, want string }{
		{"good", good, ""},
		{"data an object", `{"id_event":"e","data":` + conn + `,"type":"connection.created"}`, "must be strings"},
		{"extra member", `{"id_event":"e","data":"{}","type":"crm.contact.created","x":1}`, "members"},
		{"not a connection", `{"id_event":"e","data":"{}","type":"connection.created"}`, "not a Connection"},
		{"html-escaped", `{"id_event":"e","data":"\u003c","type":"x"}`, "HTML-escaped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			c.CheckWebhook(rec, []byte(tt.body))
			got := strings.Join(rec.errs, "\n")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
