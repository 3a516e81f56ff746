package actions

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/connectors"
)

// Discord asks bots for a User-Agent of the form "DiscordBot ($url, $version)".
const discordUserAgent = "DiscordBot (https://github.com/automators/connectors, 1.0)"

func discordAuth(c connectors.Credentials, h http.Header) error {
	h.Set("User-Agent", discordUserAgent)
	switch {
	case c.APIKey != "":
		h.Set("Authorization", "Bot "+c.APIKey)
	case c.AccessToken != "":
		h.Set("Authorization", "Bearer "+c.AccessToken)
	default:
		return connectors.Errorf(connectors.EUnauthorized, "no Discord token for the request")
	}
	return nil
}

// discordActions builds the connector's actions.
//
// Discord HTTP API v10 (https://discord.com/developers/docs/reference).
//
// Credentials: Nango's discord integration holds a user's OAuth2 token,
// which Discord accepts as "Authorization: Bearer" only for the user's own
// resources (identify, guilds); posting in a guild channel needs the
// application's bot, "Authorization: Bot <token>". So a bot token, when the
// executor supplies one as connectors.Credentials.APIKey, is used; otherwise the OAuth2
// token goes as Bearer (list_guilds works with it; send_message then fails
// with Discord's own 401/403 message rather than a guessed one).
func discordActions() connector {
	return connector{provider: &provider{id: "discord", auth: discordAuth}, actions: []*spec{
		{
			name:  "send_message",
			write: true,
			params: []Param{
				{Name: "channel_id", Kind: String, Required: true, Segment: true},
				{Name: "content", Kind: String, Required: true, Max: 2000},
				{Name: "tts", Kind: Bool},
			},
			// POST /channels/{channel.id}/messages
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPost
				c.path = "/channels/" + seg(a.str("channel_id")) + "/messages"
				body := map[string]any{"content": a.str("content")}
				if v, ok := a.boolean("tts"); ok {
					body["tts"] = v
				}
				return c.json(body)
			},
		},
		{
			name: "list_guilds",
			params: []Param{
				{Name: "limit", Kind: Int, Min: 1, Max: 200},
				{Name: "after", Kind: String, SingleLine: true},
			},
			// GET /users/@me/guilds
			build: func(a args, _ Request, c *call) error {
				c.path = "/users/@me/guilds"
				c.query = url.Values{"limit": {strconv.FormatInt(defaultInt(a, "limit", 200), 10)}}
				if a.has("after") {
					c.query.Set("after", a.str("after"))
				}
				return nil
			},
		},
	}}
}
