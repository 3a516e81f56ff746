package actions

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/automators/connectors/internal/registry"
)

// Microsoft Graph v1.0 serves Teams and Outlook. Failures are
// {"error":{"code","message"}} (404 ErrorItemNotFound or NotFound, 403
// Forbidden), which the generic mapping turns into EUpstream; throttling
// is 429 with Retry-After (docs-rules graph.throttling): ERateLimited.
//
// Each action's operation names its Graph request in msgraph-v1.0.json
// (the CSDL, which has no operation ids) by its navigation path: the
// container's entity set or singleton, then each navigation property,
// with the key segments left out, "{id}" when the request addresses one
// entity of the last collection, and a bound action's name last:
// "teams/channels/messages" is POST /teams/{id}/channels/{id}/messages,
// "me/messages/{id}" is GET /me/messages/{id}, "me/messages/reply" is
// POST /me/messages/{id}/reply. graph_test.go resolves these against the
// CSDL.
//
// Retries: no Graph request here deduplicates itself except create_event
// (transactionId); posting a chat message, sending or replying to mail
// twice sends twice.

// graphID is a Graph key in a path: any single segment (Teams ids hold
// ':' and '@', Outlook ids '=' and '-').
const graphID = `^[^/\s]+$`

// Output schemas: the properties the actions' callers read, as the CSDL
// types declare them; Graph answers more.
const (
	chatMessageOutput = `{"type":"object","required":["id"],"properties":{
		"id":{"type":"string"},"messageType":{"type":"string"},"createdDateTime":{"type":["string","null"]},
		"replyToId":{"type":["string","null"]},"chatId":{"type":["string","null"]},"subject":{"type":["string","null"]},
		"webUrl":{"type":["string","null"]},
		"body":{"type":"object","properties":{"contentType":{"enum":["text","html"]},"content":{"type":["string","null"]}}}}}`
	messageOutput = `{"type":"object","properties":{
		"id":{"type":"string"},"subject":{"type":["string","null"]},"bodyPreview":{"type":["string","null"]},
		"isRead":{"type":["boolean","null"]},"receivedDateTime":{"type":["string","null"]},"conversationId":{"type":["string","null"]},
		"from":{"type":["object","null"]},"toRecipients":{"type":"array","items":{"type":"object"}},
		"body":{"type":["object","null"],"properties":{"contentType":{"enum":["text","html"]},"content":{"type":["string","null"]}}}}}`
	emptyOutput = `{"type":"object","maxProperties":0}`
)

// collectionOutput is the schema of a Graph collection answer, {"value":[...]}.
func collectionOutput(item string) string {
	return `{"type":"object","required":["value"],"properties":{"value":{"type":"array","items":` + item + `},"@odata.nextLink":{"type":"string"}}}`
}

// graphMessageBody is a chatMessage's or message's itemBody.
func graphMessageBody(a args, contentType string) map[string]any {
	return map[string]any{"contentType": contentType, "content": a.str("content")}
}

// chatMessageParams are the parameters of a Teams message's body.
func chatMessageParams() []Param {
	return []Param{
		{Name: "content", Kind: String, Required: true, Description: "The message text, or HTML when content_type is html."},
		{Name: "content_type", Kind: String, Enum: []string{"text", "html"}, Description: "The body's format (Graph's bodyType): text (the default) or html."},
	}
}

// chatMessage is the chatMessage a Teams post sends: only body is
// mandatory (docs-rules graph.chatmessage_post_replies, chat_post_messages).
func chatMessage(a args) map[string]any {
	msg := map[string]any{"body": graphMessageBody(a, orDefault(a.str("content_type"), "text"))}
	if a.has("subject") {
		msg["subject"] = a.str("subject")
	}
	return msg
}

// teamsActions builds the connector's actions.
func teamsActions() connector {
	return connector{provider: &provider{id: "microsoft-teams", auth: bearer}, actions: []*spec{
		{
			name:       "send_channel_message",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json teams/channels/messages",
			scopes:     []string{"ChannelMessage.Send|Group.ReadWrite.All"},
			output:     chatMessageOutput,
			params: append([]Param{
				{Name: "team_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The team's id (list_teams)."},
				{Name: "channel_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The channel's id, e.g. 19:...@thread.tacv2 (list_channels)."},
			}, append(chatMessageParams(),
				Param{Name: "subject", Kind: String, SingleLine: true, Description: "The message's subject line."})...),
			// POST /teams/{team-id}/channels/{channel-id}/messages with a
			// chatMessage; 201 with the message. Not idempotent: a retry
			// posts again.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/teams/" + seg(a.str("team_id")) + "/channels/" + seg(a.str("channel_id")) + "/messages"
				return c.json(chatMessage(a))
			},
		},
		{
			name:       "list_channels",
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json teams/channels",
			scopes:     []string{"Channel.ReadBasic.All"},
			output: collectionOutput(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"displayName":{"type":"string"},
				"description":{"type":["string","null"]},"membershipType":{"type":["string","null"]},"webUrl":{"type":["string","null"]}}}`),
			params: []Param{{Name: "team_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The team's id (list_teams)."}},
			// GET /teams/{team-id}/channels
			build: func(a args, _ Request, c *call) error {
				c.path = "/teams/" + seg(a.str("team_id")) + "/channels"
				return nil
			},
		},
		{
			name:       "reply_to_message",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json teams/channels/messages/replies",
			scopes:     []string{"ChannelMessage.Send|Group.ReadWrite.All"},
			output:     chatMessageOutput,
			params: append([]Param{
				{Name: "team_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The team's id (list_teams)."},
				{Name: "channel_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The channel's id (list_channels)."},
				{Name: "message_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The id of the channel message to reply to (the root of its thread)."},
			}, chatMessageParams()...),
			// POST /teams/{team-id}/channels/{channel-id}/messages/{message-id}/replies
			// with a chatMessage whose body is the only mandatory property;
			// 201 with the reply. Not idempotent: a retry replies again.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/teams/" + seg(a.str("team_id")) + "/channels/" + seg(a.str("channel_id")) + "/messages/" + seg(a.str("message_id")) + "/replies"
				return c.json(chatMessage(a))
			},
		},
		{
			name:       "list_teams",
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json me/joinedTeams",
			scopes:     []string{"Team.ReadBasic.All"},
			// Graph answers only id, displayName and description of each
			// team (docs-rules graph.user_list_joinedteams).
			output: collectionOutput(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"displayName":{"type":["string","null"]},"description":{"type":["string","null"]}}}`),
			params: []Param{
				{Name: "user", Kind: String, Segment: true, Pattern: graphID, Description: "Whose teams: a user's id or userPrincipalName (GET /users/{id}/joinedTeams); the signed-in user when absent (GET /me/joinedTeams)."},
			},
			// GET /me/joinedTeams: no OData query options (Graph supports
			// none here) and no body.
			build: func(a args, _ Request, c *call) error {
				c.path = "/me/joinedTeams"
				if a.has("user") {
					c.path = "/users/" + seg(a.str("user")) + "/joinedTeams"
				}
				return nil
			},
		},
		{
			name:       "send_chat_message",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json chats/messages",
			scopes:     []string{"ChatMessage.Send|Chat.ReadWrite|Group.ReadWrite.All"},
			output:     chatMessageOutput,
			params: append([]Param{
				{Name: "chat_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The id of an existing chat, e.g. 19:...@thread.v2 (Graph cannot create one here)."},
			}, chatMessageParams()...),
			// POST /chats/{chat-id}/messages with a chatMessage; 201 with
			// the message. Not idempotent: a retry posts again.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/chats/" + seg(a.str("chat_id")) + "/messages"
				return c.json(chatMessage(a))
			},
		},
	}}
}

// recipientParams are the recipients of a mail; each entry is an address
// with an optional display name ("Ada <ada@example.com>"), which a JSON
// Schema format cannot read: checkAddresses parses them (RFC 5322).
func recipientParams(required bool) []Param {
	return []Param{
		{Name: "to", Kind: Strings, Required: required, SingleLine: true, Description: "Recipients: addresses, optionally with a display name (Ada <ada@example.com>)."},
		{Name: "cc", Kind: Strings, SingleLine: true, Description: "Cc recipients, as to."},
		{Name: "bcc", Kind: Strings, SingleLine: true, Description: "Bcc recipients, as to."},
	}
}

// graphRecipients sets msg's toRecipients, ccRecipients and bccRecipients
// from the to, cc and bcc parameters: Collection(graph.recipient).
func graphRecipients(a args, msg map[string]any) {
	for _, f := range []struct{ param, field string }{{"to", "toRecipients"}, {"cc", "ccRecipients"}, {"bcc", "bccRecipients"}} {
		addrs := addresses(a.strs(f.param))
		if len(addrs) == 0 {
			continue
		}
		rs := make([]map[string]any, len(addrs))
		for i, ad := range addrs {
			ea := map[string]any{"address": ad.Address}
			if ad.Name != "" {
				ea["name"] = ad.Name
			}
			rs[i] = map[string]any{"emailAddress": ea}
		}
		msg[f.field] = rs
	}
}

// mailContentType is an itemBody's contentType for the html parameter.
func mailContentType(a args) string {
	if html, _ := a.boolean("html"); html {
		return "HTML"
	}
	return "Text"
}

// messageSelect are the message properties get_message and list_messages
// may $select: the CSDL's message and outlookItem properties.
var messageSelect = []string{
	"bccRecipients", "body", "bodyPreview", "categories", "ccRecipients", "changeKey", "conversationId", "conversationIndex",
	"createdDateTime", "flag", "from", "hasAttachments", "id", "importance", "inferenceClassification", "internetMessageHeaders",
	"internetMessageId", "isDeliveryReceiptRequested", "isDraft", "isRead", "isReadReceiptRequested", "lastModifiedDateTime",
	"parentFolderId", "receivedDateTime", "replyTo", "sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink",
}

// localDateTime is a dateTimeTimeZone's dateTime: a local time, its zone
// given apart (timeZone).
const localDateTime = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$`

// eventTransactionID derives create_event's transactionId from the
// request's idempotency key: the same key gives the same id, which Graph
// uses to deduplicate event creation; it is shaped as the GUID Graph's
// example shows and bounded whatever the key's length.
func eventTransactionID(key string) string {
	h := sha256.Sum256([]byte("outlook.create_event\x00" + key))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// outlookActions builds the connector's actions.
func outlookActions() connector {
	return connector{provider: &provider{id: "outlook", auth: bearer}, actions: []*spec{
		{
			name:       "send_mail",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json me/sendMail",
			scopes:     []string{"Mail.Send"},
			output:     emptyOutput,
			params: append(recipientParams(true),
				Param{Name: "subject", Kind: String, Required: true, SingleLine: true, Description: "The subject line."},
				Param{Name: "body", Kind: String, Required: true, Description: "The message text, or HTML when html is true."},
				Param{Name: "html", Kind: Bool, Description: "Send body as HTML rather than text."},
				Param{Name: "save_to_sent_items", Kind: Bool, Description: "Keep a copy in Sent Items (default true)."},
			),
			// The addresses' syntax (display names allowed) is RFC 5322's,
			// which no JSON Schema format says.
			rule: checkAddresses,
			// POST /me/sendMail {message, saveToSentItems}; Graph answers
			// 202 with no body. Not idempotent: a retry sends again.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/me/sendMail"
				msg := map[string]any{
					"subject": a.str("subject"),
					"body":    map[string]any{"contentType": mailContentType(a), "content": a.str("body")},
				}
				graphRecipients(a, msg)
				save := true
				if v, ok := a.boolean("save_to_sent_items"); ok {
					save = v
				}
				return c.json(map[string]any{"message": msg, "saveToSentItems": save})
			},
		},
		{
			name:       "list_messages",
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json me/messages",
			scopes:     []string{"Mail.Read|Mail.ReadBasic"},
			output:     collectionOutput(messageOutput),
			params: []Param{
				{Name: "folder", Kind: String, Segment: true, Pattern: graphID, Description: "A mail folder's id or well-known name (inbox, sentitems); all messages when absent."},
				{Name: "top", Kind: Int, Min: 1, Max: 1000, Description: "How many messages to answer ($top; default 10)."},
				{Name: "select", Kind: Strings, Enum: messageSelect, Description: "The message properties to answer ($select)."},
				{Name: "filter", Kind: String, SingleLine: true, Description: "An OData $filter, e.g. isRead eq false."},
			},
			// GET /me/messages or /me/mailFolders/{id}/messages with OData options.
			build: func(a args, _ Request, c *call) error {
				c.path = "/me/messages"
				if a.has("folder") {
					c.path = "/me/mailFolders/" + seg(a.str("folder")) + "/messages"
				}
				c.rawQuery = graphQuery([][2]string{
					{"$top", strconv.FormatInt(defaultInt(a, "top", 10), 10)},
					{"$select", strings.Join(a.strs("select"), ",")},
					{"$filter", a.str("filter")},
				})
				return nil
			},
		},
		{
			name:       "get_message",
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json me/messages/{id}",
			scopes:     []string{"Mail.Read|Mail.ReadBasic"},
			output:     messageOutput,
			params: []Param{
				{Name: "message_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The message's id (list_messages)."},
				{Name: "select", Kind: Strings, Enum: messageSelect, Description: "The message properties to answer ($select); all when absent."},
				{Name: "body_type", Kind: String, Enum: []string{"text", "html"}, Description: "The format of body and uniqueBody in the answer (Prefer: outlook.body-content-type)."},
			},
			// GET /me/messages/{id}?$select=...; 200 with the message.
			build: func(a args, _ Request, c *call) error {
				c.path = "/me/messages/" + seg(a.str("message_id"))
				c.rawQuery = graphQuery([][2]string{{"$select", strings.Join(a.strs("select"), ",")}})
				if a.has("body_type") {
					c.header.Set("Prefer", `outlook.body-content-type="`+a.str("body_type")+`"`)
				}
				return nil
			},
		},
		{
			name:       "reply_to_message",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json me/messages/reply",
			scopes:     []string{"Mail.Send"},
			output:     emptyOutput,
			params: append([]Param{
				{Name: "message_id", Kind: String, Required: true, Segment: true, Pattern: graphID, Description: "The id of the message to reply to."},
				{Name: "comment", Kind: String, Description: "The reply's text, above the quoted message. Give comment or body, not both."},
				{Name: "body", Kind: String, Description: "The reply's whole body, replacing the default (the reply message's body). Give comment or body, not both."},
				{Name: "html", Kind: Bool, Description: "body is HTML rather than text."},
			}, recipientParams(false)...),
			// Graph refuses a comment with a message body (400), and a
			// reply says something: exactly one of them.
			constraints: `{"oneOf":[{"required":["comment"]},{"required":["body"]}]}`,
			rule:        checkAddresses, // as send_mail's
			// POST /me/messages/{id}/reply {comment} or {message, comment}
			// (recipients to change) or {message} (with its body); 202
			// with no body. Not idempotent: a retry replies again.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/me/messages/"+seg(a.str("message_id"))+"/reply"
				msg := map[string]any{}
				if a.has("body") {
					msg["body"] = map[string]any{"contentType": mailContentType(a), "content": a.str("body")}
				}
				graphRecipients(a, msg)
				body := map[string]any{}
				if len(msg) > 0 {
					body["message"] = msg
				}
				if a.has("comment") {
					body["comment"] = a.str("comment")
				}
				return c.json(body)
			},
		},
		{
			name:       "create_event",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "msgraph-v1.0.json me/events",
			scopes:     []string{"Calendars.ReadWrite"},
			output: `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"subject":{"type":["string","null"]},
				"webLink":{"type":["string","null"]},"transactionId":{"type":["string","null"]},"iCalUId":{"type":["string","null"]},
				"start":{"type":"object","properties":{"dateTime":{"type":"string"},"timeZone":{"type":["string","null"]}}},
				"end":{"type":"object","properties":{"dateTime":{"type":"string"},"timeZone":{"type":["string","null"]}}}}}`,
			params: []Param{
				{Name: "subject", Kind: String, Required: true, SingleLine: true, Description: "The event's title."},
				{Name: "start", Kind: String, Required: true, Pattern: localDateTime, Description: "Start, as a local date and time (2026-09-01T10:00:00) in time_zone."},
				{Name: "end", Kind: String, Required: true, Pattern: localDateTime, Description: "End, as start."},
				{Name: "time_zone", Kind: String, SingleLine: true, Description: "The time zone of start and end, e.g. Europe/Paris or Pacific Standard Time; UTC when absent."},
				{Name: "body", Kind: String, Description: "The event's description, text or HTML (html)."},
				{Name: "html", Kind: Bool, Description: "body is HTML rather than text."},
				{Name: "location", Kind: String, SingleLine: true, Description: "Where: the location's display name."},
				{Name: "attendees", Kind: Strings, SingleLine: true, Format: "email", Description: "Required attendees' email addresses."},
				{Name: "is_all_day", Kind: Bool, Description: "An all-day event (start and end at midnight)."},
			},
			// POST /me/events with an event; 201 with the event. With
			// Request.IdempotencyKey set, transactionId (Graph's
			// client-provided id that deduplicates event creation) is
			// derived from it, so a retry of the same node creates no
			// second event. Without a key a retry creates another.
			build: func(a args, req Request, c *call) error {
				c.method, c.path = http.MethodPost, "/me/events"
				tz := orDefault(a.str("time_zone"), "UTC")
				ev := map[string]any{
					"subject": a.str("subject"),
					"start":   map[string]any{"dateTime": a.str("start"), "timeZone": tz},
					"end":     map[string]any{"dateTime": a.str("end"), "timeZone": tz},
				}
				if a.has("body") {
					ev["body"] = map[string]any{"contentType": mailContentType(a), "content": a.str("body")}
				}
				if a.has("location") {
					ev["location"] = map[string]any{"displayName": a.str("location")}
				}
				if list := a.strs("attendees"); len(list) > 0 {
					att := make([]map[string]any, len(list))
					for i, addr := range list {
						att[i] = map[string]any{"emailAddress": map[string]any{"address": addr}, "type": "required"}
					}
					ev["attendees"] = att
				}
				if v, ok := a.boolean("is_all_day"); ok {
					ev["isAllDay"] = v
				}
				if req.IdempotencyKey != "" {
					ev["transactionId"] = eventTransactionID(req.IdempotencyKey)
				}
				return c.json(ev)
			},
		},
	}}
}
