// Package faulttest holds integration tests of the whole service under
// faults (issue 7, item 5) and the audit of every log line it writes
// (item 6). The service is built by wiring.New, as every function builds it,
// over a real store (bbolt, or DynamoDB on moto behind a fault-injecting
// transport), the fake Nango, a fake Google (internal/oauthtest) and fake
// provider APIs.
package faulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/apigw"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/awstest"
	"github.com/automators/connectors/internal/boltstore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/dynamostore"
	"github.com/automators/connectors/internal/legacyoauth"
	"github.com/automators/connectors/internal/nangofake"
	"github.com/automators/connectors/internal/oauthtest"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/syncbuf"
	"github.com/automators/connectors/internal/wiring"
)

const (
	orgID    = "org-fault"
	userID   = "user-fault"
	basePath = "/api/v1/nango"
)

// Secrets of the test deployment, each with a marker that makes a leak
// unmistakable.
var (
	jwtSecret        = "JWTSECRET-LEAKMARK-" + strings.Repeat("j", 32)
	stateSigningKey  = "STATEKEY-LEAKMARK-" + strings.Repeat("s", 32)
	nangoSecretKey   = "NANGOSECRET-LEAKMARK-key"
	webhookKey       = "WEBHOOKKEY-LEAKMARK-key"
	googleSecret     = "GOOGLESECRET-LEAKMARK-client"
	microsoftSecret  = "MSSECRET-LEAKMARK-client"
	encryptionKey    = []byte("ENCKEY-LEAKMARK-0123456789abcdef")[:32]
	encryptionKeyB64 = base64.StdEncoding.EncodeToString(encryptionKey)
)

var routes = map[string]struct{ method, path string }{
	"nango-authorize":         {http.MethodGet, "/oauth/{provider}/authorize"},
	"nango-callback":          {http.MethodGet, "/oauth/{provider}/callback"},
	"nango-refresh":           {http.MethodPost, "/oauth/{provider}/refresh"},
	"nango-list-connections":  {http.MethodGet, "/connections"},
	"nango-get-connection":    {http.MethodGet, "/connections/{connectionId}"},
	"nango-delete-connection": {http.MethodDelete, "/connections/{connectionId}"},
	"nango-webhook":           {http.MethodPost, "/webhooks"},
}

// env is one deployment under test.
type env struct {
	kind     string
	store    connectors.Store
	dyn      *dynamoFaults // nil for bolt
	scan     func(t *testing.T) []string
	nango    *nangofake.Server
	google   *oauthtest.Server
	slack    *httptest.Server
	gmail    *httptest.Server
	app      *wiring.App
	handlers map[string]apigw.Handler
	logs     *syncbuf.Buffer
	seq      atomic.Int64
}

type envOptions struct {
	dynamoAttempts int // SDK attempts per DynamoDB call; default 1 (no retries)
}

func newEnv(t *testing.T, kind string, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.dynamoAttempts == 0 {
		o.dynamoAttempts = 1
	}
	e := &env{kind: kind, logs: &syncbuf.Buffer{}}
	var integrations []nangofake.Integration
	for _, m := range registry.Default().All() {
		if m.OAuthProvider == connectors.ProviderNango {
			integrations = append(integrations, nangofake.Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
		}
	}
	e.nango = nangofake.New(nangofake.Options{SecretKey: nangoSecretKey, WebhookSigningKey: webhookKey, Integrations: integrations})
	nangoURL := e.nango.Start()
	t.Cleanup(e.nango.Close)
	// Google: codes with PKCE, refresh with rotation (a reused refresh token
	// is refused); every code and token it issues carries the leak marker.
	e.google = oauthtest.New(t, oauthtest.Options{ClientID: "google-client-id", ClientSecret: googleSecret, Marker: "LEAKMARK-", Rotate: true})
	e.slack = canned(t, `{"ok":true,"channel":"C0123","ts":"1712345678.000100","message":{"type":"message","text":"hello"}}`)
	e.gmail = canned(t, `{"id":"18c0c2d1f0a1b2c3","threadId":"18c0c2d1f0a1b2c3","labelIds":["SENT"]}`)

	vars := map[string]string{
		"NANGO_HOST":                 nangoURL,
		"NANGO_SECRET_KEY":           nangoSecretKey,
		"NANGO_WEBHOOK_SIGNING_KEYS": webhookKey,
		"JWT_HS256_SECRET":           jwtSecret,
		"STATE_SIGNING_KEY":          stateSigningKey,
		"TOKEN_ENCRYPTION_KEYS":      "k1:" + encryptionKeyB64,
		"REDIRECT_ALLOWLIST":         "https://app.example.com",
		"GOOGLE_CLIENT_ID":           "google-client-id",
		"GOOGLE_CLIENT_SECRET":       googleSecret,
		"MICROSOFT_CLIENT_ID":        "microsoft-client-id",
		"MICROSOFT_CLIENT_SECRET":    microsoftSecret,
		"PUBLIC_URL":                 "https://api.example.com",
		"PROVIDER_BASE_URLS":         "slack=" + e.slack.URL + ",gmail=" + e.gmail.URL,
		"LOG_LEVEL":                  "debug",
	}
	cursorKey := wiring.DeriveKey(stateSigningKey, "cursor")
	switch kind {
	case "bolt":
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "connectors.db"), cursorKey)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		e.store = s
	case "dynamodb":
		e.dyn = &dynamoFaults{next: http.DefaultTransport, calls: map[string]int{}}
		client := awstest.DynamoDB(t, func(opt *dynamodb.Options) {
			opt.HTTPClient = &http.Client{Transport: e.dyn}
			opt.RetryMaxAttempts = o.dynamoAttempts
		})
		table := awstest.Table(t, client)
		e.store = dynamostore.New(client, table, cursorKey)
		e.scan = func(t *testing.T) []string { return scanTable(t, client, table) }
	default:
		t.Fatalf("unknown store kind %q", kind)
	}

	httpClient := &http.Client{Timeout: 10 * time.Second}
	app, err := wiring.New(t.Context(), "faulttest", wiring.Options{
		Getenv: func(k string) string { return vars[k] }, LogOutput: e.logs, Store: e.store, HTTPClient: httpClient,
	})
	if err != nil {
		t.Fatalf("wiring.New: %v", err)
	}
	e.app = app
	// Google's endpoints are the fake's (the one seam wiring has no option for).
	gp := e.google.GoogleProvider("https://api.example.com/api/v1/nango/oauth/gmail/callback")
	app.Connections.Legacy = legacyoauth.New(httpClient, map[string]*legacyoauth.Provider{"gmail": gp})
	e.handlers = map[string]apigw.Handler{}
	for name := range routes {
		h, ok := app.API(name).Handlers()[name]
		if !ok {
			t.Fatalf("no handler %s", name)
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

// scanTable lists every item of the table but audit events, one line each
// with its attributes sorted, for before/after comparisons.
func scanTable(t *testing.T, client *dynamodb.Client, table string) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatalf("decode item: %v", err)
			}
			line, _ := json.Marshal(m) // map keys are sorted
			if strings.HasPrefix(fmt.Sprint(m["PK"]), "AUDIT#") {
				continue
			}
			out = append(out, string(line))
		}
	}
	sort.Strings(out)
	return out
}

// canned is a provider API answering every request with body.
func canned(t *testing.T, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// dynamoFaults is an http.RoundTripper under the AWS SDK that answers
// chosen DynamoDB operations with an error instead of forwarding them.
type dynamoFaults struct {
	next  http.RoundTripper
	mu    sync.Mutex
	rules []*dynamoRule
	calls map[string]int // operation -> requests seen
}

type dynamoRule struct {
	op       string // e.g. "PutItem"
	contains string // the request body must contain it ("" matches any)
	errType  string // e.g. "ProvisionedThroughputExceededException"
	times    int    // 0: every match
	used     int
}

func (d *dynamoFaults) inject(op, contains, errType string, times int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rules = append(d.rules, &dynamoRule{op: op, contains: contains, errType: errType, times: times})
}

func (d *dynamoFaults) clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rules = nil
}

// injected returns how many requests the rules answered.
func (d *dynamoFaults) injected() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, r := range d.rules {
		n += r.used
	}
	return n
}

func (d *dynamoFaults) RoundTrip(req *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	d.mu.Lock()
	d.calls[op]++
	var hit *dynamoRule
	for _, r := range d.rules {
		if r.op == op && (r.contains == "" || bytes.Contains(body, []byte(r.contains))) && (r.times == 0 || r.used < r.times) {
			r.used++
			hit = r
			break
		}
	}
	d.mu.Unlock()
	if hit == nil {
		return d.next.RoundTrip(req)
	}
	msg := fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected by faulttest"}`, hit.errType)
	return &http.Response{
		StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":     {"application/x-amz-json-1.0"},
			"X-Amzn-Requestid": {"faulttest-" + rand.Text()},
		},
		Body: io.NopCloser(strings.NewReader(msg)), ContentLength: int64(len(msg)), Request: req,
	}, nil
}

// request is one API Gateway request.
type request struct {
	fn      string
	token   string
	params  map[string]string
	query   string
	body    string
	headers map[string]string
	ctx     context.Context
}

// response is an answer with its request id.
type response struct {
	events.APIGatewayV2HTTPResponse
	requestID string
}

func (r response) code(t *testing.T) string {
	t.Helper()
	var b apigw.ErrorBody
	if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
		t.Fatalf("error answer %d is not JSON: %s", r.StatusCode, r.Body)
	}
	if b.Error.RequestID != r.requestID || b.Error.Message == "" {
		t.Errorf("error body %s: want requestId %s and a message", r.Body, r.requestID)
	}
	return b.Error.Code
}

func (e *env) do(t *testing.T, r request) response {
	t.Helper()
	rt := routes[r.fn]
	path := basePath + rt.path
	for k, v := range r.params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	headers := map[string]string{"user-agent": "faulttest", "accept": "application/json"}
	if r.body != "" {
		headers["content-type"] = "application/json"
	}
	if r.token != "" {
		headers["authorization"] = "Bearer " + r.token
	}
	for k, v := range r.headers {
		headers[strings.ToLower(k)] = v
	}
	var qsp map[string]string
	if r.query != "" {
		q, err := url.ParseQuery(r.query)
		if err != nil {
			t.Fatal(err)
		}
		qsp = map[string]string{}
		for k, vs := range q {
			qsp[k] = strings.Join(vs, ",")
		}
	}
	id := fmt.Sprintf("req-%s-%d", e.kind, e.seq.Add(1))
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.method + " " + basePath + rt.path, RawPath: path, RawQueryString: r.query,
		Headers: headers, QueryStringParameters: qsp, PathParameters: r.params, Body: r.body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: id, Stage: "$default", RouteKey: rt.method + " " + basePath + rt.path,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: rt.method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "faulttest"},
		},
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = t.Context()
	}
	resp, err := e.handlers[r.fn](ctx, ev)
	if err != nil {
		t.Fatalf("%s returned a Lambda error: %v", r.fn, err)
	}
	return response{APIGatewayV2HTTPResponse: resp, requestID: id}
}

func (e *env) token(t *testing.T) string {
	t.Helper()
	tok, err := auth.Issue([]byte(jwtSecret), auth.DevClaims{UserID: userID, OrgID: orgID}, "")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type authorization struct {
	AuthorizationURL    string `json:"authorizationUrl"`
	ConnectSessionToken string `json:"connectSessionToken"`
	State               string `json:"state"`
}

func (e *env) authorize(t *testing.T, tok, connector string) authorization {
	t.Helper()
	resp := e.do(t, request{fn: "nango-authorize", token: tok, params: map[string]string{"provider": connector}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize %s: %d %s", connector, resp.StatusCode, resp.Body)
	}
	var a authorization
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil || a.State == "" {
		t.Fatalf("authorize answer: %v %s", err, resp.Body)
	}
	return a
}

type connectionJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func connectionOf(t *testing.T, resp response) connectionJSON {
	t.Helper()
	var b struct {
		Connection connectionJSON `json:"connection"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil || b.Connection.ID == "" {
		t.Fatalf("no connection in %d %s", resp.StatusCode, resp.Body)
	}
	return b.Connection
}

// connectNango runs authorize -> connect at the fake -> callback for slack.
func (e *env) connectNango(t *testing.T) connectionJSON {
	t.Helper()
	tok := e.token(t)
	a := e.authorize(t, tok, "slack")
	id, err := e.nango.CompleteSession(a.ConnectSessionToken)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.callbackNango(t, a.State, id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
	}
	return connectionOf(t, resp)
}

func (e *env) callbackNango(t *testing.T, state, connID string, ctx context.Context) response {
	t.Helper()
	q := url.Values{"state": {state}, "connection_id": {connID}}
	return e.do(t, request{fn: "nango-callback", params: map[string]string{"provider": "slack"}, query: q.Encode(), ctx: ctx})
}

// connectGmail runs the built-in OAuth authorize -> consent -> callback.
func (e *env) connectGmail(t *testing.T) connectionJSON {
	t.Helper()
	a := e.authorize(t, e.token(t), "gmail")
	code, state := e.google.Authorize(t, a.AuthorizationURL)
	resp := e.do(t, request{fn: "nango-callback", params: map[string]string{"provider": "gmail"}, query: url.Values{"state": {state}, "code": {code}}.Encode()})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gmail callback: %d %s", resp.StatusCode, resp.Body)
	}
	return connectionOf(t, resp)
}

// snapshot is everything the store keeps for the organization but audit
// events: each connection with every field (version and sealed token
// included) and, on DynamoDB, every raw item (states, idempotency records,
// leases).
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	page, err := e.store.ListConnections(context.Background(), connectors.ConnectionFilter{OrganizationID: orgID, Limit: 100})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	for _, c := range page.Connections {
		j, _ := json.Marshal(c)
		b.Write(j)
		b.WriteByte('\n')
	}
	if e.scan != nil {
		for _, line := range e.scan(t) {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (e *env) conn(t *testing.T, id string) *connectors.Connection {
	t.Helper()
	c, err := e.store.GetConnection(context.Background(), orgID, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}
