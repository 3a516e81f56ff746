// Package executor runs one workflow integration node for Step Functions:
// it routes the connector, finds the caller's connection, fetches its
// credentials (Nango, the built-in OAuth, an API key), performs the action
// against the provider's API, and records the result under an idempotency
// key so that a retried task never repeats a write.
package executor

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/google/uuid"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// Input is the task input Step Functions sends.
type Input struct {
	ExecutionID    string         `json:"executionId"`
	NodeID         string         `json:"nodeId"`
	NodeType       string         `json:"nodeType"` // integration.<connector>.<action>
	UserID         string         `json:"userId"`
	OrganizationID string         `json:"organizationId"`
	ConnectionID   string         `json:"connectionId,omitempty"`
	Params         map[string]any `json:"params"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
}

// Route is the routing decision in the output, without its trace.
type Route struct {
	Step   int                     `json:"step"`
	Name   string                  `json:"name"`
	Target connectors.AuthProvider `json:"target"`
}

// Output is the task output.
type Output struct {
	Status       string         `json:"status"` // "succeeded"
	Output       map[string]any `json:"output"`
	Route        Route          `json:"route"`
	ConnectionID string         `json:"connectionId"`
	Attempts     int            `json:"attempts"`
	DurationMs   int64          `json:"durationMs"`
}

// Deps are the executor's dependencies.
type Deps struct {
	Store    connectors.Store
	Registry *registry.Registry
	Router   *router.Router
	// Providers serve the routing decisions; Tokens hands out their
	// credentials.
	Providers connectors.Providers
	Tokens    *credentials.Lifecycle
	HTTP      actions.Doer
	Actions   *actions.Catalogue // built over Registry, which lists its actions
	Now       func() time.Time
	// Lease bounds how long one invocation holds an idempotency key; it
	// outlives the function's timeout so that a live holder is never
	// overtaken.
	Lease time.Duration
	// Wait is how long a duplicate invocation waits for the holder's result
	// before failing with a retryable error.
	Wait time.Duration
	// BaseURLs replace a connector's API origin (connector id -> URL), for
	// sandboxes and tests; empty in production.
	BaseURLs map[string]string
	// AppCredentials are the deployment's app credentials by their key in
	// the secret ("discord_bot_token"), for the actions that send one.
	AppCredentials map[string]string
	// Executions keeps each invocation's outcome in its connection's
	// history (Store when nil), for Retention
	// (connectors.DefaultExecutionRetention when zero).
	Executions connectors.ExecutionLog
	Retention  time.Duration
}

// recordMargin is the time kept after the provider call for recording its
// result.
const recordMargin = 2 * time.Second

// Executor runs integration nodes. Build it once per cold start; it keeps
// credentials cached in the container.
type Executor struct {
	Deps
	historyFailures atomic.Int64
}

// New returns an executor.
func New(d Deps) *Executor {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Lease == 0 {
		d.Lease = 150 * time.Second // the function times out at 120 s (template.yaml)
	}
	if d.Wait == 0 {
		d.Wait = 10 * time.Second
	}
	if d.Executions == nil {
		d.Executions = d.Store
	}
	if d.Retention <= 0 {
		d.Retention = connectors.DefaultExecutionRetention
	}
	return &Executor{Deps: d}
}

// Execute runs one node exactly once per idempotency key. Failures are
// *Error values carrying their Step Functions name.
func (e *Executor) Execute(ctx context.Context, in Input) (_ Output, err error) {
	start := e.Now()
	var obs observation // what this execution's metrics say
	defer func() { obs.record(ctx, err) }()
	connector, action, err := in.validate()
	if err != nil {
		return Output{}, named(err)
	}
	m, ok := e.Registry.Lookup(connector)
	if !ok {
		return Output{}, &Error{Name: NameUnknownConnector, Message: fmt.Sprintf("unknown connector %q", connector)}
	}
	if !m.HasAction(action) {
		return Output{}, &Error{Name: NameInvalidInput, Message: fmt.Sprintf("connector %s has no action %q", connector, action)}
	}
	act, ok := e.Actions.Lookup(connector, action)
	if !ok {
		return Output{}, &Error{Name: NameInvalidInput, Message: fmt.Sprintf("connector %s has no action %q", connector, action)}
	}
	if err := act.Validate(in.Params); err != nil {
		return Output{}, named(err)
	}
	obs.connector, obs.action = connector, action // known to the registry: bounded

	key := in.Key()
	// Look before claiming: a node with nothing to run with costs reads
	// only (the lookup, and a look for a recorded result), not a claim of
	// its idempotency key and its release.
	own, shared, err := e.connection(ctx, in, connector)
	if err != nil {
		if rec, gerr := e.Store.GetIdempotent(ctx, key); gerr == nil && rec.Status == connectors.IdempotencyCompleted {
			return obs.replay(replay(rec)) // the node ran before its connection went away
		}
		e.record(ctx, uuid.NewString(), in, cmp.Or(own, shared), Output{}, err, start) // set when it needs reauth
		return Output{}, named(err)
	}
	// Scope drift: an action added since the connection was made may need
	// a scope it was not granted. Refuse before claiming: reconnecting is
	// the fix, and no retry can succeed until then.
	if missing := actions.MissingScopes(act.Scopes(), cmp.Or(own, shared).Scopes); len(missing) > 0 {
		return Output{}, named(connectors.Errorf(connectors.EReauthRequired,
			"integration.%s.%s needs scope %s, which connection %s was not granted; reconnect %s to grant it",
			connector, action, strings.Join(missing, ", "), cmp.Or(own, shared).ID, m.DisplayName))
	}
	obs.target = cmp.Or(own, shared).AuthProvider // an existing connection is routed to its own provider
	owner := uuid.NewString()
	rec, err := e.begin(ctx, key, owner)
	if err != nil {
		return Output{}, named(err)
	}
	if rec.Status == connectors.IdempotencyCompleted {
		return obs.replay(replay(rec))
	}

	// Leave time to record the result before the function's deadline: a
	// write that succeeds but is not recorded would run again on retry.
	runCtx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(ctx, d.Add(-recordMargin))
		defer cancel()
	}
	out, err := e.run(runCtx, in, m, action, key, own, shared)
	defer func() { e.record(ctx, owner, in, cmp.Or(own, shared), out, err, start) }()
	if err != nil {
		// Give the key back so that a retry can run; a failure Step
		// Functions will not retry leaves nothing behind either.
		if rerr := e.Store.ReleaseIdempotent(ctx, key, owner); rerr != nil {
			logging.FromContext(ctx).Warn("release idempotency key", "err", rerr)
		}
		return Output{}, named(err)
	}
	out.DurationMs = e.Now().Sub(start).Milliseconds()
	result, err := json.Marshal(out)
	if err != nil {
		err = fmt.Errorf("encode result: %w", err)
		return Output{}, named(err)
	}
	if err := e.Store.CompleteIdempotent(ctx, key, owner, result); err != nil {
		// The write happened; failing now would make Step Functions retry
		// it. Answer the result and let the lease expire.
		logging.FromContext(ctx).Error("record idempotent result", "err", err)
	}
	return out, nil
}

// replay answers the result recorded for a node that already ran.
func replay(rec *connectors.IdempotencyRecord) (Output, error) {
	// Numbers stay json.Number, as in the first answer: a float64 would
	// round 64-bit ids and the replay would differ from it.
	var out Output
	dec := json.NewDecoder(bytes.NewReader(rec.Result))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return Output{}, named(fmt.Errorf("decode recorded result of %s: %w", rec.Key, err))
	}
	return out, nil
}

// begin claims key, or waits for another invocation holding it to finish.
// The wait is measured on the real clock, as backoff's sleeps are: an
// injected Deps.Now that stands still must not make it endless.
func (e *Executor) begin(ctx context.Context, key, owner string) (*connectors.IdempotencyRecord, error) {
	var held bool // the last try found the key held by another invocation
	rec, err := backoff.Retry(ctx, func() (*connectors.IdempotencyRecord, error) {
		rec, err := e.Store.BeginIdempotent(ctx, key, owner, e.Lease)
		held = errors.Is(err, connectors.ErrConflict)
		if err != nil && !held {
			return rec, backoff.Permanent(err)
		}
		return rec, err
	},
		backoff.WithBackOff(&pollUntil{every: 200 * time.Millisecond, deadline: time.Now().Add(e.Wait)}),
		backoff.WithMaxElapsedTime(0), // pollUntil ends the wait
	)
	switch {
	case !held:
		return rec, err
	case errors.Is(err, connectors.ErrConflict):
		return nil, connectors.Errorf(connectors.EUnavailable, "another invocation is running node %s; retry later", key)
	default:
		return nil, connectors.Wrap(ctx.Err(), connectors.EUnavailable, "gave up waiting for another invocation")
	}
}

// pollUntil waits every between tries and cuts the last wait short so that
// the last try falls on deadline: a Wait shorter than every still gets a
// second look at the key instead of none.
type pollUntil struct {
	every    time.Duration
	deadline time.Time
}

func (p *pollUntil) Reset() {}

func (p *pollUntil) NextBackOff() time.Duration {
	left := time.Until(p.deadline)
	if left <= 0 {
		return backoff.Stop
	}
	return min(left, p.every)
}

// run performs the action once, or twice when the provider answered 401
// and a forced refresh gave a new token.
func (e *Executor) run(ctx context.Context, in Input, m registry.Manifest, action, key string, own, shared *connectors.Connection) (Output, error) {
	decision, err := e.Router.Route(router.Input{Manifest: m, OrganizationID: in.OrganizationID, Existing: own, Shared: shared})
	if err != nil {
		return Output{}, err
	}
	// The node runs with the user's own connection or, on step 3, the
	// shared one; either is served by the provider that holds it (an
	// existing connection is routed to its own provider).
	conn := cmp.Or(own, shared)
	out := Output{
		Status:       "succeeded",
		Route:        Route{Step: decision.Step, Name: decision.Name, Target: decision.Target},
		ConnectionID: conn.ID,
	}
	// From here a failure answers the output so far (the route, the
	// attempts) with it, for the execution history.
	prov, err := e.Tokens.Provider(conn)
	if err != nil {
		return out, err
	}
	app, err := e.appCredential(m, action)
	if err != nil {
		return out, err
	}
	defer func() {
		if out.Attempts > 0 {
			metrics.Add(ctx, metrics.Attempts, float64(out.Attempts), metrics.Connector(m.ID))
		}
	}()
	for attempt := 1; ; attempt++ {
		creds, err := e.Tokens.Credentials(ctx, prov, conn, attempt > 1)
		if attempt > 1 { // the refresh after a 401
			metrics.RecordRefresh(ctx, string(conn.AuthProvider), err, connectors.ErrorCode(err) == connectors.EReauthRequired)
		}
		if err != nil {
			return out, err
		}
		creds.AppToken = app
		out.Attempts = attempt
		called := time.Now()
		res, err := e.Actions.Run(ctx, e.HTTP, prov.Proxy(conn, creds), actions.Request{
			Connector: m.ID, Action: action, Params: in.Params, Credentials: creds,
			IdempotencyKey: providerKey(key), BaseURL: e.BaseURLs[m.ID],
		})
		metrics.Add(ctx, metrics.ProviderLatency, float64(time.Since(called).Microseconds())/1000, metrics.Connector(m.ID))
		if connectors.ErrorCode(err) == connectors.EUnauthorized && attempt == 1 {
			e.Tokens.Forget(conn)
			continue
		}
		if err != nil {
			return out, err
		}
		out.Output = res
		return out, nil
	}
}

// appCredential is the deployment's app credential the action sends, if
// it declares one ("" when it sends the connection's own).
func (e *Executor) appCredential(m registry.Manifest, action string) (string, error) {
	name, ok := m.Credential(action).App()
	if !ok {
		return "", nil
	}
	v := e.AppCredentials[name]
	if v == "" {
		return "", connectors.Errorf(connectors.ENotConfigured, "integration.%s.%s sends the deployment's %s, which is not set", m.ID, action, name)
	}
	return v, nil
}

// connection finds the node's connection within the input's organization:
// the user's own (the one named, or their usable one for the connector),
// or, when they have none, one the organization shares (routing step 3).
// Exactly one of own and shared is set, also with the error of a
// connection that needs reauthorizing (for its history); neither with any
// other error.
func (e *Executor) connection(ctx context.Context, in Input, connector string) (own, shared *connectors.Connection, err error) {
	notFound := connectors.Errorf(connectors.ENotFound, "no %s connection for this user", connector)
	if in.ConnectionID != "" {
		got, err := e.Store.GetConnection(ctx, in.OrganizationID, in.ConnectionID)
		if errors.Is(err, connectors.ErrNotFound) {
			return nil, nil, notFound
		}
		if err != nil {
			return nil, nil, fmt.Errorf("load connection %s: %w", in.ConnectionID, err)
		}
		switch {
		case got.Connector != connector:
			return nil, nil, notFound
		case got.UserID == in.UserID:
			own = got
		case got.Shared:
			shared = got
		default:
			return nil, nil, notFound
		}
	} else {
		f := connectors.ConnectionFilter{OrganizationID: in.OrganizationID, UserID: in.UserID, Connector: connector, Limit: 20}
		if own, err = e.pick(ctx, f); err != nil {
			return nil, nil, err
		}
		if own == nil {
			f.UserID, f.SharedOnly = "", true
			if shared, err = e.pick(ctx, f); err != nil {
				return nil, nil, err
			}
		}
		if own == nil && shared == nil {
			return nil, nil, notFound
		}
	}
	c := cmp.Or(own, shared)
	switch c.Status {
	case connectors.StatusRevoked, connectors.StatusReauthRequired:
		who := "the user"
		if shared != nil {
			who = "its owner"
		}
		// The connection is answered with the error: the refusal goes in
		// its history.
		return own, shared, connectors.Errorf(connectors.EReauthRequired, "connection %s needs %s to reconnect (%s)", c.ID, who, c.Status)
	}
	return own, shared, nil
}

// pick returns the best of the first page f selects: an active connection
// before one in another status; nil when it selects none.
func (e *Executor) pick(ctx context.Context, f connectors.ConnectionFilter) (*connectors.Connection, error) {
	page, err := e.Store.ListConnections(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	var c *connectors.Connection
	for _, cand := range page.Connections {
		if !f.Selects(cand) {
			continue // never trust a listing with another user's or organization's record
		}
		if c == nil || cand.Status == connectors.StatusActive && c.Status != connectors.StatusActive {
			c = cand
		}
	}
	return c, nil
}

// validate checks the input and splits the node type.
func (in Input) validate() (connector, action string, err error) {
	for _, f := range []struct{ name, v string }{
		{"executionId", in.ExecutionID}, {"nodeId", in.NodeID}, {"nodeType", in.NodeType},
		{"userId", in.UserID}, {"organizationId", in.OrganizationID},
	} {
		if strings.TrimSpace(f.v) == "" {
			return "", "", connectors.Errorf(connectors.EInvalid, "%s is required", f.name)
		}
		if len(f.v) > 512 {
			return "", "", connectors.Errorf(connectors.EInvalid, "%s is too long", f.name)
		}
	}
	parts := strings.Split(in.NodeType, ".")
	if len(parts) != 3 || parts[0] != "integration" || parts[1] == "" || parts[2] == "" {
		return "", "", connectors.Errorf(connectors.EInvalid, "nodeType must be integration.<connector>.<action>")
	}
	if len(in.IdempotencyKey) > 512 {
		return "", "", connectors.Errorf(connectors.EInvalid, "idempotencyKey is too long")
	}
	return parts[1], parts[2], nil
}

// maxProviderKey is the longest idempotency key providers take (Stripe's
// Idempotency-Key: 255 characters).
const maxProviderKey = 255

// providerKey is key as sent to a provider: itself, or when longer than
// providers accept (an execution ARN alone may be 200 characters), its
// SHA-256, which is as stable across retries.
func providerKey(key string) string {
	if len(key) <= maxProviderKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// Key is the idempotency key: the caller's, or the node of the execution.
//
// Each part is length-prefixed, so no choice of ids makes two inputs share
// a key: a custom key "x/y" and the node y of execution x stay apart, and so
// do organizations whose ids contain separators.
func (in Input) Key() string {
	parts := []string{in.OrganizationID, "node", in.ExecutionID, in.NodeID}
	if in.IdempotencyKey != "" {
		parts = []string{in.OrganizationID, "key", in.IdempotencyKey}
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}
