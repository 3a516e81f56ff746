package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

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
