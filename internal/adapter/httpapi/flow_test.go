package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

func TestNangoFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)

		// authorize: router step 1 (Nango), full trace, connect URL, state.
		a := e.authorize(t, tok, "slack", "")
		if a.Provider != "slack" || a.Route.Step != 1 || a.Route.Target != "nango" {
			t.Errorf("route = step %d target %q, want step 1 nango", a.Route.Step, a.Route.Target)
		}
		if len(a.Route.Trace) != 12 {
			t.Errorf("trace has %d entries, want 12", len(a.Route.Trace))
		}
		for i, s := range a.Route.Trace {
			if s.Step != i+1 {
				t.Errorf("trace[%d].step = %d", i, s.Step)
			}
		}
		wantURL := e.Vars["NANGO_HOST"] + "/oauth/connect/slack?connect_session_token=" + url.QueryEscape(a.ConnectSessionToken)
		if a.ConnectSessionToken == "" || a.AuthorizationURL != wantURL {
			t.Errorf("authorizationUrl = %q, want %q", a.AuthorizationURL, wantURL)
		}
		if d := time.Until(a.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("state expires in %s, want 10m", d)
		}

		// connect at the fake through the authorization URL, as a browser.
		res, err := http.Get(a.AuthorizationURL)
		if err != nil {
			t.Fatal(err)
		}
		var connected struct{ ConnectionID, ProviderConfigKey string }
		if err := json.Unmarshal(readAll(t, res.Body), &connected); err != nil || res.StatusCode != 200 || connected.ConnectionID == "" {
			t.Fatalf("connect URL: %d %v %+v", res.StatusCode, err, connected)
		}

		// callback -> 200 connection JSON.
		resp := e.callback(t, "slack", a.State, connected.ConnectionID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
		}
		var cb struct{ Connection connectionJSON }
		resp.JSON(t, &cb)
		c := cb.Connection
		want := connectionJSON{ID: connected.ConnectionID, Connector: "slack", AuthProvider: "nango", ProviderConfigKey: "slack",
			UserID: userA1, OrganizationID: orgA, Status: "active"}
		if c.ID != want.ID || c.Connector != want.Connector || c.AuthProvider != want.AuthProvider || c.ProviderConfigKey != want.ProviderConfigKey ||
			c.UserID != want.UserID || c.OrganizationID != want.OrganizationID || c.Status != want.Status {
			t.Errorf("callback connection = %+v, want %+v", c, want)
		}
		if !slices.Equal(c.Scopes, []string{"chat:write", "channels:read", "groups:read", "reactions:write", "users:read", "users:read.email"}) {
			t.Errorf("scopes = %v", c.Scopes)
		}
		if c.ExpiresAt == nil || c.CreatedAt.IsZero() {
			t.Errorf("createdAt %v expiresAt %v, want both set", c.CreatedAt, c.ExpiresAt)
		}
		// The state was single use.
		e.expectError(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "slack"},
			Query: url.Values{"state": {a.State}, "connection_id": {c.ID}}.Encode()}, http.StatusBadRequest, connectors.EInvalidState)

		// list contains it.
		ids, next := e.list(t, tok, "")
		if !slices.Equal(ids, []string{c.ID}) || next != nil {
			t.Errorf("list = %v next %v, want [%s] and null", ids, next, c.ID)
		}

		// get.
		resp = e.get(t, tok, c.ID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("get: %d %s", resp.StatusCode, resp.Body)
		}
		var got struct{ Connection connectionJSON }
		resp.JSON(t, &got)
		if got.Connection.ID != c.ID || got.Connection.LastRefreshedAt != nil {
			t.Errorf("get = %+v", got.Connection)
		}

		// refresh: lastRefreshedAt set, Nango asked with force_refresh.
		before := e.Nango.Requests(http.MethodGet, "/connections/"+c.ID)
		resp = e.Do(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "slack"}, Body: `{"connectionId":"` + c.ID + `"}`})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %s", resp.StatusCode, resp.Body)
		}
		var ref struct{ Connection connectionJSON }
		resp.JSON(t, &ref)
		if ref.Connection.LastRefreshedAt == nil || ref.Connection.Status != "active" || ref.Connection.ExpiresAt == nil {
			t.Errorf("refreshed = %+v, want lastRefreshedAt and expiresAt set", ref.Connection)
		}
		if e.Nango.Requests(http.MethodGet, "/connections/"+c.ID) != before+1 {
			t.Errorf("refresh did not reach Nango")
		}

		// delete 204, then get 404, delete 404 again.
		resp = e.Do(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": c.ID}})
		if resp.StatusCode != http.StatusNoContent || resp.Body != "" {
			t.Fatalf("delete: %d %s", resp.StatusCode, resp.Body)
		}
		if n := e.Nango.Requests(http.MethodDelete, "/connections/"+c.ID); n != 1 {
			t.Errorf("Nango saw %d deletes, want 1", n)
		}
		e.expectError(t, request{Fn: "nango-get-connection", Token: tok, Params: map[string]string{"connectionId": c.ID}}, http.StatusNotFound, connectors.ENotFound)
		snap := e.snapshot(t)
		e.expectError(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": c.ID}}, http.StatusNotFound, connectors.ENotFound)
		e.unchanged(t, snap)

		// Every step was audited, without a token.
		events, err := e.store.ListAudit(t.Context(), orgA, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range events {
			seen[ev.Action+"/"+ev.Outcome] = true
			j, _ := json.Marshal(ev)
			e.assertNoSecret(t, "audit event", string(j))
		}
		for _, w := range []string{"authorize/success", "callback/success", "refresh/success", "delete/success", "callback/invalid_state"} {
			if !seen[w] {
				t.Errorf("no audit event %s in %v", w, seen)
			}
		}
	})
}

func TestPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)
		var want []string
		for _, connector := range []string{"slack", "hubspot", "discord"} {
			want = append(want, e.connect(t, userA1, orgA, connector).ID)
		}
		e.connect(t, userA2, orgA, "slack") // another user's: never listed for userA1
		slices.Sort(want)

		ids, next := e.list(t, tok, "limit=1")
		if len(ids) != 1 || next == nil || *next == "" {
			t.Fatalf("first page = %v next %v, want one id and a cursor", ids, next)
		}
		if got := e.listAll(t, tok, "", 1); !slices.Equal(got, want) {
			t.Errorf("pages of 1 = %v, want %v", got, want)
		}
		if got := e.listAll(t, tok, "", 2); !slices.Equal(got, want) {
			t.Errorf("pages of 2 = %v, want %v", got, want)
		}
		if ids, _ := e.list(t, tok, "connector=hubspot"); len(ids) != 1 {
			t.Errorf("connector filter = %v, want one", ids)
		}
		if ids, _ := e.list(t, tok, "status=reauth_required"); len(ids) != 0 {
			t.Errorf("status filter = %v, want none", ids)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "status=nope", "scope=world", "cursor=forged"} {
			e.expectError(t, request{Fn: "nango-list-connections", Token: tok, Query: q}, http.StatusBadRequest, connectors.EInvalid)
		}
	})
}

func TestCallbackRedirect(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)
		redirect := allowedOrigin + "/settings/connections?tab=apps"
		a := e.authorize(t, tok, "slack", url.Values{"redirect_uri": {redirect}}.Encode())
		id := e.ConnectAtFake(t, a)
		resp := e.callback(t, "slack", a.State, id)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("callback: %d %s, want 302", resp.StatusCode, resp.Body)
		}
		loc, err := url.Parse(resp.Headers["Location"])
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if loc.Scheme+"://"+loc.Host != allowedOrigin || loc.Path != "/settings/connections" ||
			q.Get("status") != "success" || q.Get("connection_id") != id || q.Get("tab") != "apps" || q.Get("state") != "" {
			t.Errorf("Location = %s", loc)
		}
		if resp := e.get(t, tok, id); resp.StatusCode != http.StatusOK {
			t.Errorf("connection not stored: %d", resp.StatusCode)
		}
	})
}

// webhookBody is an auth webhook as Nango sends it for a connection made
// through one of our connect sessions.
func webhookBody(t *testing.T, op string, success bool, connID, user, org string) []byte {
	t.Helper()
	b, err := json.Marshal(nango.AuthWebhook{
		Type: "auth", From: "nango", Operation: op, Success: success, ConnectionID: connID,
		ProviderConfigKey: "slack", Provider: "slack", Environment: "dev", AuthMode: "OAUTH2",
		Tags: map[string]string{"end_user_id": user, "organization_id": org},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWebhookAndCallbackConverge(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)
		stored := func(t *testing.T) []string {
			t.Helper()
			ids, _ := e.list(t, e.token(t, adminA, orgA, "admin"), "scope=organization")
			return ids
		}

		t.Run("webhook first", func(t *testing.T) {
			a := e.authorize(t, tok, "slack", "")
			id := e.ConnectAtFake(t, a)
			if resp := e.webhook(t, webhookBody(t, "creation", true, id, userA1, orgA), webhookKey, nil); resp.StatusCode != 200 || resp.Body != `{"received":true}` {
				t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
			}
			if resp := e.get(t, tok, id); resp.StatusCode != 200 {
				t.Fatalf("webhook did not store the connection: %d", resp.StatusCode)
			}
			resp := e.callback(t, "slack", a.State, id)
			if resp.StatusCode != 200 {
				t.Fatalf("callback after webhook: %d %s", resp.StatusCode, resp.Body)
			}
			var cb struct{ Connection connectionJSON }
			resp.JSON(t, &cb)
			if cb.Connection.ExpiresAt == nil || cb.Connection.Status != "active" {
				t.Errorf("callback after webhook = %+v", cb.Connection)
			}
			if got := stored(t); !slices.Equal(got, []string{id}) {
				t.Errorf("stored %v, want one record %s", got, id)
			}
		})

		t.Run("callback then duplicate webhooks", func(t *testing.T) {
			c := e.connect(t, userA2, orgA, "hubspot")
			body, _ := json.Marshal(nango.AuthWebhook{Type: "auth", Operation: "creation", Success: true, ConnectionID: c.ID,
				ProviderConfigKey: "hubspot", Provider: "hubspot", Tags: map[string]string{"end_user_id": userA2, "organization_id": orgA}})
			for range 2 {
				if resp := e.webhook(t, body, webhookKey, nil); resp.StatusCode != 200 {
					t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
				}
			}
			resp := e.get(t, e.token(t, userA2, orgA), c.ID)
			var got struct{ Connection connectionJSON }
			resp.JSON(t, &got)
			if got.Connection.Status != "active" || got.Connection.UserID != userA2 || !got.Connection.CreatedAt.Equal(c.CreatedAt) {
				t.Errorf("after duplicate webhooks: %+v", got.Connection)
			}
			if n := len(stored(t)); n != 2 {
				t.Errorf("organization has %d records, want 2", n)
			}
		})

		t.Run("webhook from the fake over HTTP is verified", func(t *testing.T) {
			// The fake Nango signs with both headers; the legacy one must
			// not be what makes it pass, the HMAC one must.
			a := e.authorize(t, tok, "slack", "")
			id := e.ConnectAtFake(t, a)
			body := webhookBody(t, "creation", true, id, userA1, orgA)
			resp := e.webhook(t, body, webhookKey, map[string]string{"x-nango-signature": "deadbeef"})
			if resp.StatusCode != 200 {
				t.Fatalf("webhook with both headers: %d %s", resp.StatusCode, resp.Body)
			}
		})

		t.Run("refresh failure webhook", func(t *testing.T) {
			c := e.connect(t, userA1, orgA, "discord")
			body, _ := json.Marshal(nango.AuthWebhook{Type: "auth", Operation: "refresh", Success: false, ConnectionID: c.ID,
				ProviderConfigKey: "discord", Provider: "discord", Tags: map[string]string{"end_user_id": userA1, "organization_id": orgA},
				Error: &nango.WebhookError{Type: "refresh_token_external_error", Description: "revoked"}})
			if resp := e.webhook(t, body, webhookKey, nil); resp.StatusCode != 200 {
				t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
			}
			var got struct{ Connection connectionJSON }
			e.get(t, tok, c.ID).JSON(t, &got)
			if got.Connection.Status != "refresh_failed" {
				t.Errorf("status after a failed refresh webhook = %q, want refresh_failed", got.Connection.Status)
			}
			// A refresh through the API brings it back.
			resp := e.Do(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "discord"}, Body: `{"connectionId":"` + c.ID + `"}`})
			var ref struct{ Connection connectionJSON }
			resp.JSON(t, &ref)
			if resp.StatusCode != 200 || ref.Connection.Status != "active" {
				t.Errorf("refresh after failure: %d %s", resp.StatusCode, resp.Body)
			}
		})
	})
}

func TestNangoRefreshRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)
		c := e.connect(t, userA1, orgA, "slack")
		e.Nango.FailRefresh(c.ID)
		e.expectError(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "slack"}, Body: `{"connectionId":"` + c.ID + `"}`},
			http.StatusConflict, connectors.EReauthRequired)
		var got struct{ Connection connectionJSON }
		e.get(t, tok, c.ID).JSON(t, &got)
		if got.Connection.Status != "reauth_required" {
			t.Errorf("status = %q, want reauth_required", got.Connection.Status)
		}
		// Reconnecting the same connection makes it active again, same record.
		a := e.authorize(t, tok, "slack", "connection_id="+url.QueryEscape(c.ID))
		if id := e.ConnectAtFake(t, a); id != c.ID {
			t.Fatalf("reconnect made a new Nango connection %s", id)
		}
		resp := e.callback(t, "slack", a.State, c.ID)
		var cb struct{ Connection connectionJSON }
		resp.JSON(t, &cb)
		if resp.StatusCode != 200 || cb.Connection.ID != c.ID || cb.Connection.Status != "active" {
			t.Errorf("reconnect callback: %d %s", resp.StatusCode, resp.Body)
		}
	})
}

func TestBuiltInOAuthGmail(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)
		a := e.authorize(t, tok, "gmail", "")
		if a.Route.Step != 12 || a.Route.Target != "legacy" || len(a.Route.Trace) != 12 {
			t.Errorf("route = step %d %q (%d entries), want step 12 legacy", a.Route.Step, a.Route.Target, len(a.Route.Trace))
		}
		if a.ConnectSessionToken != "" {
			t.Errorf("built-in OAuth answered a connect session token")
		}
		u, err := url.Parse(a.AuthorizationURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Host != "accounts.google.com" || q.Get("state") != a.State || q.Get("access_type") != "offline" ||
			q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("response_type") != "code" ||
			q.Get("client_id") != "google-client-id" || q.Get("redirect_uri") != "https://api.example.com/api/v1/nango/oauth/gmail/callback" ||
			!strings.Contains(q.Get("scope"), "gmail") {
			t.Fatalf("authorization URL = %s", a.AuthorizationURL)
		}
		challenge := q.Get("code_challenge")

		// The user consents; Google sends the browser back with a code.
		code, _ := e.Google.Authorize(t, a.AuthorizationURL)
		e.addSecret(code)
		resp := e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"},
			Query: url.Values{"state": {a.State}, "code": {code}, "scope": {"https://www.googleapis.com/auth/gmail.send"}}.Encode()})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
		}
		var cb struct{ Connection connectionJSON }
		resp.JSON(t, &cb)
		c := cb.Connection
		if c.AuthProvider != "legacy" || c.Connector != "gmail" || c.Status != "active" || c.UserID != userA1 || c.ExpiresAt == nil || c.LastRefreshedAt == nil {
			t.Errorf("connection = %+v", c)
		}
		// The verifier reached the token endpoint and matches the challenge
		// (the fake refuses the exchange otherwise).
		var verifiers []string
		for _, form := range e.Google.Requests() {
			if form.Get("grant_type") == "authorization_code" {
				verifiers = append(verifiers, form.Get("code_verifier"))
			}
		}
		if len(verifiers) != 1 {
			t.Fatalf("token endpoint saw %d exchanges, want 1", len(verifiers))
		}
		sum := sha256.Sum256([]byte(verifiers[0]))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			t.Errorf("code_verifier does not match the challenge")
		}
		if strings.Contains(a.AuthorizationURL, verifiers[0]) {
			t.Errorf("the verifier itself is in the authorization URL")
		}
		e.addSecret(verifiers[0])

		// The token is sealed in the store: no plaintext in the raw bytes.
		raw := e.rawStore(t)
		for _, p := range []string{googleAccessPrefix, googleRefreshPrefix, "PLAINTEXT"} {
			if strings.Contains(string(raw), p) {
				t.Fatalf("raw store bytes contain %q", p)
			}
		}
		sc, err := e.store.GetConnection(t.Context(), orgA, c.ID)
		if err != nil || len(sc.SealedToken) == 0 {
			t.Fatalf("stored connection: %v, sealed %d bytes", err, len(sc.SealedToken))
		}
		tokn, err := e.App.Tokens.OpenToken(t.Context(), sc)
		if err != nil || !strings.HasPrefix(tokn.AccessToken, googleAccessPrefix) || !strings.HasPrefix(tokn.RefreshToken, googleRefreshPrefix) {
			t.Fatalf("sealed token does not open to Google's token: %v", err)
		}

		// A refresh works, then the grant is revoked: 409 reauth_required.
		refresh := request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "gmail"}, Body: `{"connectionId":"` + c.ID + `"}`}
		if resp := e.Do(t, refresh); resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %s", resp.StatusCode, resp.Body)
		}
		e.Google.RevokeAll()
		resp = e.expectError(t, refresh, http.StatusConflict, connectors.EReauthRequired)
		var got struct{ Connection connectionJSON }
		e.get(t, tok, c.ID).JSON(t, &got)
		if got.Connection.Status != "reauth_required" {
			t.Errorf("status after invalid_grant = %q, want reauth_required", got.Connection.Status)
		}

		// Delete revokes at Google, best effort.
		if resp := e.Do(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": c.ID}}); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d %s", resp.StatusCode, resp.Body)
		}
		if revokes := e.Google.Stats().Revocations; revokes != 1 {
			t.Errorf("Google saw %d revocations, want 1", revokes)
		}
	})
}

func TestBuiltInOAuthErrors(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		tok := e.token(t, userA1, orgA)

		t.Run("provider error access_denied", func(t *testing.T) {
			a := e.authorize(t, tok, "gmail", "")
			snap := e.snapshot(t)
			resp := e.expectError(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"},
				Query: url.Values{"state": {a.State}, "error": {"access_denied"}, "error_description": {"The user denied"}}.Encode()},
				http.StatusBadRequest, connectors.EInvalid)
			if !strings.Contains(resp.Body, "access_denied") {
				t.Errorf("answer does not give the provider's reason: %s", resp.Body)
			}
			// Only the state was burnt: no connection stored.
			if n := e.store.writes.Load(); n == 0 {
				t.Errorf("no write counted")
			}
			if ids, _ := e.list(t, tok, ""); len(ids) != 0 {
				t.Errorf("connections after a refusal: %v (snapshot before %q)", ids, snap)
			}
			// And it cannot be used afterwards.
			e.expectError(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"},
				Query: url.Values{"state": {a.State}, "code": {"c"}}.Encode()}, http.StatusBadRequest, connectors.EInvalidState)
		})

		t.Run("code the provider refuses", func(t *testing.T) {
			a := e.authorize(t, tok, "gmail", "")
			snap := e.snapshot(t)
			resp := e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"},
				Query: url.Values{"state": {a.State}, "code": {"not-registered"}}.Encode()})
			if resp.StatusCode < 400 {
				t.Fatalf("refused code answered %d", resp.StatusCode)
			}
			if ids, _ := e.list(t, tok, ""); len(ids) != 0 {
				t.Errorf("connections after a refused code: %v (before %q)", ids, snap)
			}
		})
	})
}

// TestAuthorizeEveryConnector routes every registered connector: the built-in
// OAuth ones at step 12, the rest through Nango at step 1, each with a full
// trace and a connect URL for its own integration.
func TestAuthorizeEveryConnector(t *testing.T) {
	e := newEnv(t, "bolt")
	tok := e.token(t, userA1, orgA)
	for _, m := range registry.Default().All() {
		t.Run(m.ID, func(t *testing.T) {
			a := e.authorize(t, tok, m.ID, "")
			if len(a.Route.Trace) != 12 {
				t.Errorf("trace has %d entries", len(a.Route.Trace))
			}
			matched := 0
			for _, s := range a.Route.Trace {
				if s.Matched && s.Step == a.Route.Step {
					matched++
				}
			}
			if matched != 1 {
				t.Errorf("the deciding step %d is not marked matched in the trace", a.Route.Step)
			}
			switch m.OAuthProvider {
			case connectors.ProviderLegacy:
				if a.Route.Step != 12 || a.ConnectSessionToken != "" {
					t.Errorf("%s: step %d, session token %q", m.ID, a.Route.Step, a.ConnectSessionToken)
				}
			default:
				prefix := e.Vars["NANGO_HOST"] + "/oauth/connect/" + url.PathEscape(m.ProviderConfigKey) + "?connect_session_token="
				if a.Route.Step != 1 || !strings.HasPrefix(a.AuthorizationURL, prefix) {
					t.Errorf("%s: step %d, URL %s", m.ID, a.Route.Step, a.AuthorizationURL)
				}
			}
		})
	}
}
