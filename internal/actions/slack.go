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

// slackActions builds the connector's actions.
//
// Slack Web API (https://api.slack.com/methods). Methods answer 200 with
// {"ok":false,"error":"..."} on failure, so the body decides, not the
// status; rate limits come as 429 with Retry-After, or as "ratelimited".
func slackActions() connector {
	return connector{provider: &provider{id: "slack", auth: bearer, classify: slackClassify}, actions: []*spec{
		{
			name:       "send_message",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "channel", Kind: String, Required: true, SingleLine: true},
				{Name: "text", Kind: String, Max: 40000},
				{Name: "blocks", Kind: Objects},
				{Name: "thread_ts", Kind: String, SingleLine: true},
			},
			rule: func(s *spec, a args) error {
				if !a.has("text") && !a.has("blocks") {
					return s.paramErr("text", "is required when blocks is not given")
				}
				return nil
			},
			// chat.postMessage with a JSON body.
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
			params: []Param{
				{Name: "types", Kind: Strings, Enum: []string{"public_channel", "private_channel", "mpim", "im"}},
				{Name: "limit", Kind: Int, Min: 1, Max: 1000},
				{Name: "cursor", Kind: String, SingleLine: true},
				{Name: "exclude_archived", Kind: Bool},
			},
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
	}}
}

// slackClassify reads Slack's {"ok":false,"error":...} envelope.
func slackClassify(status int, body []byte) (code, message string) {
	var env struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(bytes.TrimSpace(body), &env) != nil || env.OK == nil || *env.OK {
		return "", ""
	}
	switch env.Error {
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
