package nango_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/tstest/nangocontract"
)

const (
	secretKey  = "4d9c3a51-7d2e-4c8f-9b1a-0e6f2b7c8d90"
	signingKey = "whsec_test_key"
)

var contract *nangotest.Contract

// env is a fake Nango and a client talking to it through the contract
// validator.
type env struct {
	fake   *nangofake.Server
	url    string
	client *nango.Client
	v      *nangotest.Validator
}

func newEnv(t testing.TB, opts ...nango.Option) *env {
	t.Helper()
	if contract == nil {
		contract = nangotest.Load(t)
	}
	fake := nangofake.New(nangofake.Options{
		SecretKey:         secretKey,
		WebhookSigningKey: signingKey,
		Integrations: []nangofake.Integration{
			{UniqueKey: "slack", Provider: "slack"},
			{UniqueKey: "trello", Provider: "trello"},
			{UniqueKey: "google-sheets", Provider: "google-sheet"},
		},
	})
	url := fake.Start()
	t.Cleanup(fake.Close)
	v := contract.Transport(t, nil)
	all := append([]nango.Option{
		nango.WithHTTPClient(&http.Client{Transport: v}),
		nango.WithBackoff(time.Millisecond, 20*time.Millisecond),
	}, opts...)
	e := &env{fake: fake, url: url, client: nango.New(url, secretKey, all...), v: v}
	t.Cleanup(func() {
		t.Logf("contract: %d exchanges validated; excused by exceptions: %v", v.Checked(), v.Excepted())
	})
	return e
}

// connect creates a session with tags for key and completes it, returning
// the new connection id.
func (e *env) connect(t testing.TB, key string, tags map[string]string) string {
	t.Helper()
	s, err := e.client.CreateConnectSession(context.Background(), nango.ConnectSessionRequest{Tags: tags, AllowedIntegrations: []string{key}})
	if err != nil {
		t.Fatalf("CreateConnectSession: %v", err)
	}
	id, err := e.fake.CompleteSession(s.Token)
	if err != nil {
		t.Fatalf("CompleteSession: %v", err)
	}
	return id
}
