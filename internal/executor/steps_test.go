package executor_test

// Routing steps 2 (API keys) and 3 (an organization's shared connection)
// as the executor runs them.

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
)

const stripeSecret = "sk_test_51ExecutorStepTwoKey000"

func TestExecuteWithAPIKeyConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	p := connectors.Principal{UserID: "u1", OrganizationID: "o1"}
	c, err := e.svc.Create(ctx, p, connect.CreateParams{Connector: "stripe", Credentials: map[string]string{"secret_key": stripeSecret}})
	if err != nil {
		t.Fatal(err)
	}
	test := e.stripe.calls()
	if len(test) != 1 || test[0].Method != http.MethodGet || test[0].Path != "/v1/balance" || bearerOf(test[0]) != stripeSecret {
		t.Fatalf("test call %+v, want one GET /v1/balance with the key as bearer", test)
	}

	out, err := e.exec.Execute(ctx, in("o1", "u1", "integration.stripe.create_customer", stripeParams()))
	if err != nil {
		t.Fatal(err)
	}
	if out.Route.Step != 2 || out.Route.Target != connectors.ProviderAPIKey || out.ConnectionID != c.ID {
		t.Fatalf("route %+v on %s, want step 2 on %s", out.Route, out.ConnectionID, c.ID)
	}
	calls := e.stripe.calls()
	last := calls[len(calls)-1]
	if last.Method != http.MethodPost || last.Path != "/v1/customers" || bearerOf(last) != stripeSecret {
		t.Fatalf("action request %s %s with bearer %q", last.Method, last.Path, bearerOf(last))
	}
	if strings.Contains(mustJSON(t, out), stripeSecret) {
		t.Fatal("the output holds the key")
	}
	if n := e.nangoTx.count(); n != 0 {
		t.Errorf("%d requests to Nango for an API-key connection", n)
	}
}

func TestExecuteWithSharedConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	id := e.nangoConn("acme", "admin", "slack")
	c, err := e.store.GetConnection(ctx, "acme", id)
	if err != nil {
		t.Fatal(err)
	}

	// Not shared yet: the member has no connection.
	_, err = e.exec.Execute(ctx, in("acme", "member", "integration.slack.send_message", slackParams()))
	if got := errName(t, err).Name; got != "Connectors.ConnectionNotFound" {
		t.Fatalf("before sharing: %s", got)
	}

	c.Shared = true
	if err := e.store.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	out, err := e.exec.Execute(ctx, in("acme", "member", "integration.slack.send_message", slackParams()))
	if err != nil {
		t.Fatal(err)
	}
	if out.Route.Step != 3 || out.Route.Target != connectors.ProviderOrgShared || out.ConnectionID != id {
		t.Fatalf("member's route %+v on %s, want step 3 on %s", out.Route, out.ConnectionID, id)
	}
	// The member may name it too.
	named := in("acme", "member", "integration.slack.send_message", slackParams())
	named.ConnectionID = id
	if out, err := e.exec.Execute(ctx, named); err != nil || out.Route.Step != 3 {
		t.Fatalf("naming the shared connection: %+v, %v", out.Route, err)
	}

	// The owner's own node stays on step 1.
	if out, err := e.exec.Execute(ctx, in("acme", "admin", "integration.slack.send_message", slackParams())); err != nil || out.Route.Step != 1 {
		t.Fatalf("owner's route %+v, %v", out.Route, err)
	}

	// Attack: another organization's member, with or without its id.
	for _, x := range []crossOrg{{"globex", "member", ""}, {"globex", "member", id}, {"globex", "admin", id}} {
		i := in(x.org, x.user, "integration.slack.send_message", slackParams())
		i.ConnectionID = x.conn
		_, err := e.exec.Execute(ctx, i)
		if got := errName(t, err).Name; got != "Connectors.ConnectionNotFound" {
			t.Errorf("%+v used acme's shared connection: %s", x, got)
		}
	}

	// A shared connection the owner must reconnect fails as such.
	e.setStatus("acme", id, connectors.StatusReauthRequired)
	_, err = e.exec.Execute(ctx, in("acme", "member", "integration.slack.send_message", slackParams()))
	if xe := errName(t, err); xe.Name != "Connectors.ReauthRequired" || !strings.Contains(xe.Message, "its owner") {
		t.Fatalf("reauth shared: %s %s", xe.Name, xe.Message)
	}
}

type crossOrg struct{ org, user, conn string }

// discordAPI stands in for Discord: channel 111 is in guild G1, channel
// 222 in guild G2; the user (any bearer token) is in G1 only.
func discordAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v10/channels/111111111111111111":
		io.WriteString(w, `{"id":"111111111111111111","type":0,"guild_id":"G1"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v10/channels/222222222222222222":
		io.WriteString(w, `{"id":"222222222222222222","type":0,"guild_id":"G2"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v10/users/@me/guilds":
		io.WriteString(w, `[{"id":"G1","name":"Acme"}]`)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages"):
		io.WriteString(w, `{"id":"333333333333333333","channel_id":"111111111111111111","content":"hi"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Unknown Channel","code":10003}`)
	}
}

// TestExecuteWithAppCredential: Discord's send_message posts as the
// deployment's bot, in a channel of one of the user's own servers, which
// the user's Nango connection says.
func TestExecuteWithAppCredential(t *testing.T) {
	const bot = "discord-bot-token-of-the-deployment"
	node := func(channel string) executor.Input {
		return in("acme", "u1", "integration.discord.send_message", map[string]any{"channel_id": channel, "content": "hi"})
	}
	t.Run("posts as the bot", func(t *testing.T) {
		e := newEnv(t, envOptions{app: map[string]string{"discord_bot_token": bot}})
		e.nangoConn("acme", "u1", "discord")
		out, err := e.exec.Execute(t.Context(), node("111111111111111111"))
		if err != nil {
			t.Fatal(err)
		}
		if out.Route.Step != 1 {
			t.Errorf("route %+v, want step 1 (the user's Nango connection)", out.Route)
		}
		var post, guilds *recorded
		for _, c := range e.discord.calls() {
			switch {
			case c.Method == http.MethodPost:
				post = &c
			case c.Path == "/api/v10/users/@me/guilds":
				guilds = &c
			}
		}
		if post == nil || post.Header.Get("Authorization") != "Bot "+bot {
			t.Fatalf("the message was not posted with the bot token: %+v", post)
		}
		if guilds == nil || !strings.HasPrefix(guilds.Header.Get("Authorization"), "Bearer ") || strings.Contains(guilds.Header.Get("Authorization"), bot) {
			t.Fatalf("the user's guilds were not read with the user's token: %+v", guilds)
		}
		if strings.Contains(mustJSON(t, out), bot) {
			t.Fatal("the output holds the bot token")
		}
	})
	t.Run("refuses a channel outside the user's servers", func(t *testing.T) {
		e := newEnv(t, envOptions{app: map[string]string{"discord_bot_token": bot}})
		e.nangoConn("acme", "u1", "discord")
		_, err := e.exec.Execute(t.Context(), node("222222222222222222"))
		if xe := errName(t, err); xe.Name != "Connectors.InvalidInput" || strings.Contains(xe.Message, bot) {
			t.Fatalf("%s: %s", xe.Name, xe.Message)
		}
		for _, c := range e.discord.calls() {
			if c.Method == http.MethodPost {
				t.Fatal("a message was posted in another server's channel")
			}
		}
	})
	t.Run("without the bot token", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.nangoConn("acme", "u1", "discord")
		_, err := e.exec.Execute(t.Context(), node("111111111111111111"))
		if xe := errName(t, err); xe.Name != "Connectors.Internal" || !strings.Contains(xe.Message, "discord_bot_token") {
			t.Fatalf("%s: %s", xe.Name, xe.Message)
		}
		if n := e.discord.count(); n != 0 {
			t.Errorf("%d requests to Discord without a bot token", n)
		}
	})
}
