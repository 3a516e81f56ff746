package faulttest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/seal"
)

// outcome is what a caller got: an HTTP status and error code, or an
// executor error name (status 0).
type outcome struct {
	status     int
	code       string
	retryAfter string
}

func (o outcome) String() string {
	s := o.code
	if o.status != 0 {
		s = fmt.Sprintf("%d %s", o.status, o.code)
	}
	if o.retryAfter != "" {
		s += " Retry-After " + o.retryAfter
	}
	return s
}

// fixture is one operation ready to run, its prerequisites done.
type fixture struct {
	connID string
	state  string // callback: the state of the pending authorization
	nangoC string // callback: Nango's connection id
	idem   string // execute: the idempotency key
	run    func(t *testing.T, ctx context.Context) outcome
}

// operation prepares an operation on a fresh deployment.
type operation func(t *testing.T, e *env) *fixture

func httpOutcome(t *testing.T, r response) outcome {
	t.Helper()
	o := outcome{status: r.StatusCode, retryAfter: r.Headers["Retry-After"]}
	if r.StatusCode >= 400 {
		o.code = r.ErrorCode(t)
	}
	return o
}

var (
	opAuthorize operation = func(t *testing.T, e *env) *fixture {
		tok := e.token(t)
		return &fixture{run: func(t *testing.T, ctx context.Context) outcome {
			return httpOutcome(t, e.Do(t, request{Fn: "nango-authorize", Token: tok, Params: map[string]string{"provider": "slack"}, Ctx: ctx}))
		}}
	}
	opCallback operation = func(t *testing.T, e *env) *fixture {
		a := e.Authorize(t, e.token(t), "slack", "")
		id, err := e.Nango.CompleteSession(a.ConnectSessionToken)
		if err != nil {
			t.Fatal(err)
		}
		return &fixture{state: a.State, nangoC: id, run: func(t *testing.T, ctx context.Context) outcome {
			return httpOutcome(t, e.callbackNango(t, a.State, id, ctx))
		}}
	}
	opCallbackGmail operation = func(t *testing.T, e *env) *fixture {
		a := e.Authorize(t, e.token(t), "gmail", "")
		code, state := e.Google.Authorize(t, a.AuthorizationURL)
		q := "state=" + urlq(state) + "&code=" + urlq(code)
		return &fixture{state: state, run: func(t *testing.T, ctx context.Context) outcome {
			return httpOutcome(t, e.Do(t, request{Fn: "nango-callback", Params: map[string]string{"provider": "gmail"}, Query: q, Ctx: ctx}))
		}}
	}
	opRefresh                = refreshOp("slack", (*env).connectNango)
	opRefreshGmail           = refreshOp("gmail", (*env).connectGmail)
	opDelete                 = deleteOp((*env).connectNango)
	opDeleteGmail            = deleteOp((*env).connectGmail)
	opExecute      operation = func(t *testing.T, e *env) *fixture {
		c := e.connectNango(t)
		return executeOp(e, c.ID, "integration.slack.send_message", map[string]any{"channel": "C0123", "text": "hello"})
	}
	opExecuteGmail operation = func(t *testing.T, e *env) *fixture {
		c := e.connectGmail(t)
		e.expireGmailToken(t, c.ID)
		return executeOp(e, c.ID, "integration.gmail.send_email", map[string]any{"to": "ada@example.com", "subject": "s", "body": "b"})
	}
)

func urlq(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "=", "%3D", "/", "%2F", "#", "%23", " ", "%20").Replace(s)
}

func refreshOp(connector string, connect func(*env, *testing.T) connectionJSON) operation {
	return func(t *testing.T, e *env) *fixture {
		c := connect(e, t)
		tok := e.token(t)
		return &fixture{connID: c.ID, run: func(t *testing.T, ctx context.Context) outcome {
			return httpOutcome(t, e.Do(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": connector},
				Body: fmt.Sprintf(`{"connectionId":%q}`, c.ID), Ctx: ctx}))
		}}
	}
}

func deleteOp(connect func(*env, *testing.T) connectionJSON) operation {
	return func(t *testing.T, e *env) *fixture {
		c := connect(e, t)
		tok := e.token(t)
		return &fixture{connID: c.ID, run: func(t *testing.T, ctx context.Context) outcome {
			return httpOutcome(t, e.Do(t, request{Fn: "nango-delete-connection", Token: tok, Params: map[string]string{"connectionId": c.ID}, Ctx: ctx}))
		}}
	}
}

func executeOp(e *env, connID, nodeType string, params map[string]any) *fixture {
	e.App.Executor.Wait = time.Second // a held idempotency key fails fast
	f := &fixture{connID: connID, idem: "idem-" + rand.Text()}
	f.run = func(t *testing.T, ctx context.Context) outcome {
		_, err := e.App.Executor.Execute(ctx, executor.Input{
			ExecutionID: "exec-" + rand.Text(), NodeID: "node-1", NodeType: nodeType, UserID: userID, OrganizationID: orgID,
			ConnectionID: connID, Params: params, IdempotencyKey: f.idem,
		})
		if err == nil {
			return outcome{code: "succeeded"}
		}
		return outcome{code: executor.AsError(err).Name}
	}
	return f
}

// expireGmailToken makes the stored built-in OAuth token expired, so the
// next use refreshes it.
func (e *env) expireGmailToken(t *testing.T, id string) {
	t.Helper()
	s, err := seal.New(seal.Key{ID: "k1", Secret: encryptionKey})
	if err != nil {
		t.Fatal(err)
	}
	c := e.conn(t, id)
	plain, err := s.Open(c.SealedToken, seal.AAD(orgID, id))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := connectors.UnmarshalToken(plain)
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	plain, _ = tok.Marshal()
	if c.SealedToken, err = s.Seal(plain, seal.AAD(orgID, id)); err != nil {
		t.Fatal(err)
	}
	c.ExpiresAt = tok.Expiry
	if err := e.Store.UpdateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// after checks the store after the fault; before is the snapshot taken just
// before the operation.
type afterCheck func(t *testing.T, e *env, f *fixture, before string)

// unchanged: nothing written (audit events aside), no state consumed, no
// version bumped, no idempotency record or lease left behind.
func unchanged(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	if after := e.snapshot(t); after != before {
		t.Errorf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if f.idem != "" {
		if _, err := e.Store.GetIdempotent(context.Background(), f.idem); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("idempotency key left behind after a failure: %v", err)
		}
	}
}

// stateReusable: the state survived the fault: the callback succeeds once
// the fault is gone, exactly once.
func stateReusable(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	unchanged(t, e, f, before)
	e.Nango.ClearFaults()
	if e.dyn != nil {
		e.dyn.clear()
	}
	if got := f.run(t, t.Context()); got.status != http.StatusOK {
		t.Errorf("callback after the fault passed: %v, want 200", got)
	}
	if got := f.run(t, t.Context()); got.status != http.StatusBadRequest || got.code != connectors.EInvalidState {
		t.Errorf("second callback: %v, want 400 invalid_state", got)
	}
}

// stateConsumed: the state was used up before the write that failed (by
// design: a replay never writes twice); no connection record exists and a
// replay is refused.
func stateConsumed(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	page, err := e.Store.ListConnections(context.Background(), connectors.ConnectionFilter{OrganizationID: orgID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(before, `"ID"`) != len(page.Connections) {
		t.Errorf("connections %d -> %d: half-written callback", strings.Count(before, `"ID"`), len(page.Connections))
	}
	if f.nangoC != "" {
		if _, err := e.Store.GetConnection(context.Background(), orgID, f.nangoC); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("record of the failed callback exists: %v", err)
		}
	}
	if e.scan != nil {
		if after := e.snapshot(t); strings.Contains(after, "STATE#") {
			t.Errorf("a state item is left:\n%s", after)
		}
	}
	e.Nango.ClearFaults()
	e.Google.FailTokenRequests(0, 0)
	if e.dyn != nil {
		e.dyn.clear()
	}
	if got := f.run(t, t.Context()); got.status != http.StatusBadRequest || got.code != connectors.EInvalidState {
		t.Errorf("replay: %v, want 400 invalid_state", got)
	}
}

// versionBumpedOnce: a lost optimistic-locking race was retried: one
// update, status active.
func versionBumpedOnce(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	_ = before
	if c := e.conn(t, f.connID); c.Version != 2 || c.Status != connectors.StatusActive {
		t.Errorf("version %d status %s, want 2 active (one update after the callback's create)", c.Version, c.Status)
	}
}

// rotatedSaved: the refreshed token was saved despite the store's hiccup:
// one update, and the saved refresh token is the provider's current one.
func rotatedSaved(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	versionBumpedOnce(t, e, f, before)
	e.dyn.clear()
	calls := e.Google.Stats().TokenRequests
	if got := f.run(t, t.Context()); got.status != http.StatusOK {
		t.Errorf("next refresh: %v, want 200 (the saved refresh token is the rotated one)", got)
	}
	if n := e.Google.Stats().TokenRequests - calls; n != 1 {
		t.Errorf("next refresh made %d token requests, want 1", n)
	}
}

// rotationLost: a store that stays down loses the rotated refresh token
// (nothing is half-written); the next refresh finds the grant refused.
func rotationLost(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	unchanged(t, e, f, before)
	e.dyn.clear()
	if got := f.run(t, t.Context()); got.status != http.StatusConflict || got.code != connectors.EReauthRequired {
		t.Errorf("next refresh: %v, want 409 reauth_required", got)
	}
	if c := e.conn(t, f.connID); c.Status != connectors.StatusReauthRequired {
		t.Errorf("status %s, want reauth_required", c.Status)
	}
}

// deleteConverges: the record is kept (Nango's connection is already gone);
// a retry deletes it.
func deleteConverges(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	if _, err := e.Store.GetConnection(context.Background(), orgID, f.connID); err != nil {
		t.Errorf("record lost on a failed delete: %v", err)
	}
	e.dyn.clear()
	if got := f.run(t, t.Context()); got.status != http.StatusNoContent {
		t.Errorf("retried delete: %v, want 204", got)
	}
	if _, err := e.Store.GetConnection(context.Background(), orgID, f.connID); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("record after the retried delete: %v", err)
	}
}

// deleted: the connection record is gone.
func deleted(t *testing.T, e *env, f *fixture, before string) {
	t.Helper()
	if _, err := e.Store.GetConnection(context.Background(), orgID, f.connID); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("record after delete: %v", err)
	}
}

type faultCase struct {
	fault   string
	op      string
	prepare operation
	stores  []string // default both
	// inject sets the fault up after prepare.
	inject  func(e *env)
	timeout time.Duration // deadline of the call's context
	want    outcome
	data    string // what the check verifies, for the matrix
	check   afterCheck
}

var both = []string{"bolt", "dynamodb"}
var dynamoOnly = []string{"dynamodb"}

func nangoFault(f nangofake.Fault) func(e *env) { return func(e *env) { e.Nango.Inject(f) } }

func dynFault(op, contains, errType string, times int) func(e *env) {
	return func(e *env) { e.dyn.inject(op, contains, errType, times) }
}

const (
	throughput  = "ProvisionedThroughputExceededException"
	throttling  = "ThrottlingException"
	conditional = "ConditionalCheckFailedException"
	// txConditional is a transaction whose first item (the connection)
	// failed its condition: connection writes go with their owner item.
	txConditional = "TransactionCanceledException"
)

var (
	nango5xx = func(method, path string) func(*env) {
		return nangoFault(nangofake.Fault{Method: method, Path: path, Status: 503})
	}
	nangoSlow = func(method, path string) func(*env) {
		return nangoFault(nangofake.Fault{Method: method, Path: path, Latency: 5 * time.Second})
	}
	nango429 = func(method, path string) func(*env) {
		return nangoFault(nangofake.Fault{Method: method, Path: path, Status: 429, RetryAfter: "30"})
	}
	providerDown = func(e *env) { e.Google.FailTokenRequests(-1, http.StatusServiceUnavailable) }
	revokeDown   = func(e *env) { e.Google.FailRevocations(http.StatusServiceUnavailable) }
	nangoTimeout = 700 * time.Millisecond
	// The executor keeps 2 s of its deadline for recording the result: its
	// Nango call gets the deadline minus that.
	execTimeout   = 3 * time.Second
	lambdaTimeout = 5 * time.Second
)

var faultCases = []faultCase{
	// Nango 5xx.
	{fault: "Nango 503", op: "authorize", prepare: opAuthorize, inject: nango5xx("POST", "/connect/sessions"), want: outcome{status: 502, code: "upstream_error"}, data: "store unchanged: no state", check: unchanged},
	{fault: "Nango 503", op: "callback", prepare: opCallback, inject: nango5xx("GET", "/connections/"), want: outcome{status: 502, code: "upstream_error"}, data: "no record; state not consumed: the retry succeeds once", check: stateReusable},
	{fault: "Nango 503", op: "refresh", prepare: opRefresh, inject: nango5xx("GET", "/connections/"), want: outcome{status: 502, code: "upstream_error"}, data: "record unchanged (version, status, expiry)", check: unchanged},
	{fault: "Nango 503", op: "delete", prepare: opDelete, inject: nango5xx("DELETE", "/connections/"), want: outcome{status: 502, code: "upstream_error"}, data: "record kept unchanged", check: unchanged},
	{fault: "Nango 503", op: "execute", prepare: opExecute, inject: nango5xx("GET", "/connections/"), want: outcome{code: executor.NameProviderUnavailable}, data: "store unchanged; idempotency key released", check: unchanged},
	// Nango timeouts: Nango answers after the caller's deadline.
	{fault: "Nango timeout", op: "authorize", prepare: opAuthorize, inject: nangoSlow("POST", "/connect/sessions"), timeout: nangoTimeout, want: outcome{status: 503, code: "upstream_unavailable"}, data: "store unchanged: no state", check: unchanged},
	{fault: "Nango timeout", op: "callback", prepare: opCallback, inject: nangoSlow("GET", "/connections/"), timeout: nangoTimeout, want: outcome{status: 503, code: "upstream_unavailable"}, data: "no record; state not consumed: the retry succeeds once", check: stateReusable},
	{fault: "Nango timeout", op: "refresh", prepare: opRefresh, inject: nangoSlow("GET", "/connections/"), timeout: nangoTimeout, want: outcome{status: 503, code: "upstream_unavailable"}, data: "record unchanged", check: unchanged},
	{fault: "Nango timeout", op: "delete", prepare: opDelete, inject: nangoSlow("DELETE", "/connections/"), timeout: nangoTimeout, want: outcome{status: 503, code: "upstream_unavailable"}, data: "record kept unchanged", check: unchanged},
	{fault: "Nango timeout", op: "execute", prepare: opExecute, inject: nangoSlow("GET", "/connections/"), timeout: execTimeout, want: outcome{code: executor.NameProviderUnavailable}, data: "store unchanged; idempotency key released", check: unchanged},
	// Nango 429 with Retry-After, inside a Lambda deadline shorter than the wait.
	{fault: "Nango 429 Retry-After 30", op: "authorize", prepare: opAuthorize, inject: nango429("POST", "/connect/sessions"), timeout: lambdaTimeout, want: outcome{status: 429, code: "rate_limited", retryAfter: "30"}, data: "store unchanged: no state", check: unchanged},
	{fault: "Nango 429 Retry-After 30", op: "callback", prepare: opCallback, inject: nango429("GET", "/connections/"), timeout: lambdaTimeout, want: outcome{status: 429, code: "rate_limited", retryAfter: "30"}, data: "no record; state not consumed: the retry succeeds once", check: stateReusable},
	{fault: "Nango 429 Retry-After 30", op: "refresh", prepare: opRefresh, inject: nango429("GET", "/connections/"), timeout: lambdaTimeout, want: outcome{status: 429, code: "rate_limited", retryAfter: "30"}, data: "record unchanged", check: unchanged},
	{fault: "Nango 429 Retry-After 30", op: "delete", prepare: opDelete, inject: nango429("DELETE", "/connections/"), timeout: lambdaTimeout, want: outcome{status: 429, code: "rate_limited", retryAfter: "30"}, data: "record kept unchanged", check: unchanged},
	{fault: "Nango 429 Retry-After 30", op: "execute", prepare: opExecute, inject: nango429("GET", "/connections/"), timeout: lambdaTimeout, want: outcome{code: executor.NameRateLimited}, data: "store unchanged; idempotency key released", check: unchanged},
	// DynamoDB throttling (no SDK retries left).
	{fault: "DynamoDB throughput exceeded (PutItem state)", op: "authorize", prepare: opAuthorize, stores: dynamoOnly, inject: dynFault("PutItem", "STATE#", throughput, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "table unchanged: no state item", check: unchanged},
	{fault: "DynamoDB throttling (UpdateItem state)", op: "callback", prepare: opCallback, stores: dynamoOnly, inject: dynFault("UpdateItem", "STATE#", throttling, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "table unchanged; state not consumed: the retry succeeds once", check: stateReusable},
	{fault: "DynamoDB throughput exceeded (connection write)", op: "callback", prepare: opCallback, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", throughput, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "no record; state consumed (before any write, by design): a replay is 400 invalid_state", check: stateConsumed},
	{fault: "DynamoDB throttling (GetItem connection)", op: "refresh", prepare: opRefresh, stores: dynamoOnly, inject: dynFault("GetItem", "CONN#", throttling, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "table unchanged", check: unchanged},
	{fault: "DynamoDB throughput exceeded (connection write)", op: "refresh", prepare: opRefresh, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", throughput, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "table unchanged: version not bumped", check: unchanged},
	{fault: "DynamoDB throughput exceeded x2 (connection write)", op: "refresh (gmail)", prepare: opRefreshGmail, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", throughput, 2), want: outcome{status: 200}, data: "the rotated refresh token is saved (version +1) and works for the next refresh", check: rotatedSaved},
	{fault: "DynamoDB throughput exceeded always (connection write)", op: "refresh (gmail)", prepare: opRefreshGmail, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", throughput, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "table unchanged (old sealed token, version; no lease left); the provider rotated the token meanwhile, so the next refresh is 409 reauth_required", check: rotationLost},
	{fault: "DynamoDB throughput exceeded (connection delete)", op: "delete", prepare: opDelete, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", throughput, 0), want: outcome{status: 503, code: "upstream_unavailable"}, data: "record kept (Nango's already deleted); the retry deletes it: 204", check: deleteConverges},
	{fault: "DynamoDB throughput exceeded (PutItem idempotency)", op: "execute", prepare: opExecute, stores: dynamoOnly, inject: dynFault("PutItem", "IDEMP#", throughput, 0), want: outcome{code: executor.NameProviderUnavailable}, data: "table unchanged; no provider call", check: unchanged},
	// DynamoDB conditional-check failures.
	{fault: "DynamoDB ConditionalCheckFailed x1 (connection write)", op: "refresh", prepare: opRefresh, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", txConditional, 1), want: outcome{status: 200}, data: "lost race re-read and retried: version +1 exactly", check: versionBumpedOnce},
	{fault: "DynamoDB ConditionalCheckFailed always (connection write)", op: "refresh", prepare: opRefresh, stores: dynamoOnly, inject: dynFault("TransactWriteItems", "CONN#", txConditional, 0), want: outcome{status: 409, code: "conflict"}, data: "table unchanged: version not bumped", check: unchanged},
	{fault: "DynamoDB ConditionalCheckFailed (PutItem state)", op: "authorize", prepare: opAuthorize, stores: dynamoOnly, inject: dynFault("PutItem", "STATE#", conditional, 0), want: outcome{status: 409, code: "conflict"}, data: "table unchanged: no state item", check: unchanged},
	{fault: "DynamoDB ConditionalCheckFailed (UpdateItem state)", op: "callback", prepare: opCallback, stores: dynamoOnly, inject: dynFault("UpdateItem", "STATE#", conditional, 0), want: outcome{status: 400, code: "invalid_state"}, data: "table unchanged; no record", check: unchanged},
	{fault: "DynamoDB ConditionalCheckFailed (PutItem idempotency)", op: "execute", prepare: opExecute, stores: dynamoOnly, inject: dynFault("PutItem", "IDEMP#", conditional, 0), want: outcome{code: executor.NameProviderUnavailable}, data: "table unchanged; no provider call", check: unchanged},
	// Provider (Google token endpoint) 5xx.
	{fault: "provider token endpoint 503", op: "callback (gmail)", prepare: opCallbackGmail, inject: providerDown, want: outcome{status: 503, code: "upstream_unavailable"}, data: "no record; state consumed (PKCE verifier is in it): a replay is 400 invalid_state", check: stateConsumed},
	{fault: "provider token endpoint 503", op: "refresh (gmail)", prepare: opRefreshGmail, inject: providerDown, want: outcome{status: 503, code: "upstream_unavailable"}, data: "record unchanged: sealed token, version, status", check: unchanged},
	{fault: "provider token endpoint 503", op: "execute (gmail)", prepare: opExecuteGmail, inject: providerDown, want: outcome{code: executor.NameProviderUnavailable}, data: "record unchanged; idempotency key released; no Gmail call", check: unchanged},
	{fault: "provider revocation endpoint 503", op: "delete (gmail)", prepare: opDeleteGmail, inject: revokeDown, want: outcome{status: 204}, data: "record deleted (revocation is best effort)", check: deleted},
}

// matrixRow is one line of the fault matrix the test prints.
type matrixRow struct{ fault, op, store, got, data string }

var (
	matrixMu sync.Mutex
	matrix   []matrixRow
)

func TestFaultMatrix(t *testing.T) {
	for _, fc := range faultCases {
		stores := fc.stores
		if stores == nil {
			stores = both
		}
		for _, kind := range stores {
			t.Run(fc.fault+"/"+fc.op+"/"+kind, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, kind)
				f := fc.prepare(t, e)
				before := e.snapshot(t)
				fc.inject(e)
				ctx := t.Context()
				if fc.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, fc.timeout)
					defer cancel()
				}
				got := f.run(t, ctx)
				if got != fc.want {
					t.Errorf("%s under %s: got %v, want %v", fc.op, fc.fault, got, fc.want)
				}
				if e.dyn != nil && strings.HasPrefix(fc.fault, "DynamoDB") && e.dyn.injected() == 0 {
					t.Errorf("the DynamoDB fault was never hit")
				}
				fc.check(t, e, f, before)
				matrixMu.Lock()
				matrix = append(matrix, matrixRow{fc.fault, fc.op, kind, got.String(), fc.data})
				matrixMu.Unlock()
			})
		}
	}
	t.Cleanup(func() {
		if out := os.Getenv("FAULT_MATRIX_OUT"); out != "" {
			var b strings.Builder
			b.WriteString("| fault | operation | store | outcome | data checked |\n| --- | --- | --- | --- | --- |\n")
			for _, r := range matrix {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.fault, r.op, r.store, r.got, r.data)
			}
			os.WriteFile(out, []byte(b.String()), 0o644)
		}
	})
}

// TestDynamoThrottleRetried: one throttled write under the SDK's standard
// retries (3 attempts) is invisible to the caller, and written once.
func TestDynamoThrottleRetried(t *testing.T) {
	e := newEnv(t, "dynamodb", envOptions{dynamoAttempts: 3})
	f := opRefresh(t, e)
	e.dyn.inject("TransactWriteItems", "CONN#", throughput, 1)
	if got := f.run(t, t.Context()); got.status != http.StatusOK {
		t.Fatalf("refresh with one throttled write: %v, want 200", got)
	}
	if e.dyn.injected() != 1 {
		t.Errorf("fault hit %d times, want 1", e.dyn.injected())
	}
	versionBumpedOnce(t, e, f, "")
}
