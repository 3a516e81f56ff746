package actions

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// Discord asks bots for a User-Agent of the form "DiscordBot ($url, $version)".
const discordUserAgent = "DiscordBot (https://github.com/automators/connectors, 1.0)"

// discordAuth sends the user's OAuth2 token, which Discord accepts as
// "Authorization: Bearer" for the user's own resources (identify, guilds).
func discordAuth(c connectors.Credentials, r *http.Request) error {
	if c.AccessToken == "" {
		return connectors.Errorf(connectors.EUnauthorized, "no Discord access token for the request")
	}
	r.Header.Set("User-Agent", discordUserAgent)
	r.Header.Set("Authorization", "Bearer "+c.AccessToken)
	return nil
}

// discordBotAuth sends the deployment's bot token, the BotToken scheme of
// Discord's OpenAPI description: "Authorization: Bot <token>".
func discordBotAuth(token string, r *http.Request) {
	r.Header.Set("User-Agent", discordUserAgent)
	r.Header.Set("Authorization", "Bot "+token)
}

// snowflake is a Discord id as discord.json's path parameters declare it.
var snowflake = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// discordBotToken is the deployment's app credential send_message sends.
const discordBotToken = "discord_bot_token"

// discordActions builds the connector's actions.
//
// Discord HTTP API v10 (https://discord.com/developers/docs/reference).
//
// Credentials: Nango's discord integration holds a user's OAuth2 token,
// which Discord accepts as "Authorization: Bearer" only for the user's own
// resources (list_guilds sends it). Creating a message in a guild channel
// accepts only the application's bot ("Authorization: Bot <token>",
// security BotToken of create_message), so send_message sends the
// deployment's bot token (Credentials.AppToken), after its guard has
// checked with the user's token that the channel is in one of the user's
// servers: the bot may sit in many servers, and a user may post only in
// their own.
func discordActions() connector {
	return connector{provider: &provider{id: "discord", auth: discordAuth, appAuth: discordBotAuth}, actions: []*spec{
		{
			name:       "send_message",
			write:      true,
			credential: registry.AppCredential(discordBotToken),
			params: []Param{
				{Name: "channel_id", Kind: String, Required: true, Segment: true, Pattern: snowflake},
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
			guard: discordChannelIsTheUsers,
		},
		{
			name:       "list_guilds",
			credential: registry.CredentialConnection,
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

// Discord's GET /users/@me/guilds answers at most 200 guilds a page
// (limit's maximum in discord.json), in ascending id order, paged with
// after. Discord caps a user's servers at 200 (with Nitro; 100 without),
// so one page normally holds them all; the bound only keeps a misbehaving
// answer from looping.
const (
	discordGuildPage  = 200
	discordGuildPages = 5
)

// discordChannelIsTheUsers is send_message's guard: the channel must be
// in one of the user's own Discord servers (guilds), which the bot token
// alone cannot tell. It reads the channel's guild with the bot token and
// the user's guilds with the user's OAuth2 token.
func discordChannelIsTheUsers(r *reads, a args) error {
	id := a.str("channel_id")
	// GET /channels/{channel.id} is Discord's documented "Get Channel"
	// (https://discord.com/developers/docs/resources/channel#get-channel):
	// a guild channel answers its guild_id, a DM channel none. It is not
	// in the excerpt discord.json, which keeps only the operations the
	// actions themselves send. Sent as the bot, which is what must see the
	// channel to post in it.
	var ch struct {
		GuildID string `json:"guild_id"`
	}
	err := r.get("/channels/"+seg(id), nil, r.s.credential, &ch)
	var pe *ProviderError
	if errors.As(err, &pe) && (pe.Status == http.StatusForbidden || pe.Status == http.StatusNotFound) {
		return connectors.Wrap(err, connectors.EInvalid, fmt.Sprintf(
			"%s: the bot cannot see channel %s: add the bot to the channel's Discord server (and let it view the channel)", r.s.key, id))
	}
	if err != nil {
		return err
	}
	notYours := connectors.Errorf(connectors.EInvalid, "%s: channel %s is not in one of your Discord servers", r.s.key, id)
	if ch.GuildID == "" {
		return notYours // a DM or group DM channel
	}
	// GET /users/@me/guilds (list_my_guilds, OAuth2 scope guilds), as the
	// user: the servers the user is a member of.
	after := ""
	for range discordGuildPages {
		q := url.Values{"limit": {strconv.Itoa(discordGuildPage)}}
		if after != "" {
			q.Set("after", after)
		}
		var guilds []struct {
			ID string `json:"id"`
		}
		if err := r.get("/users/@me/guilds", q, registry.CredentialConnection, &guilds); err != nil {
			return err
		}
		for _, g := range guilds {
			if g.ID == ch.GuildID {
				return nil
			}
		}
		if len(guilds) < discordGuildPage {
			break
		}
		after = guilds[len(guilds)-1].ID
	}
	return notYours
}
