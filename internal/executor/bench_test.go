package executor_test

// Benchmarks of the executor's warm path per action family: route, cached
// credentials, request build, an in-process provider answer and its
// decoding, plus the idempotency record (claim and complete). Nothing goes
// over a network: the Doer is an http.RoundTripper answering canned JSON,
// Nango is an in-process stub, and the store is memStore below, a
// map-backed connectors.Store written for these benchmarks only.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

// memStore keeps connections and idempotency records in maps. The other
// ports are not used by the executor and answer ENotImplemented.
type memStore struct {
	mu    sync.Mutex
	conns map[string]*connectors.Connection // org \x00 id
	idem  map[string]*connectors.IdempotencyRecord
}

func newMemStore() *memStore {
	return &memStore{conns: map[string]*connectors.Connection{}, idem: map[string]*connectors.IdempotencyRecord{}}
}

var errNotImpl = connectors.Errorf(connectors.ENotImplemented, "memStore: not implemented")

func clone(c *connectors.Connection) *connectors.Connection { cp := *c; return &cp }

func (s *memStore) CreateConnection(_ context.Context, c *connectors.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := c.OrganizationID + "\x00" + c.ID
	if _, ok := s.conns[k]; ok {
		return connectors.Errorf(connectors.EConflict, "exists")
	}
	c.Version = 1
	s.conns[k] = clone(c)
	return nil
}

func (s *memStore) UpdateConnection(_ context.Context, c *connectors.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := c.OrganizationID + "\x00" + c.ID
	old, ok := s.conns[k]
	if !ok {
		return connectors.Errorf(connectors.ENotFound, "not found")
	}
	if old.Version != c.Version {
		return connectors.Errorf(connectors.EConflict, "version")
	}
	c.Version++
	s.conns[k] = clone(c)
	return nil
}

func (s *memStore) GetConnection(_ context.Context, org, id string) (*connectors.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[org+"\x00"+id]
	if !ok {
		return nil, connectors.Errorf(connectors.ENotFound, "not found")
	}
	return clone(c), nil
}

func (s *memStore) DeleteConnection(_ context.Context, org, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, org+"\x00"+id)
	return nil
}

func (s *memStore) ListConnections(_ context.Context, f connectors.ConnectionFilter) (connectors.ConnectionPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var page connectors.ConnectionPage
	for _, c := range s.conns {
		if c.OrganizationID == f.OrganizationID && (f.UserID == "" || c.UserID == f.UserID) &&
			(f.Connector == "" || c.Connector == f.Connector) && (f.Status == "" || c.Status == f.Status) {
			page.Connections = append(page.Connections, clone(c))
		}
	}
	return page, nil
}

func (s *memStore) BeginIdempotent(_ context.Context, key, owner string, lease time.Duration) (*connectors.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	r, ok := s.idem[key]
	switch {
	case ok && r.Status == connectors.IdempotencyCompleted:
		cp := *r
		return &cp, nil
	case ok && r.LeaseUntil.After(now):
		return nil, connectors.Errorf(connectors.EConflict, "in progress")
	}
	r = &connectors.IdempotencyRecord{Key: key, Owner: owner, Status: connectors.IdempotencyInProgress, LeaseUntil: now.Add(lease), CreatedAt: now}
	s.idem[key] = r
	cp := *r
	return &cp, nil
}

func (s *memStore) CompleteIdempotent(_ context.Context, key, owner string, result []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.idem[key]
	if !ok || r.Owner != owner || r.Status != connectors.IdempotencyInProgress {
		return connectors.Errorf(connectors.EConflict, "not held")
	}
	r.Status, r.Result = connectors.IdempotencyCompleted, result
	return nil
}

func (s *memStore) GetIdempotent(_ context.Context, key string) (*connectors.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.idem[key]
	if !ok {
		return nil, connectors.Errorf(connectors.ENotFound, "not found")
	}
	cp := *r
	return &cp, nil
}

func (s *memStore) ReleaseIdempotent(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.idem[key]; ok && r.Owner == owner && r.Status == connectors.IdempotencyInProgress {
		delete(s.idem, key)
	}
	return nil
}

func (s *memStore) CreateState(context.Context, *connectors.OAuthState) error { return errNotImpl }
func (s *memStore) GetState(context.Context, string) (*connectors.OAuthState, error) {
	return nil, errNotImpl
}
func (s *memStore) ConsumeState(context.Context, string) (*connectors.OAuthState, error) {
	return nil, errNotImpl
}
func (s *memStore) AppendAudit(context.Context, connectors.AuditEvent) error { return errNotImpl }
func (s *memStore) ListAudit(context.Context, string, int) ([]connectors.AuditEvent, error) {
	return nil, errNotImpl
}

// RecordExecution keeps nothing: the benchmark measures the executor, and a
// history write is one more store call like those above.
func (s *memStore) RecordExecution(context.Context, connectors.Execution) error { return nil }
func (s *memStore) ListExecutions(context.Context, connectors.ExecutionFilter) (connectors.ExecutionPage, error) {
	return connectors.ExecutionPage{}, errNotImpl
}
func (s *memStore) AcquireLease(context.Context, string, string, time.Duration) error {
	return errNotImpl
}
func (s *memStore) ReleaseLease(context.Context, string, string) error { return errNotImpl }
func (s *memStore) ListDueConnections(context.Context, time.Time, int, string) (connectors.ConnectionPage, error) {
	return connectors.ConnectionPage{}, errNotImpl
}
func (s *memStore) SweepCursor(context.Context) (string, error)   { return "", errNotImpl }
func (s *memStore) SaveSweepCursor(context.Context, string) error { return errNotImpl }

func (s *memStore) GetOwner(context.Context, connectors.ProviderConnection) (connectors.Owner, error) {
	return connectors.Owner{}, errNotImpl
}

var _ connectors.Store = (*memStore)(nil)

// stubNango answers credentials and proxied calls in process.
type stubNango struct {
	nango.API     // only GetConnection and Proxy are called
	gets, proxied atomic.Int64
	proxyBody     []byte
}

func (n *stubNango) GetConnection(_ context.Context, key, id string, _ nango.GetConnectionOptions) (*nango.Connection, error) {
	n.gets.Add(1)
	return &nango.Connection{ConnectionID: id, ProviderConfigKey: key, Credentials: nango.Credentials{
		Type: "OAUTH2", AccessToken: "bench-access-token", ExpiresAt: time.Now().Add(time.Hour),
	}}, nil
}

func (n *stubNango) Proxy(_ context.Context, req nango.ProxyRequest) (*nango.ProxyResponse, error) {
	n.proxied.Add(1)
	return &nango.ProxyResponse{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: n.proxyBody}, nil
}

// cannedTransport answers each host with its canned JSON.
type cannedTransport struct {
	answers map[string][]byte // host -> body
	calls   atomic.Int64
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(c.answers[r.URL.Host])), Request: r,
	}, nil
}

func BenchmarkExecuteWarm(b *testing.B) {
	ctx := context.Background()
	store := newMemStore()
	nc := &stubNango{proxyBody: []byte(trelloOK)}
	tx := &cannedTransport{answers: map[string][]byte{
		"slack.bench":   []byte(slackOK),
		"stripe.bench":  []byte(stripeOK),
		"hubspot.bench": []byte(`{"id":"512","properties":{"email":"ada@example.com","firstname":"Ada"},"createdAt":"2026-03-01T12:00:00Z","archived":false}`),
		"gmail.bench":   []byte(gmailOK),
	}}
	sealer, err := seal.New(seal.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, seal.KeySize)})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		b.Fatal(err)
	}
	reg, rt := cat.Registry(), router.New(router.Policy{})
	opts := connecttest.Options{Nango: nc, Sealer: sealer, Registry: reg, Router: rt}
	_, tokens := connecttest.New(store, opts)
	exec := executor.New(executor.Deps{
		Store: store, Registry: reg, Router: rt, Providers: connecttest.Providers(opts), Tokens: tokens,
		HTTP: &http.Client{Transport: tx}, Actions: cat,
		BaseURLs: map[string]string{
			"slack": "http://slack.bench", "stripe": "http://stripe.bench",
			"hubspot": "http://hubspot.bench", "gmail": "http://gmail.bench",
		},
	})
	for _, c := range []string{"slack", "stripe", "hubspot", "trello"} {
		store.CreateConnection(ctx, &connectors.Connection{
			ID: c + "-conn", OrganizationID: org, UserID: user, Connector: c,
			AuthProvider: connectors.ProviderNango, ProviderConfigKey: c, Status: connectors.StatusActive,
		})
	}
	plain, _ := connectors.Token{AccessToken: "ya29.bench", RefreshToken: "1//bench", Expiry: time.Now().Add(time.Hour)}.Marshal()
	sealed, _ := sealer.Seal(plain, seal.AAD(org, "gmail-conn"))
	store.CreateConnection(ctx, &connectors.Connection{
		ID: "gmail-conn", OrganizationID: org, UserID: user, Connector: "gmail",
		AuthProvider: connectors.ProviderLegacy, Status: connectors.StatusActive, SealedToken: sealed,
	})

	cases := []struct {
		name, nodeType string
		params         map[string]any
	}{
		{"slack.send_message/json-write", "integration.slack.send_message", slackParams()},
		{"slack.list_channels/read", "integration.slack.list_channels", map[string]any{"limit": 50.0}},
		{"stripe.create_customer/form-write", "integration.stripe.create_customer", stripeParams()},
		{"hubspot.create_contact/json-write", "integration.hubspot.create_contact", map[string]any{"properties": map[string]any{"email": "ada@example.com", "firstname": "Ada"}}},
		{"trello.create_card/nango-proxy", "integration.trello.create_card", trelloParams()},
		{"gmail.send_email/builtin-oauth", "integration.gmail.send_email", gmailParams()},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			input := executor.Input{
				ExecutionID: "bench-" + tc.name, NodeType: tc.nodeType, UserID: user, OrganizationID: org, Params: tc.params,
			}
			input.NodeID = "warm-up"
			if _, err := exec.Execute(ctx, input); err != nil {
				b.Fatalf("warm-up: %v", err)
			}
			gets, calls := nc.gets.Load(), tx.calls.Load()+nc.proxied.Load()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				input.NodeID = "n" + strconv.Itoa(i)
				if _, err := exec.Execute(ctx, input); err != nil {
					b.Fatal(err)
				}
			}
			if n := nc.gets.Load() - gets; n != 0 {
				b.Fatalf("the warm path fetched credentials %d times", n)
			}
			if n := tx.calls.Load() + nc.proxied.Load() - calls; n != int64(i) {
				b.Fatalf("%d provider calls for %d executions", n, i)
			}
		})
	}
	// A repeat of a recorded node: no provider call at all.
	b.Run("replay/recorded-result", func(b *testing.B) {
		input := executor.Input{ExecutionID: "bench", NodeID: "replayed", NodeType: "integration.stripe.create_customer", UserID: user, OrganizationID: org, Params: stripeParams()}
		if _, err := exec.Execute(ctx, input); err != nil {
			b.Fatal(err)
		}
		calls := tx.calls.Load()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := exec.Execute(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
		if tx.calls.Load() != calls {
			b.Fatalf("a replay called the provider")
		}
	})
}
