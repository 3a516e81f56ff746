package panora_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/panorafake"
	"github.com/automators/connectors/internal/tstest/panoracontract"
)

const (
	apiKey         = "sk_prod_9b8f7e6d-5c4b-4a39-8281-7f6e5d4c3b2a"
	dashboardToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
	webhookSecret  = "3f2e1d0c-9b8a-4796-a5b4-c3d2e1f0a9b8"
)

// env is a fake Panora, a provider API behind its passthrough, and a
// client talking to the fake through the contract validator.
type env struct {
	fake     *panorafake.Server
	url      string
	client   *panora.Client
	provider *panora.Provider
	up       *upstream
	v        *panoracontract.Validator
}

type envOptions struct {
	fake    panorafake.Options
	client  []panora.Option
	project string // Provider's Options.ProjectID
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	c := panoracontract.Load(t)
	up := &upstream{}
	us := httptest.NewServer(up)
	t.Cleanup(us.Close)
	o.fake.APIKey = apiKey
	o.fake.DashboardToken = dashboardToken
	o.fake.WebhookSecret = webhookSecret
	if o.fake.Upstreams == nil {
		o.fake.Upstreams = map[string]string{"hubspot": us.URL, "salesforce": us.URL}
	}
	fake := panorafake.New(o.fake)
	url := fake.Start()
	t.Cleanup(fake.Close)
	v := c.Transport(t, nil)
	opts := append([]panora.Option{
		panora.WithHTTPClient(&http.Client{Transport: v}),
		panora.WithBackoff(time.Millisecond, 10*time.Millisecond),
		panora.WithDashboardToken(dashboardToken),
	}, o.client...)
	client := panora.New(url, apiKey, opts...)
	t.Cleanup(func() {
		t.Logf("contract: %d exchanges validated; taken by exceptions: %v", v.Checked(), v.Excepted())
	})
	return &env{
		fake: fake, url: url, client: client, up: up, v: v,
		provider: panora.NewProvider(client, panora.Options{ConnectHost: fake.ConnectURL(), ProjectID: o.project}),
	}
}

// upstream is the provider's API (HubSpot's) behind the passthrough: it
// records what it receives and answers status (200 by default) with a JSON
// echo.
type upstream struct {
	mu     sync.Mutex
	got    []*http.Request
	bodies []string
	status int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got, u.bodies = append(u.got, r), append(u.bodies, string(b))
	status := u.status
	u.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Hubspot-Request", "r1")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"id":"101","path":"`+r.URL.Path+`","query":"`+r.URL.RawQuery+`"}`)
}

func (u *upstream) setStatus(s int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.status = s
}

func (u *upstream) last() (*http.Request, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		return nil, ""
	}
	return u.got[len(u.got)-1], u.bodies[len(u.bodies)-1]
}

// code is err's domain code.
func code(err error) string { return connectors.ErrorCode(err) }

// noSecrets fails t when err's text holds any of the secrets.
func noSecrets(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	all := append([]string{apiKey, dashboardToken, webhookSecret}, secrets...)
	for _, s := range all {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows a secret", err)
		}
	}
	var e *connectors.Error
	if errors.As(err, &e) {
		for _, s := range all {
			if s != "" && strings.Contains(e.Message, s) {
				t.Errorf("message %q shows a secret", e.Message)
			}
		}
	}
}
