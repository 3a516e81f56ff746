package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// fakeDiscord stands in for Discord's API: channels the bot can see, the
// user's guilds, and the messages created. Every request is recorded.
type fakeDiscord struct {
	bot, user string
	channels  map[string]string // channel id -> guild id ("" for a DM channel)
	guilds    []string          // the user's guild ids, ascending
	// status, when set for "METHOD path", answers that instead.
	status map[string]int

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, auth string
	query              map[string][]string
	body               []byte
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.URL.Query(), body})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if st := f.status[r.Method+" "+r.URL.EscapedPath()]; st != 0 {
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"message":"status %d","code":0}`, st)
		return
	}
	const prefix = "/api/v10"
	path := strings.TrimPrefix(r.URL.Path, prefix)
	auth := r.Header.Get("Authorization")
	switch {
	case r.Method == "GET" && path == "/users/@me/guilds":
		if auth != "Bearer "+f.user {
			w.WriteHeader(401)
			io.WriteString(w, `{"message":"401: Unauthorized","code":0}`)
			return
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		after := r.URL.Query().Get("after")
		var page []map[string]any
		for _, g := range f.guilds {
			if len(page) == limit {
				break
			}
			if after == "" || g > after { // equal-length ids in tests
				page = append(page, map[string]any{"id": g, "name": "g" + g, "icon": nil, "banner": nil, "owner": false, "permissions": "0", "features": []any{}})
			}
		}
		json.NewEncoder(w).Encode(page)
	case r.Method == "GET" && strings.HasPrefix(path, "/channels/"):
		if auth != "Bot "+f.bot {
			w.WriteHeader(401)
			io.WriteString(w, `{"message":"401: Unauthorized","code":0}`)
			return
		}
		id := strings.TrimPrefix(path, "/channels/")
		g, ok := f.channels[id]
		if !ok {
			w.WriteHeader(404)
			io.WriteString(w, `{"message":"Unknown Channel","code":10003}`)
			return
		}
		ch := map[string]any{"id": id, "type": 1}
		if g != "" {
			ch = map[string]any{"id": id, "type": 0, "guild_id": g}
		}
		json.NewEncoder(w).Encode(ch)
	case r.Method == "POST" && strings.HasSuffix(path, "/messages"):
		if auth != "Bot "+f.bot {
			w.WriteHeader(401)
			io.WriteString(w, `{"message":"401: Unauthorized","code":0}`)
			return
		}
		io.WriteString(w, `{"id":"1100000000000000001","content":"hi"}`)
	case r.Method == "PATCH" && strings.HasPrefix(path, "/channels/"):
		if auth != "Bot "+f.bot {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `{"id":"1100000000000000001","content":"edited"}`)
	case r.Method == "PUT" && strings.HasSuffix(path, "/@me"):
		if auth != "Bot "+f.bot {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(204)
	case r.Method == "GET" && strings.HasPrefix(path, "/guilds/") && strings.HasSuffix(path, "/channels"):
		if auth != "Bot "+f.bot {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `[{"id":"1099090999999999999","type":0}]`)
	default:
		w.WriteHeader(404)
		io.WriteString(w, `{"message":"404: Not Found","code":0}`)
	}
}

func (f *fakeDiscord) posts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.reqs {
		if r.method == "POST" {
			n++
		}
	}
	return n
}

const (
	userGuild  = "80351110224678912"
	otherGuild = "90351110224678912"
)

func newFakeDiscord() *fakeDiscord {
	return &fakeDiscord{
		bot: botTok, user: oauthTok,
		channels: map[string]string{
			"1099090999999999999": userGuild,  // the user's server
			"1099090999999999998": otherGuild, // a server the bot is in, the user not
			"1099090999999999997": "",         // a DM channel
		},
		guilds: []string{"70351110224678912", userGuild},
	}
}

func sendMessage(channel string, creds connectors.Credentials, base string) Request {
	return Request{
		Connector: "discord", Action: "send_message",
		Params:      map[string]any{"channel_id": channel, "content": "hi", "tts": true},
		Credentials: creds, BaseURL: base,
	}
}

// TestDiscordSendMessageGuard: the channel is checked against the user's
// guilds, with the user's token, before the bot posts once.
func TestDiscordSendMessageGuard(t *testing.T) {
	cat := testCatalogue(t)
	both := connectors.Credentials{AccessToken: oauthTok, AppToken: botTok}
	tests := []struct {
		name     string
		channel  string
		creds    connectors.Credentials
		tweak    func(f *fakeDiscord)
		wantCode string   // "" for success
		wantMsg  []string // substrings of the message
		wantSent []string // "METHOD path" of every request, in order
	}{
		{
			name: "user's channel", channel: "1099090999999999999", creds: both,
			wantSent: []string{"GET /api/v10/channels/1099090999999999999", "GET /api/v10/users/@me/guilds", "POST /api/v10/channels/1099090999999999999/messages"},
		},
		{
			name: "guild on the second page", channel: "1099090999999999999", creds: both,
			tweak: func(f *fakeDiscord) {
				f.guilds = nil
				for i := range discordGuildPage {
					f.guilds = append(f.guilds, fmt.Sprintf("6%016d", i))
				}
				f.guilds = append(f.guilds, userGuild)
			},
			wantSent: []string{"GET /api/v10/channels/1099090999999999999", "GET /api/v10/users/@me/guilds", "GET /api/v10/users/@me/guilds", "POST /api/v10/channels/1099090999999999999/messages"},
		},
		{
			name: "channel outside the user's guilds", channel: "1099090999999999998", creds: both,
			wantCode: connectors.EInvalid, wantMsg: []string{"1099090999999999998", "not in one of your Discord servers"},
			wantSent: []string{"GET /api/v10/channels/1099090999999999998", "GET /api/v10/users/@me/guilds"},
		},
		{
			name: "DM channel", channel: "1099090999999999997", creds: both,
			wantCode: connectors.EInvalid, wantMsg: []string{"1099090999999999997", "not in one of your Discord servers"},
			wantSent: []string{"GET /api/v10/channels/1099090999999999997"},
		},
		{
			name: "bot cannot see the channel (404)", channel: "1099090999999999990", creds: both,
			wantCode: connectors.EInvalid, wantMsg: []string{"1099090999999999990", "add the bot"},
			wantSent: []string{"GET /api/v10/channels/1099090999999999990"},
		},
		{
			name: "bot cannot see the channel (403)", channel: "1099090999999999999", creds: both,
			tweak:    func(f *fakeDiscord) { f.status = map[string]int{"GET /api/v10/channels/1099090999999999999": 403} },
			wantCode: connectors.EInvalid, wantMsg: []string{"1099090999999999999", "add the bot"},
			wantSent: []string{"GET /api/v10/channels/1099090999999999999"},
		},
		{
			name: "no bot token", channel: "1099090999999999999", creds: connectors.Credentials{AccessToken: oauthTok},
			wantCode: connectors.ENotConfigured, wantMsg: []string{"discord_bot_token"},
		},
		{
			name: "bot token refused", channel: "1099090999999999999", creds: connectors.Credentials{AccessToken: oauthTok, AppToken: "stale-bot-token"},
			wantCode: connectors.ENotConfigured, wantMsg: []string{"discord_bot_token"},
			wantSent: []string{"GET /api/v10/channels/1099090999999999999"},
		},
		{
			name: "user token refused", channel: "1099090999999999999", creds: connectors.Credentials{AccessToken: "expired-user-token", AppToken: botTok},
			wantCode: connectors.EUnauthorized,
			wantSent: []string{"GET /api/v10/channels/1099090999999999999", "GET /api/v10/users/@me/guilds"},
		},
		{
			name: "no user token", channel: "1099090999999999999", creds: connectors.Credentials{AppToken: botTok},
			wantCode: connectors.EUnauthorized,
			wantSent: []string{"GET /api/v10/channels/1099090999999999999"},
		},
		{
			name: "guilds rate limited", channel: "1099090999999999999", creds: both,
			tweak:    func(f *fakeDiscord) { f.status = map[string]int{"GET /api/v10/users/@me/guilds": 429} },
			wantCode: connectors.ERateLimited,
			wantSent: []string{"GET /api/v10/channels/1099090999999999999", "GET /api/v10/users/@me/guilds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord()
			if tt.tweak != nil {
				tt.tweak(f)
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			out, err := cat.Run(context.Background(), srv.Client(), nil, sendMessage(tt.channel, tt.creds, srv.URL))
			if tt.wantCode == "" {
				if err != nil || out["id"] != "1100000000000000001" {
					t.Fatalf("Run = %v, %v", out, err)
				}
			} else if !hasCode(err, tt.wantCode) {
				t.Fatalf("err = %v, want %s", err, tt.wantCode)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(connectors.ErrorMessage(err), m) {
					t.Errorf("message %q does not contain %q", connectors.ErrorMessage(err), m)
				}
			}
			var sent []string
			for _, r := range f.reqs {
				sent = append(sent, r.method+" "+r.path)
			}
			if !slices.Equal(sent, tt.wantSent) {
				t.Errorf("sent %v\n want %v", sent, tt.wantSent)
			}
			if err != nil {
				for _, secret := range tt.creds.Secrets() {
					if secret != "" && strings.Contains(err.Error(), secret) {
						t.Errorf("error holds a credential: %v", err)
					}
				}
			}
			// Each read carries the credential it is documented with.
			for _, r := range f.reqs {
				want := "Bot " + tt.creds.AppToken
				if r.path == "/api/v10/users/@me/guilds" {
					want = "Bearer " + tt.creds.AccessToken
				}
				if r.auth != want {
					t.Errorf("%s %s sent %q, want %q", r.method, r.path, r.auth, want)
				}
			}
		})
	}
}

// TestDiscordPagesGuildsWithAfter: a full page of 200 is followed by the
// next one from its last id, and the paging stops at its bound.
func TestDiscordPagesGuildsWithAfter(t *testing.T) {
	cat := testCatalogue(t)
	f := newFakeDiscord()
	f.guilds = nil
	for i := range discordGuildPage*discordGuildPages + 50 {
		f.guilds = append(f.guilds, fmt.Sprintf("5%016d", i))
	}
	f.channels["1099090999999999999"] = "6000000000000000000" // in none of them
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, err := cat.Run(context.Background(), srv.Client(), nil, sendMessage("1099090999999999999", connectors.Credentials{AccessToken: oauthTok, AppToken: botTok}, srv.URL))
	if !hasCode(err, connectors.EInvalid) || f.posts() != 0 {
		t.Fatalf("err %v, %d posts", err, f.posts())
	}
	var afters []string
	for _, r := range f.reqs {
		if r.path == "/api/v10/users/@me/guilds" {
			if got := r.query["limit"]; !slices.Equal(got, []string{"200"}) {
				t.Errorf("limit %v, want 200", got)
			}
			afters = append(afters, strings.Join(r.query["after"], ","))
		}
	}
	want := []string{""}
	for p := 1; p < discordGuildPages; p++ {
		want = append(want, f.guilds[p*discordGuildPage-1])
	}
	if !slices.Equal(afters, want) {
		t.Errorf("after = %v, want %v", afters, want)
	}
}

// TestDiscordRequestsMatchDiscordJSON holds send_message's requests to
// discord.json: create_message (path, method, body, security BotToken)
// with the bot token, list_my_guilds (OAuth2, scope guilds) with the
// user's, and the manifest asking for that scope.
func TestDiscordRequestsMatchDiscordJSON(t *testing.T) {
	cat := testCatalogue(t)
	var got []*http.Request
	var bodies [][]byte
	f := newFakeDiscord()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, bodies = append(got, r), append(bodies, b)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if _, err := cat.Run(context.Background(), srv.Client(), nil, sendMessage("1099090999999999999", connectors.Credentials{AccessToken: oauthTok, AppToken: botTok}, srv.URL)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	doc := loadSpec(t, "discord.json")
	if s := doc.Components.SecuritySchemes["BotToken"]; s.Type != "apiKey" || s.In != "header" || s.Name != "Authorization" {
		t.Errorf("discord.json BotToken = %+v", s)
	}

	guilds := got[1]
	so := checkOperation(t, "discord.json", "list_my_guilds", guilds.Method, guilds.URL, guilds.Header, bodies[1])
	if !slices.ContainsFunc(so.security, func(r map[string][]string) bool { return slices.Contains(r["OAuth2"], "guilds") }) {
		t.Errorf("list_my_guilds security %v has no OAuth2 guilds", so.security)
	}
	if a := guilds.Header.Get("Authorization"); a != "Bearer "+oauthTok {
		t.Errorf("guilds read sent %q, want the user's Bearer token", a)
	}
	m, _ := cat.Registry().Lookup("discord")
	if !slices.Contains(m.Scopes, "guilds") {
		t.Errorf("the Discord manifest asks for %v, not guilds", m.Scopes)
	}

	post := got[2]
	so = checkOperation(t, "discord.json", "create_message", post.Method, post.URL, post.Header, bodies[2])
	if reqs := requirementNames(so.security); !slices.Equal(reqs, []string{"BotToken"}) {
		t.Errorf("create_message security %v, want BotToken only", reqs)
	}
	if a := post.Header.Get("Authorization"); a != "Bot "+botTok {
		t.Errorf("create_message sent %q, want Bot <token>", a)
	}
	var body map[string]any
	if err := json.Unmarshal(bodies[2], &body); err != nil || body["content"] != "hi" || body["tts"] != true {
		t.Errorf("body %s", bodies[2])
	}

	// The channel read is Discord's documented Get Channel, not in the
	// excerpt: GET /channels/{channel.id} as the bot.
	ch := got[0]
	if ch.Method != "GET" || ch.URL.EscapedPath() != "/api/v10/channels/1099090999999999999" || ch.URL.RawQuery != "" || len(bodies[0]) != 0 || ch.Header.Get("Authorization") != "Bot "+botTok || ch.Header.Get("User-Agent") != discordUserAgent {
		t.Errorf("channel read %s %s %q", ch.Method, ch.URL, ch.Header.Get("Authorization"))
	}
	if _, inExcerpt := doc.Paths["/channels/{channel_id}"]; inExcerpt {
		t.Error("discord.json now has GET /channels/{channel_id}: hold the channel read to it")
	}

	a, _ := cat.Lookup("discord", "send_message")
	if a.Credential() != registry.AppCredential("discord_bot_token") {
		t.Errorf("send_message declares %q", a.Credential())
	}
	if l, _ := cat.Lookup("discord", "list_guilds"); l.Credential() != registry.CredentialConnection {
		t.Errorf("list_guilds declares %q", l.Credential())
	}
}

func init() { moreCases = append(moreCases, discordCases) }

// Discord's documented answers to the guards' reads.
var (
	discordChannelRead = exchange{
		// Get Channel, as the bot: not in discord.json (Discord's
		// documented GET /channels/{channel.id}).
		want: wantRequest{
			method: "GET", path: "/api/v10/channels/1099090999999999999",
			header: map[string]string{"Authorization": "Bot bot.token.value", "User-Agent": discordUserAgent},
		},
		status: 200, answer: `{"id":"1099090999999999999","type":0,"guild_id":"80351110224678912","name":"general"}`,
	}
	discordGuildsRead = exchange{
		// The user's guilds, as the user (OAuth2 scope guilds).
		want: wantRequest{
			method: "GET", path: "/api/v10/users/@me/guilds",
			query:     url.Values{"limit": {"200"}},
			header:    map[string]string{"Authorization": "Bearer user-oauth-token", "User-Agent": discordUserAgent},
			operation: [2]string{"discord.json", "list_my_guilds"},
		},
		status: 200, answer: `[{"id":"80351110224678912","name":"1337 Krew","icon":null,"banner":null,"owner":true,"permissions":"36953089","features":[]}]`,
	}
)

// discordCases are Discord's actions as discord.json describes them; the
// bot's actions send the guard's reads first.
func discordCases() []requestCase {
	both := connectors.Credentials{AccessToken: "user-oauth-token", AppToken: "bot.token.value"}
	bot := map[string]string{"Authorization": "Bot bot.token.value", "User-Agent": discordUserAgent}
	botJSON := map[string]string{"Authorization": "Bot bot.token.value", "Content-Type": jsonC, "User-Agent": discordUserAgent}
	msg := `{"id":"1100000000000000001","channel_id":"1099090999999999999","content":"hi","timestamp":"2026-05-01T09:00:00.000000+00:00","edited_timestamp":null,"tts":false,"mention_everyone":false,"pinned":false,"type":0,` +
		`"mentions":[],"mention_roles":[],"attachments":[],"embeds":[],"flags":0,"components":[],"author":{"id":"1090000000000000001","username":"automators","bot":true}}`
	return []requestCase{
		{
			connector: "discord", action: "send_message",
			params: map[string]any{"channel_id": "1099090999999999999", "content": "hi", "tts": false},
			creds:  both,
			pre:    []exchange{discordChannelRead, discordGuildsRead},
			want: wantRequest{
				method: "POST", path: "/api/v10/channels/1099090999999999999/messages",
				header: botJSON, json: `{"content":"hi","tts":false}`,
				operation: [2]string{"discord.json", "create_message"},
			},
			status: 200, answer: msg,
		},
		{
			connector: "discord", action: "list_guilds",
			params: map[string]any{"limit": float64(50)},
			creds:  connectors.Credentials{AccessToken: "user-oauth-token"},
			want: wantRequest{
				method: "GET", path: "/api/v10/users/@me/guilds",
				query:     url.Values{"limit": {"50"}},
				header:    map[string]string{"Authorization": "Bearer user-oauth-token", "User-Agent": discordUserAgent},
				operation: [2]string{"discord.json", "list_my_guilds"},
			},
			status: 200, answer: `[{"id":"80351110224678912","name":"1337 Krew","icon":null,"banner":null,"owner":true,"permissions":"36953089","features":[]}]`,
			wantOut: func(t *testing.T, out map[string]any) {
				if items, _ := out["items"].([]any); len(items) != 1 {
					t.Errorf("array answer not under items: %v", out)
				}
			},
		},
		{
			connector: "discord", action: "edit_message",
			params: map[string]any{"channel_id": "1099090999999999999", "message_id": "1100000000000000001", "content": "hi (edited)"},
			creds:  both,
			pre:    []exchange{discordChannelRead, discordGuildsRead},
			want: wantRequest{
				method: "PATCH", path: "/api/v10/channels/1099090999999999999/messages/1100000000000000001",
				header: botJSON, json: `{"content":"hi (edited)"}`,
				operation: [2]string{"discord.json", "update_message"},
			},
			status: 200, answer: strings.Replace(strings.Replace(msg, `"content":"hi"`, `"content":"hi (edited)"`, 1), `"edited_timestamp":null`, `"edited_timestamp":"2026-05-01T09:05:00.000000+00:00"`, 1),
		},
		{
			connector: "discord", action: "add_reaction",
			params: map[string]any{"channel_id": "1099090999999999999", "message_id": "1100000000000000001", "emoji": "🔥"},
			creds:  both,
			pre:    []exchange{discordChannelRead, discordGuildsRead},
			want: wantRequest{
				method: "PUT", path: "/api/v10/channels/1099090999999999999/messages/1100000000000000001/reactions/%F0%9F%94%A5/@me",
				header: bot, operation: [2]string{"discord.json", "add_my_message_reaction"},
			},
			status: 204, answer: ``,
			wantOut: func(t *testing.T, out map[string]any) {
				if len(out) != 0 {
					t.Errorf("204 gave %v", out)
				}
			},
		},
		{
			connector: "discord", action: "list_channels",
			params: map[string]any{"guild_id": "80351110224678912"},
			creds:  both,
			pre:    []exchange{discordGuildsRead},
			want: wantRequest{
				method: "GET", path: "/api/v10/guilds/80351110224678912/channels",
				header: bot, operation: [2]string{"discord.json", "list_guild_channels"},
			},
			status: 200, answer: `[{"id":"1099090999999999999","type":0,"guild_id":"80351110224678912","name":"general","position":0,"permission_overwrites":[],"nsfw":false,"parent_id":null,"flags":0}]`,
		},
	}
}

// TestDiscordReactionEmojiEncoding: the emoji is URL-encoded, a custom
// emoji's name:id too (docs-rules discord.reaction_emoji_encoding).
func TestDiscordReactionEmojiEncoding(t *testing.T) {
	for emoji, want := range map[string]string{
		"🔥":                           "%F0%9F%94%A5",
		"👍🏽":                          "%F0%9F%91%8D%F0%9F%8F%BD",
		"party_blob:1234567890123456": "party_blob%3A1234567890123456",
	} {
		if got := encodeURIComponent(emoji); got != want {
			t.Errorf("%q encoded %s, want %s", emoji, got, want)
		}
	}
	a, _ := testCatalogue(t).Lookup("discord", "add_reaction")
	for _, bad := range []string{"fire", "a b", "🔥 🔥", "name:", "../x"} {
		if err := a.Validate(map[string]any{"channel_id": "1", "message_id": "2", "emoji": bad}); !hasCode(err, connectors.EInvalid) {
			t.Errorf("emoji %q accepted", bad)
		}
	}
}

// TestDiscordNewActionsGuard: edit_message and add_reaction act only on a
// channel of one of the user's servers, list_channels only on one of the
// user's servers; otherwise nothing is sent as the bot past the reads.
func TestDiscordNewActionsGuard(t *testing.T) {
	cat := testCatalogue(t)
	both := connectors.Credentials{AccessToken: oauthTok, AppToken: botTok}
	onChannel := func(action, channel string, extra map[string]any) Request {
		p := map[string]any{"channel_id": channel, "message_id": "1100000000000000001"}
		for k, v := range extra {
			p[k] = v
		}
		return Request{Connector: "discord", Action: action, Params: p, Credentials: both}
	}
	tests := []struct {
		name     string
		req      Request
		wantCode string
		wantLast string // the last request sent
	}{
		{"edit in the user's channel", onChannel("edit_message", "1099090999999999999", map[string]any{"content": "x"}), "", "PATCH /api/v10/channels/1099090999999999999/messages/1100000000000000001"},
		{"edit outside the user's servers", onChannel("edit_message", "1099090999999999998", map[string]any{"content": "x"}), connectors.EInvalid, "GET /api/v10/users/@me/guilds"},
		{"edit in a DM", onChannel("edit_message", "1099090999999999997", map[string]any{"content": "x"}), connectors.EInvalid, "GET /api/v10/channels/1099090999999999997"},
		{"react in the user's channel", onChannel("add_reaction", "1099090999999999999", map[string]any{"emoji": "👍"}), "", "PUT /api/v10/channels/1099090999999999999/messages/1100000000000000001/reactions/%F0%9F%91%8D/@me"},
		{"react outside the user's servers", onChannel("add_reaction", "1099090999999999998", map[string]any{"emoji": "👍"}), connectors.EInvalid, "GET /api/v10/users/@me/guilds"},
		{"channels of the user's server", Request{Connector: "discord", Action: "list_channels", Params: map[string]any{"guild_id": userGuild}, Credentials: both}, "", "GET /api/v10/guilds/" + userGuild + "/channels"},
		{"channels of another server", Request{Connector: "discord", Action: "list_channels", Params: map[string]any{"guild_id": otherGuild}, Credentials: both}, connectors.EInvalid, "GET /api/v10/users/@me/guilds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord()
			srv := httptest.NewServer(f)
			defer srv.Close()
			tt.req.BaseURL = srv.URL
			_, err := cat.Run(context.Background(), srv.Client(), nil, tt.req)
			if tt.wantCode == "" && err != nil || tt.wantCode != "" && !hasCode(err, tt.wantCode) {
				t.Fatalf("err = %v, want %q", err, tt.wantCode)
			}
			last := f.reqs[len(f.reqs)-1]
			if got := last.method + " " + last.path; got != tt.wantLast {
				t.Errorf("last request %s, want %s", got, tt.wantLast)
			}
			for _, r := range f.reqs {
				want := "Bot " + botTok
				if r.path == "/api/v10/users/@me/guilds" {
					want = "Bearer " + oauthTok
				}
				if r.auth != want {
					t.Errorf("%s %s sent %q, want %q", r.method, r.path, r.auth, want)
				}
			}
		})
	}
}

// TestDiscordFailures: Discord's documented failures of the new actions
// (50001 Missing Access, 10008 Unknown Message, 429 with retry_after in
// the body) map to the connectors codes.
func TestDiscordFailures(t *testing.T) {
	cat := testCatalogue(t)
	failures := []failure{
		{name: "missing access", status: 403, body: `{"message":"Missing Access","code":50001}`, wantCode: connectors.EUpstream, wantMsg: "50001: Missing Access"},
		{name: "unknown message", status: 404, body: `{"message":"Unknown Message","code":10008}`, wantCode: connectors.EUpstream, wantMsg: "10008: Unknown Message"},
		{name: "rate limited", status: 429, body: `{"message":"You are being rate limited.","retry_after":1.5,"global":false}`, wantCode: connectors.ERateLimited, wantMsg: "rate limited", wantRetry: 1500 * time.Millisecond},
		{name: "bot token refused", status: 401, body: `{"message":"401: Unauthorized","code":0}`, wantCode: connectors.ENotConfigured, wantMsg: "discord_bot_token"},
	}
	for _, action := range []string{"edit_message", "add_reaction", "list_channels"} {
		tc := caseFor(t, discordCases(), "discord", action)
		for _, f := range failures {
			if action == "list_channels" && f.name == "unknown message" {
				f = failure{name: "unknown guild", status: 404, body: `{"message":"Unknown Guild","code":10004}`, wantCode: connectors.EUpstream, wantMsg: "10004: Unknown Guild"}
			}
			t.Run(action+"/"+f.name, func(t *testing.T) {
				r := &recorder{}
				checkOpenAPIAnswer(r, t, "discord.json", tc.want.operation[1], f.status, []byte(f.body))
				if len(r.errs) != 0 {
					t.Errorf("failure answer not documented: %v", r.errs)
				}
				runFailure(t, cat, tc, f)
			})
		}
	}
}
