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
	"path/filepath"
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

	"github.com/automators/connectors/internal/apigw"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/awstest"
	"github.com/automators/connectors/internal/boltstore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/dynamostore"
	"github.com/automators/connectors/internal/legacyoauth"
	"github.com/automators/connectors/internal/nango"
	"github.com/automators/connectors/internal/nangofake"
	"github.com/automators/connectors/internal/oauthtest"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/syncbuf"
	"github.com/automators/connectors/internal/wiring"
)

// Test organizations and users. Every store snapshot covers these organizations.
const (
	orgA   = "org-a"
	orgB   = "org-b"
	userA1 = "user-a1"
	userA2 = "user-a2"
	adminA = "admin-a"
	userB1 = "user-b1"

	allowedOrigin = "https://app.example.com"
	basePath      = "/api/v1/nango"
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
	encryptionKeyB64 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
)

// storeKinds are the store adapters every flow test runs against.
var storeKinds = []string{"bolt", "dynamodb"}

// lambdaTimeout is the deadline of one invocation, as the functions' Timeout.
const lambdaTimeout = 15 * time.Second

// route describes one HTTP function of DESIGN §6.
type route struct {
	method string
	path   string // under basePath, with {params}
}

// routes maps a function (folder) name to its route.
var routes = map[string]route{
	"nango-authorize":         {http.MethodGet, "/oauth/{provider}/authorize"},
	"nango-callback":          {http.MethodGet, "/oauth/{provider}/callback"},
	"nango-refresh":           {http.MethodPost, "/oauth/{provider}/refresh"},
	"nango-list-connections":  {http.MethodGet, "/connections"},
	"nango-get-connection":    {http.MethodGet, "/connections/{connectionId}"},
	"nango-delete-connection": {http.MethodDelete, "/connections/{connectionId}"},
	"nango-webhook":           {http.MethodPost, "/webhooks"},
}

// env is one deployment under test: the handlers built by wiring.New over a
// store adapter, the fake Nango, a fake Google (internal/oauthtest), a settable
// clock and a captured log.
type env struct {
	kind     string
	store    *recordingStore
	rawStore func(t *testing.T) []byte // every byte the adapter keeps
	nango    *nangofake.Server
	google   *oauthtest.Server
	app      *wiring.App
	handlers map[string]apigw.Handler
	logs     *syncbuf.Buffer
	clock    *clock
	vars     map[string]string

	mu      sync.Mutex
	secrets []string // values that must never appear in an answer or a log
	reqSeq  atomic.Int64
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
	e := &env{kind: kind, logs: &syncbuf.Buffer{}, clock: &clock{}}

	var integrations []nangofake.Integration
	for _, m := range registry.Default().All() {
		if m.OAuthProvider == connectors.ProviderNango {
			integrations = append(integrations, nangofake.Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
		}
	}
	e.nango = nangofake.New(nangofake.Options{SecretKey: nangoSecretKey, WebhookSigningKey: webhookKey, Integrations: integrations})
	nangoURL := e.nango.Start()
	t.Cleanup(e.nango.Close)
	if o.nangoHost != "" {
		nangoURL = o.nangoHost
	}
	e.google = oauthtest.New(t, oauthtest.Options{ClientID: "google-client-id", ClientSecret: googleSecret, Marker: googleMarker, Rotate: true})

	e.vars = map[string]string{
		"NANGO_HOST":                 nangoURL,
		"NANGO_SECRET_KEY":           nangoSecretKey,
		"NANGO_WEBHOOK_SIGNING_KEYS": webhookKey,
		"JWT_HS256_SECRET":           jwtSecret,
		"STATE_SIGNING_KEY":          stateSigningKey,
		"TOKEN_ENCRYPTION_KEYS":      "k1:" + encryptionKeyB64,
		"REDIRECT_ALLOWLIST":         allowedOrigin,
		"GOOGLE_CLIENT_ID":           "google-client-id",
		"GOOGLE_CLIENT_SECRET":       googleSecret,
		"MICROSOFT_CLIENT_ID":        "microsoft-client-id",
		"MICROSOFT_CLIENT_SECRET":    "microsoft-SECRET-MARKER",
		"PUBLIC_URL":                 "https://api.example.com",
		"LOG_LEVEL":                  "debug",
	}
	e.addSecret(jwtSecret, stateSigningKey, nangoSecretKey, webhookKey, googleSecret, encryptionKeyB64, "microsoft-SECRET-MARKER",
		"fake_access_token_", "fake_refresh_token_", googleAccessPrefix, googleRefreshPrefix)

	cursorKey := wiring.DeriveKey(stateSigningKey, "cursor")
	var inner connectors.Store
	switch kind {
	case "bolt":
		path := filepath.Join(t.TempDir(), "connectors.db")
		s, err := boltstore.Open(path, cursorKey)
		if err != nil {
			t.Fatalf("open bolt store: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		inner = s
		e.rawStore = func(t *testing.T) []byte {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read bolt file: %v", err)
			}
			return b
		}
	case "dynamodb":
		client, table := newDynamoTable(t)
		inner = dynamostore.New(client, table, cursorKey)
		e.rawStore = func(t *testing.T) []byte { return scanTable(t, client, table) }
	default:
		t.Fatalf("unknown store kind %q", kind)
	}
	e.store = &recordingStore{Store: inner}

	httpClient := o.httpClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	app, err := wiring.New(t.Context(), "test", wiring.Options{
		Getenv:     func(k string) string { return e.vars[k] },
		LogOutput:  e.logs,
		Store:      e.store,
		HTTPClient: httpClient,
	})
	if err != nil {
		t.Fatalf("wiring.New: %v", err)
	}
	e.app = app
	// The two seams the tests need, set before any request: the clock, and
	// Google's endpoints pointed at the fake token server.
	app.Connections.Now = e.clock.Now
	app.Connections.Legacy = legacyoauth.New(httpClient, map[string]*legacyoauth.Provider{
		"gmail":   e.google.GoogleProvider("https://api.example.com/api/v1/nango/oauth/gmail/callback"),
		"outlook": legacyoauth.Microsoft("microsoft-client-id", "microsoft-SECRET-MARKER", "https://api.example.com/api/v1/nango/oauth/outlook/callback"),
	})

	e.handlers = map[string]apigw.Handler{}
	for name := range routes {
		h, ok := app.API(name).Handlers()[name]
		if !ok {
			t.Fatalf("the API has no handler %s", name)
		}
		e.handlers[name] = h
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("captured logs:\n%s", e.logs.String())
		}
	})
	return e
}

// forEachStore runs fn as one subtest per store adapter.
func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { fn(t, newEnv(t, kind)) })
	}
}

// newDynamoTable creates a fresh table on the emulator and drops it after
// the test.
func newDynamoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	// No keep-alive and no SDK retry: a keep-alive connection to moto_server
	// is sometimes closed while a response is read (under -race load), and
	// the SDK's retry of a conditional put that had in fact succeeded then
	// reads as a conflict ("state already exists"). Each request on its own
	// connection, tried once, keeps the emulator out of the verdicts.
	client := awstest.DynamoDB(t, func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	return client, awstest.Table(t, client)
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
	tok, err := auth.Issue([]byte(jwtSecret), auth.DevClaims{UserID: user, OrgID: org, Roles: roles}, "")
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	e.addSecret(tok)
	return tok
}

// request is one API Gateway request to a function.
type request struct {
	fn      string
	token   string            // bearer JWT; "" sends no Authorization header
	params  map[string]string // path parameters
	query   string            // raw query string
	body    string
	base64  bool
	headers map[string]string // extra headers, lower-case names as API Gateway sends them
	ctx     context.Context   // default the test's
}

// event builds the API Gateway HTTP API (payload 2.0) event of r.
func (e *env) event(t *testing.T, r request) events.APIGatewayV2HTTPRequest {
	t.Helper()
	rt, ok := routes[r.fn]
	if !ok {
		t.Fatalf("unknown function %q", r.fn)
	}
	path := basePath + rt.path
	for k, v := range r.params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	headers := map[string]string{"user-agent": "httpapi-test", "accept": "application/json"}
	if r.body != "" {
		headers["content-type"] = "application/json"
	}
	if r.token != "" {
		headers["authorization"] = "Bearer " + r.token
	}
	for k, v := range r.headers {
		headers[strings.ToLower(k)] = v
	}
	id := fmt.Sprintf("req-%s-%d", e.kind, e.reqSeq.Add(1))
	var qsp map[string]string
	if r.query != "" {
		// API Gateway passes a query it cannot decode through raw.
		q, _ := url.ParseQuery(r.query)
		qsp = map[string]string{}
		for k, vs := range q {
			qsp[k] = strings.Join(vs, ",")
		}
	}
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.method + " " + basePath + rt.path,
		RawPath:               path,
		RawQueryString:        r.query,
		Headers:               headers,
		QueryStringParameters: qsp,
		PathParameters:        r.params,
		Body:                  r.body,
		IsBase64Encoded:       r.base64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: id,
			Stage:     "$default",
			RouteKey:  rt.method + " " + basePath + rt.path,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: rt.method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "httpapi-test",
			},
		},
	}
}

// response is a handler's answer, decoded.
type response struct {
	events.APIGatewayV2HTTPResponse
	requestID string
}

// json decodes the body into v, failing the test when it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.StatusCode, err, r.Body)
	}
}

// errorCode returns the code of an error answer, checking the request id.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var b apigw.ErrorBody
	r.json(t, &b)
	if b.Error.RequestID != r.requestID {
		t.Errorf("error requestId = %q, want %q", b.Error.RequestID, r.requestID)
	}
	if b.Error.Message == "" {
		t.Errorf("error answer has no message: %s", r.Body)
	}
	return b.Error.Code
}

// do sends r to its handler, holds the answer to the OpenAPI document and
// checks it carries no secret. It never returns a Lambda error.
func (e *env) do(t *testing.T, r request) response {
	t.Helper()
	ev := e.event(t, r)
	ctx := r.ctx
	if ctx == nil {
		// Lambda gives every invocation a deadline; so do the tests.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(t.Context(), lambdaTimeout)
		defer cancel()
	}
	resp, err := e.handlers[r.fn](ctx, ev)
	if err != nil {
		t.Fatalf("%s returned a Lambda error: %v", r.fn, err)
	}
	if resp.StatusCode == 0 {
		t.Fatalf("%s answered status 0", r.fn)
	}
	checkOpenAPI(t, r.fn, ev, resp)
	out := response{APIGatewayV2HTTPResponse: resp, requestID: ev.RequestContext.RequestID}
	if r.fn != "nango-authorize" || resp.StatusCode != http.StatusOK {
		e.assertNoSecret(t, "answer of "+r.fn, out.Body+fmt.Sprint(out.Headers))
	}
	e.assertNoSecret(t, "logs", e.logs.String())
	return out
}

// expectError sends r and checks the status and error code of the answer.
func (e *env) expectError(t *testing.T, r request, status int, code string) response {
	t.Helper()
	resp := e.do(t, r)
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", r.fn, resp.StatusCode, status, resp.Body)
	}
	if got := resp.errorCode(t); got != code {
		t.Fatalf("%s: error code %q, want %q: %s", r.fn, got, code, resp.Body)
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

// connectionJSON is the connection of an answer, decoded.
type connectionJSON struct {
	ID                string     `json:"id"`
	Connector         string     `json:"connector"`
	AuthProvider      string     `json:"authProvider"`
	ProviderConfigKey string     `json:"providerConfigKey"`
	UserID            string     `json:"userId"`
	OrganizationID    string     `json:"organizationId"`
	Status            string     `json:"status"`
	Scopes            []string   `json:"scopes"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
	LastRefreshedAt   *time.Time `json:"lastRefreshedAt"`
	ExpiresAt         *time.Time `json:"expiresAt"`
}

// authorization is the answer of authorize, decoded.
type authorization struct {
	Provider string `json:"provider"`
	Route    struct {
		Step   int    `json:"step"`
		Name   string `json:"name"`
		Target string `json:"target"`
		Trace  []struct {
			Step    int    `json:"step"`
			Matched bool   `json:"matched"`
			Target  string `json:"target"`
		} `json:"trace"`
	} `json:"route"`
	AuthorizationURL    string    `json:"authorizationUrl"`
	ConnectSessionToken string    `json:"connectSessionToken"`
	State               string    `json:"state"`
	ExpiresAt           time.Time `json:"expiresAt"`
}

// authorize starts a connection of connector for the bearer token and
// records the state and session token as secrets.
func (e *env) authorize(t *testing.T, tok, connector, query string) authorization {
	t.Helper()
	resp := e.do(t, request{fn: "nango-authorize", token: tok, params: map[string]string{"provider": connector}, query: query})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize %s: status %d: %s", connector, resp.StatusCode, resp.Body)
	}
	var a authorization
	resp.json(t, &a)
	if a.State == "" || a.AuthorizationURL == "" {
		t.Fatalf("authorize %s: no state or URL: %s", connector, resp.Body)
	}
	e.addSecret(a.State, a.ConnectSessionToken)
	return a
}

// connectAtFake completes a Nango authorization at the fake, as the
// user's browser does, and returns Nango's connection id.
func (e *env) connectAtFake(t *testing.T, a authorization) string {
	t.Helper()
	id, err := e.nango.CompleteSession(a.ConnectSessionToken)
	if err != nil {
		t.Fatalf("complete session at the fake: %v", err)
	}
	return id
}

// callback sends the Nango callback for state and connection id.
func (e *env) callback(t *testing.T, connector, state, connID string, extra ...string) response {
	t.Helper()
	q := url.Values{"state": {state}, "connection_id": {connID}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return e.do(t, request{fn: "nango-callback", params: map[string]string{"provider": connector}, query: q.Encode()})
}

// connect runs authorize -> fake connect -> callback for user and returns
// the stored connection.
func (e *env) connect(t *testing.T, user, org, connector string) connectionJSON {
	t.Helper()
	a := e.authorize(t, e.token(t, user, org), connector, "")
	id := e.connectAtFake(t, a)
	resp := e.callback(t, connector, a.State, id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: status %d: %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Connection connectionJSON `json:"connection"`
	}
	resp.json(t, &body)
	return body.Connection
}

// get fetches a connection as tok.
func (e *env) get(t *testing.T, tok, id string) response {
	t.Helper()
	return e.do(t, request{fn: "nango-get-connection", token: tok, params: map[string]string{"connectionId": id}})
}

// list lists connections as tok with query and returns the ids and cursor.
func (e *env) list(t *testing.T, tok, query string) ([]string, *string) {
	t.Helper()
	resp := e.do(t, request{fn: "nango-list-connections", token: tok, query: query})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: status %d: %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Connections []connectionJSON `json:"connections"`
		NextCursor  *string          `json:"nextCursor"`
	}
	resp.json(t, &body)
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
	return e.do(t, request{fn: "nango-webhook", body: string(body), headers: h})
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
			Version: "2.0", RouteKey: rt.method + " " + basePath + rt.path, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
			Headers: headers, Body: string(body),
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: fmt.Sprintf("http-%d", e.reqSeq.Add(1)),
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path}},
		}
		resp, err := e.handlers[fn](r.Context(), ev)
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
	return srv.URL + basePath + rt.path
}
