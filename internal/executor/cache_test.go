package executor_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
)

// TestWarmExecutionMakesOneRequest: with the credentials cached, a second
// node makes exactly one outbound request, to the provider, and none to
// Nango.
func TestWarmExecutionMakesOneRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.nangoConn(org, user, "slack")
	if _, err := e.exec.Execute(t.Context(), in(org, user, "integration.slack.send_message", slackParams())); err != nil {
		t.Fatalf("cold: %v", err)
	}
	if n := e.nangoGets(id); n != 1 {
		t.Fatalf("cold run fetched credentials %d times, want 1", n)
	}
	provBefore, nangoBefore, fakeBefore := e.provTx.count(), e.nangoTx.count(), e.fake.Requests("", "/")

	out, err := e.exec.Execute(t.Context(), in(org, user, "integration.slack.list_channels", map[string]any{"limit": 5.0}))
	if err != nil {
		t.Fatalf("warm: %v", err)
	}
	outbound := e.provTx.calls()[provBefore:]
	if len(outbound) != 1 {
		t.Fatalf("warm run made %d provider requests, want 1", len(outbound))
	}
	if r := outbound[0]; r.Path != "/api/conversations.list" || !strings.HasPrefix(e.slack.URL, "http://"+r.Host) {
		t.Errorf("the warm request went to %s%s", r.Host, r.Path)
	}
	if n := e.nangoTx.count() - nangoBefore; n != 0 {
		t.Errorf("warm run made %d requests to Nango, want 0", n)
	}
	if n := e.fake.Requests("", "/") - fakeBefore; n != 0 {
		t.Errorf("fake Nango saw %d requests during the warm run, want 0", n)
	}
	if out.Attempts != 1 || out.Route.Step != 1 {
		t.Errorf("output %+v", out)
	}
}

// TestCredentialCacheBounds: cached credentials are never used past the
// token's expiry (less a margin) nor for more than five minutes.
func TestCredentialCacheBounds(t *testing.T) {
	tests := []struct {
		name     string
		ttl      time.Duration
		at       []time.Duration // offsets from the first run
		wantGets []int           // credential fetches after each run, cumulative
		renewed  int             // index of the run that must use a renewed token (0: none)
	}{
		{
			// Expiry 2m, less a 30s margin: cached until 1m30s; in the
			// last 30s each run asks Nango, which renews at expiry.
			name: "token expiry bounds the cache", ttl: 2 * time.Minute,
			at:       []time.Duration{0, time.Minute, 89 * time.Second, 90 * time.Second, 100 * time.Second, 121 * time.Second, 150 * time.Second},
			wantGets: []int{1, 1, 1, 2, 3, 4, 4},
			renewed:  5,
		},
		{
			name: "five minutes at most", ttl: time.Hour,
			at:       []time.Duration{0, 4*time.Minute + 59*time.Second, 5 * time.Minute, 9*time.Minute + 59*time.Second, 10 * time.Minute},
			wantGets: []int{1, 1, 2, 2, 3},
		},
		{
			name: "a token about to expire is not cached", ttl: 20 * time.Second,
			at:       []time.Duration{0, time.Second},
			wantGets: []int{1, 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			start := clk.Now()
			e := newEnv(t, envOptions{clock: clk, tokenTTL: tc.ttl})
			id := e.nangoConn(org, user, "slack")
			var tokens []string
			for i, off := range tc.at {
				clk.Set(start.Add(off))
				if _, err := e.exec.Execute(t.Context(), in(org, user, "integration.slack.send_message", slackParams())); err != nil {
					t.Fatalf("run at +%v: %v", off, err)
				}
				if got := e.nangoGets(id); got != tc.wantGets[i] {
					t.Errorf("after the run at +%v: %d credential fetches, want %d", off, got, tc.wantGets[i])
				}
				calls := e.slack.calls()
				tokens = append(tokens, bearerOf(calls[len(calls)-1]))
			}
			for i := 1; i < len(tokens); i++ {
				if renewed := i == tc.renewed; renewed != (tokens[i] != tokens[i-1]) {
					t.Errorf("run %d (+%v): token changed %v, want %v", i, tc.at[i], tokens[i] != tokens[i-1], renewed)
				}
			}
		})
	}
}

// TestSecretsStayOut: no output, error message or log line holds an access
// token, even when the provider echoes it.
func TestSecretsStayOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	var logs bytes.Buffer
	handler := lambdatask.Executor(e.exec, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			answer(status, `{"error":{"type":"invalid_request_error","message":"key `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+` is not allowed"}}`)(w, r)
		}
	}
	e.nangoConn(org, user, "stripe")
	e.nangoConn(org, user, "slack")
	e.legacyConn(org, user, "gmail", connectors.Token{AccessToken: "ya29.gmail-secret-token", RefreshToken: "1//gmail-secret-refresh", Expiry: time.Now().Add(time.Hour)})

	var texts []string
	run := func(input executor.Input) {
		out, err := handler(t.Context(), input)
		texts = append(texts, mustJSON(t, out))
		if err != nil {
			texts = append(texts, err.Error(), mustJSON(t, err))
		}
	}
	run(in(org, user, "integration.slack.send_message", slackParams()))
	run(in(org, user, "integration.gmail.send_email", gmailParams()))
	for _, status := range []int{400, 401, 403, 429, 500} {
		e.stripe.set(echo(status))
		run(in(org, user, "integration.stripe.create_customer", stripeParams()))
		e.gmail.set(echo(status))
		run(in(org, user, "integration.gmail.send_email", gmailParams()))
	}
	e.slack.set(func(w http.ResponseWriter, r *http.Request) {
		answer(200, `{"ok":false,"error":"`+r.Header.Get("Authorization")+`"}`)(w, r)
	})
	run(in(org, user, "integration.slack.send_message", slackParams()))

	// The tokens the providers actually received.
	secrets := map[string]bool{"ya29.gmail-secret-token": true, "1//gmail-secret-refresh": true}
	for _, u := range []*upstream{e.slack, e.stripe, e.gmail} {
		for _, r := range u.calls() {
			if tok := bearerOf(r); tok != "" {
				secrets[tok] = true
			}
		}
	}
	if len(secrets) < 4 {
		t.Fatalf("only %d distinct tokens seen; the test proves nothing", len(secrets))
	}
	texts = append(texts, logs.String())
	for s := range secrets {
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("token %.12s... appears in %q", s, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "Connectors.ActionFailed") {
		t.Errorf("the failures were not logged: %s", logs.String())
	}
}
