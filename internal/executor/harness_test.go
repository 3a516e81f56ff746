package executor_test

// Test harness: a real store (boltstore in a temp dir, or DynamoDB on moto),
// the fake Nango on loopback, httptest servers standing in for the
// providers, a fake Google token endpoint for the built-in OAuth, and the
// executor wired as internal/wiring wires it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/connecttest"
	"github.com/automators/connectors/internal/tstest/oauthtest"
)

const nangoSecret = "nango-secret-key-for-tests"

// clock is a settable clock shared by the executor and the fake Nango.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// recorded is one request a server or transport saw.
type recorded struct {
	Method   string
	Host     string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// upstream is an httptest server standing in for a provider's API. It
// records every request; its handler can be swapped.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
	h    http.HandlerFunc
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	u := &upstream{h: h}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.reqs = append(u.reqs, recorded{r.Method, r.Host, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		h := u.h
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) set(h http.HandlerFunc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.h = h
}

func (u *upstream) calls() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.reqs...)
}

func (u *upstream) count() int { return len(u.calls()) }

// answer returns a handler answering status with a JSON body and headers.
func answer(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// sequence answers with each handler in turn, then repeats the last.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(hs)-1)
		hs[i](w, r)
	}
}

// hangUp closes the connection without answering: a network error.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// recorder is a RoundTripper that records what passes through it.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Host: req.URL.Host, Path: req.URL.Path, RawQuery: req.URL.RawQuery, Header: req.Header.Clone()})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) calls() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) count() int { return len(r.calls()) }

// Canned provider answers.
const (
	slackOK  = `{"ok":true,"channel":"C0123","ts":"1712345678.000100","message":{"type":"message","text":"hello"}}`
	stripeOK = `{"id":"cus_NffrFeUfNV2Hib","object":"customer","email":"ada@example.com","name":"Ada","created":1680893993,"balance_big":9007199254740993}`
	trelloOK = `{"id":"5abbe4b7ddc1b351ef961414","name":"Card","idList":"5abbe4b7ddc1b351ef961400","url":"https://trello.com/c/abc"}`
	gmailOK  = `{"id":"18c0c2d1f0a1b2c3","threadId":"18c0c2d1f0a1b2c3","labelIds":["SENT"]}`
)

// envOptions tune newEnv.
type envOptions struct {
	dynamo   bool              // DynamoDB on moto instead of boltstore
	clock    *clock            // nil: real time
	tokenTTL time.Duration     // fake Nango's token lifetime
	wait     time.Duration     // executor.Deps.Wait
	lease    time.Duration     // executor.Deps.Lease
	app      map[string]string // executor.Deps.AppCredentials
}

// env is one wired executor with its fakes.
type env struct {
	t       testing.TB
	store   connectors.Store
	fake    *nangofake.Server
	nango   *nango.Client
	nangoTx *recorder // every request to (fake) Nango
	provTx  *recorder // every request to a provider (direct calls)
	svc     *connect.Service
	sealer  *seal.Sealer
	exec    *executor.Executor

	slack, stripe, trello, gmail, discord *upstream
	google                                *oauthtest.Server // Google's token endpoint
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t}
	now := time.Now
	if o.clock != nil {
		now = o.clock.Now
	}

	if o.dynamo {
		e.store = dynamoStore(t)
	} else {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "store.db"), []byte("cursor-key"))
		if err != nil {
			t.Fatalf("boltstore.Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		e.store = st
	}

	e.slack = newUpstream(t, answer(200, slackOK))
	e.stripe = newUpstream(t, answer(200, stripeOK))
	e.trello = newUpstream(t, answer(200, trelloOK))
	e.gmail = newUpstream(t, answer(200, gmailOK))
	e.discord = newUpstream(t, discordAPI)
	// Google keeps the refresh token: a refresh answers none.
	e.google = oauthtest.New(t, oauthtest.Options{ClientID: "google-client-id", ClientSecret: "google-client-secret"})

	var ints []nangofake.Integration
	for _, id := range []string{"slack", "stripe", "trello", "discord"} {
		m, _ := registry.Default().Lookup(id)
		ints = append(ints, nangofake.Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
	}
	e.fake = nangofake.New(nangofake.Options{
		SecretKey: nangoSecret, Integrations: ints, TokenTTL: o.tokenTTL, Now: o.clock.nowOrNil(),
		Upstreams: map[string]string{"trello": e.trello.URL},
	})
	nangoURL := e.fake.Start()
	t.Cleanup(e.fake.Close)
	e.nangoTx = &recorder{next: http.DefaultTransport}
	e.nango = nango.New(nangoURL, nangoSecret,
		nango.WithHTTPClient(&http.Client{Transport: e.nangoTx}),
		nango.WithMaxRetries(1), nango.WithBackoff(time.Millisecond, 5*time.Millisecond))

	e.provTx = &recorder{next: http.DefaultTransport}
	httpClient := &http.Client{Transport: e.provTx, Timeout: 10 * time.Second}

	sealer, err := seal.New(seal.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, seal.KeySize)})
	if err != nil {
		t.Fatalf("seal.New: %v", err)
	}
	e.sealer = sealer
	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		t.Fatalf("actions.NewCatalogue: %v", err)
	}
	reg := cat.Registry()
	rt := router.New(router.Policy{})
	opts := connecttest.Options{
		Nango: e.nango, NangoHost: nangoURL, HTTPClient: httpClient,
		OAuthServers: map[string]*legacyoauth.Provider{"gmail": e.google.GoogleProvider("https://connectors.test/callback")},
		Sealer:       sealer, StateKey: []byte("state-key"), Now: now, Registry: reg, Router: rt,
		// The key test call goes to the provider's stand-in like the
		// actions do.
		VerifyAPIKey: func(ctx context.Context, m registry.Manifest, creds connectors.Credentials) error {
			return cat.Verify(ctx, httpClient, m.ID, creds, map[string]string{"stripe": e.stripe.URL}[m.ID])
		},
	}
	var tokens *credentials.Lifecycle
	e.svc, tokens = connecttest.New(e.store, opts)
	e.exec = executor.New(executor.Deps{
		Store: e.store, Registry: reg, Router: rt, Providers: connecttest.Providers(opts), Tokens: tokens, HTTP: httpClient, Actions: cat,
		Now: now, Wait: o.wait, Lease: o.lease, AppCredentials: o.app,
		BaseURLs: map[string]string{"slack": e.slack.URL, "stripe": e.stripe.URL, "gmail": e.gmail.URL, "discord": e.discord.URL},
	})
	return e
}

func (c *clock) nowOrNil() func() time.Time {
	if c == nil {
		return nil
	}
	return c.Now
}

var tableSeq atomic.Int64

func dynamoStore(t testing.TB) connectors.Store {
	t.Helper()
	client := awstest.DynamoDB(t)
	return dynamostore.New(client, awstest.Table(t, client), []byte("cursor-key"))
}

// nangoConn creates a Nango connection for connector whose tags name user
// and org, and the matching connection record. It returns the id.
func (e *env) nangoConn(org, user, connector string) string {
	e.t.Helper()
	m, ok := registry.Default().Lookup(connector)
	if !ok {
		e.t.Fatalf("no manifest %s", connector)
	}
	ctx := context.Background()
	sess, err := e.nango.CreateConnectSession(ctx, nango.ConnectSessionRequest{
		Tags:                map[string]string{nango.TagUser: user, nango.TagOrg: org},
		AllowedIntegrations: []string{m.ProviderConfigKey},
	})
	if err != nil {
		e.t.Fatalf("CreateConnectSession: %v", err)
	}
	id, err := e.fake.CompleteSession(sess.Token)
	if err != nil {
		e.t.Fatalf("CompleteSession: %v", err)
	}
	e.putConn(&connectors.Connection{
		ID: id, OrganizationID: org, UserID: user, Connector: connector,
		AuthProvider: connectors.ProviderNango, ProviderConfigKey: m.ProviderConfigKey, Status: connectors.StatusActive,
	})
	return id
}

// legacyConn stores a built-in OAuth connection holding tok, sealed; the
// fake Google accepts its refresh token.
func (e *env) legacyConn(org, user, connector string, tok connectors.Token) string {
	e.t.Helper()
	e.google.Accept(tok.RefreshToken)
	id := fmt.Sprintf("legacy-%s-%d", connector, tableSeq.Add(1))
	plain, err := tok.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	sealed, err := e.sealer.Seal(plain, seal.AAD(org, id))
	if err != nil {
		e.t.Fatal(err)
	}
	e.putConn(&connectors.Connection{
		ID: id, OrganizationID: org, UserID: user, Connector: connector,
		AuthProvider: connectors.ProviderLegacy, Status: connectors.StatusActive,
		ExpiresAt: tok.Expiry, SealedToken: sealed,
	})
	return id
}

func (e *env) putConn(c *connectors.Connection) {
	e.t.Helper()
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	if err := e.store.CreateConnection(context.Background(), c); err != nil {
		e.t.Fatalf("CreateConnection: %v", err)
	}
}

// setStatus changes a stored connection's status.
func (e *env) setStatus(org, id string, s connectors.Status) {
	e.t.Helper()
	c, err := e.store.GetConnection(context.Background(), org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	c.Status = s
	if err := e.store.UpdateConnection(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

// forcedRefreshes counts GETs of connection id with force_refresh=true.
func (e *env) forcedRefreshes(id string) int {
	n := 0
	for _, r := range e.nangoTx.calls() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/connections/"+id) && strings.Contains(r.RawQuery, "force_refresh=true") {
			n++
		}
	}
	return n
}

// nangoGets counts GETs of connection id (credential fetches).
func (e *env) nangoGets(id string) int {
	n := 0
	for _, r := range e.nangoTx.calls() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/connections/"+id) {
			n++
		}
	}
	return n
}

var nodeSeq atomic.Int64

// in returns an input for nodeType with a fresh node id.
func in(org, user, nodeType string, params map[string]any) executor.Input {
	return executor.Input{
		ExecutionID:    "arn:aws:states:us-east-1:123456789012:execution:wf:run-1",
		NodeID:         fmt.Sprintf("node-%d", nodeSeq.Add(1)),
		NodeType:       nodeType,
		UserID:         user,
		OrganizationID: org,
		Params:         params,
	}
}

func slackParams() map[string]any { return map[string]any{"channel": "C0123", "text": "hello"} }
func stripeParams() map[string]any {
	return map[string]any{"email": "ada@example.com", "name": "Ada", "metadata": map[string]any{"plan": "pro"}}
}
func trelloParams() map[string]any {
	return map[string]any{"list_id": "5abbe4b7ddc1b351ef961400", "name": "Card", "desc": "from a workflow"}
}
func gmailParams() map[string]any {
	return map[string]any{"to": []any{"bob@example.com"}, "subject": "Hi", "body": "Hello Bob"}
}

// mustJSON encodes v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// bearerOf returns the bearer token of a recorded request.
func bearerOf(r recorded) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// errName returns the executor error name of err, failing when err is not
// an *executor.Error.
func errName(t testing.TB, err error) *executor.Error {
	t.Helper()
	xe, ok := err.(*executor.Error)
	if !ok {
		t.Fatalf("error %T %v is not an *executor.Error", err, err)
	}
	return xe
}
