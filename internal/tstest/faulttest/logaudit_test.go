package faulttest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/executor"
)

// TestLogAudit runs the whole flow (issue 7, item 6) with every log line
// captured, and fails if any token, refresh token, authorization code,
// state value, connect session token, JWT, webhook signature or secret
// appears in any of them. Every secret of the deployment and every token
// the fakes issue carries a marker, so a leak cannot hide in a coincidence.
func TestLogAudit(t *testing.T) {
	for _, kind := range both {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			var secrets []string
			add := func(vs ...string) {
				for _, v := range vs {
					if v != "" {
						secrets = append(secrets, v)
					}
				}
			}
			add(jwtSecret, stateSigningKey, nangoSecretKey, webhookKey, googleSecret, microsoftSecret, encryptionKeyB64, string(encryptionKey),
				"LEAKMARK", "fake_access_token_", "fake_refresh_token_", "nango_connect_session_")
			tok := e.token(t)
			add(tok)
			ok := func(what string, r response, status int) response {
				t.Helper()
				if r.StatusCode != status {
					t.Fatalf("%s: %d %s", what, r.StatusCode, r.Body)
				}
				return r
			}

			// Nango: authorize -> connect at the fake (the browser opens the
			// authorization URL) -> callback -> list -> get -> refresh.
			a := e.Authorize(t, tok, "slack", "")
			add(a.State, a.ConnectSessionToken)
			res, err := http.Get(a.AuthorizationURL)
			if err != nil {
				t.Fatal(err)
			}
			var connected struct{ ConnectionID string }
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if json.Unmarshal(body, &connected) != nil || connected.ConnectionID == "" {
				t.Fatalf("connect URL: %d %s", res.StatusCode, body)
			}
			slack := connectionOf(t, ok("callback", e.callbackNango(t, a.State, connected.ConnectionID, nil), 200))
			ok("list", e.Do(t, request{Fn: "nango-list-connections", Token: tok}), 200)
			ok("get", e.Do(t, request{Fn: "nango-get-connection", Token: tok, Params: map[string]string{"connectionId": slack.ID}}), 200)
			ok("refresh", e.Do(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "slack"}, Body: fmt.Sprintf(`{"connectionId":%q}`, slack.ID)}), 200)

			// Refused requests log too: a replayed state, a forged JWT, a
			// state with a bad signature, an unknown connection.
			ok("replayed state", e.callbackNango(t, a.State, connected.ConnectionID, nil), 400)
			forged := tok[:len(tok)-4] + "AAAA"
			add(forged)
			ok("forged JWT", e.Do(t, request{Fn: "nango-list-connections", Token: forged}), 401)
			ok("bad state", e.callbackNango(t, a.State+"x", connected.ConnectionID, nil), 400)

			// Built-in OAuth (gmail): authorize -> consent -> callback -> refresh.
			ga := e.Authorize(t, tok, "gmail", "")
			add(ga.State)
			code, state := e.Google.Authorize(t, ga.AuthorizationURL)
			add(code, state)
			gmail := connectionOf(t, ok("gmail callback", e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"},
				Query: "state=" + urlq(state) + "&code=" + urlq(code)}), 200))
			ok("gmail refresh", e.Do(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "gmail"}, Body: fmt.Sprintf(`{"connectionId":%q}`, gmail.ID)}), 200)
			// A code used twice is refused by the provider.
			ga2 := e.Authorize(t, tok, "gmail", "")
			add(ga2.State)
			ok("gmail code reuse", e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"},
				Query: "state=" + urlq(ga2.State) + "&code=" + urlq(code)}), 400) // invalid_request: the provider refused the code

			// Executor runs, through the handler the function runs (it logs):
			// Nango's credentials, the built-in OAuth's (expired: refreshed on
			// the way), and a failing one (the token endpoint down).
			run := lambdatask.Executor(e.App.Executor, e.App.Logger)
			for i, in := range []executor.Input{
				{NodeType: "integration.slack.send_message", ConnectionID: slack.ID, Params: map[string]any{"channel": "C0123", "text": "hello"}},
				{NodeType: "integration.gmail.send_email", ConnectionID: gmail.ID, Params: map[string]any{"to": "ada@example.com", "subject": "s", "body": "b"}},
				{NodeType: "integration.gmail.send_email", ConnectionID: gmail.ID, Params: map[string]any{"to": "ada@example.com", "subject": "s2", "body": "b"}},
			} {
				if in.ConnectionID == gmail.ID {
					e.expireGmailToken(t, gmail.ID)
				}
				if i == 2 { // the token endpoint down
					e.Google.FailTokenRequests(-1, http.StatusServiceUnavailable)
				}
				in.ExecutionID, in.NodeID, in.UserID, in.OrganizationID = fmt.Sprintf("exec-%d", i), "node-1", userID, orgID
				_, err := run(t.Context(), in)
				if (err != nil) != (i == 2) {
					t.Fatalf("execute %d %s: %v", i, in.NodeType, err)
				}
			}
			e.Google.FailTokenRequests(0, 0)
			// Their history, through the API: the two gmail runs, newest
			// first, the failure under its error name; no secret in it.
			hist := ok("executions", e.Do(t, request{Fn: "nango-list-executions", Token: tok, Params: map[string]string{"connectionId": gmail.ID}}), 200)
			var page struct {
				Executions []struct{ Action, Outcome string }
			}
			hist.JSON(t, &page)
			if len(page.Executions) != 2 || page.Executions[0].Outcome != "Connectors.ProviderUnavailable" || page.Executions[1].Outcome != "ok" {
				t.Errorf("gmail history %s, want the failure, then ok", hist.Body)
			}
			for _, s := range secrets {
				if strings.Contains(hist.Body, s) {
					t.Errorf("the history answer holds %.16s...", s)
				}
			}

			// The sweeper, through its handler, over a Nango connection whose
			// refresh fails and the built-in OAuth one (expired).
			e.Nango.ExpireToken(slack.ID)
			e.Nango.FailRefresh(slack.ID)
			if _, err := lambdatask.Sweeper(e.App.Sweeper(), e.App.Logger)(t.Context(), json.RawMessage(`{}`)); err != nil {
				t.Fatalf("sweep: %v", err)
			}

			// Webhooks: a valid one, and one with a wrong signature.
			wh, _ := json.Marshal(nango.AuthWebhook{Type: "auth", From: "nango", Operation: "creation", Success: true, ConnectionID: slack.ID,
				ProviderConfigKey: "slack", Provider: "slack", Environment: "dev",
				Tags: map[string]string{"end_user_id": userID, "organization_id": orgID}})
			sig := nango.SignWebhook(wh, webhookKey)
			add(sig)
			ok("webhook", e.Do(t, request{Fn: "nango-webhook", Body: string(wh), Headers: map[string]string{nango.HeaderHMAC: sig}}), 200)
			badSig := nango.SignWebhook(wh, "WRONGKEY-LEAKMARK")
			add(badSig)
			ok("bad webhook", e.Do(t, request{Fn: "nango-webhook", Body: string(wh), Headers: map[string]string{nango.HeaderHMAC: badSig}}), 401)

			// API keys: create, rotate, a refusal whose reason quotes the
			// key; an admin shares and unshares the Slack connection.
			key, next, refused := "sk_test_LEAKMARK"+rand.Text(), "sk_test_LEAKMARK"+rand.Text(), "sk_test_REFUSEDLEAKMARK"+rand.Text()
			add(key, next, refused)
			keyBody := func(k string) string { return fmt.Sprintf(`{"credentials":{"secret_key":%q}}`, k) }
			stripe := connectionOf(t, ok("create stripe", e.Do(t, request{Fn: "nango-create-connection", Token: tok,
				Body: fmt.Sprintf(`{"connector":"stripe","label":"live","credentials":{"secret_key":%q}}`, key)}), 201))
			ok("create refused", e.Do(t, request{Fn: "nango-create-connection", Token: tok,
				Body: fmt.Sprintf(`{"connector":"stripe","credentials":{"secret_key":%q}}`, refused)}), 400)
			ok("rotate stripe", e.Do(t, request{Fn: "nango-rotate-credentials", Token: tok, Params: map[string]string{"connectionId": stripe.ID}, Body: keyBody(next)}), 200)
			ok("rotate refused", e.Do(t, request{Fn: "nango-rotate-credentials", Token: tok, Params: map[string]string{"connectionId": stripe.ID}, Body: keyBody(refused)}), 400)
			admin := e.Token(t, "admin-fault", orgID, "admin")
			add(admin)
			ok("share slack", e.Do(t, request{Fn: "nango-update-connection", Token: admin, Params: map[string]string{"connectionId": slack.ID}, Body: `{"shared":true}`}), 200)
			ok("unshare slack", e.Do(t, request{Fn: "nango-update-connection", Token: admin, Params: map[string]string{"connectionId": slack.ID}, Body: `{"shared":false}`}), 200)
			ok("delete stripe", e.Do(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": stripe.ID}}), 204)

			// Delete both.
			ok("delete slack", e.Do(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": slack.ID}}), 204)
			ok("delete gmail", e.Do(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": gmail.ID}}), 204)

			// Every token the fakes issued along the way.
			// (The fake Nango's are all found by their prefixes.)
			add(e.Google.Issued()...)

			logs := e.Logs.String()
			lines := strings.Split(strings.TrimSpace(logs), "\n")
			if len(lines) < 20 {
				t.Fatalf("only %d log lines captured: the audit would prove nothing", len(lines))
			}
			// The audit must see a leak when there is one.
			for _, planted := range []string{`{"msg":"x","state":"` + a.State + `"}`, `{"auth":"` + tok + `"}`, `{"c":"` + code + `"}`} {
				if len(leaks(planted, secrets)) == 0 {
					t.Fatalf("the audit misses a planted leak: %.60s", planted)
				}
			}
			for i, line := range lines {
				if !json.Valid([]byte(line)) {
					t.Errorf("log line %d is not JSON: %.200s", i+1, line)
				}
				for _, l := range leaks(line, secrets) {
					t.Errorf("log line %d leaks %s: %s", i+1, l, line)
				}
			}
			if testing.Verbose() {
				t.Logf("captured log:\n%s", logs)
			}
			t.Logf("%d log lines audited against %d secret values", len(lines), len(secrets))

			// Audit events never hold a token either.
			evs, err := e.Store.ListAudit(context.Background(), orgID, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				j, _ := json.Marshal(ev)
				for _, s := range secrets {
					if strings.Contains(string(j), s) {
						t.Errorf("audit event leaks %.16s...: %s", s, j)
					}
				}
			}
		})
	}
}

// leaks returns what of secrets, or anything shaped like a JWT or a bearer
// header, line holds.
func leaks(line string, secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if strings.Contains(line, s) {
			out = append(out, fmt.Sprintf("%.16s...", s))
		}
	}
	if jwtShape.MatchString(line) {
		out = append(out, "a JWT")
	}
	if strings.Contains(strings.ToLower(line), "bearer ") {
		out = append(out, "a bearer header")
	}
	return out
}

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`)
