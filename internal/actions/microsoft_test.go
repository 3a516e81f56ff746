package actions

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

func init() { moreCases = append(moreCases, teamsCases, outlookCases) }

const (
	teamID    = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
	channelID = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
	chatID    = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2"
	mailID    = "AAMkAGUAAAwTW09AAA="
)

func graphOp(path string) [2]string { return [2]string{"msgraph-v1.0.json", path} }

// teamsCases are Microsoft Teams' actions as Graph documents them.
func teamsCases() []requestCase {
	auth := map[string]string{"Authorization": "Bearer " + tok}
	post := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC}
	return []requestCase{
		{
			connector: "microsoft-teams", action: "send_channel_message",
			params: map[string]any{"team_id": teamID, "channel_id": channelID, "content": "<b>Hello</b>", "content_type": "html", "subject": "Deploy"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/teams/" + teamID + "/channels/" + channelID + "/messages",
				header:    post,
				json:      `{"body":{"contentType":"html","content":"<b>Hello</b>"},"subject":"Deploy"}`,
				operation: graphOp("teams/channels/messages"),
			},
			status: 201, answer: `{"id":"1616990032035","messageType":"message","createdDateTime":"2026-03-29T04:33:52.035Z","subject":"Deploy","body":{"contentType":"html","content":"<b>Hello</b>"}}`,
		},
		{
			connector: "microsoft-teams", action: "list_channels",
			params: map[string]any{"team_id": teamID},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/teams/" + teamID + "/channels",
				header: auth, operation: graphOp("teams/channels"),
			},
			status: 200, answer: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#teams('` + teamID + `')/channels","value":[{"id":"` + channelID + `","displayName":"General","membershipType":"standard"}]}`,
		},
		{
			connector: "microsoft-teams", action: "reply_to_message",
			params: map[string]any{"team_id": teamID, "channel_id": channelID, "message_id": "1616990032035", "content": "On it"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/teams/" + teamID + "/channels/" + channelID + "/messages/1616990032035/replies",
				header:    post,
				json:      `{"body":{"contentType":"text","content":"On it"}}`,
				operation: graphOp("teams/channels/messages/replies"),
			},
			status: 201, answer: `{"id":"1616990171266","replyToId":"1616990032035","messageType":"message","body":{"contentType":"text","content":"On it"},"channelIdentity":{"teamId":"` + teamID + `","channelId":"` + channelID + `"}}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["replyToId"] != "1616990032035" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "microsoft-teams", action: "list_teams",
			params: map[string]any{},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/me/joinedTeams",
				header: auth, operation: graphOp("me/joinedTeams"),
			},
			status: 200, answer: `{"value":[{"id":"` + teamID + `","displayName":"Contoso Team","description":"This is a Contoso team"}]}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if v, _ := out["value"].([]any); len(v) != 1 {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "microsoft-teams", action: "list_teams",
			params: map[string]any{"user": "ada@contoso.com"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/users/ada@contoso.com/joinedTeams",
				header: auth, operation: graphOp("users/joinedTeams"),
			},
			status: 200, answer: `{"value":[{"id":"` + teamID + `","displayName":"Contoso Team","description":null}]}`,
		},
		{
			connector: "microsoft-teams", action: "send_chat_message",
			params: map[string]any{"chat_id": chatID, "content": "Hello world"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/chats/" + chatID + "/messages",
				header:    post,
				json:      `{"body":{"contentType":"text","content":"Hello world"}}`,
				operation: graphOp("chats/messages"),
			},
			status: 201, answer: `{"id":"1612289765949","chatId":"` + chatID + `","messageType":"message","importance":"normal","locale":"en-us","body":{"contentType":"text","content":"Hello world"}}`,
		},
	}
}

// outlookCases are Outlook's actions as Graph documents them.
func outlookCases() []requestCase {
	auth := map[string]string{"Authorization": "Bearer " + tok}
	post := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC}
	noBody := func(t *testing.T, out map[string]any) {
		if len(out) != 0 {
			t.Errorf("202 without body gave %v", out)
		}
	}
	return []requestCase{
		{
			connector: "outlook", action: "send_mail",
			params: map[string]any{"to": "Ada <ada@example.com>", "cc": []any{"bob@example.com"}, "subject": "Lunch", "body": "<p>At noon</p>", "html": true},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/me/sendMail",
				header: post,
				json: `{"message":{"subject":"Lunch","body":{"contentType":"HTML","content":"<p>At noon</p>"},
					"toRecipients":[{"emailAddress":{"address":"ada@example.com","name":"Ada"}}],
					"ccRecipients":[{"emailAddress":{"address":"bob@example.com"}}]},"saveToSentItems":true}`,
				operation: graphOp("me/sendMail"),
			},
			status: 202, answer: ``, wantOut: noBody,
		},
		{
			connector: "outlook", action: "list_messages",
			params: map[string]any{"top": float64(5), "select": []any{"subject", "from"}, "filter": "isRead eq false"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/me/messages",
				raw:    "$top=5&$select=subject%2Cfrom&$filter=isRead%20eq%20false",
				header: auth, operation: graphOp("me/messages"),
			},
			status: 200, answer: `{"value":[{"id":"AAMk","subject":"Hi","from":{"emailAddress":{"address":"ada@example.com","name":"Ada"}}}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/messages?$skip=5"}`,
		},
		{
			connector: "outlook", action: "list_messages",
			params: map[string]any{"folder": "inbox"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/me/mailFolders/inbox/messages",
				raw:    "$top=10",
				header: auth, operation: graphOp("me/mailFolders/messages"),
			},
			status: 200, answer: `{"value":[{"id":"AAMk","subject":"Hi","isRead":false,"receivedDateTime":"2026-05-01T09:00:00Z"}]}`,
		},
		{
			connector: "outlook", action: "get_message",
			params: map[string]any{"message_id": mailID, "select": []any{"subject", "body", "toRecipients"}, "body_type": "text"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1.0/me/messages/" + mailID,
				raw:       "$select=subject%2Cbody%2CtoRecipients",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Prefer": `outlook.body-content-type="text"`},
				operation: graphOp("me/messages/{id}"),
			},
			status: 200, answer: `{"id":"` + mailID + `","subject":"Lunch","body":{"contentType":"text","content":"At noon"},"toRecipients":[{"emailAddress":{"address":"ada@example.com","name":"Ada"}}]}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["subject"] != "Lunch" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "outlook", action: "reply_to_message",
			params: map[string]any{"message_id": mailID, "comment": "Noon works.", "to": "Ada <ada@example.com>"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/v1.0/me/messages/" + mailID + "/reply",
				header:    post,
				json:      `{"message":{"toRecipients":[{"emailAddress":{"address":"ada@example.com","name":"Ada"}}]},"comment":"Noon works."}`,
				operation: graphOp("me/messages/reply"),
			},
			status: 202, answer: ``, wantOut: noBody,
		},
		{
			connector: "outlook", action: "create_event",
			params: map[string]any{
				"subject": "Plan", "start": "2026-09-01T10:00:00", "end": "2026-09-01T11:00:00", "time_zone": "Pacific Standard Time",
				"body": "Agenda", "location": "Room 1", "attendees": []any{"ada@example.com"},
			},
			creds:          bearerCreds(),
			idempotencyKey: "exec-1/node-3",
			want: wantRequest{
				method: "POST", path: "/v1.0/me/events",
				header: post,
				json: `{"subject":"Plan","start":{"dateTime":"2026-09-01T10:00:00","timeZone":"Pacific Standard Time"},
					"end":{"dateTime":"2026-09-01T11:00:00","timeZone":"Pacific Standard Time"},"body":{"contentType":"Text","content":"Agenda"},
					"location":{"displayName":"Room 1"},"attendees":[{"emailAddress":{"address":"ada@example.com"},"type":"required"}],
					"transactionId":"` + eventTransactionID("exec-1/node-3") + `"}`,
				operation: graphOp("me/events"),
			},
			status: 201, answer: `{"id":"AAMkAGI1AAAt9AHjAAA=","subject":"Plan","transactionId":"` + eventTransactionID("exec-1/node-3") + `",
				"start":{"dateTime":"2026-09-01T10:00:00.0000000","timeZone":"Pacific Standard Time"},"end":{"dateTime":"2026-09-01T11:00:00.0000000","timeZone":"Pacific Standard Time"},
				"webLink":"https://outlook.office365.com/owa/?itemid=AAMkAGI1AAAt9AHjAAA%3D"}`,
		},
	}
}

// TestCreateEventTransactionID: the same idempotency key gives the same
// transactionId (Graph deduplicates on it), another key another, and no
// key none.
func TestCreateEventTransactionID(t *testing.T) {
	a, b := eventTransactionID("exec-1/node-3"), eventTransactionID("exec-1/node-4")
	if a != eventTransactionID("exec-1/node-3") || a == b {
		t.Errorf("transactionIds %q %q", a, b)
	}
	if len(a) != 36 || strings.Count(a, "-") != 4 {
		t.Errorf("transactionId %q is not GUID-shaped", a)
	}
	if long := eventTransactionID(strings.Repeat("k", 10000)); len(long) != 36 {
		t.Errorf("a long key gave %d characters", len(long))
	}
	cat := testCatalogue(t)
	d := &captureDoer{status: 201, body: `{"id":"e1"}`}
	req := Request{Connector: "outlook", Action: "create_event", Credentials: bearerCreds(),
		Params: map[string]any{"subject": "s", "start": "2026-09-01T10:00:00", "end": "2026-09-01T11:00:00"}}
	if _, err := cat.Run(t.Context(), d, nil, req); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(d.req.Body)
	if strings.Contains(string(body), "transactionId") || !strings.Contains(string(body), `"timeZone":"UTC"`) {
		t.Errorf("without a key: %s", body)
	}
}

// TestGraphFailures: Graph's documented failures of each new action
// (404 ErrorItemNotFound, 403 Forbidden, 429 with Retry-After) map to
// the connectors codes.
func TestGraphFailures(t *testing.T) {
	cat := testCatalogue(t)
	cases := append(teamsCases(), outlookCases()...)
	failures := []failure{
		{name: "404", status: 404, body: `{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}`, wantCode: connectors.EUpstream, wantMsg: "ErrorItemNotFound: The specified object was not found"},
		{name: "403", status: 403, body: `{"error":{"code":"Forbidden","message":"Missing role permissions on the request."}}`, wantCode: connectors.EUpstream, wantMsg: "Forbidden: Missing role permissions"},
		{name: "429", status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`, wantCode: connectors.ERateLimited, wantMsg: "TooManyRequests", wantRetry: 7 * time.Second},
		{name: "401", status: 401, body: `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}`, wantCode: connectors.EUnauthorized, wantMsg: "InvalidAuthenticationToken"},
	}
	for _, key := range [][2]string{
		{"microsoft-teams", "reply_to_message"}, {"microsoft-teams", "list_teams"}, {"microsoft-teams", "send_chat_message"},
		{"outlook", "get_message"}, {"outlook", "reply_to_message"}, {"outlook", "create_event"},
	} {
		tc := caseFor(t, cases, key[0], key[1])
		for _, f := range failures {
			t.Run(key[0]+"."+key[1]+"/"+f.name, func(t *testing.T) {
				// The failure answer is Graph's error object.
				r := &recorder{}
				loadGraph(t).checkAnswer(r, tc.want.method, graphTarget{}, f.status, []byte(f.body))
				if len(r.errs) != 0 {
					t.Errorf("failure answer: %v", r.errs)
				}
				runFailure(t, cat, tc, f)
			})
		}
	}
}

// TestGraphCheckFails: the Graph reader refuses requests and answers the
// metadata does not describe.
func TestGraphCheckFails(t *testing.T) {
	d := loadGraph(t)
	u := func(s string) sentRequest {
		r := sentRequest{method: "GET", header: http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}}
		r.url, _ = url.Parse(s)
		return r
	}
	with := func(r sentRequest, method, body string) sentRequest {
		r.method, r.body = method, []byte(body)
		return r
	}
	tests := []struct {
		name   string
		opID   string
		r      sentRequest
		status int
		answer string
	}{
		{"unknown entity set", "groups", u("/v1.0/groups"), 200, `{"value":[]}`},
		{"unknown navigation", "me/joinedGroups", u("/v1.0/me/joinedGroups"), 200, `{"value":[]}`},
		{"another operation", "me/messages", u("/v1.0/me/events"), 200, `{"value":[]}`},
		{"PATCH on a collection", "me/events", with(u("/v1.0/me/events"), "PATCH", `{"subject":"s"}`), 200, `{}`},
		{"POST on an entity", "me/messages/{id}", with(u("/v1.0/me/messages/AAMk"), "POST", `{"subject":"s"}`), 201, `{"id":"x"}`},
		{"undeclared body property", "chats/messages", with(u("/v1.0/chats/c1/messages"), "POST", `{"text":"hi"}`), 201, `{"id":"1"}`},
		{"nested undeclared property", "chats/messages", with(u("/v1.0/chats/c1/messages"), "POST", `{"body":{"markdown":"hi"}}`), 201, `{"id":"1"}`},
		{"enum member", "chats/messages", with(u("/v1.0/chats/c1/messages"), "POST", `{"body":{"contentType":"markdown","content":"hi"}}`), 201, `{"id":"1"}`},
		{"undeclared action parameter", "me/messages/reply", with(u("/v1.0/me/messages/AAMk/reply"), "POST", `{"text":"hi"}`), 202, ``},
		{"action answers a body", "me/messages/reply", with(u("/v1.0/me/messages/AAMk/reply"), "POST", `{"comment":"hi"}`), 202, `{"id":"x"}`},
		{"$select of no property", "me/messages/{id}", u("/v1.0/me/messages/AAMk?$select=subjectLine"), 200, `{"id":"AAMk"}`},
		{"unknown query parameter", "me/messages", u("/v1.0/me/messages?top=5"), 200, `{"value":[]}`},
		{"undeclared answer property", "me/joinedTeams", u("/v1.0/me/joinedTeams"), 200, `{"value":[{"id":"t","name":"x"}]}`},
		{"collection answer without value", "me/joinedTeams", u("/v1.0/me/joinedTeams"), 200, `[{"id":"t"}]`},
		{"POST answers 200", "me/events", with(u("/v1.0/me/events"), "POST", `{"subject":"s"}`), 200, `{"id":"e"}`},
		{"wrong value type", "me/events", with(u("/v1.0/me/events"), "POST", `{"isAllDay":"yes"}`), 201, `{"id":"e"}`},
		{"failure not Graph's shape", "me/events", with(u("/v1.0/me/events"), "POST", `{"subject":"s"}`), 404, `{"message":"no"}`},
	}
	for _, tt := range tests {
		r := &recorder{}
		d.check(r, tt.opID, tt.r, tt.status, []byte(tt.answer))
		if len(r.errs) == 0 {
			t.Errorf("%s: passed", tt.name)
		}
	}
	// And the reader resolves what the actions send.
	for path, want := range map[string]string{
		"teams/t1/channels/c1/messages/m1/replies": "teams/channels/messages/replies",
		"users/ada@example.com/joinedTeams":        "users/joinedTeams",
		"me/messages/AAMk/reply":                   "me/messages/reply",
		"me/messages/AAMk":                         "me/messages/{id}",
		"me/sendMail":                              "me/sendMail",
	} {
		r := &recorder{}
		if tg, ok := d.resolve(r, path); !ok || tg.navPath != want {
			t.Errorf("resolve(%s) = %q, %v, %v; want %s", path, tg.navPath, ok, r.errs, want)
		}
	}
}
