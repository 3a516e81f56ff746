package composio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/composiofake"
	"github.com/automators/connectors/internal/tstest/composiocontract"
)

const (
	apiKey        = "ak_test-3f9b0c1e-secret-api-key"
	webhookSecret = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1vbmU="
	acSlack       = "ac_slack01"
	acGmail       = "ac_gmail01"
	acHubspot     = "ac_hubspot01"
	callbackBase  = "https://api.example.test/api/v1/nango/oauth/{connector}/callback"
)

// upstream is a toolkit's API: it records what reached it and answers
// what the test says.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	got    []*recorded
	answer func(w http.ResponseWriter, r *http.Request)
}

type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, &recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: b})
		answer := u.answer
		u.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "yes")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t testing.TB) *recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		t.Fatal("nothing reached the upstream")
	}
	return u.got[len(u.got)-1]
}

func (u *upstream) setAnswer(f func(w http.ResponseWriter, r *http.Request)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.answer = f
}

// env is a fake Composio, a client talking to it through the contract
// validator, and the provider on it.
type env struct {
	fake   *composiofake.Server
	url    string
	client *composio.Client
	prov   *composio.Provider
	slack  *upstream
	v      *composiocontract.Validator
}

func newEnv(t testing.TB, opts ...composio.Option) *env {
	t.Helper()
	c := composiocontract.Load(t)
	slack := newUpstream(t)
	fake := composiofake.New(composiofake.Options{
		APIKey:         apiKey,
		WebhookSecrets: []string{webhookSecret},
		AuthConfigs: []composiofake.AuthConfig{
			{ID: acSlack, Toolkit: "slack"}, {ID: acGmail, Toolkit: "gmail"}, {ID: acHubspot, Toolkit: "hubspot"},
		},
		Upstreams: map[string]string{"slack": slack.URL},
	})
	u := fake.Start()
	t.Cleanup(fake.Close)
	v := c.Transport(t, nil)
	all := append([]composio.Option{
		composio.WithHTTPClient(&http.Client{Transport: v}),
		composio.WithBackoff(time.Millisecond, 20*time.Millisecond),
	}, opts...)
	client := composio.New(u, apiKey, all...)
	prov, err := composio.NewProvider(client, composio.Config{
		AuthConfigs: map[string]string{"slack": acSlack, "gmail": acGmail},
		CallbackURL: callbackBase,
		APIOrigins:  map[string]string{"slack": "https://slack.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		t.Logf("contract: %d exchanges validated; excused by exceptions: %v", v.Checked(), v.Excepted())
	})
	return &env{fake: fake, url: u, client: client, prov: prov, slack: slack, v: v}
}

// connect runs a flow for org/user on connector to its callback and
// returns the callback's query.
func (e *env) connect(t testing.TB, connector, org, user, state string) url.Values {
	t.Helper()
	flow, err := e.prov.Connect(context.Background(), connectors.ConnectRequest{
		Connector: connector, OrganizationID: org, UserID: user, State: state, Nonce: "n-" + state,
	})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	cb, err := e.fake.CompleteLink(flow.AuthorizationURL)
	if err != nil {
		t.Fatalf("CompleteLink: %v", err)
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// code is err's domain code, failing t when err is not a domain error.
func code(t testing.TB, err error) string {
	t.Helper()
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a domain error", err, err)
	}
	return ce.Code
}

// noSecret fails t when err's text holds a secret.
func noSecret(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{apiKey, webhookSecret, strings.TrimPrefix(webhookSecret, "whsec_")} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds a secret", err)
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
