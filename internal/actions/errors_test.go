package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

func hasCode(err error, code string) bool {
	var ce *connectors.Error
	return errors.As(err, &ce) && ce.Code == code
}

// minimal valid parameters per connector, for error tests.
var sampleRuns = map[string]Request{
	"slack":           {Connector: "slack", Action: "send_message", Params: map[string]any{"channel": "C1", "text": "hi"}},
	"google-sheets":   {Connector: "google-sheets", Action: "get_values", Params: map[string]any{"spreadsheet_id": "s", "range": "A1"}},
	"gmail":           {Connector: "gmail", Action: "list_messages"},
	"salesforce":      {Connector: "salesforce", Action: "query", Params: map[string]any{"soql": "SELECT Id FROM Account"}},
	"hubspot":         {Connector: "hubspot", Action: "create_contact", Params: map[string]any{"properties": map[string]any{"email": "a@b.c"}}},
	"microsoft-teams": {Connector: "microsoft-teams", Action: "list_channels", Params: map[string]any{"team_id": "t"}},
	"outlook":         {Connector: "outlook", Action: "list_messages"},
	"discord":         {Connector: "discord", Action: "list_guilds"},
	"asana":           {Connector: "asana", Action: "list_tasks", Params: map[string]any{"project": "1"}},
	"shopify":         {Connector: "shopify", Action: "list_products"},
	"stripe":          {Connector: "stripe", Action: "list_customers"},
}

func TestErrorMapping(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		name        string
		connector   string
		status      int
		header      map[string]string
		body        string
		wantCode    string
		wantMsg     string // substring of the error message
		wantRetry   time.Duration
		wantProvErr bool
	}{
		{"slack ok:false", "slack", 200, nil, `{"ok":false,"error":"channel_not_found"}`, connectors.EUpstream, "channel_not_found", 0, true},
		{"slack ratelimited in body", "slack", 200, map[string]string{"Retry-After": "30"}, `{"ok":false,"error":"ratelimited"}`, connectors.ERateLimited, "ratelimited", 30 * time.Second, true},
		{"slack 429", "slack", 429, map[string]string{"Retry-After": "1"}, `{"ok":false,"error":"ratelimited"}`, connectors.ERateLimited, "ratelimited", time.Second, true},
		{"slack invalid_auth", "slack", 200, nil, `{"ok":false,"error":"invalid_auth"}`, connectors.EUnauthorized, "invalid_auth", 0, true},
		{"slack token_revoked", "slack", 200, nil, `{"ok":false,"error":"token_revoked"}`, connectors.EUnauthorized, "token_revoked", 0, true},
		{"slack internal_error", "slack", 200, nil, `{"ok":false,"error":"internal_error"}`, connectors.EUnavailable, "internal_error", 0, true},
		{"slack 503 html", "slack", 503, map[string]string{"Content-Type": "text/html"}, `<html>down</html>`, connectors.EUnavailable, "Service Unavailable", 0, true},
		{"google 401", "google-sheets", 401, nil, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`, connectors.EUnauthorized, "UNAUTHENTICATED: Request had invalid authentication credentials.", 0, true},
		{"google 400", "google-sheets", 400, nil, `{"error":{"code":400,"message":"Unable to parse range: Foo!A1","status":"INVALID_ARGUMENT"}}`, connectors.EUpstream, "Unable to parse range: Foo!A1", 0, true},
		{"google 403 quota", "gmail", 403, nil, `{"error":{"code":403,"message":"User-rate limit exceeded.","errors":[{"reason":"userRateLimitExceeded"}]}}`, connectors.ERateLimited, "User-rate limit exceeded.", 0, true},
		{"google 403 forbidden", "gmail", 403, nil, `{"error":{"code":403,"message":"Insufficient Permission","errors":[{"reason":"insufficientPermissions"}],"status":"PERMISSION_DENIED"}}`, connectors.EUpstream, "Insufficient Permission", 0, true},
		{"google 429 date", "gmail", 429, map[string]string{"Retry-After": time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}, `{}`, connectors.ERateLimited, "", 90 * time.Second, true},
		{"salesforce 401", "salesforce", 401, nil, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, connectors.EUnauthorized, "INVALID_SESSION_ID: Session expired or invalid", 0, true},
		{"salesforce 400", "salesforce", 400, nil, `[{"message":"No such column 'Foo' on entity 'Account'","errorCode":"INVALID_FIELD"}]`, connectors.EUpstream, "INVALID_FIELD: No such column", 0, true},
		{"hubspot 409", "hubspot", 409, nil, `{"status":"error","message":"Contact already exists. Existing ID: 512","correlationId":"x","category":"CONFLICT"}`, connectors.EUpstream, "CONFLICT: Contact already exists. Existing ID: 512", 0, true},
		{"hubspot 429 no header", "hubspot", 429, nil, `{"status":"error","message":"You have reached your secondly limit.","category":"RATE_LIMITS"}`, connectors.ERateLimited, "secondly limit", 0, true},
		{"graph 404", "microsoft-teams", 404, nil, `{"error":{"code":"NotFound","message":"No team found with Group Id t"}}`, connectors.EUpstream, "NotFound: No team found", 0, true},
		{"graph 429", "outlook", 429, map[string]string{"Retry-After": "12"}, `{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`, connectors.ERateLimited, "TooManyRequests", 12 * time.Second, true},
		{"graph 504", "outlook", 504, nil, ``, connectors.EUnavailable, "Gateway Timeout", 0, true},
		{"discord 403", "discord", 403, nil, `{"message":"Missing Access","code":50001}`, connectors.EUpstream, "50001: Missing Access", 0, true},
		{"discord 429 body", "discord", 429, nil, `{"message":"You are being rate limited.","retry_after":6.457,"global":false}`, connectors.ERateLimited, "rate limited", 6457 * time.Millisecond, true},
		{"asana 400", "asana", 400, nil, `{"errors":[{"message":"project: Not a recognized ID: 1","help":"..."}]}`, connectors.EUpstream, "project: Not a recognized ID: 1", 0, true},
		{"shopify access denied", "shopify", 200, nil, "{\"errors\":[{\"message\":\"Access denied for products field. Required access: `read_products` access scope.\",\"extensions\":{\"code\":\"ACCESS_DENIED\"}}],\"data\":null}", connectors.EForbidden, "access scope read_products", 0, true},
		{"shopify 429 fractional", "shopify", 429, map[string]string{"Retry-After": "2.0"}, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`, connectors.ERateLimited, "Exceeded 2 calls", 2 * time.Second, true},
		{"shopify 401", "shopify", 401, nil, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`, connectors.EUnauthorized, "Invalid API key", 0, true},
		{"stripe 402", "stripe", 402, nil, `{"error":{"code":"card_declined","message":"Your card was declined.","type":"card_error"}}`, connectors.EUpstream, "card_declined: Your card was declined.", 0, true},
		{"stripe 500", "stripe", 500, nil, `{"error":{"message":"An unknown error occurred","type":"api_error"}}`, connectors.EUnavailable, "An unknown error occurred", 0, true},
		{"408 is retryable", "stripe", 408, nil, ``, connectors.EUnavailable, "Request Timeout", 0, true},
		{"token echoed", "hubspot", 401, nil, `{"message":"The OAuth token used to make this call expired: ` + tok + ` Authorization: Bearer abc.def"}`, connectors.EUnauthorized, "[REDACTED]", 0, true},
		{"success not JSON", "stripe", 200, nil, `<html>ok</html>`, connectors.EUpstream, "not JSON", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			req := sampleRuns[tt.connector]
			req.Credentials = connectors.Credentials{AccessToken: tok}
			req.BaseURL = srv.URL
			out, err := cat.Run(context.Background(), srv.Client(), nil, req)
			if err == nil {
				t.Fatalf("Run succeeded with %v", out)
			}
			var ce *connectors.Error
			if !errors.As(err, &ce) || ce.Code != tt.wantCode {
				t.Fatalf("err = %v, want code %s", err, tt.wantCode)
			}
			if !strings.Contains(ce.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", ce.Message, tt.wantMsg)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "abc.def") {
				t.Errorf("error echoes a token: %v", err)
			}
			// An HTTP-date Retry-After loses up to a second to the clock.
			if ce.RetryAfter > tt.wantRetry || ce.RetryAfter < tt.wantRetry-2*time.Second {
				t.Errorf("RetryAfter = %v, want %v", ce.RetryAfter, tt.wantRetry)
			}
			if connectors.RetryAfter(err) != ce.RetryAfter {
				t.Error("connectors.RetryAfter disagrees")
			}
			var pe *ProviderError
			if errors.As(err, &pe) != tt.wantProvErr {
				t.Errorf("ProviderError cause: %v, want %v", pe, tt.wantProvErr)
			} else if pe != nil && pe.Status != tt.status {
				t.Errorf("ProviderError.Status = %d, want %d", pe.Status, tt.status)
			}
		})
	}
}

func TestTrelloProxyErrors(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		name     string
		p        *fakeProxy
		wantCode string
		wantMsg  string
	}{
		{"plain text 400", &fakeProxy{status: 400, header: http.Header{"Content-Type": {"text/plain"}}, body: "invalid id"}, connectors.EUpstream, "invalid id"},
		{"401", &fakeProxy{status: 401, body: "invalid token"}, connectors.EUnauthorized, "invalid token"},
		{"429", &fakeProxy{status: 429, header: http.Header{"Retry-After": {"10"}}, body: `{"message":"Rate limit exceeded"}`}, connectors.ERateLimited, "Rate limit exceeded"},
		{"proxy unreachable", &fakeProxy{err: errors.New("dial tcp: connection refused")}, connectors.EUnavailable, "unreachable"},
		{"proxy adapter classified", &fakeProxy{err: connectors.Errorf(connectors.EReauthRequired, "connection revoked")}, connectors.EReauthRequired, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cat.Run(context.Background(), nil, tt.p, Request{Connector: "trello", Action: "list_cards", Params: map[string]any{"list_id": "l"}})
			if !hasCode(err, tt.wantCode) || !strings.Contains(connectors.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("err = %v, want %s containing %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

type errDoer struct{ err error }

func (d errDoer) Do(*http.Request) (*http.Response, error) { return nil, d.err }

func TestNetworkErrorsAreUnavailable(t *testing.T) {
	cat := testCatalogue(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	for name, doer := range map[string]Doer{
		"connection refused": http.DefaultClient,
		"timeout":            errDoer{context.DeadlineExceeded},
	} {
		req := sampleRuns["stripe"]
		req.Credentials, req.BaseURL = connectors.Credentials{APIKey: "sk_x"}, url
		_, err := cat.Run(context.Background(), doer, nil, req)
		if !hasCode(err, connectors.EUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMissingCredentialsAreUnauthorized(t *testing.T) {
	cat := testCatalogue(t)
	for _, c := range []string{"slack", "shopify", "discord"} {
		req := sampleRuns[c]
		req.BaseURL = "http://127.0.0.1:1"
		if _, err := cat.Run(context.Background(), &countingDoer{}, nil, req); !hasCode(err, connectors.EUnauthorized) {
			t.Errorf("%s without credentials: %v", c, err)
		}
	}
}

func TestUnknownAction(t *testing.T) {
	cat := testCatalogue(t)
	for _, r := range []Request{{Connector: "slack", Action: "nuke"}, {Connector: "myspace", Action: "post"}} {
		if _, err := cat.Run(context.Background(), nil, nil, r); !hasCode(err, connectors.EUnknownConnector) {
			t.Errorf("%s.%s: %v", r.Connector, r.Action, err)
		}
	}
}

// captureDoer records the request and answers a canned response, in process.
type captureDoer struct {
	req    *http.Request
	status int
	body   string
}

func (d *captureDoer) Do(r *http.Request) (*http.Response, error) {
	d.req = r
	return &http.Response{StatusCode: d.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(d.body))}, nil
}

// TestBaseURLFromConnectionConfig checks the production path: the origin
// comes from the connection's instance_url or subdomain.
func TestBaseURLFromConnectionConfig(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		req     Request
		wantURL string
		answer  string // {} when not set
		wantErr string
	}{
		{
			req:     Request{Connector: "salesforce", Action: "query", Params: map[string]any{"soql": "SELECT Id FROM Account"}, Credentials: connectors.Credentials{AccessToken: tok, ConnectionConfig: map[string]string{"instance_url": "https://acme.my.salesforce.com"}}},
			wantURL: "https://acme.my.salesforce.com/services/data/v60.0/query/?q=SELECT+Id+FROM+Account",
		},
		{
			req:     Request{Connector: "shopify", Action: "list_products", Credentials: connectors.Credentials{AccessToken: "shpat", ConnectionConfig: map[string]string{"subdomain": "acme"}}},
			wantURL: "https://acme.myshopify.com/admin/api/2026-04/graphql.json",
			answer:  `{"data":{"products":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}`,
		},
		{
			req:     Request{Connector: "slack", Action: "list_channels", Credentials: connectors.Credentials{AccessToken: tok}},
			wantURL: "https://slack.com/api/conversations.list?exclude_archived=true&limit=100&types=public_channel",
		},
		{
			req:     Request{Connector: "salesforce", Action: "query", Params: map[string]any{"soql": "x"}, Credentials: connectors.Credentials{AccessToken: tok}},
			wantErr: connectors.EInvalid,
		},
		{
			req:     Request{Connector: "shopify", Action: "list_products", Credentials: connectors.Credentials{AccessToken: "shpat", ConnectionConfig: map[string]string{"subdomain": "evil.example/"}}},
			wantErr: connectors.EInvalid,
		},
	}
	for _, tt := range tests {
		d := &captureDoer{status: 200, body: `{}`}
		if tt.answer != "" {
			d.body = tt.answer
		}
		_, err := cat.Run(context.Background(), d, nil, tt.req)
		if tt.wantErr != "" {
			if !hasCode(err, tt.wantErr) || d.req != nil {
				t.Errorf("%s: err %v, request sent: %v", tt.req.Connector, err, d.req != nil)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.req.Connector, err)
			continue
		}
		if got := d.req.URL.String(); got != tt.wantURL {
			t.Errorf("%s: URL %s, want %s", tt.req.Connector, got, tt.wantURL)
		}
	}
}

func TestParamValidation(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		connector, action string
		params            map[string]any
		wantField         string // "" means valid
	}{
		{"slack", "send_message", map[string]any{"channel": "C1", "text": "hi"}, ""},
		{"slack", "send_message", map[string]any{"text": "hi"}, "channel"},
		{"slack", "send_message", map[string]any{"channel": "C1"}, "text"},
		{"slack", "send_message", map[string]any{"channel": float64(5), "text": "hi"}, "channel"},
		{"slack", "send_message", map[string]any{"channel": "  ", "text": "hi"}, "channel"},
		{"slack", "send_message", map[string]any{"channel": "C1", "text": "hi", "chanel": "typo"}, "chanel"},
		{"slack", "send_message", map[string]any{"channel": "C1", "blocks": []any{"x"}}, "blocks[0]"},
		{"slack", "list_channels", map[string]any{"limit": float64(0)}, "limit"},
		{"slack", "list_channels", map[string]any{"limit": 2.5}, "limit"},
		{"slack", "list_channels", map[string]any{"limit": "10"}, "limit"},
		{"slack", "list_channels", map[string]any{"types": []any{"public_channel", "dm"}}, "types[1]"},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "s", "range": "A1", "values": []any{[]any{"a"}}}, ""},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "s", "range": "A1", "values": []any{"a"}}, "values[0]"},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "s", "range": "A1", "values": []any{[]any{map[string]any{}}}}, "values[0][0]"},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "..", "range": "A1", "values": []any{[]any{"a"}}}, "spreadsheet_id"},
		{"google-sheets", "append_values", map[string]any{"spreadsheet_id": "s", "range": "A1", "values": []any{[]any{"a"}}, "value_input_option": "RAWISH"}, "value_input_option"},
		{"salesforce", "create_record", map[string]any{"sobject": "Account/../../x", "fields": map[string]any{"a": 1.0}}, "sobject"},
		{"salesforce", "create_record", map[string]any{"sobject": "Invoice__c", "fields": map[string]any{}}, "fields"},
		{"salesforce", "create_record", map[string]any{"sobject": "Invoice__c", "fields": "Name=x"}, "fields"},
		{"gmail", "send_email", map[string]any{"to": "a@example.com", "subject": "s", "body": "b"}, ""},
		{"gmail", "send_email", map[string]any{"to": "not an address", "subject": "s", "body": "b"}, "to[0]"},
		{"gmail", "send_email", map[string]any{"to": "a@example.com", "subject": "s\r\nBcc: victim@example.com", "body": "b"}, "subject"},
		{"gmail", "send_email", map[string]any{"to": "a@example.com", "subject": "s"}, "body"},
		{"outlook", "send_mail", map[string]any{"to": []any{"a@example.com", true}, "subject": "s", "body": "b"}, "to[1]"},
		{"asana", "create_task", map[string]any{"name": "n"}, "workspace"},
		{"asana", "create_task", map[string]any{"name": "n", "workspace": "1", "due_on": "tomorrow"}, "due_on"},
		{"asana", "list_tasks", map[string]any{}, "project"},
		{"asana", "list_tasks", map[string]any{"assignee": "me"}, "workspace"},
		{"asana", "list_tasks", map[string]any{"assignee": "me", "workspace": "1"}, ""},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"variant_id": 1.0, "quantity": 0.0}}}, "line_items[0].quantity"},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"quantity": 1.0}}}, "line_items[0].variant_id"},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"quantity": 1.0, "title": "Gift", "price": "5.00"}}, "currency": "USD"}, ""},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"quantity": 1.0, "title": "Gift", "price": "5.00"}}}, "currency"},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"quantity": 1.0, "title": "Gift"}}, "currency": "USD"}, "line_items[0].price"},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"quantity": 1.0, "variant_id": "gid://shopify/Product/1"}}}, "line_items[0].variant_id"},
		{"shopify", "get_order", map[string]any{"order_id": "gid://shopify/Customer/1"}, "order_id"},
		{"shopify", "create_customer", map[string]any{"note": "n"}, "email"},
		{"shopify", "create_customer", map[string]any{"phone": "613-555-1111"}, "phone"},
		{"shopify", "adjust_inventory", map[string]any{"changes": []any{map[string]any{"inventory_item_id": 1.0, "location_id": 1.0, "delta": 0.0}}}, "changes[0].delta"},
		{"shopify", "adjust_inventory", map[string]any{"changes": []any{map[string]any{"inventory_item_id": 1.0, "delta": 1.0}}}, "changes[0].location_id"},
		{"shopify", "list_products", map[string]any{"limit": 251.0}, "limit"},
		{"shopify", "create_order", map[string]any{"line_items": []any{}}, "line_items"},
		{"shopify", "create_order", map[string]any{"line_items": []any{map[string]any{"variant_id": 1.0, "quantity": 1.0}}, "financial_status": "free"}, "financial_status"},
		{"stripe", "create_customer", map[string]any{"metadata": map[string]any{"n": 1.0}}, "metadata.n"},
		{"discord", "send_message", map[string]any{"channel_id": "1", "content": strings.Repeat("x", 2001)}, "content"},
		{"discord", "send_message", map[string]any{"channel_id": "1", "content": "ok", "tts": "yes"}, "tts"},
		{"trello", "create_card", map[string]any{"name": "n"}, "list_id"},
		{"microsoft-teams", "send_channel_message", map[string]any{"team_id": "t", "channel_id": "c", "content": "x", "content_type": "markdown"}, "content_type"},
		{"hubspot", "search_contacts", map[string]any{"limit": 201.0}, "limit"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s.%s/%s", tt.connector, tt.action, tt.wantField)
		a, ok := cat.Lookup(tt.connector, tt.action)
		if !ok {
			t.Fatalf("%s: no such action", name)
		}
		err := a.Validate(tt.params)
		if tt.wantField == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		var pe *ParamError
		if !hasCode(err, connectors.EInvalid) || !errors.As(err, &pe) || pe.Field != tt.wantField {
			t.Errorf("%s: err = %v, want EInvalid naming %q", name, err, tt.wantField)
			continue
		}
		if !strings.Contains(connectors.ErrorMessage(err), `"`+tt.wantField+`"`) {
			t.Errorf("%s: message %q does not name the field", name, connectors.ErrorMessage(err))
		}
		// Run refuses the same parameters before any request.
		d := &countingDoer{}
		if _, err := cat.Run(context.Background(), d, &fakeProxy{}, Request{Connector: tt.connector, Action: tt.action, Params: tt.params, Credentials: connectors.Credentials{AccessToken: tok}}); !hasCode(err, connectors.EInvalid) || d.n != 0 {
			t.Errorf("%s: Run err %v after %d requests", name, err, d.n)
		}
	}
}

func TestCredentialsNeverPrint(t *testing.T) {
	c := connectors.Credentials{AccessToken: "at-SECRET1", OAuthToken: "ot-SECRET2", OAuthTokenSecret: "os-SECRET3", APIKey: "ak-SECRET4", ConnectionConfig: map[string]string{"subdomain": "acme"}}
	req := Request{Connector: "slack", Action: "send_message", Params: map[string]any{"text": "hi"}, Credentials: c}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("run", "credentials", c, "request", req)
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c),
		fmt.Sprintf("%v %+v %#v", req, req, req), fmt.Sprintf("%v", &req),
		logs.String(),
	}
	if b, err := jsonMarshal(c); err == nil {
		outputs = append(outputs, string(b))
	}
	if b, err := jsonMarshal(req); err == nil {
		outputs = append(outputs, string(b))
	}
	for _, out := range outputs {
		if strings.Contains(out, "SECRET") {
			t.Errorf("a credential printed: %s", out)
		}
	}
	if !strings.Contains(fmt.Sprint(c), "AccessToken:[REDACTED]") || !strings.Contains(logs.String(), `"access_token":true`) {
		t.Errorf("redacted forms lost the presence markers: %s / %s", c, logs.String())
	}
}

func jsonMarshal(v any) ([]byte, error) { return marshalJSON(v) }

// TestActionsMatchRegistry keeps the registry's action lists and this
// package's actions the same set, and every connector with a write and a
// read.
func TestActionsMatchRegistry(t *testing.T) {
	cat := testCatalogue(t)
	n := 0
	for _, m := range cat.Registry().All() {
		for _, name := range m.Actions {
			a, ok := cat.Lookup(m.ID, name)
			if !ok {
				t.Errorf("registry lists %s.%s, which has no implementation", m.ID, name)
				continue
			}
			n++
			if a.Connector() != m.ID || a.Name() != name || len(a.Params()) == 0 {
				t.Errorf("%s.%s: %s.%s with %d params", m.ID, name, a.Connector(), a.Name(), len(a.Params()))
			}
		}
		writes := 0
		for _, name := range m.Actions {
			if a, ok := cat.Lookup(m.ID, name); ok && a.Write() {
				writes++
			}
		}
		if writes == 0 || writes == len(m.Actions) {
			t.Errorf("%s: %d writes of %d actions, want a write and a read", m.ID, writes, len(m.Actions))
		}
	}
	if len(cat.byKey) != n {
		t.Errorf("%d actions implemented, %d in the registry", len(cat.byKey), n)
	}
}
