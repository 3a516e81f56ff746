// Package faulttest holds integration tests of the whole service under
// faults (issue 7, item 5) and the audit of every log line it writes
// (item 6). The service is built by wiring.New, as every function builds it,
// over a real store (bbolt, or DynamoDB on moto behind a fault-injecting
// transport), the fake Nango, a fake Google (internal/tstest/oauthtest) and fake
// provider APIs.
package faulttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/tstest/apitest"
)

const (
	orgID  = "org-fault"
	userID = "user-fault"
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

// env is one deployment under test (internal/tstest/apitest), with the fault
// transport of its DynamoDB client and fake provider APIs.
type env struct {
	*apitest.Env
	dyn   *dynamoFaults // nil for bolt
	scan  func(t *testing.T) []string
	slack *httptest.Server
	gmail *httptest.Server
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
	e := &env{}
	e.slack = canned(t, `{"ok":true,"channel":"C0123","ts":"1712345678.000100","message":{"type":"message","text":"hello"}}`)
	e.gmail = canned(t, `{"id":"18c0c2d1f0a1b2c3","threadId":"18c0c2d1f0a1b2c3","labelIds":["SENT"]}`)
	var dynamoOpts []func(*dynamodb.Options)
	if kind == "dynamodb" {
		e.dyn = &dynamoFaults{next: http.DefaultTransport, calls: map[string]int{}}
		dynamoOpts = append(dynamoOpts, func(opt *dynamodb.Options) {
			opt.HTTPClient = &http.Client{Transport: e.dyn}
			opt.RetryMaxAttempts = o.dynamoAttempts
		})
	}
	e.Env = apitest.New(t, kind, apitest.Options{
		Name:      "faulttest",
		UserAgent: "faulttest",
		Secrets: apitest.Secrets{
			JWT:                   jwtSecret,
			StateSigningKey:       stateSigningKey,
			NangoSecretKey:        nangoSecretKey,
			WebhookKey:            webhookKey,
			GoogleClientSecret:    googleSecret,
			MicrosoftClientSecret: microsoftSecret,
			EncryptionKeyB64:      encryptionKeyB64,
		},
		// Every code and token the fake Google issues carries the leak marker.
		GoogleMarker: "LEAKMARK-",
		Vars:         map[string]string{"PROVIDER_BASE_URLS": "slack=" + e.slack.URL + ",gmail=" + e.gmail.URL},
		DynamoDB:     dynamoOpts,
		// API keys (step 2) are tested by a fake provider that refuses a
		// key holding REFUSED with a reason quoting the key whole.
		APIKeyVerifier: func(_ context.Context, m registry.Manifest, c connectors.Credentials) error {
			if key := c.APIKey + c.AccessToken; strings.Contains(key, "REFUSED") {
				return connectors.Errorf(connectors.EInvalidCredentials, "%s: Invalid API Key provided: %s", m.DisplayName, key)
			}
			return nil
		},
	})
	if e.Dynamo != nil {
		e.scan = func(t *testing.T) []string { return scanTable(t, e.Dynamo, e.Table) }
	}
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
			// Audit events and execution history are logs: a failure
			// adds to them by design.
			if pk := fmt.Sprint(m["PK"]); strings.HasPrefix(pk, "AUDIT#") || strings.HasPrefix(pk, "EXEC#") {
				continue
			}
			// A spent state is gone for every read; its item waits for TTL.
			if _, spent := m["consumedBy"]; spent {
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

// forward sends a request that no rule answers to moto, reading the whole
// answer: moto_server sometimes drops an answer under load, and with the
// SDK's own retries off (so that injected faults show) that hiccup would
// read as a fault of the code under test. A dropped answer is asked again;
// the store recognises a retried write that had landed as its own.
func (d *dynamoFaults) forward(req *http.Request, body []byte) (*http.Response, error) {
	var lastErr error
	for range 3 {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := d.next.RoundTrip(r)
		if err != nil {
			lastErr = err
			continue
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && !crcMatches(resp.Header.Get("X-Amz-Crc32"), answer) {
			err = fmt.Errorf("moto answer does not match its X-Amz-Crc32")
		}
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body = io.NopCloser(bytes.NewReader(answer))
		return resp, nil
	}
	return nil, lastErr
}

// crcMatches checks an answer against DynamoDB's CRC32 header, when sent.
func crcMatches(header string, body []byte) bool {
	if header == "" {
		return true
	}
	want, err := strconv.ParseUint(header, 10, 32)
	return err == nil && crc32.ChecksumIEEE(body) == uint32(want)
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
		return d.forward(req, body)
	}
	msg := fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected by faulttest"}`, hit.errType)
	if hit.errType == "TransactionCanceledException" {
		msg = `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"injected by faulttest",` +
			`"CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"}]}`
	}
	return &http.Response{
		StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":     {"application/x-amz-json-1.0"},
			"X-Amzn-Requestid": {"faulttest-" + rand.Text()},
		},
		Body: io.NopCloser(strings.NewReader(msg)), ContentLength: int64(len(msg)), Request: req,
	}, nil
}

type (
	request        = apitest.Request
	response       = apitest.Response
	connectionJSON = apitest.ConnectionJSON
)

func (e *env) token(t *testing.T) string {
	t.Helper()
	return e.Token(t, userID, orgID)
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
	a := e.Authorize(t, e.token(t), "slack", "")
	id := e.ConnectAtFake(t, a)
	resp := e.callbackNango(t, a.State, id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d %s", resp.StatusCode, resp.Body)
	}
	return connectionOf(t, resp)
}

func (e *env) callbackNango(t *testing.T, state, connID string, ctx context.Context) response {
	t.Helper()
	q := url.Values{"state": {state}, "connection_id": {connID}}
	return e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "slack"}, Query: q.Encode(), Ctx: ctx})
}

// connectGmail runs the built-in OAuth authorize -> consent -> callback.
func (e *env) connectGmail(t *testing.T) connectionJSON {
	t.Helper()
	a := e.Authorize(t, e.token(t), "gmail", "")
	code, state := e.Google.Authorize(t, a.AuthorizationURL)
	resp := e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"}, Query: url.Values{"state": {state}, "code": {code}}.Encode()})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gmail callback: %d %s", resp.StatusCode, resp.Body)
	}
	return connectionOf(t, resp)
}

// snapshot is everything the store keeps for the organization but audit
// events and execution history: each connection with every field (version and sealed token
// included) and, on DynamoDB, every raw item (states, idempotency records,
// leases).
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	page, err := e.Store.ListConnections(context.Background(), connectors.ConnectionFilter{OrganizationID: orgID, Limit: 100})
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
	c, err := e.Store.GetConnection(context.Background(), orgID, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}
