package actions

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// slackTextOrBlocks is the rule of the message-writing methods: Slack
// refuses a message with neither text nor blocks (no_text).
const slackTextOrBlocks = `{"anyOf":[{"required":["text"]},{"required":["blocks"]}]}`

// slackMessage is the message object chat.postMessage and chat.update
// answer with, as far as the actions' outputs promise it.
const slackMessage = `{"type":"object","required":["text"],"properties":{"text":{"type":"string"},"ts":{"type":"string"},"type":{"type":"string"},"blocks":{},"attachments":{"type":"array"}}}`

// slackEmojiName is an emoji's name as reactions.add takes it: no colons
// around it or spaces in it, a skin tone as "::skin-tone-N".
const slackEmojiName = `^[^\s:]+(::skin-tone-[2-6])?$`

// slackActions builds the connector's actions.
//
// Slack Web API (https://api.slack.com/methods). Methods answer 200 with
// {"ok":false,"error":"..."} on failure, so the body decides, not the
// status; rate limits come as 429 with Retry-After, or as "ratelimited".
// Write methods take a JSON body, which Slack accepts only with the token
// in the Authorization header (bearer does so).
func slackActions() connector {
	return connector{provider: &provider{id: "slack", auth: bearer, classify: slackClassify}, actions: []*spec{
		{
			name:       "send_message",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "slack.json chat_postMessage",
			// chat:write is the granular scope of today's Slack apps; the
			// spec still names the legacy chat:write:user/chat:write:bot.
			scopes: []string{"chat:write"},
			params: []Param{
				{Name: "channel", Kind: String, Required: true, SingleLine: true, Description: "Channel, private group or DM channel ID (or name) to post to."},
				{Name: "text", Kind: String, Max: 40000, Description: "Message text (mrkdwn). Required unless blocks are given; the notification text when they are."},
				{Name: "blocks", Kind: Objects, Description: "Block Kit blocks of the message."},
				{Name: "thread_ts", Kind: String, SingleLine: true, Description: "ts of the parent message, to reply in its thread."},
			},
			constraints: slackTextOrBlocks,
			output: `{"type":"object","required":["ok","channel","ts","message"],"properties":{"ok":{"const":true},
				"channel":{"type":"string"},"ts":{"type":"string"},"message":` + slackMessage + `}}`,
			// chat.postMessage with a JSON body. Not idempotent: Slack takes
			// no idempotency key, so a second request posts a second
			// message; a retried task rests on the executor's record of the
			// node's result under its idempotency key.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/chat.postMessage"
				body := map[string]any{"channel": a.str("channel")}
				if a.has("text") {
					body["text"] = a.str("text")
				}
				if a.has("blocks") {
					body["blocks"] = a.objs("blocks")
				}
				if a.has("thread_ts") {
					body["thread_ts"] = a.str("thread_ts")
				}
				return c.json(body)
			},
		},
		{
			name:       "list_channels",
			credential: registry.CredentialConnection,
			operation:  "slack.json conversations_list",
			// The default type, public_channel, needs channels:read;
			// private_channel needs groups:read (also requested), mpim and
			// im need mpim:read and im:read (not requested: Slack answers
			// missing_scope).
			scopes: []string{"channels:read"},
			params: []Param{
				{Name: "types", Kind: Strings, Enum: []string{"public_channel", "private_channel", "mpim", "im"}, Description: "Kinds of conversation to list; public_channel when not given."},
				{Name: "limit", Kind: Int, Min: 1, Max: 1000, Description: "Most conversations to return in one page (1-1000); 100 when not given."},
				{Name: "cursor", Kind: String, SingleLine: true, Description: "response_metadata.next_cursor of the previous page."},
				{Name: "exclude_archived", Kind: Bool, Description: "Leave archived channels out; true when not given."},
			},
			output: `{"type":"object","required":["ok","channels"],"properties":{"ok":{"const":true},
				"channels":{"type":"array","items":{"type":"object"}},
				"response_metadata":{"type":"object","properties":{"next_cursor":{"type":"string"}}}}}`,
			// conversations.list, read with GET and query arguments.
			build: func(a args, _ Request, c *call) error {
				c.path = "/conversations.list"
				q := url.Values{}
				types := a.strs("types")
				if types == nil {
					types = []string{"public_channel"}
				}
				q.Set("types", joinComma(types))
				q.Set("limit", strconv.FormatInt(defaultInt(a, "limit", 100), 10))
				excl := true
				if v, ok := a.boolean("exclude_archived"); ok {
					excl = v
				}
				q.Set("exclude_archived", strconv.FormatBool(excl))
				if a.has("cursor") {
					q.Set("cursor", a.str("cursor"))
				}
				c.query = q
				return nil
			},
		},
		{
			name:        "update_message",
			write:       true,
			credential:  registry.CredentialConnection,
			operation:   "slack.json chat_update",
			scopes:      []string{"chat:write"},
			constraints: slackTextOrBlocks,
			params: []Param{
				{Name: "channel", Kind: String, Required: true, SingleLine: true, Description: "ID of the channel holding the message."},
				{Name: "ts", Kind: String, Required: true, SingleLine: true, Description: "ts of the message to update."},
				{Name: "text", Kind: String, Max: 40000, Description: "New message text. Required unless blocks are given."},
				{Name: "blocks", Kind: Objects, Description: "New Block Kit blocks; the message's blocks are kept when not given."},
			},
			output: `{"type":"object","required":["ok","channel","ts","text","message"],"properties":{"ok":{"const":true},
				"channel":{"type":"string"},"ts":{"type":"string"},"text":{"type":"string"},"message":` + slackMessage + `}}`,
			// chat.update with a JSON body. Idempotent: it sets the
			// message's content, so a retry writes the same content again.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/chat.update"
				body := map[string]any{"channel": a.str("channel"), "ts": a.str("ts")}
				if a.has("text") {
					body["text"] = a.str("text")
				}
				if a.has("blocks") {
					body["blocks"] = a.objs("blocks")
				}
				return c.json(body)
			},
		},
		{
			name:       "add_reaction",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "slack.json reactions_add",
			scopes:     []string{"reactions:write"},
			params: []Param{
				{Name: "channel", Kind: String, Required: true, SingleLine: true, Description: "ID of the channel holding the message."},
				{Name: "timestamp", Kind: String, Required: true, SingleLine: true, Description: "ts of the message to react to."},
				// Slack names emoji without colons ("thumbsup"); a skin
				// tone is "thumbsup::skin-tone-2".
				{Name: "name", Kind: String, Required: true, SingleLine: true, Pattern: slackEmojiName, Description: "Emoji name without colons, e.g. thumbsup."},
			},
			output: `{"type":"object","required":["ok"],"properties":{"ok":{"const":true},"already_reacted":{"type":"boolean"}}}`,
			// reactions.add with a JSON body. Safe to retry: a second add of
			// the same reaction answers ok:false already_reacted, which
			// slackClassify lets through and decode answers as success,
			// {"ok":true,"already_reacted":true}: the reaction is there.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/reactions.add"
				c.decode = func(body []byte) (map[string]any, error) {
					var env struct {
						Error string `json:"error"`
					}
					if json.Unmarshal(body, &env) == nil && env.Error == slackAlreadyReacted {
						return map[string]any{"ok": true, "already_reacted": true}, nil
					}
					return map[string]any{"ok": true, "already_reacted": false}, nil
				}
				return c.json(map[string]any{"channel": a.str("channel"), "timestamp": a.str("timestamp"), "name": a.str("name")})
			},
		},
		{
			name:       "lookup_user_by_email",
			credential: registry.CredentialConnection,
			operation:  "slack.json users_lookupByEmail",
			// The method's scope; Slack grants users:read.email only with
			// users:read, which the manifest requests with it.
			scopes: []string{"users:read.email"},
			params: []Param{
				{Name: "email", Kind: String, Required: true, SingleLine: true, Format: "email", Description: "Email address of the workspace member."},
			},
			output: `{"type":"object","required":["ok","user"],"properties":{"ok":{"const":true},
				"user":{"type":"object","required":["id","name"],"properties":{"id":{"type":"string"},"name":{"type":"string"},"real_name":{"type":"string"},"is_bot":{"type":"boolean"},"profile":{"type":"object"}}}}}`,
			// users.lookupByEmail, read with GET and a query argument.
			build: func(a args, _ Request, c *call) error {
				c.path = "/users.lookupByEmail"
				c.query = url.Values{"email": {a.str("email")}}
				return nil
			},
		},
	}}
}

// slackAlreadyReacted is reactions.add's answer when the reaction is
// already there: for add_reaction, whose retries must not fail, a success.
// Only reactions.add answers it.
const slackAlreadyReacted = "already_reacted"

// slackClassify reads Slack's {"ok":false,"error":...} envelope.
func slackClassify(status int, body []byte) (code, message string) {
	var env struct {
		OK     *bool  `json:"ok"`
		Error  string `json:"error"`
		Needed string `json:"needed"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &env) != nil || env.OK == nil || *env.OK {
		return "", ""
	}
	switch env.Error {
	case slackAlreadyReacted:
		return "", "" // a success (add_reaction's decode)
	case "missing_scope":
		// The token lacks a scope: the connection must be made again.
		if env.Needed != "" {
			return connectors.EForbidden, "missing_scope: the connection lacks the scope " + env.Needed
		}
		return connectors.EForbidden, env.Error
	case "ratelimited", "rate_limited":
		return connectors.ERateLimited, env.Error
	case "not_authed", "invalid_auth", "token_expired", "token_revoked", "account_inactive":
		return connectors.EUnauthorized, env.Error
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return connectors.EUnavailable, env.Error
	}
	if status == http.StatusTooManyRequests {
		return connectors.ERateLimited, env.Error
	}
	if env.Error == "" {
		env.Error = "ok:false"
	}
	return connectors.EUpstream, env.Error
}
