package actions

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
const snowflake = `^(0|[1-9][0-9]*)$`

// discordBotToken is the deployment's app credential send_message sends.
const discordBotToken = "discord_bot_token"

// discordActions builds the connector's actions.
//
// Discord HTTP API v10 (https://discord.com/developers/docs/reference).
//
// Credentials: Nango's discord integration holds a user's OAuth2 token,
// which Discord accepts as "Authorization: Bearer" only for the user's own
// resources (list_guilds sends it). Everything in a guild's channels is
// the application's bot's to do ("Authorization: Bot <token>", security
// BotToken of create_message, update_message and add_my_message_reaction;
// list_guild_channels also names OAuth2, but a user's token has no scope
// that grants it): those actions send the deployment's bot token
// (Credentials.AppToken), which reaches every server the bot was added
// to, whoever added it. So each has a guard that checks, with the user's
// token, that the channel or guild is in one of the user's own servers
// before the bot acts: a user acts only on their own servers.
//
// Retries: create_message is not idempotent (a retry posts again; Discord
// has no idempotency key); update_message (PATCH, the same content) and
// add_my_message_reaction (PUT, 204 if already there) are.
func discordActions() connector {
	channelParam := Param{Name: "channel_id", Kind: String, Required: true, Segment: true, Pattern: snowflake, Description: "The channel's id (a snowflake), in one of your servers the bot was added to."}
	messageParam := Param{Name: "message_id", Kind: String, Required: true, Segment: true, Pattern: snowflake, Description: "The message's id (a snowflake)."}
	return connector{provider: &provider{id: "discord", auth: discordAuth, appAuth: discordBotAuth}, actions: []*spec{
		{
			name:       "send_message",
			write:      true,
			credential: registry.AppCredential(discordBotToken),
			operation:  "discord.json create_message",
			scopes:     []string{"guilds", "bot"},
			output:     discordMessageOutput,
			params: []Param{
				channelParam,
				{Name: "content", Kind: String, Required: true, Max: 2000, Description: "The message text (up to 2000 characters)."},
				{Name: "tts", Kind: Bool, Description: "Send as a text-to-speech message."},
			},
			// POST /channels/{channel.id}/messages, as the bot. Not
			// idempotent: a retry posts again.
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
			operation:  "discord.json list_my_guilds",
			scopes:     []string{"guilds"},
			output: `{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"object","required":["id","name"],
				"properties":{"id":{"type":"string"},"name":{"type":"string"},"icon":{"type":["string","null"]},"owner":{"type":"boolean"},"permissions":{"type":"string"}}}}}}`,
			params: []Param{
				{Name: "limit", Kind: Int, Min: 1, Max: 200, Description: "How many servers to answer (1-200; default 200)."},
				{Name: "after", Kind: String, SingleLine: true, Pattern: snowflake, Description: "Answer servers whose id is after this one (paging)."},
			},
			// GET /users/@me/guilds, as the user (OAuth2 scope guilds).
			build: func(a args, _ Request, c *call) error {
				c.path = "/users/@me/guilds"
				c.query = url.Values{"limit": {strconv.FormatInt(defaultInt(a, "limit", 200), 10)}}
				if a.has("after") {
					c.query.Set("after", a.str("after"))
				}
				return nil
			},
		},
		{
			name:       "edit_message",
			write:      true,
			credential: registry.AppCredential(discordBotToken),
			operation:  "discord.json update_message",
			scopes:     []string{"guilds", "bot"},
			output:     discordMessageOutput,
			params: []Param{
				channelParam, messageParam,
				{Name: "content", Kind: String, Required: true, Max: 2000, Description: "The message's new text (up to 2000 characters). Only the bot's own messages can be edited."},
			},
			// PATCH /channels/{channel.id}/messages/{message.id}, as the
			// bot (Discord lets only a message's author change its
			// content). Idempotent: the same PATCH leaves the same message.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPatch
				c.path = "/channels/" + seg(a.str("channel_id")) + "/messages/" + seg(a.str("message_id"))
				return c.json(map[string]any{"content": a.str("content")})
			},
			guard: discordChannelIsTheUsers,
		},
		{
			name:       "add_reaction",
			write:      true,
			credential: registry.AppCredential(discordBotToken),
			operation:  "discord.json add_my_message_reaction",
			scopes:     []string{"guilds", "bot"},
			output:     emptyOutput,
			params: []Param{
				channelParam, messageParam,
				{Name: "emoji", Kind: String, Required: true, SingleLine: true, Pattern: discordEmoji, Description: "A Unicode emoji (👍), or a custom emoji as name:id."},
			},
			// PUT /channels/{channel.id}/messages/{message.id}/reactions/{emoji}/@me,
			// as the bot, the emoji URL-encoded (docs-rules
			// discord.reaction_emoji_encoding); 204. Idempotent: the
			// bot's reaction is there once however often it is put.
			build: func(a args, _ Request, c *call) error {
				c.method = http.MethodPut
				c.path = "/channels/" + seg(a.str("channel_id")) + "/messages/" + seg(a.str("message_id")) + "/reactions/" + encodeURIComponent(a.str("emoji")) + "/@me"
				return nil
			},
			guard: discordChannelIsTheUsers,
		},
		{
			name:       "list_channels",
			credential: registry.AppCredential(discordBotToken),
			operation:  "discord.json list_guild_channels",
			scopes:     []string{"guilds", "bot"},
			output: `{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"object","required":["id","type"],
				"properties":{"id":{"type":"string"},"type":{"type":"integer"},"name":{"type":["string","null"]},"guild_id":{"type":"string"},"parent_id":{"type":["string","null"]},"position":{"type":"integer"}}}}}}`,
			params: []Param{
				{Name: "guild_id", Kind: String, Required: true, Segment: true, Pattern: snowflake, Description: "The server's id (list_guilds); the bot must have been added to it."},
			},
			// GET /guilds/{guild.id}/channels, as the bot: the user's
			// token has no scope for it.
			build: func(a args, _ Request, c *call) error {
				c.path = "/guilds/" + seg(a.str("guild_id")) + "/channels"
				return nil
			},
			guard: discordGuildIsTheUsers,
		},
	}}
}

// discordMessageOutput is a message object (create_message's and
// update_message's answer), as far as callers read it.
const discordMessageOutput = `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"channel_id":{"type":"string"},
	"content":{"type":"string"},"timestamp":{"type":"string"},"edited_timestamp":{"type":["string","null"]},"author":{"type":"object"}}}`

// discordEmoji is a reaction's emoji: Unicode (some non-ASCII character,
// no spaces) or a custom emoji's name:id.
const discordEmoji = `^([A-Za-z0-9_]{1,32}:[0-9]+|[^\s]*[^\x00-\x7F][^\s]*)$`

// encodeURIComponent percent-encodes every byte but RFC 3986's unreserved
// characters: Discord wants the emoji URL-encoded, ':' of name:id too
// (url.PathEscape would keep it).
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
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

// discordChannelIsTheUsers is the guard of the actions on a channel
// (send_message, edit_message, add_reaction): the channel must be in one
// of the user's own Discord servers (guilds), which the bot token alone
// cannot tell. It reads the channel's guild with the bot token and the
// user's guilds with the user's OAuth2 token.
func discordChannelIsTheUsers(r *reads, a args) error {
	id := a.str("channel_id")
	// GET /channels/{channel.id} is Discord's documented "Get Channel"
	// (https://discord.com/developers/docs/resources/channel#get-channel):
	// a guild channel answers its guild_id, a DM channel none. It is not
	// in the excerpt discord.json, which keeps only the operations the
	// actions themselves send. Sent as the bot, which is what must see the
	// channel to act in it.
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
	mine, err := discordUserInGuild(r, ch.GuildID)
	if err != nil {
		return err
	}
	if !mine {
		return notYours
	}
	return nil
}

// discordGuildIsTheUsers is list_channels' guard: the guild must be one of
// the user's own servers; the bot's membership is Discord's to check (403
// Missing Access, 50001, when it was not added).
func discordGuildIsTheUsers(r *reads, a args) error {
	id := a.str("guild_id")
	mine, err := discordUserInGuild(r, id)
	if err != nil {
		return err
	}
	if !mine {
		return connectors.Errorf(connectors.EInvalid, "%s: guild %s is not one of your Discord servers", r.s.key, id)
	}
	return nil
}

// discordUserInGuild reports whether the user is a member of guild: GET
// /users/@me/guilds (list_my_guilds, OAuth2 scope guilds), as the user,
// paged with after.
func discordUserInGuild(r *reads, guild string) (bool, error) {
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
			return false, err
		}
		for _, g := range guilds {
			if g.ID == guild {
				return true, nil
			}
		}
		if len(guilds) < discordGuildPage {
			break
		}
		after = guilds[len(guilds)-1].ID
	}
	return false, nil
}
