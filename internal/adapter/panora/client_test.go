package panora_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/connectors"
)

func TestOriginID(t *testing.T) {
	p := panora.DefaultOriginPrefix
	seen := map[string][2]string{}
	for _, pair := range [][2]string{
		{"org_456", "user_123"}, {"a/b", "c"}, {"a", "b/c"}, {"a%2Fb", "c"}, {"a", "%2Fb"},
		{"o", ""}, {"", "u"}, {"ü ø", "?#&="}, {"x:y", "z"},
	} {
		o := panora.OriginID(p, pair[0], pair[1])
		if prev, ok := seen[o]; ok {
			t.Errorf("%v and %v share the origin id %q", prev, pair, o)
		}
		seen[o] = pair
		org, user, ok := panora.ParseOriginID(p, o)
		if !ok || org != pair[0] || user != pair[1] {
			t.Errorf("ParseOriginID(%q) = %q %q %v, want %v", o, org, user, ok, pair)
		}
	}
	if got := panora.OriginID(p, "org_456", "user_123"); got != "automators:org_456/user_123" {
		t.Errorf("OriginID = %q", got)
	}
	for _, o := range []string{"org/user", "automators:a/b/c", "automators:ab", "automators:%zz/u", "automators:a%2fb/c", "other:a/b"} {
		if _, _, ok := panora.ParseOriginID(p, o); ok {
			t.Errorf("ParseOriginID(%q) accepted", o)
		}
	}
}

func FuzzOriginID(f *testing.F) {
	f.Add("org_456", "user_123")
	f.Add("a/b", "c")
	f.Add("%", "/")
	f.Fuzz(func(t *testing.T, org, user string) {
		o := panora.OriginID(panora.DefaultOriginPrefix, org, user)
		gotOrg, gotUser, ok := panora.ParseOriginID(panora.DefaultOriginPrefix, o)
		if !ok || gotOrg != org || gotUser != user {
			t.Errorf("round trip of (%q, %q) via %q: (%q, %q, %v)", org, user, o, gotOrg, gotUser, ok)
		}
	})
}

// server answers every request with status and body, counting them.
func server(t *testing.T, status int, body string, hdr ...string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func TestAPIErrorShapes(t *testing.T) {
	token := "5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0"
	for _, tt := range []struct {
		name, body, want string
		status           int
	}{
		{"exception filter", `{"statusCode":500,"timestamp":"t","path":"/linked_users/fromRemoteId?remoteId=automators:o/u","message":"boom"}`, "panora: GET /connections: 500: boom", 500},
		{"validation list", `{"statusCode":400,"message":["a must be a string","b is required"],"error":"Bad Request"}`, "panora: GET /connections: 400: a must be a string; b is required", 400},
		{"nested", `{"statusCode":401,"error":{"message":"Unauthorized"}}`, "panora: GET /connections: 401: Unauthorized", 401},
		{"not JSON", `<html>bad gateway</html>`, "panora: GET /connections: 502: Bad Gateway", 502},
		{"secrets scrubbed", `{"statusCode":500,"message":"key ` + apiKey + ` token ` + dashboardToken + `"}`, "panora: GET /connections: 500: key [REDACTED] token [REDACTED]", 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := server(t, tt.status, tt.body)
			c := panora.New(s.URL, apiKey, panora.WithMaxRetries(0), panora.WithDashboardToken(dashboardToken))
			_, err := c.ListConnections(context.Background())
			var e *panora.APIError
			if !errors.As(err, &e) || e.Status != tt.status || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "remoteId") {
				t.Errorf("error %q repeats the answer's path", err)
			}
		})
	}
	// The passthrough's connection token is scrubbed from Panora's message.
	s, _ := server(t, 500, `{"statusCode":500,"message":"Connection undefined for token `+token+`"}`)
	_, err := panora.New(s.URL, apiKey).Passthrough(context.Background(), token, panora.PassthroughRequest{Method: "GET", Path: "x"})
	if !panora.IsUnknownConnection(err) || strings.Contains(err.Error(), token) {
		t.Errorf("unknown token: %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		call  func(c *panora.Client) error
		tries int32
	}{
		{"GET /connections is retried", func(c *panora.Client) error { _, err := c.ListConnections(ctx); return err }, 4},
		{"GET /linked_users/fromRemoteId is retried", func(c *panora.Client) error { _, err := c.LinkedUserByOrigin(ctx, "o"); return err }, 4},
		{"POST /linked_users is not", func(c *panora.Client) error {
			_, err := c.CreateLinkedUser(ctx, panora.CreateLinkedUserRequest{OriginID: "o", Alias: "a"})
			return err
		}, 1},
		{"POST /magic_links is not", func(c *panora.Client) error { _, err := c.CreateMagicLink(ctx, panora.MagicLinkRequest{}); return err }, 1},
		{"POST /passthrough is not", func(c *panora.Client) error {
			_, err := c.Passthrough(ctx, "t", panora.PassthroughRequest{Method: "GET"})
			return err
		}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, n := server(t, 503, `{"statusCode":503,"message":"down"}`)
			c := panora.New(s.URL, apiKey, panora.WithBackoff(time.Millisecond, time.Millisecond))
			err := tt.call(c)
			if !panora.IsUnavailable(err) || n.Load() != tt.tries {
				t.Errorf("err %v after %d tries, want %d", err, n.Load(), tt.tries)
			}
		})
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(502)
			return
		}
		_, _ = io.WriteString(w, `[]`)
	}))
	defer s.Close()
	c := panora.New(s.URL, apiKey, panora.WithBackoff(time.Millisecond, time.Millisecond))
	if list, err := c.ListConnections(context.Background()); err != nil || len(list) != 0 || n.Load() != 3 {
		t.Errorf("got %v, %v after %d tries", list, err, n.Load())
	}
}

func TestPerCallTimeout(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer s.Close()
	c := panora.New(s.URL, apiKey, panora.WithCallTimeout(20*time.Millisecond), panora.WithMaxRetries(1), panora.WithBackoff(time.Millisecond, time.Millisecond))
	start := time.Now()
	_, err := c.ListConnections(context.Background())
	if !panora.IsUnavailable(err) || time.Since(start) > 900*time.Millisecond {
		t.Errorf("got %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListConnections(ctx); panora.IsUnavailable(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}
}

func TestHeadersSent(t *testing.T) {
	got := make(chan http.Header, 2)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"id_invite_link":"l","status":"generated","email":"","id_linked_user":"u","displayed_verticals":[],"displayed_providers":[]}`)
	}))
	defer s.Close()
	c := panora.New(s.URL, apiKey, panora.WithDashboardToken(dashboardToken))
	if _, err := c.CreateMagicLink(context.Background(), panora.MagicLinkRequest{OriginID: "o", ProjectID: "p"}); err != nil {
		t.Fatal(err)
	}
	h := <-got
	if h.Get("x-api-key") != apiKey || h.Get("Authorization") != "Bearer "+dashboardToken || !strings.HasPrefix(h.Get("User-Agent"), "automators-connectors/") {
		t.Errorf("magic link headers %v", h)
	}
	_, _ = c.ListConnections(context.Background())
	if h := <-got; h.Get("Authorization") != "" {
		t.Errorf("the dashboard token went with GET /connections")
	}
}

func TestNoSecretWhenPrinting(t *testing.T) {
	c := panora.New("https://api.panora.dev", apiKey, panora.WithDashboardToken(dashboardToken))
	conn := panora.Connection{ID: "c", ConnectionToken: "5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v", c, c), fmt.Sprint(conn), fmt.Sprintf("%+v %#v", conn, conn)} {
		for _, secret := range []string{apiKey, dashboardToken, conn.ConnectionToken} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows a secret", s)
			}
		}
	}
	// Unreachable: the error names the operation, not the URL's query.
	c = panora.New("http://127.0.0.1:1", apiKey, panora.WithMaxRetries(0))
	_, err := c.LinkedUserByOrigin(context.Background(), "automators:secret-org/secret-user")
	if !panora.IsUnavailable(err) || strings.Contains(err.Error(), "secret-org") || strings.Contains(err.Error(), apiKey) {
		t.Errorf("unreachable: %v", err)
	}
	if code := connectors.ErrorCode(err); code != connectors.EInternal {
		t.Errorf("a client error is not a domain error yet: %q", code)
	}
}

func TestPassthroughAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, answer, ctype string
		status              int
		want                string
		wantStatus          int
		statusOnly          bool
	}{
		{"json", `{"status":201,"statusText":"Created","headers":{"content-type":"application/json","x-n":3,"set-cookie":["a=1","b=2"],"content-length":"9"},"data":{"id":"1"}}`, "", 201, `{"id":"1"}`, 201, false},
		{"text", `{"status":200,"statusText":"OK","headers":{"content-type":"text/plain"},"data":"hello"}`, "", 201, "hello", 200, false},
		{"json string", `{"status":200,"statusText":"OK","headers":{"content-type":"application/json"},"data":"hello"}`, "", 201, `"hello"`, 200, false},
		{"no content", `{"status":204,"statusText":"No Content","headers":{},"data":""}`, "", 201, "", 204, false},
		{"provider error", `{"statusCode":500,"timestamp":"t","path":"/passthrough","message":"Request failed with status code 403"}`, "", 500, "", 403, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := server(t, tt.status, tt.answer)
			resp, err := panora.New(s.URL, apiKey).Passthrough(ctx, "t", panora.PassthroughRequest{Method: "GET", Path: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus || string(resp.Body) != tt.want || resp.StatusOnly != tt.statusOnly {
				t.Errorf("got %d %q %v", resp.Status, resp.Body, resp.StatusOnly)
			}
			if tt.name == "json" && (len(resp.Header.Values("Set-Cookie")) != 2 || resp.Header.Get("X-N") != "3" || resp.Header.Get("Content-Length") != "") {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
	s, _ := server(t, 201, `{"statusCode":200,"retryId":"r1"}`, "Retry-After", "12")
	_, err := panora.New(s.URL, apiKey).Passthrough(ctx, "t", panora.PassthroughRequest{Method: "GET"})
	var q *panora.QueuedError
	if !errors.As(err, &q) || q.RetryID != "r1" || q.RetryAfter != 12*time.Second {
		t.Errorf("queued with Retry-After: %v", err)
	}
	if wait, ok := panora.IsRateLimited(err); !ok || wait != 12*time.Second {
		t.Errorf("IsRateLimited = %v %v", wait, ok)
	}
}

// TestConnectionNulls: Panora's rows have nullable columns the document
// declares as strings (account_url, the tokens, expiration_timestamp:
// prisma/schema.prisma, model connections); they decode as empty.
func TestConnectionNulls(t *testing.T) {
	s, _ := server(t, 200, `[{"id_connection":"c","status":"valid","provider_slug":"hubspot","vertical":"crm","account_url":null,"token_type":"apikey","access_token":null,"refresh_token":null,"expiration_timestamp":null,"created_at":"2024-10-01T12:00:00.000Z","connection_token":"t","id_project":"p","id_linked_user":"l"}]`)
	list, err := panora.New(s.URL, apiKey).ListConnections(context.Background())
	if err != nil || len(list) != 1 || !list[0].ExpiresAt.IsZero() || list[0].AccountURL != "" || list[0].CreatedAt.Year() != 2024 || !list[0].Usable() {
		t.Errorf("got %+v, %v", list, err)
	}
}
