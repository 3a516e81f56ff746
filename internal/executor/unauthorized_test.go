package executor_test

import (
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
)

const stripe401 = `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`

// A 401 from the provider forces exactly one refresh and one retry.
func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	tests := []struct {
		name     string
		second   int // status of the retry
		want     string
		attempts int
	}{
		{name: "retry succeeds", second: 200, attempts: 2},
		// A fresh token refused as well: the grant no longer works, so the
		// user must reconnect.
		{name: "retry refused again", second: 401, want: executor.NameReauthRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			second := answer(200, stripeOK)
			if tc.second == 401 {
				second = answer(401, stripe401)
			}
			id := e.nangoConn(org, user, "stripe")
			// Warm the cache so that the first attempt uses a cached token.
			if _, err := e.exec.Execute(t.Context(), in(org, user, "integration.stripe.list_customers", nil)); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
			before, gets := e.stripe.count(), e.nangoGets(id)
			forced := e.forcedRefreshes(id)
			e.stripe.set(sequence(answer(401, stripe401), second))

			out, err := e.exec.Execute(t.Context(), in(org, user, "integration.stripe.create_customer", stripeParams()))
			calls := e.stripe.calls()[before:]
			if len(calls) != 2 {
				t.Fatalf("provider got %d requests, want 2 (one retry)", len(calls))
			}
			if n := e.forcedRefreshes(id) - forced; n != 1 {
				t.Errorf("fake Nango saw %d GETs with force_refresh=true, want exactly 1", n)
			}
			if n := e.nangoGets(id) - gets; n != 1 {
				t.Errorf("fake Nango saw %d credential GETs, want 1 (the forced refresh; the first attempt is cached)", n)
			}
			if a, b := bearerOf(calls[0]), bearerOf(calls[1]); a == b {
				t.Errorf("the retry used the same token %q", a)
			}
			if calls[0].Header.Get("Idempotency-Key") != calls[1].Header.Get("Idempotency-Key") {
				t.Errorf("the retry changed Idempotency-Key")
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Execute: %v", err)
				}
				if out.Attempts != tc.attempts {
					t.Errorf("attempts %d, want %d", out.Attempts, tc.attempts)
				}
				return
			}
			if xe := errName(t, err); xe.Name != tc.want {
				t.Errorf("error %s (%s), want %s", xe.Name, xe.Message, tc.want)
			}
		})
	}
}

// The built-in OAuth refreshes on a 401 too, through the token endpoint.
func TestUnauthorizedRefreshesBuiltInOAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.legacyConn(org, user, "gmail", connectors.Token{
		AccessToken: "ya29.still-valid-but-revoked", RefreshToken: "1//refresh-gmail", Expiry: time.Now().Add(time.Hour),
	})
	e.gmail.set(sequence(answer(401, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`), answer(200, gmailOK)))
	out, err := e.exec.Execute(t.Context(), in(org, user, "integration.gmail.send_email", gmailParams()))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	calls := e.gmail.calls()
	if len(calls) != 2 || out.Attempts != 2 {
		t.Fatalf("%d provider calls, attempts %d; want 2 and 2", len(calls), out.Attempts)
	}
	if bearerOf(calls[0]) != "ya29.still-valid-but-revoked" || bearerOf(calls[1]) != e.google.Last().AccessToken {
		t.Errorf("tokens %q then %q", bearerOf(calls[0]), bearerOf(calls[1]))
	}
	if n := e.google.Stats().TokenRequests; n != 1 {
		t.Errorf("token endpoint called %d times, want 1", n)
	}
	if out.Route.Step != 12 {
		t.Errorf("route %+v", out.Route)
	}
}

// A refused refresh of the built-in OAuth is ReauthRequired, and the
// connection is marked so.
func TestBuiltInOAuthRefreshRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.legacyConn(org, user, "gmail", connectors.Token{
		AccessToken: "ya29.expired", RefreshToken: "1//revoked", Expiry: time.Now().Add(-time.Minute),
	})
	e.google.Revoke("1//revoked") // Google answers 400 invalid_grant
	_, err := e.exec.Execute(t.Context(), in(org, user, "integration.gmail.send_email", gmailParams()))
	if xe := errName(t, err); xe.Name != executor.NameReauthRequired {
		t.Fatalf("error %s (%s), want ReauthRequired", xe.Name, xe.Message)
	}
	if e.gmail.count() != 0 {
		t.Errorf("gmail was called with an expired token")
	}
	c, err := e.store.GetConnection(t.Context(), org, id)
	if err != nil || c.Status != "reauth_required" {
		t.Errorf("connection status %v (%v), want reauth_required", c.Status, err)
	}
	// The next run does not even try. (x/oauth2 auto-detects the client
	// authentication style, so one refusal may cost two token requests.)
	tokenCalls := e.google.Stats().TokenRequests
	_, err = e.exec.Execute(t.Context(), in(org, user, "integration.gmail.send_email", gmailParams()))
	if xe := errName(t, err); xe.Name != executor.NameReauthRequired || e.google.Stats().TokenRequests != tokenCalls {
		t.Errorf("second run: %s after %d more token calls", xe.Name, e.google.Stats().TokenRequests-tokenCalls)
	}
}
