package nango_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/google/uuid"
)

func TestConnectionLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client
	tags := map[string]string{"end_user_id": "u1", "organization_id": "o1"}

	before := time.Now()
	s, err := c.CreateConnectSession(ctx, nango.ConnectSessionRequest{Tags: tags, AllowedIntegrations: []string{"slack"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Token, "nango_connect_session_") {
		t.Errorf("token %q lacks Nango's prefix", s.Token)
	}
	if d := s.ExpiresAt.Sub(before); d < 29*time.Minute || d > 31*time.Minute {
		t.Errorf("session expires in %v, want 30m", d)
	}
	if !strings.HasPrefix(s.ConnectLink, e.url+"/oauth/connect/slack?connect_session_token=") {
		t.Errorf("connect link %q", s.ConnectLink)
	}

	// The sandbox connect URL completes the connection and answers JSON.
	resp, err := http.Get(s.ConnectLink)
	if err != nil {
		t.Fatal(err)
	}
	var done struct{ ConnectionID, ProviderConfigKey string }
	err = json.NewDecoder(resp.Body).Decode(&done)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || done.ProviderConfigKey != "slack" {
		t.Fatalf("connect: %d %+v %v", resp.StatusCode, done, err)
	}
	if _, err := uuid.Parse(done.ConnectionID); err != nil {
		t.Errorf("connection id %q is not a UUID", done.ConnectionID)
	}
	id := done.ConnectionID
	// A session is single use.
	if resp, _ := http.Get(s.ConnectLink); resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second use of the session did not fail")
	}

	list, err := c.ListConnections(ctx, nango.ListConnectionsParams{Tags: map[string]string{"organization_id": "o1"}})
	if err != nil || len(list) != 1 || list[0].ConnectionID != id || list[0].Tags["end_user_id"] != "u1" {
		t.Fatalf("ListConnections = %+v, %v", list, err)
	}
	if list, _ := c.ListConnections(ctx, nango.ListConnectionsParams{Tags: tags, Integration: "trello"}); len(list) != 0 {
		t.Errorf("Integration filter kept %d connections", len(list))
	}
	if list, _ := c.ListConnections(ctx, nango.ListConnectionsParams{Tags: map[string]string{"organization_id": "other"}}); len(list) != 0 {
		t.Errorf("tag filter kept %d connections", len(list))
	}

	conn, err := c.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{RefreshToken: true})
	if err != nil {
		t.Fatal(err)
	}
	cr := conn.Credentials
	if conn.Provider != "slack" || conn.Tags["organization_id"] != "o1" || cr.Type != nango.AuthOAuth2 ||
		cr.AccessToken == "" || cr.RefreshToken == "" || cr.ExpiresAt.Before(time.Now()) || conn.CreatedAt.IsZero() {
		t.Fatalf("GetConnection = %+v", conn)
	}

	fresh, err := c.Token(ctx, "slack", id, true)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == cr.AccessToken || fresh.AccessToken == "" {
		t.Error("force refresh did not give a new access token")
	}
	if fresh.RefreshToken != "" {
		t.Error("refresh token returned without asking")
	}

	if err := c.PatchConnection(ctx, "slack", id, map[string]string{"End_User_ID": "u1", "organization_id": "o1", "plan": "pro"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMetadata(ctx, "slack", id, map[string]any{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateMetadata(ctx, "slack", id, map[string]any{"b": "3"}); err != nil {
		t.Fatal(err)
	}
	conn, err = c.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Tags["end_user_id"] != "u1" || conn.Tags["plan"] != "pro" {
		t.Errorf("tags after patch = %v (keys are lower-cased)", conn.Tags)
	}
	if conn.Metadata["a"] != "1" || conn.Metadata["b"] != "3" {
		t.Errorf("metadata after set+update = %v", conn.Metadata)
	}

	ints, err := c.ListIntegrations(ctx)
	if err != nil || len(ints) != 3 || ints[0].UniqueKey != "slack" || ints[0].CreatedAt.IsZero() {
		t.Errorf("ListIntegrations = %+v, %v", ints, err)
	}

	if err := c.DeleteConnection(ctx, "slack", id); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{})
	if !nango.IsNotFound(err) {
		t.Errorf("GET after delete: %v, want not found", err)
	}
	err = c.DeleteConnection(ctx, "slack", id)
	var ae *nango.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "unknown_connection" || !nango.IsNotFound(err) {
		t.Errorf("second delete: %v, want 400 unknown_connection", err)
	}
}

func TestReconnectSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.connect(t, "slack", map[string]string{"organization_id": "o1"})
	before, _ := e.client.Token(ctx, "slack", id, false)
	s, err := e.client.CreateReconnectSession(ctx, nango.ReconnectSessionRequest{ConnectionID: id, IntegrationID: "slack", Tags: map[string]string{"organization_id": "o1", "reconnected": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.fake.CompleteSession(s.Token)
	if err != nil || got != id {
		t.Fatalf("reconnect completed %q, %v; want the same connection %q", got, err, id)
	}
	conn, err := e.client.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{})
	if err != nil || conn.Tags["reconnected"] != "yes" || conn.Credentials.AccessToken == before.AccessToken {
		t.Errorf("after reconnect: %+v, %v", conn, err)
	}
	_, err = e.client.CreateReconnectSession(ctx, nango.ReconnectSessionRequest{ConnectionID: "nope", IntegrationID: "slack"})
	if !nango.IsNotFound(err) {
		t.Errorf("reconnect of unknown connection: %v", err)
	}
}

func TestCredentialsPerAuthMode(t *testing.T) {
	e := newEnv(t)
	e.fake.AddIntegration(nangofake.Integration{UniqueKey: "stripe-key", Provider: "stripe", AuthMode: "API_KEY"})
	ctx := context.Background()
	tests := []struct {
		key   string
		check func(c *nango.Credentials) bool
	}{
		{"slack", func(c *nango.Credentials) bool {
			return c.Type == nango.AuthOAuth2 && c.AccessToken != "" && !c.ExpiresAt.IsZero()
		}},
		{"trello", func(c *nango.Credentials) bool {
			return c.Type == nango.AuthOAuth1 && c.OAuthToken != "" && c.OAuthTokenSecret != "" && c.ExpiresAt.IsZero()
		}},
		{"stripe-key", func(c *nango.Credentials) bool { return c.Type == nango.AuthAPIKey && c.APIKey != "" }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			id := e.connect(t, tt.key, nil)
			c, err := e.client.Token(ctx, tt.key, id, false)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("credentials of %s: %#v (type %s)", tt.key, c, c.Type)
			}
		})
	}
}

func TestTokenExpiresAndRefreshes(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	fake := nangofake.New(nangofake.Options{SecretKey: secretKey, Now: clock, TokenTTL: time.Minute,
		Integrations: []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}})
	url := fake.Start()
	defer fake.Close()
	c := nango.New(url, secretKey, nango.WithHTTPClient(&http.Client{Transport: newContractTransport(t)}))
	ctx := context.Background()
	s, err := c.CreateConnectSession(ctx, nango.ConnectSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := fake.CompleteSession(s.Token)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := c.Token(ctx, "slack", id, false)
	same, _ := c.Token(ctx, "slack", id, false)
	if first.AccessToken != same.AccessToken {
		t.Error("token changed before expiry")
	}
	now = now.Add(2 * time.Minute)
	later, err := c.Token(ctx, "slack", id, false)
	if err != nil || later.AccessToken == first.AccessToken || !later.ExpiresAt.After(now) {
		t.Errorf("after expiry: %v %v", later, err)
	}
}

func newContractTransport(t *testing.T) http.RoundTripper {
	if contract == nil {
		newEnv(t)
	}
	return contract.Transport(t, nil)
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.connect(t, "slack", nil)
	e.fake.FailRefresh(id)
	bad := nango.New(e.url, "00000000-0000-4000-8000-000000000000", nango.WithHTTPClient(&http.Client{Transport: e.v}))

	tests := []struct {
		name                     string
		call                     func() error
		status                   int
		code                     string
		notFound, refreshFailure bool
	}{
		{"unknown connection", func() error {
			_, err := e.client.GetConnection(ctx, "slack", "missing", nango.GetConnectionOptions{})
			return err
		}, 404, "not_found", true, false},
		{"unknown integration", func() error {
			_, err := e.client.GetConnection(ctx, "nope", id, nango.GetConnectionOptions{})
			return err
		}, 400, "unknown_provider_config", true, false},
		{"wrong secret key", func() error {
			_, err := bad.ListIntegrations(ctx)
			return err
		}, 401, "unknown_account", false, false},
		{"refresh refused by provider", func() error {
			_, err := e.client.Token(ctx, "slack", id, true)
			return err
		}, 400, "invalid_credentials", false, true},
		{"refresh in back-off", func() error {
			// After a failure an unforced refresh is backed off (a forced
			// one is tried again: TestForcedRefreshAfterFailureSkipsBackoff).
			e.fake.ExpireToken(id)
			_, err := e.client.Token(ctx, "slack", id, false)
			return err
		}, 424, "invalid_credentials", false, true},
		{"patch unknown connection", func() error {
			return e.client.PatchConnection(ctx, "slack", "missing", nil)
		}, 404, "not_found", true, false},
		{"metadata of unknown connection", func() error {
			return e.client.SetMetadata(ctx, "slack", "missing", map[string]any{"a": 1})
		}, 400, "unknown_connection", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *nango.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code {
				t.Errorf("got %d %s, want %d %s", ae.Status, ae.Code, tt.status, tt.code)
			}
			if nango.IsNotFound(err) != tt.notFound || nango.IsRefreshFailure(err) != tt.refreshFailure || nango.IsUnavailable(err) {
				t.Errorf("predicates of %v: notFound=%v refresh=%v unavailable=%v", err, nango.IsNotFound(err), nango.IsRefreshFailure(err), nango.IsUnavailable(err))
			}
			if tt.refreshFailure && !bytes.Contains(ae.Payload, []byte(id)) {
				t.Errorf("refresh failure payload %s lacks the connection", ae.Payload)
			}
			if strings.Contains(err.Error(), secretKey) || strings.Contains(err.Error(), "00000000-0000-4000-8000-000000000000") {
				t.Errorf("error %q leaks the secret key", err)
			}
		})
	}
}

func TestParseAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name, body       string
		status           int
		wantCode, wantMs string
	}{
		{"nango", `{"error":{"code":"not_found","message":"nope","errors":[{"a":1}]}}`, 404, "not_found", "nope"},
		{"legacy", `{"error":"Missing connection","type":"missing_connection"}`, 400, "missing_connection", "Missing connection"},
		{"message only", `{"message":"Invalid request"}`, 400, "", "Invalid request"},
		{"html", `<html>bad gateway</html>`, 502, "", "Bad Gateway"},
		{"empty", ``, 503, "", "Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := nango.New(srv.URL, secretKey, nango.WithMaxRetries(0)).ListIntegrations(context.Background())
			var ae *nango.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.wantCode || ae.Message != tt.wantMs {
				t.Errorf("got %#v", ae)
			}
			if (tt.status >= 500) != nango.IsUnavailable(err) {
				t.Errorf("IsUnavailable(%v) wrong", err)
			}
		})
	}
}

func TestRetriesThen503Success(t *testing.T) {
	e := newEnv(t)
	id := e.connect(t, "slack", nil)
	e.fake.Inject(nangofake.Fault{Method: "GET", Path: "/connections/", Status: 503, Times: 2})
	if _, err := e.client.GetConnection(context.Background(), "slack", id, nango.GetConnectionOptions{}); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if n := e.fake.Requests("GET", "/connections/"); n != 3 {
		t.Errorf("%d GETs, want 3", n)
	}
}

func TestRetryPolicyPerCall(t *testing.T) {
	tests := []struct {
		name, method, path string
		call               func(e *env, id string) error
		wantAttempts       int
	}{
		{"POST connect session is not retried", "POST", "/connect/sessions", func(e *env, _ string) error {
			_, err := e.client.CreateConnectSession(context.Background(), nango.ConnectSessionRequest{})
			return err
		}, 1},
		{"proxy is not retried by the client", "GET", "/proxy/", func(e *env, id string) error {
			_, err := e.client.Proxy(context.Background(), nango.ProxyRequest{Path: "/x", ConnectionID: id, ProviderConfigKey: "slack"})
			return err
		}, 1},
		{"DELETE is retried", "DELETE", "/connections/", func(e *env, id string) error {
			return e.client.DeleteConnection(context.Background(), "slack", id)
		}, 4},
		{"PATCH tags is retried", "PATCH", "/connections/", func(e *env, id string) error {
			return e.client.PatchConnection(context.Background(), "slack", id, nil)
		}, 4},
		{"set metadata is retried", "POST", "/connections/metadata", func(e *env, id string) error {
			return e.client.SetMetadata(context.Background(), "slack", id, nil)
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			id := e.connect(t, "slack", nil)
			e.fake.Inject(nangofake.Fault{Method: tt.method, Path: tt.path, Status: 502})
			before := e.fake.Requests(tt.method, tt.path)
			err := tt.call(e, id)
			if tt.path == "/proxy/" {
				// An upstream-looking 502 is the provider's answer.
				if err != nil {
					t.Fatalf("proxy: %v", err)
				}
			} else if !nango.IsUnavailable(err) {
				t.Fatalf("err = %v, want unavailable", err)
			}
			if n := e.fake.Requests(tt.method, tt.path) - before; n != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", n, tt.wantAttempts)
			}
		})
	}
}

func TestGivesUpWhenContextEnds(t *testing.T) {
	tests := []struct {
		name         string
		fault        nangofake.Fault
		wantDeadline bool // the error also says the context's deadline passed
	}{
		// Back-off would outlive the deadline: the last 503 is returned.
		{"503 until the deadline", nangofake.Fault{Path: "/integrations", Status: 503}, false},
		// The deadline passes during an attempt.
		{"slow Nango", nangofake.Fault{Path: "/integrations", Latency: 5 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nango.WithMaxRetries(1000), nango.WithBackoff(5*time.Millisecond, 20*time.Millisecond))
			e.fake.Inject(tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := e.client.ListIntegrations(ctx)
			if !nango.IsUnavailable(err) {
				t.Fatalf("err = %v, want unavailable", err)
			}
			if tt.wantDeadline && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want deadline exceeded", err)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("gave up after %v", el)
			}
			if !tt.wantDeadline {
				if n := e.fake.Requests("GET", "/integrations"); n < 2 {
					t.Errorf("only %d attempts before the deadline", n)
				}
			}
		})
	}
}

func TestPerCallTimeout(t *testing.T) {
	e := newEnv(t, nango.WithCallTimeout(30*time.Millisecond), nango.WithMaxRetries(2))
	e.fake.Inject(nangofake.Fault{Path: "/integrations", Latency: time.Second})
	start := time.Now()
	_, err := e.client.ListIntegrations(context.Background())
	if !nango.IsUnavailable(err) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if n := e.fake.Requests("GET", "/integrations"); n != 3 {
		t.Errorf("%d attempts, want 3 (each timed out)", n)
	}
	if el := time.Since(start); el > 900*time.Millisecond {
		t.Errorf("took %v: per-call timeout not applied", el)
	}
}

func Test429RetryAfterHonoured(t *testing.T) {
	e := newEnv(t)
	e.fake.Inject(nangofake.Fault{Path: "/integrations", Status: 429, RetryAfter: "1", Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := e.client.ListIntegrations(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", el)
	}
}

func Test429DeadlineTooShort(t *testing.T) {
	e := newEnv(t)
	e.fake.Inject(nangofake.Fault{Path: "/integrations", Status: 429, RetryAfter: "30"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.client.ListIntegrations(ctx)
	ra, ok := nango.IsRateLimited(err)
	if !ok || ra != 30*time.Second {
		t.Fatalf("err = %v (retryAfter %v), want rate limited for 30s", err, ra)
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("waited %v instead of answering at once", el)
	}
	if n := e.fake.Requests("GET", "/integrations"); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
	var ae *nango.APIError
	if errors.As(err, &ae); ae.Code != "too_many_request" {
		t.Errorf("code %q", ae.Code)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there now
	c := nango.New(u, secretKey, nango.WithBackoff(time.Millisecond, 2*time.Millisecond))
	_, err := c.ListIntegrations(context.Background())
	if !nango.IsUnavailable(err) || nango.IsNotFound(err) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if strings.Contains(err.Error(), secretKey) {
		t.Error("error leaks the secret key")
	}
}

func TestNoSecretWhenPrinting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.connect(t, "slack", nil)
	conn, err := e.client.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{RefreshToken: true})
	if err != nil {
		t.Fatal(err)
	}
	cr := conn.Credentials
	secrets := []string{cr.AccessToken, cr.RefreshToken, secretKey}
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
	logger.Info("got", "credentials", cr, "connection", conn)
	js, _ := json.Marshal(conn)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", cr), "%+v": fmt.Sprintf("%+v", cr), "%#v": fmt.Sprintf("%#v", cr), "%s": fmt.Sprintf("%s", cr),
		"%+v connection": fmt.Sprintf("%+v", conn), "%#v *credentials": fmt.Sprintf("%#v", &cr), "%v *connection": fmt.Sprintf("%v", conn),
		"slog": logBuf.String(), "json connection": string(js),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks a secret: %s", name, out)
			}
		}
		if name != "slog" && !strings.Contains(out, "redacted") && !strings.Contains(out, "OAUTH2") {
			t.Errorf("%s shows nothing useful: %s", name, out)
		}
	}
}

func TestProxy(t *testing.T) {
	e := newEnv(t)
	var seen *http.Request
	var seenBody []byte
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		seenBody, _ = io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
			io.WriteString(w, `{"ok":false,"error":"not_found"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	e.fake.SetUpstream("slack", upstream.URL+"/api")
	ctx := context.Background()
	slackID := e.connect(t, "slack", nil)
	trelloID := e.connect(t, "trello", nil)
	slackTok, _ := e.client.Token(ctx, "slack", slackID, false)
	trelloTok, _ := e.client.Token(ctx, "trello", trelloID, false)

	tests := []struct {
		name       string
		req        nango.ProxyRequest
		status     int
		wantPath   string
		wantAuth   string
		wantHeader string
	}{
		{"oauth2 post", nango.ProxyRequest{Method: "POST", Path: "/chat.postMessage", Query: url.Values{"a": {"1"}},
			Header: http.Header{"X-Custom": {"v"}, "Content-Type": {"application/json"}}, Body: []byte(`{"text":"hi"}`),
			ConnectionID: slackID, ProviderConfigKey: "slack"}, 200, "/api/chat.postMessage", "Bearer " + slackTok.AccessToken, "v"},
		{"oauth1 via base url override", nango.ProxyRequest{Path: "/1/members/me", ConnectionID: trelloID, ProviderConfigKey: "trello", BaseURLOverride: upstream.URL},
			200, "/1/members/me", `OAuth oauth_token="` + trelloTok.OAuthToken + `"`, ""},
		{"upstream non-2xx", nango.ProxyRequest{Path: "/missing", ConnectionID: slackID, ProviderConfigKey: "slack", BaseURLOverride: upstream.URL},
			404, "/missing", "Bearer " + slackTok.AccessToken, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			resp, err := e.client.Proxy(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status || resp.Header.Get("X-Upstream") != "yes" {
				t.Errorf("answer %d %v", resp.Status, resp.Header)
			}
			if seen == nil {
				t.Fatal("upstream not called")
			}
			if seen.URL.Path != tt.wantPath || seen.Header.Get("Authorization") != tt.wantAuth || seen.Header.Get("X-Custom") != tt.wantHeader {
				t.Errorf("upstream saw %s %s auth=%q custom=%q", seen.Method, seen.URL.Path, seen.Header.Get("Authorization"), seen.Header.Get("X-Custom"))
			}
			if tt.req.Body != nil && (string(seenBody) != string(tt.req.Body) || seen.URL.Query().Get("a") != "1" || seen.Header.Get("Content-Type") != "application/json") {
				t.Errorf("upstream body %q query %v type %q", seenBody, seen.URL.Query(), seen.Header.Get("Content-Type"))
			}
		})
	}

	_, err := e.client.Proxy(ctx, nango.ProxyRequest{Path: "/x", ConnectionID: "missing", ProviderConfigKey: "slack"})
	if !nango.IsNotFound(err) {
		t.Errorf("proxy of unknown connection: %v, want not found", err)
	}
}

func TestProxyRetriesAtNango(t *testing.T) {
	e := newEnv(t)
	calls := 0
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(409)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer upstream.Close()
	id := e.connect(t, "slack", nil)
	resp, err := e.client.Proxy(context.Background(), nango.ProxyRequest{Path: "/", ConnectionID: id, ProviderConfigKey: "slack",
		BaseURLOverride: upstream.URL, Retries: 2, RetryOn: []int{409}})
	if err != nil || resp.Status != 200 || calls != 2 {
		t.Errorf("resp %+v err %v calls %d", resp, err, calls)
	}
}
