package composio_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/composiofake"
)

func activeAccount(t testing.TB, e *env) *connectors.Connection {
	t.Helper()
	id, err := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: composio.UserID("acme", "u1")})
	if err != nil {
		t.Fatal(err)
	}
	return &connectors.Connection{ID: id, OrganizationID: "acme", UserID: "u1", Connector: "slack", AuthProvider: connectors.ProviderComposio, ProviderConfigKey: acSlack}
}

// TestComposioDown: no answer is EUnavailable; an answered 5xx is a
// temporary EUpstream, after the retries a call may have.
func TestComposioDown(t *testing.T) {
	ctx := context.Background()
	t.Run("closed server", func(t *testing.T) {
		e := newEnv(t)
		c := activeAccount(t, e)
		e.fake.Close()
		_, err := e.prov.Grant(ctx, c, nil, false)
		if code(t, err) != connectors.EUnavailable || !composio.IsUnavailable(err) {
			t.Errorf("Grant: %v", err)
		}
		noSecret(t, err)
		_, err = e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "o", UserID: "u", State: "s"})
		if code(t, err) != connectors.EUnavailable {
			t.Errorf("Connect: %v", err)
		}
		_, _, _, err = e.prov.Proxy(c, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/api/auth.test"})
		if code(t, err) != connectors.EUnavailable {
			t.Errorf("Proxy: %v", err)
		}
	})
	t.Run("500", func(t *testing.T) {
		e := newEnv(t)
		c := activeAccount(t, e)
		e.fake.Inject(composiofake.Fault{Status: http.StatusInternalServerError})
		_, err := e.prov.Grant(ctx, c, nil, false)
		if code(t, err) != connectors.EUpstream || !connectors.IsTemporary(err) {
			t.Errorf("Grant: %v", err)
		}
		if n := e.fake.Requests(http.MethodGet, "/api/v3/connected_accounts/"); n != 1+composio.DefaultMaxRetries {
			t.Errorf("GET tried %d times, want %d", n, 1+composio.DefaultMaxRetries)
		}
		_, err = e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "o", UserID: "u", State: "s"})
		if code(t, err) != connectors.EUpstream || !connectors.IsTemporary(err) {
			t.Errorf("Connect: %v", err)
		}
		if n := e.fake.Requests(http.MethodPost, "/api/v3/connected_accounts/link"); n != 1 {
			t.Errorf("the link was tried %d times; a POST is never retried", n)
		}
		_, _, _, err = e.prov.Proxy(c, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/api/auth.test"})
		if code(t, err) != connectors.EUpstream || !connectors.IsTemporary(err) {
			t.Errorf("Proxy: %v", err)
		}
		if n := e.fake.Requests(http.MethodPost, "/api/v3/tools/execute/proxy"); n != 1 {
			t.Errorf("the proxy was tried %d times; it is never retried", n)
		}
		_, err = e.prov.Revoke(ctx, c, nil)
		if code(t, err) != connectors.EUpstream {
			t.Errorf("Revoke: %v", err)
		}
	})
	t.Run("a passing 503 is retried", func(t *testing.T) {
		e := newEnv(t)
		c := activeAccount(t, e)
		e.fake.Inject(composiofake.Fault{Status: http.StatusServiceUnavailable, Times: 2})
		if _, err := e.prov.Grant(ctx, c, nil, false); err != nil {
			t.Errorf("Grant after two 503s: %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		e := newEnv(t)
		c := activeAccount(t, e)
		e.fake.Inject(composiofake.Fault{Latency: time.Second})
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := e.prov.Grant(dctx, c, nil, false)
		if code(t, err) != connectors.EUnavailable || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Grant: %v", err)
		}
	})
}

// TestRateLimited: 429 is ERateLimited with Composio's wait, once the
// retries (if any) are spent.
func TestRateLimited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, composio.WithMaxRetries(0))
	c := activeAccount(t, e)
	e.fake.Inject(composiofake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"})
	_, err := e.prov.Grant(ctx, c, nil, false)
	if code(t, err) != connectors.ERateLimited || connectors.RetryAfter(err) != 7*time.Second {
		t.Errorf("Grant: %v (retry after %v)", err, connectors.RetryAfter(err))
	}
	_, _, _, err = e.prov.Proxy(c, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/api/auth.test"})
	if code(t, err) != connectors.ERateLimited || connectors.RetryAfter(err) != 7*time.Second {
		t.Errorf("Proxy: %v", err)
	}

	// With retries, a short wait is honoured and the call goes through.
	e2 := newEnv(t)
	c2 := activeAccount(t, e2)
	e2.fake.Inject(composiofake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "0", Times: 1})
	if _, err := e2.prov.Grant(ctx, c2, nil, false); err != nil {
		t.Errorf("Grant after one 429: %v", err)
	}
	// A wait longer than the caller's deadline ends the call at once.
	e2.fake.Inject(composiofake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "30"})
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err = e2.prov.Grant(dctx, c2, nil, false)
	if code(t, err) != connectors.ERateLimited || time.Since(start) > 500*time.Millisecond {
		t.Errorf("Grant with a long Retry-After: %v after %v", err, time.Since(start))
	}
}

// TestProxyRefusals: the API's own refusals pass through as statuses;
// Composio's are domain errors.
func TestProxyRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := activeAccount(t, e)
	proxy := e.prov.Proxy(c, connectors.Credentials{})
	call := connectors.ProxyCall{Method: "GET", Path: "/api/auth.test"}

	for _, st := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests, http.StatusInternalServerError} {
		e.slack.setAnswer(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(st)
			_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		})
		status, header, body, err := proxy.Proxy(ctx, call)
		if err != nil || status != st || string(body) != `{"ok":false,"error":"invalid_auth"}` || header.Get("Retry-After") != "3" {
			t.Errorf("upstream %d: got %d %v %s %v", st, status, header, body, err)
		}
	}
	e.slack.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(`plain "text"`))
	})
	if status, _, body, err := proxy.Proxy(ctx, call); err != nil || status != 200 || string(body) != `plain "text"` {
		t.Errorf("text answer: %d %q %v", status, body, err)
	}
	e.slack.setAnswer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if status, _, body, err := proxy.Proxy(ctx, call); err != nil || status != 204 || len(body) != 0 {
		t.Errorf("empty answer: %d %q %v", status, body, err)
	}

	// Composio's own refusals.
	_ = e.fake.Expire(c.ID)
	if _, _, _, err := proxy.Proxy(ctx, call); code(t, err) != connectors.EReauthRequired {
		t.Errorf("expired account: %v", err)
	}
	if _, _, _, err := e.prov.Proxy(&connectors.Connection{ID: "ca_gone", Connector: "slack"}, connectors.Credentials{}).Proxy(ctx, call); code(t, err) != connectors.ENotFound {
		t.Errorf("unknown account: %v", err)
	}
	c2 := activeAccount(t, e)
	e.fake.Inject(composiofake.Fault{Path: "/api/v3/tools/execute/proxy", Status: http.StatusForbidden, Times: 1})
	if _, _, _, err := e.prov.Proxy(c2, connectors.Credentials{}).Proxy(ctx, call); code(t, err) != connectors.ENotConfigured {
		t.Errorf("403 from Composio for a usable account: %v", err)
	}
	e.fake.Inject(composiofake.Fault{Path: "/api/v3/tools/execute/proxy", Status: http.StatusBadRequest, Times: 1})
	if _, _, _, err := e.prov.Proxy(c2, connectors.Credentials{}).Proxy(ctx, call); code(t, err) != connectors.EUpstream || connectors.IsTemporary(err) {
		t.Errorf("400 from Composio for a usable account: %v", err)
	}
	e.fake.Inject(composiofake.Fault{Path: "/api/v3/tools/execute/proxy", Status: http.StatusBadGateway, Times: 1})
	if _, _, _, err := e.prov.Proxy(c2, connectors.Credentials{}).Proxy(ctx, call); code(t, err) != connectors.EUpstream || !connectors.IsTemporary(err) {
		t.Errorf("502 from Composio: %v", err)
	}
	if _, _, _, err := e.prov.Proxy(c2, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Method: "OPTIONS", Path: "/x"}); code(t, err) != connectors.EInvalid {
		t.Errorf("OPTIONS: %v", err)
	}
	// An absolute endpoint on another domain is refused by Composio.
	bad, _ := composio.NewProvider(e.client, composio.Config{AuthConfigs: map[string]string{"slack": acSlack}, CallbackURL: callbackBase,
		APIOrigins: map[string]string{"slack": "https://evil.example"}})
	if _, _, _, err := bad.Proxy(c2, connectors.Credentials{}).Proxy(ctx, call); code(t, err) != connectors.EUpstream {
		t.Errorf("origin mismatch: %v", err)
	}
}

// TestProxyBodies: JSON goes as JSON, anything else as its bytes.
func TestProxyBodies(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := activeAccount(t, e)
	proxy := e.prov.Proxy(c, connectors.Credentials{})
	tests := []struct {
		name, ct, body, wantCT string
	}{
		{"json", "application/json; charset=utf-8", `{"a": [1, 2]}`, "application/json"},
		{"json without content type", "", `[1,2]`, "application/json"},
		{"form", "application/x-www-form-urlencoded", "a=1&b=%C3%A9", "application/x-www-form-urlencoded"},
		{"text that is no JSON", "", "hello", ""},
		{"json content type, not json", "application/json", "{bad", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ct != "" {
				h.Set("Content-Type", tt.ct)
			}
			if _, _, _, err := proxy.Proxy(ctx, connectors.ProxyCall{Method: "POST", Path: "/api/x", Header: h, Body: []byte(tt.body)}); err != nil {
				t.Fatal(err)
			}
			got := e.slack.last(t)
			wantBody := tt.body
			if tt.wantCT == "application/json" && strings.HasPrefix(tt.name, "json") && tt.body != "{bad" {
				wantBody = strings.ReplaceAll(tt.body, " ", "")
			}
			if string(got.Body) != wantBody || got.Header.Get("Content-Type") != tt.wantCT {
				t.Errorf("upstream got %q as %q; want %q as %q", got.Body, got.Header.Get("Content-Type"), wantBody, tt.wantCT)
			}
		})
	}
	// Without an API origin the path goes relative, resolved by Composio
	// against the toolkit's base URL (https://slack.com/api in the fake).
	rel, _ := composio.NewProvider(e.client, composio.Config{AuthConfigs: map[string]string{"slack": acSlack}, CallbackURL: callbackBase})
	if _, _, _, err := rel.Proxy(c, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/conversations.list", Query: url.Values{"limit": {"5"}}}); err != nil {
		t.Fatal(err)
	}
	if got := e.slack.last(t); got.Path != "/api/conversations.list" || got.RawQuery != "limit=5" {
		t.Errorf("relative endpoint reached %s?%s", got.Path, got.RawQuery)
	}
}

// TestNoSecretInErrors: neither the API key nor a webhook secret appears in
// any error, even when Composio echoes them.
func TestNoSecretInErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := activeAccount(t, e)
	var errs []error
	bad := composio.New(e.url, apiKey+"-wrong", composio.WithHTTPClient(&http.Client{Transport: e.v}))
	_, err := bad.GetConnectedAccount(ctx, c.ID)
	errs = append(errs, err)
	p, _ := composio.NewProvider(bad, composio.Config{AuthConfigs: map[string]string{"slack": acSlack}, CallbackURL: callbackBase})
	_, err = p.Grant(ctx, c, nil, false)
	if code(t, err) != connectors.ENotConfigured {
		t.Errorf("a refused API key: %v", err)
	}
	errs = append(errs, err)
	_, _, _, err = p.Proxy(c, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Path: "/x"})
	if code(t, err) != connectors.ENotConfigured {
		t.Errorf("a refused API key, proxy: %v", err)
	}
	errs = append(errs, err)

	// Composio echoing the key in its message.
	echo := composio.New(e.url, apiKey, composio.WithMaxRetries(0), composio.WithHTTPClient(&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
			Body: readCloser(`{"error":{"message":"bad key ` + apiKey + `","code":400,"status":400}}`)}, nil
	})}))
	_, err = echo.GetConnectedAccount(ctx, "ca_x")
	errs = append(errs, err)
	_, err = composio.Webhooks{Secrets: func(context.Context, bool) ([]string, error) { return []string{webhookSecret}, nil }}.Event(ctx, []byte(`{}`), http.Header{
		"Webhook-Id": {"m"}, "Webhook-Timestamp": {"1"}, "Webhook-Signature": {"v1," + webhookSecret},
	})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Error("an expected error is nil")
		}
		noSecret(t, err)
	}
}

// TestProxyAnswerShapes: what the client makes of proxy answers the fake
// does not give.
func TestProxyAnswerShapes(t *testing.T) {
	ctx := context.Background()
	answer := func(body string) *composio.Client {
		return composio.New("http://composio.test", apiKey, composio.WithHTTPClient(&http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Request: r, Body: readCloser(body)}, nil
		})}))
	}
	req := composio.ProxyRequest{ConnectedAccountID: "ca_1", Endpoint: "/x"}
	resp, err := answer(`{"status":200,"data":[1,2],"headers":{"set-cookie":["a=1","b=2"],"content-length":"5","x-one":"1"}}`).Proxy(ctx, req)
	if err != nil || string(resp.Body) != "[1,2]" || len(resp.Header.Values("Set-Cookie")) != 2 || resp.Header.Get("Content-Length") != "" ||
		resp.Header.Get("X-One") != "1" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Proxy = %+v, %v", resp, err)
	}
	if _, err := answer(`{"status":200,"data":null,"binary_data":{"url":"https://x/f","content_type":"application/pdf","size":3}}`).Proxy(ctx, req); !errors.Is(err, composio.ErrBinaryAnswer) {
		t.Errorf("binary answer: %v", err)
	}
	for _, body := range []string{`{"data":{}}`, `{"status":"200"}`, `{"status":99}`, `{"status":200.5}`, `not json`} {
		_, err := answer(body).Proxy(ctx, req)
		var de *composio.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v", body, err)
		}
	}
	p, _ := composio.NewProvider(answer(`{"status":200,"binary_data":{"url":"u","content_type":"c","size":1}}`), composio.Config{CallbackURL: callbackBase})
	if _, _, _, err := p.Proxy(&connectors.Connection{ID: "ca_1"}, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Path: "/x"}); code(t, err) != connectors.EUpstream {
		t.Errorf("provider, binary answer: %v", err)
	}
	p, _ = composio.NewProvider(answer(`{"data":1}`), composio.Config{CallbackURL: callbackBase})
	if _, _, _, err := p.Proxy(&connectors.Connection{ID: "ca_1"}, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{Path: "/x"}); code(t, err) != connectors.EUpstream {
		t.Errorf("provider, answer without status: %v", err)
	}
}
