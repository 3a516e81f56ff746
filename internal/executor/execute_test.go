package executor_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/seal"
)

// successCase runs one action end to end and checks the provider's request
// and the executor's output.
type successCase struct {
	name     string
	nodeType string
	params   func() map[string]any
	conn     func(e *env, org, user string) string
	route    executor.Route
	check    func(t *testing.T, e *env, input executor.Input, out executor.Output, connID string)
}

var successCases = []successCase{
	{
		name: "slack send_message (Nango OAuth2)", nodeType: "integration.slack.send_message", params: slackParams,
		conn:  func(e *env, org, user string) string { return e.nangoConn(org, user, "slack") },
		route: executor.Route{Step: 1, Name: "nango_oauth", Target: connectors.ProviderNango},
		check: func(t *testing.T, e *env, _ executor.Input, out executor.Output, _ string) {
			calls := e.slack.calls()
			if len(calls) != 1 {
				t.Fatalf("slack got %d requests, want 1", len(calls))
			}
			r := calls[0]
			if r.Method != "POST" || r.Path != "/api/chat.postMessage" {
				t.Errorf("request %s %s, want POST /api/chat.postMessage", r.Method, r.Path)
			}
			if tok := bearerOf(r); !strings.HasPrefix(tok, "fake_access_token_") {
				t.Errorf("Authorization %q does not carry the Nango access token", r.Header.Get("Authorization"))
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil || body["channel"] != "C0123" || body["text"] != "hello" {
				t.Errorf("body %s (%v)", r.Body, err)
			}
			if out.Output["ok"] != true || out.Output["ts"] != "1712345678.000100" {
				t.Errorf("output %v", out.Output)
			}
		},
	},
	{
		name: "stripe create_customer (form-encoded, Idempotency-Key)", nodeType: "integration.stripe.create_customer", params: stripeParams,
		conn:  func(e *env, org, user string) string { return e.nangoConn(org, user, "stripe") },
		route: executor.Route{Step: 1, Name: "nango_oauth", Target: connectors.ProviderNango},
		check: func(t *testing.T, e *env, input executor.Input, out executor.Output, _ string) {
			calls := e.stripe.calls()
			if len(calls) != 1 {
				t.Fatalf("stripe got %d requests, want 1", len(calls))
			}
			r := calls[0]
			if r.Method != "POST" || r.Path != "/v1/customers" {
				t.Errorf("request %s %s, want POST /v1/customers", r.Method, r.Path)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", ct)
			}
			form, err := url.ParseQuery(string(r.Body))
			if err != nil || form.Get("email") != "ada@example.com" || form.Get("name") != "Ada" || form.Get("metadata[plan]") != "pro" {
				t.Errorf("form %q (%v)", r.Body, err)
			}
			wantKey := input.Key()
			if got := r.Header.Get("Idempotency-Key"); got != wantKey {
				t.Errorf("Idempotency-Key %q, want the executor's key %q", got, wantKey)
			}
			if !strings.HasPrefix(bearerOf(r), "fake_access_token_") {
				t.Errorf("Authorization %q", r.Header.Get("Authorization"))
			}
			if out.Output["id"] != "cus_NffrFeUfNV2Hib" {
				t.Errorf("output %v", out.Output)
			}
		},
	},
	{
		name: "trello create_card (OAuth1 through Nango's proxy)", nodeType: "integration.trello.create_card", params: trelloParams,
		conn:  func(e *env, org, user string) string { return e.nangoConn(org, user, "trello") },
		route: executor.Route{Step: 1, Name: "nango_oauth", Target: connectors.ProviderNango},
		check: func(t *testing.T, e *env, _ executor.Input, out executor.Output, connID string) {
			calls := e.trello.calls()
			if len(calls) != 1 {
				t.Fatalf("trello got %d requests, want 1", len(calls))
			}
			r := calls[0]
			if r.Method != "POST" || r.Path != "/1/cards" {
				t.Errorf("request %s %s, want POST /1/cards", r.Method, r.Path)
			}
			q, _ := url.ParseQuery(r.RawQuery)
			if q.Get("idList") != "5abbe4b7ddc1b351ef961400" || q.Get("name") != "Card" || q.Get("desc") != "from a workflow" {
				t.Errorf("query %q", r.RawQuery)
			}
			if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, `OAuth oauth_token="fake_oauth1_token_`) {
				t.Errorf("Authorization %q: not signed by Nango for the connection", a)
			}
			if n := e.fake.Requests("POST", "/proxy/1/cards"); n != 1 {
				t.Errorf("fake Nango proxied %d POST /proxy/1/cards, want 1", n)
			}
			for _, pr := range e.provTx.calls() {
				t.Errorf("trello went direct to %s%s instead of through Nango", pr.Host, pr.Path)
			}
			if out.Output["id"] != "5abbe4b7ddc1b351ef961414" {
				t.Errorf("output %v", out.Output)
			}
		},
	},
	{
		name: "gmail send_email (built-in OAuth, expired token refreshed)", nodeType: "integration.gmail.send_email", params: gmailParams,
		conn: func(e *env, org, user string) string {
			return e.legacyConn(org, user, "gmail", connectors.Token{
				AccessToken: "ya29.expired-gmail-token", RefreshToken: "1//refresh-gmail", TokenType: "Bearer",
				Expiry: time.Now().Add(-time.Hour),
			})
		},
		route: executor.Route{Step: 12, Name: "builtin_oauth", Target: connectors.ProviderLegacy},
		check: func(t *testing.T, e *env, input executor.Input, out executor.Output, connID string) {
			tc := e.google.Requests()
			if len(tc) != 1 {
				t.Fatalf("token endpoint got %d requests, want 1 refresh", len(tc))
			}
			if form := tc[0]; form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "1//refresh-gmail" {
				t.Errorf("refresh request %q", form.Encode())
			}
			refreshed := e.google.Last().AccessToken
			calls := e.gmail.calls()
			if len(calls) != 1 {
				t.Fatalf("gmail got %d requests, want 1", len(calls))
			}
			r := calls[0]
			if r.Method != "POST" || r.Path != "/gmail/v1/users/me/messages/send" {
				t.Errorf("request %s %s", r.Method, r.Path)
			}
			if got := bearerOf(r); got != refreshed {
				t.Errorf("gmail saw token %q, want the refreshed one", got)
			}
			var body struct{ Raw string }
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			msg, err := base64.URLEncoding.DecodeString(body.Raw)
			if err != nil || !strings.Contains(string(msg), "To: <bob@example.com>\r\n") || !strings.Contains(string(msg), "Subject: Hi") {
				t.Errorf("raw message %q (%v)", msg, err)
			}
			// The new token is sealed and saved with a bumped version.
			c, err := e.store.GetConnection(context.Background(), input.OrganizationID, connID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Version != 2 {
				t.Errorf("connection version %d after one refresh, want 2", c.Version)
			}
			plain, err := e.sealer.Open(c.SealedToken, seal.AAD(input.OrganizationID, connID))
			if err != nil {
				t.Fatalf("open saved token: %v", err)
			}
			if strings.Contains(string(plain), "expired-gmail-token") {
				t.Errorf("the saved token is still the expired one")
			}
			tok, err := connectors.UnmarshalToken(plain)
			if err != nil || tok.AccessToken != refreshed || tok.RefreshToken != "1//refresh-gmail" {
				t.Errorf("saved token %+v (%v)", tok.AccessToken, err)
			}
			if !c.ExpiresAt.After(time.Now().Add(50 * time.Minute)) {
				t.Errorf("ExpiresAt %v not the refreshed expiry", c.ExpiresAt)
			}
			if out.Output["id"] != "18c0c2d1f0a1b2c3" {
				t.Errorf("output %v", out.Output)
			}
		},
	},
}

func runSuccess(t *testing.T, opts envOptions, tc successCase) {
	e := newEnv(t, opts)
	const org, user = "org-acme", "user-ada"
	connID := tc.conn(e, org, user)
	input := in(org, user, tc.nodeType, tc.params())
	out, err := e.exec.Execute(t.Context(), input)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if out.Status != "succeeded" {
		t.Errorf("status %q, want succeeded", out.Status)
	}
	if out.Route != tc.route {
		t.Errorf("route %+v, want %+v", out.Route, tc.route)
	}
	if out.ConnectionID != connID {
		t.Errorf("connectionId %q, want %q", out.ConnectionID, connID)
	}
	if out.Attempts != 1 {
		t.Errorf("attempts %d, want 1", out.Attempts)
	}
	if out.DurationMs < 0 || out.DurationMs > 30_000 {
		t.Errorf("durationMs %d", out.DurationMs)
	}
	// The JSON form is the one Step Functions reads.
	var wire map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, out)), &wire); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"status", "output", "route", "connectionId", "attempts", "durationMs"} {
		if _, ok := wire[k]; !ok {
			t.Errorf("output JSON lacks %q: %v", k, wire)
		}
	}
	route, _ := wire["route"].(map[string]any)
	if route["step"] != float64(tc.route.Step) || route["name"] != tc.route.Name || route["target"] != string(tc.route.Target) {
		t.Errorf("route JSON %v", route)
	}
	tc.check(t, e, input, out, connID)
}

func TestExecuteSuccess(t *testing.T) {
	for _, tc := range successCases {
		t.Run("bolt/"+tc.name, func(t *testing.T) { runSuccess(t, envOptions{}, tc) })
	}
}

func TestExecuteSuccessDynamoDB(t *testing.T) {
	for _, tc := range successCases {
		t.Run(tc.name, func(t *testing.T) { runSuccess(t, envOptions{dynamo: true}, tc) })
	}
}

// A connection chosen without connectionId is the user's active one.
func TestExecutePicksTheUsersActiveConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	old := e.nangoConn("org-1", "user-1", "slack")
	e.setStatus("org-1", old, connectors.StatusRevoked)
	active := e.nangoConn("org-1", "user-1", "slack")
	out, err := e.exec.Execute(t.Context(), in("org-1", "user-1", "integration.slack.send_message", slackParams()))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if out.ConnectionID != active {
		t.Errorf("used connection %s, want the active %s (revoked %s)", out.ConnectionID, active, old)
	}
	// Naming it works too.
	input := in("org-1", "user-1", "integration.slack.send_message", slackParams())
	input.ConnectionID = active
	if out, err := e.exec.Execute(t.Context(), input); err != nil || out.ConnectionID != active {
		t.Errorf("named connection: %v, %v", out.ConnectionID, err)
	}
}
