package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/apitest"
	"github.com/automators/connectors/internal/tstest/oauthtest"
)

// Test organizations and users. Every store snapshot covers these organizations.
const (
	orgA   = "org-a"
	orgB   = "org-b"
	userA1 = "user-a1"
	userA2 = "user-a2"
	adminA = "admin-a"
	userB1 = "user-b1"

	allowedOrigin = apitest.AllowedOrigin
	basePath      = apitest.BasePath
)

var testOrgs = []string{orgA, orgB}

// Secrets of the test deployment. Each carries a marker so that a leak is
// never a coincidence.
var (
	jwtSecret        = "jwt-SECRET-MARKER-" + strings.Repeat("j", 32)
	stateSigningKey  = "state-SECRET-MARKER-" + strings.Repeat("s", 32)
	nangoSecretKey   = "nango-SECRET-MARKER-key"
	webhookKey       = "webhook-SECRET-MARKER-key"
	googleSecret     = "google-SECRET-MARKER-client-secret"
	microsoftSecret  = "microsoft-SECRET-MARKER"
	encryptionKeyB64 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
)

// storeKinds are the store adapters every flow test runs against.
var storeKinds = []string{"bolt", "dynamodb"}

// lambdaTimeout is the deadline of one invocation, as the functions' Timeout.
const lambdaTimeout = 15 * time.Second

// routes maps a function (folder) name to its route.
var routes = apitest.Routes

// env is one deployment under test (internal/tstest/apitest) over a store adapter
// that counts its writes, with a settable clock and the secrets no answer
// and no log may contain.
type env struct {
	*apitest.Env
	store    *recordingStore
	rawStore func(t *testing.T) []byte // every byte the adapter keeps
	clock    *clock
	keys     *keyVerifier // the connectors' test calls of API keys (step 2)

	mu      sync.Mutex
	secrets []string // values that must never appear in an answer or a log
}

// envOptions change a test deployment.
type envOptions struct {
	nangoHost  string // instead of the fake's URL (an unreachable one)
	httpClient *http.Client
}

// newEnv builds a deployment over the store adapter kind ("bolt" or "dynamodb").
func newEnv(t *testing.T, kind string, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	e := &env{clock: &clock{}, keys: &keyVerifier{}}
	e.Env = apitest.New(t, kind, apitest.Options{
		Name:      "test",
		UserAgent: "httpapi-test",
		Secrets: apitest.Secrets{
			JWT:                   jwtSecret,
			StateSigningKey:       stateSigningKey,
			NangoSecretKey:        nangoSecretKey,
			WebhookKey:            webhookKey,
			GoogleClientSecret:    googleSecret,
			MicrosoftClientSecret: microsoftSecret,
			EncryptionKeyB64:      encryptionKeyB64,
		},
		GoogleMarker: googleMarker,
		NangoHost:    o.nangoHost,
		HTTPClient:   o.httpClient,
		Now:          e.clock.Now,
		// API keys are tested by a fake of the providers' test calls.
		APIKeyVerifier: e.keys.verify,
		// The SDK's default retries stay on: moto_server sometimes drops a
		// response under load, and the store recognises a retried write that
		// had landed as its own (dynamostore's lost-answer test).
		WrapStore: func(s connectors.Store) connectors.Store {
			e.store = &recordingStore{Store: s}
			return e.store
		},
		Timeout: lambdaTimeout,
		Check:   func(t *testing.T, r request, resp response) { e.check(t, r, resp) },
	})
	e.addSecret(jwtSecret, stateSigningKey, nangoSecretKey, webhookKey, googleSecret, encryptionKeyB64, microsoftSecret,
		"fake_access_token_", "fake_refresh_token_", googleAccessPrefix, googleRefreshPrefix)
	switch kind {
	case "bolt":
		e.rawStore = func(t *testing.T) []byte {
			b, err := os.ReadFile(e.BoltPath)
			if err != nil {
				t.Fatalf("read bolt file: %v", err)
			}
			return b
		}
	case "dynamodb":
		e.rawStore = func(t *testing.T) []byte { return scanTable(t, e.Dynamo, e.Table) }
	}
	return e
}

// forEachStore runs fn as one subtest per store adapter.
func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { fn(t, newEnv(t, kind)) })
	}
}

// scanTable returns every item of table as JSON, for plaintext searches.
func scanTable(t *testing.T, client *dynamodb.Client, table string) []byte {
	t.Helper()
	var buf bytes.Buffer
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			fmt.Fprintf(&buf, "%#v\n", it)
			for _, v := range it {
				fmt.Fprintf(&buf, "%#v\n", v)
			}
		}
	}
	return buf.Bytes()
}

// addSecret records values that no answer body and no log line may contain.
func (e *env) addSecret(vs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range vs {
		if v != "" {
			e.secrets = append(e.secrets, v)
		}
	}
}

// token issues a bearer JWT for user in org (with roles) and records it as a secret.
func (e *env) token(t *testing.T, user, org string, roles ...string) string {
	t.Helper()
	tok := e.Token(t, user, org, roles...)
	e.addSecret(tok)
	return tok
}

// request is one API Gateway request to a function; response is a
// handler's answer, decoded.
type (
	request  = apitest.Request
	response = apitest.Response
)

// check holds every answer to the OpenAPI document and checks that it
// carries no secret, nor do the logs. It runs on every answer e.Do returns.
func (e *env) check(t *testing.T, r request, resp response) {
	t.Helper()
	if resp.StatusCode == 0 {
		t.Fatalf("%s answered status 0", r.Fn)
	}
	checkOpenAPI(t, r.Fn, resp.Event, resp.APIGatewayV2HTTPResponse)
	if r.Fn != "nango-authorize" || resp.StatusCode != http.StatusOK {
		e.assertNoSecret(t, "answer of "+r.Fn, resp.Body+fmt.Sprint(resp.Headers))
	}
	e.assertNoSecret(t, "logs", e.Logs.String())
}

// expectError sends r and checks the status and error code of the answer.
func (e *env) expectError(t *testing.T, r request, status int, code string) response {
	t.Helper()
	resp := e.Do(t, r)
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", r.Fn, resp.StatusCode, status, resp.Body)
	}
	if got := resp.ErrorCode(t); got != code {
		t.Fatalf("%s: error code %q, want %q: %s", r.Fn, got, code, resp.Body)
	}
	if status == http.StatusUnauthorized && resp.Headers["WWW-Authenticate"] == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	return resp
}

// assertNoSecret fails when s contains any recorded secret.
func (e *env) assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	e.mu.Lock()
	secrets := slices.Clone(e.secrets)
	e.mu.Unlock()
	for _, v := range secrets {
		if strings.Contains(s, v) {
			t.Fatalf("%s contains a secret (%.12s...)", what, v)
		}
	}
}

// snapshot is the stored state of every test organization's connections
// (each field, version and sealed token included) and the count of writes
// the store accepted, audit events aside.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, org := range testOrgs {
		cursor := ""
		for {
			page, err := e.store.Store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: org, Limit: 100, Cursor: cursor})
			if err != nil {
				t.Fatalf("snapshot list: %v", err)
			}
			for _, c := range page.Connections {
				j, _ := json.Marshal(c)
				b.Write(j)
				b.WriteByte('\n')
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	fmt.Fprintf(&b, "writes=%d\n", e.store.writes.Load())
	return b.String()
}

// unchanged fails when the store differs from the snapshot before.
func (e *env) unchanged(t *testing.T, before string) {
	t.Helper()
	if after := e.snapshot(t); after != before {
		t.Fatalf("stored data changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// recordingStore counts the writes its store accepted (audit events aside),
// so that a snapshot also sees states created or consumed.
type recordingStore struct {
	connectors.Store
	writes atomic.Int64
}

func (s *recordingStore) count(err error) error {
	if err == nil {
		s.writes.Add(1)
	}
	return err
}

func (s *recordingStore) CreateConnection(ctx context.Context, c *connectors.Connection) error {
	return s.count(s.Store.CreateConnection(ctx, c))
}

func (s *recordingStore) UpdateConnection(ctx context.Context, c *connectors.Connection) error {
	return s.count(s.Store.UpdateConnection(ctx, c))
}

func (s *recordingStore) DeleteConnection(ctx context.Context, orgID, id string) error {
	return s.count(s.Store.DeleteConnection(ctx, orgID, id))
}

func (s *recordingStore) CreateState(ctx context.Context, st *connectors.OAuthState) error {
	return s.count(s.Store.CreateState(ctx, st))
}

func (s *recordingStore) ConsumeState(ctx context.Context, nonce string) (*connectors.OAuthState, error) {
	st, err := s.Store.ConsumeState(ctx, nonce)
	return st, s.count(err)
}

// clock is a settable clock: the real time plus an offset.
type clock struct{ offset atomic.Int64 }

// Now returns the clock's time.
func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward.
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// The fake Google's marker, and so the prefixes of its tokens: the tests
// look for them in answers, logs and raw store bytes.
const (
	googleMarker        = "PLAINTEXT-"
	googleAccessPrefix  = oauthtest.AccessPrefix + googleMarker
	googleRefreshPrefix = oauthtest.RefreshPrefix + googleMarker
)

// connectionJSON is the connection of an answer, decoded; authorization
// is the answer of authorize.
type (
	connectionJSON = apitest.ConnectionJSON
	authorization  = apitest.Authorization
)

// authorize starts a connection of connector for the bearer token and
// records the state and session token as secrets.
func (e *env) authorize(t *testing.T, tok, connector, query string) authorization {
	t.Helper()
	a := e.Authorize(t, tok, connector, query)
	e.addSecret(a.State, a.ConnectSessionToken)
	return a
}

// callback sends the Nango callback for state and connection id.
func (e *env) callback(t *testing.T, connector, state, connID string, extra ...string) response {
	t.Helper()
	q := url.Values{"state": {state}, "connection_id": {connID}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": connector}, Query: q.Encode()})
}

// connect runs authorize -> fake connect -> callback for user and returns
// the stored connection.
func (e *env) connect(t *testing.T, user, org, connector string) connectionJSON {
	t.Helper()
	a := e.authorize(t, e.token(t, user, org), connector, "")
	id := e.ConnectAtFake(t, a)
	resp := e.callback(t, connector, a.State, id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: status %d: %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Connection connectionJSON `json:"connection"`
	}
	resp.JSON(t, &body)
	return body.Connection
}

// get fetches a connection as tok.
func (e *env) get(t *testing.T, tok, id string) response {
	t.Helper()
	return e.Do(t, request{Fn: "nango-get-connection", Token: tok, Params: map[string]string{"connectionId": id}})
}

// list lists connections as tok with query and returns the ids and cursor.
func (e *env) list(t *testing.T, tok, query string) ([]string, *string) {
	t.Helper()
	resp := e.Do(t, request{Fn: "nango-list-connections", Token: tok, Query: query})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: status %d: %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Connections []connectionJSON `json:"connections"`
		NextCursor  *string          `json:"nextCursor"`
	}
	resp.JSON(t, &body)
	ids := make([]string, 0, len(body.Connections))
	for _, c := range body.Connections {
		ids = append(ids, c.ID)
	}
	return ids, body.NextCursor
}

// listAll follows cursors with page size limit and returns every id.
func (e *env) listAll(t *testing.T, tok, query string, limit int) []string {
	t.Helper()
	var all []string
	cursor := ""
	for range 50 {
		q, _ := url.ParseQuery(query)
		q.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		ids, next := e.list(t, tok, q.Encode())
		if len(ids) > limit {
			t.Fatalf("page of %d connections with limit %d", len(ids), limit)
		}
		all = append(all, ids...)
		if next == nil {
			sort.Strings(all)
			return all
		}
		cursor = *next
	}
	t.Fatal("pagination does not end")
	return nil
}

// webhook posts a Nango webhook body signed with key (no signature when key
// is "").
func (e *env) webhook(t *testing.T, body []byte, key string, extra map[string]string) response {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["x-nango-hmac-sha256"] = nango.SignWebhook(body, key)
	}
	for k, v := range extra {
		h[k] = v
	}
	return e.Do(t, request{Fn: "nango-webhook", Body: string(body), Headers: h})
}

// readAll drains and closes an HTTP body.
func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sha256Sum returns the SHA-256 of b.
func sha256Sum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// newLambdaHTTP serves function fn of e over HTTP as API Gateway would, for
// clients that speak HTTP (the fake Nango's webhooks), and returns its URL.
// Answers are held to the OpenAPI document as well.
func newLambdaHTTP(t *testing.T, e *env, fn string) string {
	t.Helper()
	rt := routes[fn]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		headers := map[string]string{}
		for k, vs := range r.Header {
			headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: rt.Method + " " + basePath + rt.Path, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
			Headers: headers, Body: string(body),
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: fmt.Sprintf("http-%d", e.Seq.Add(1)),
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path}},
		}
		resp, err := e.Handlers[fn](r.Context(), ev)
		if err != nil {
			t.Errorf("%s returned a Lambda error: %v", fn, err)
			http.Error(w, "lambda error", http.StatusBadGateway)
			return
		}
		checkOpenAPI(t, fn, ev, resp)
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.StatusCode)
		io.WriteString(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + basePath + rt.Path
}
