package actions

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/automators/connectors/internal/registry"
)

// Microsoft Graph v1.0 serves Teams and Outlook. Failures are
// {"error":{"code","message"}}; throttling is 429 with Retry-After.

// teamsActions builds the connector's actions.
func teamsActions() connector {
	return connector{provider: &provider{id: "microsoft-teams", auth: bearer}, actions: []*spec{
		{
			name:       "send_channel_message",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "team_id", Kind: String, Required: true, Segment: true},
				{Name: "channel_id", Kind: String, Required: true, Segment: true},
				{Name: "content", Kind: String, Required: true},
				{Name: "content_type", Kind: String, Enum: []string{"text", "html"}},
				{Name: "subject", Kind: String, SingleLine: true},
			},
			// POST /teams/{team-id}/channels/{channel-id}/messages with a chatMessage.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/teams/" + seg(a.str("team_id")) + "/channels/" + seg(a.str("channel_id")) + "/messages"
				msg := map[string]any{"body": map[string]any{
					"contentType": orDefault(a.str("content_type"), "text"),
					"content":     a.str("content"),
				}}
				if a.has("subject") {
					msg["subject"] = a.str("subject")
				}
				return c.json(msg)
			},
		},
		{
			name:       "list_channels",
			credential: registry.CredentialConnection,
			params:     []Param{{Name: "team_id", Kind: String, Required: true, Segment: true}},
			// GET /teams/{team-id}/channels
			build: func(a args, _ Request, c *call) error {
				c.path = "/teams/" + seg(a.str("team_id")) + "/channels"
				return nil
			},
		},
	}}
}

// outlookActions builds the connector's actions.
func outlookActions() connector {
	return connector{provider: &provider{id: "outlook", auth: bearer}, actions: []*spec{
		{
			name:       "send_mail",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "to", Kind: Strings, Required: true, SingleLine: true},
				{Name: "cc", Kind: Strings, SingleLine: true},
				{Name: "bcc", Kind: Strings, SingleLine: true},
				{Name: "subject", Kind: String, Required: true, SingleLine: true},
				{Name: "body", Kind: String, Required: true},
				{Name: "html", Kind: Bool},
				{Name: "save_to_sent_items", Kind: Bool},
			},
			rule: checkAddresses,
			// POST /me/sendMail; Graph answers 202 with no body.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/me/sendMail"
				ct := "Text"
				if html, _ := a.boolean("html"); html {
					ct = "HTML"
				}
				msg := map[string]any{
					"subject": a.str("subject"),
					"body":    map[string]any{"contentType": ct, "content": a.str("body")},
				}
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
			params: []Param{
				{Name: "folder", Kind: String, Segment: true},
				{Name: "top", Kind: Int, Min: 1, Max: 1000},
				{Name: "select", Kind: Strings, SingleLine: true},
				{Name: "filter", Kind: String, SingleLine: true},
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
	}}
}
