// Package metrics records the service's metrics per invocation and writes
// them as CloudWatch Embedded Metric Format (EMF) lines: JSON objects on
// the function's log (stdout in Lambda) that CloudWatch Logs turns into
// metrics, with no API call and no agent.
//
// Domain code records through the Recorder the invocation's context
// carries (Add); the handler wrapper of each function (the HTTP
// middleware, wiring's task wrapper) starts a Batch per invocation with
// Start and flushes it to a Sink when the invocation ends. A context
// without a batch records nothing, so code and tests that do not care
// need no set-up. Nothing here is global but the metric declarations.
//
// Every metric is declared once below, with its unit and dimension sets:
// the alarms in template.yaml name these metrics. Dimension values must
// be bounded and non-secret (function, connector, action, provider, error
// name): never a user, organization or connection id, a token or a message.
package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "AutomatorsConnectors"

// Unit is a CloudWatch metric unit.
type Unit string

// The units the service's metrics use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Limits of the EMF specification this package holds every line to.
const (
	// MaxMetricsPerLine: a directive's Metrics list holds at most 100.
	MaxMetricsPerLine = 100
	// MaxValuesPerMetric: a metric's value array holds at most 100 values.
	MaxValuesPerMetric = 100
	// MaxDimensionsPerSet: the specification allows 30 keys in a
	// dimension set; 9 (its earlier limit) keeps every line valid for
	// every consumer of the format.
	MaxDimensionsPerSet = 9
	// MaxDimensionSets bounds the dimension sets of one metric.
	MaxDimensionSets = 30
	// MaxDimensionValue is CloudWatch's longest dimension value, in bytes.
	MaxDimensionValue = 1024
)

// Dimension names.
const (
	DimFunction  = "Function"  // the Lambda function (folder name), e.g. nango-authorize
	DimErrorCode = "ErrorCode" // the API error code of a failed request
	DimOutcome   = "Outcome"   // "ok", or the executor's error name
	DimConnector = "Connector" // the connector id, e.g. slack
	DimAction    = "Action"    // the action of the connector
	DimTarget    = "Target"    // the router's target (Executions), or the called service (OutboundCalls)
	DimProvider  = "Provider"  // the auth provider holding the connection
)

// Targets of OutboundCalls: the services an invocation calls.
const (
	TargetDynamoDB       = "dynamodb"
	TargetSecretsManager = "secretsmanager"
	TargetKMS            = "kms"
	TargetNango          = "nango"
	TargetComposio       = "composio"
	TargetPanora         = "panora"
	TargetProvider       = "provider" // a provider's own API or OAuth server
)

// OutcomeOK is the Outcome of an execution that succeeded.
const OutcomeOK = "ok"

var (
	requestSets = [][]string{{DimFunction}, {DimFunction, DimErrorCode}}
	tokenSets   = [][]string{{}, {DimProvider}}
	connector   = [][]string{{DimConnector}}
)

// The service's metrics. Their names are a contract with the alarms.
var (
	// Requests counts the HTTP API's requests, per route's function.
	Requests = Define("Requests", Count, requestSets...)
	// ClientErrors counts answers 4xx (0 on other answers).
	ClientErrors = Define("ClientErrors", Count, requestSets...)
	// ServerErrors counts answers 5xx (0 on other answers).
	ServerErrors = Define("ServerErrors", Count, requestSets...)
	// Latency is the time from request to answer.
	Latency = Define("Latency", Milliseconds, requestSets...)

	// Executions counts the executor's runs by outcome.
	Executions = Define("Executions", Count, []string{DimOutcome}, []string{DimConnector, DimAction, DimTarget, DimOutcome})
	// ProviderLatency is the time of one action call to the provider.
	ProviderLatency = Define("ProviderLatency", Milliseconds, connector...)
	// Attempts is the number of action calls an execution made (2 after
	// a 401 answered by a refresh).
	Attempts = Define("Attempts", Count, connector...)
	// IdempotentReplays counts executions answered with a recorded result.
	IdempotentReplays = Define("IdempotentReplays", Count, connector...)
	// HistoryFailures counts execution history records that could not be
	// written (the execution itself is not failed for it).
	HistoryFailures = Define("HistoryFailures", Count, []string{})

	// Refreshes counts token refreshes that succeeded.
	Refreshes = Define("Refreshes", Count, tokenSets...)
	// RefreshFailures counts token refreshes that failed, for any reason.
	RefreshFailures = Define("RefreshFailures", Count, tokenSets...)
	// ReauthRequired counts refreshes the provider refused: the user
	// must reconnect.
	ReauthRequired = Define("ReauthRequired", Count, tokenSets...)

	// SweepVisited counts connections a sweep checked.
	SweepVisited = Define("SweepVisited", Count, []string{})
	// SweepRefreshed counts checks that left the connection active.
	SweepRefreshed = Define("SweepRefreshed", Count, []string{})
	// SweepFailed counts checks that did not (failed, or reauth required).
	SweepFailed = Define("SweepFailed", Count, []string{})

	// OutboundCalls counts calls to other services (per HTTP attempt,
	// retries included), by function and target.
	OutboundCalls = Define("OutboundCalls", Count, []string{DimFunction, DimTarget})
)

// Metric is a metric as declared: its name, unit and dimension sets. Build
// it with Define.
type Metric struct {
	Name       string
	Unit       Unit
	Dimensions [][]string // dimension sets; an empty set is the metric without dimensions
	keys       []string   // every dimension name of the sets, sorted
	signature  string     // the sets, canonical: groups a batch's records
}

// Define declares a metric with its dimension sets. It panics on a
// declaration the EMF specification refuses: declarations are constants
// of the program, checked when it starts.
func Define(name string, unit Unit, sets ...[]string) *Metric {
	if name == "" || len(name) > 255 {
		panic(fmt.Sprintf("metrics: metric name %q must have 1 to 255 bytes", name))
	}
	if len(sets) == 0 || len(sets) > MaxDimensionSets {
		panic(fmt.Sprintf("metrics: %s needs 1 to %d dimension sets", name, MaxDimensionSets))
	}
	m := &Metric{Name: name, Unit: unit}
	var sig strings.Builder
	for _, set := range sets {
		if len(set) > MaxDimensionsPerSet {
			panic(fmt.Sprintf("metrics: %s: a dimension set has more than %d dimensions", name, MaxDimensionsPerSet))
		}
		for i, k := range set {
			if k == "" || k == name || k == "_aws" || slices.Contains(set[:i], k) {
				panic(fmt.Sprintf("metrics: %s: dimension %q is empty, repeated or a reserved name", name, k))
			}
			if !slices.Contains(m.keys, k) {
				m.keys = append(m.keys, k)
			}
		}
		m.Dimensions = append(m.Dimensions, slices.Clone(set))
		sig.WriteString(strings.Join(set, ","))
		sig.WriteByte('|')
	}
	slices.Sort(m.keys)
	m.signature = sig.String()
	return m
}

// Dim is one dimension's value in a record.
type Dim struct {
	Name, Value string
}

// Function is the Function dimension.
func Function(v string) Dim { return Dim{DimFunction, v} }

// ErrorCode is the ErrorCode dimension.
func ErrorCode(v string) Dim { return Dim{DimErrorCode, v} }

// Outcome is the Outcome dimension.
func Outcome(v string) Dim { return Dim{DimOutcome, v} }

// Connector is the Connector dimension.
func Connector(v string) Dim { return Dim{DimConnector, v} }

// Action is the Action dimension.
func Action(v string) Dim { return Dim{DimAction, v} }

// Target is the Target dimension.
func Target(v string) Dim { return Dim{DimTarget, v} }

// Provider is the Provider dimension.
func Provider(v string) Dim { return Dim{DimProvider, v} }

// Recorder records metrics. A Batch is one; FromContext gives the
// invocation's.
type Recorder interface {
	// Add records value of m with dims. A dimension of m's sets that
	// dims leave out takes the batch's default (the Function); a set with
	// a dimension that has no value (or an invalid one) is left out of
	// that record. A value that is not finite is dropped.
	Add(m *Metric, value float64, dims ...Dim)
}

// Nop records nothing.
var Nop Recorder = nop{}

type nop struct{}

func (nop) Add(*Metric, float64, ...Dim) {}

type ctxKey struct{}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r Recorder) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// FromContext returns the recorder ctx carries, or Nop.
func FromContext(ctx context.Context) Recorder {
	if r, ok := ctx.Value(ctxKey{}).(Recorder); ok {
		return r
	}
	return Nop
}

// Add records value of m with dims on the recorder ctx carries.
func Add(ctx context.Context, m *Metric, value float64, dims ...Dim) {
	FromContext(ctx).Add(m, value, dims...)
}

// Start begins one invocation's metrics: it returns ctx carrying a new
// batch, whose records take defaults for the dimensions they leave out
// (the function's name). The caller flushes the batch when the
// invocation ends.
func Start(ctx context.Context, defaults ...Dim) (context.Context, *Batch) {
	b := NewBatch(defaults...)
	return NewContext(ctx, b), b
}

// RecordRefresh records the outcome of one token refresh of a connection
// held by provider: Refreshes on success, else RefreshFailures, and
// ReauthRequired too when the provider refused it (reauth).
func RecordRefresh(ctx context.Context, provider string, err error, reauth bool) {
	r := FromContext(ctx)
	switch {
	case err == nil:
		r.Add(Refreshes, 1, Provider(provider))
	default:
		r.Add(RefreshFailures, 1, Provider(provider))
		if reauth {
			r.Add(ReauthRequired, 1, Provider(provider))
		}
	}
}

// Batch collects one invocation's records until they are flushed. It is
// safe for concurrent use: work an invocation starts in other goroutines
// records into it too. Records added after Flush are dropped.
type Batch struct {
	mu       sync.Mutex
	defaults []Dim
	groups   []*group          // in the order first recorded
	index    map[string]*group // by key
	scratch  []byte            // builds keys, under mu
	flushed  bool
}

// group is the records of metrics sharing dimension sets and values.
type group struct {
	dims    []Dim      // the values, by name, without the empty ones
	sets    [][]string // the sets whose every dimension has a value
	entries []entry
	// Room for the usual few dimensions and metrics, in the group's one
	// allocation.
	dimsBuf    [4]Dim
	entriesBuf [4]entry
}

// entry is one metric's records in a group: Count values are summed,
// others kept one by one (CloudWatch computes percentiles from them).
type entry struct {
	m      *Metric
	sum    float64
	values []float64
}

// NewBatch returns an empty batch whose records take defaults for the
// dimensions they leave out.
func NewBatch(defaults ...Dim) *Batch {
	return &Batch{defaults: slices.Clone(defaults), index: make(map[string]*group, 8), groups: make([]*group, 0, 8)}
}

// Add implements Recorder.
func (b *Batch) Add(m *Metric, value float64, dims ...Dim) {
	if m == nil || math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.flushed {
		return
	}
	key := append(b.scratch[:0], m.signature...)
	for _, k := range m.keys {
		key = append(key, 0)
		key = append(key, b.value(k, dims)...)
	}
	b.scratch = key
	g := b.index[string(key)]
	if g == nil {
		g = b.newGroup(m, dims)
		b.index[string(key)] = g
	}
	for i := range g.entries {
		if e := &g.entries[i]; e.m == m {
			e.add(value)
			return
		}
	}
	g.entries = append(g.entries, entry{m: m})
	g.entries[len(g.entries)-1].add(value)
}

func (e *entry) add(v float64) {
	if e.m.Unit == Count {
		e.sum += v
		return
	}
	e.values = append(e.values, v)
}

// value is k's value in dims, else in the defaults; "" for none, and for
// one CloudWatch would refuse.
func (b *Batch) value(k string, dims []Dim) string {
	v, found := "", false
	for _, d := range dims {
		if d.Name == k {
			v, found = d.Value, true
			break
		}
	}
	if !found {
		for _, d := range b.defaults {
			if d.Name == k {
				v = d.Value
				break
			}
		}
	}
	if len(v) > MaxDimensionValue || strings.TrimSpace(v) == "" {
		return ""
	}
	return v
}

func (b *Batch) newGroup(m *Metric, dims []Dim) *group {
	g := &group{}
	g.dims, g.entries = g.dimsBuf[:0], g.entriesBuf[:0]
	for _, k := range m.keys {
		if v := b.value(k, dims); v != "" {
			g.dims = append(g.dims, Dim{k, v})
		}
	}
	if len(g.dims) == len(m.keys) {
		g.sets = m.Dimensions // every set has its values; never changed
	} else {
		for _, set := range m.Dimensions {
			if !slices.ContainsFunc(set, func(k string) bool { return !g.has(k) }) {
				g.sets = append(g.sets, set)
			}
		}
	}
	b.groups = append(b.groups, g)
	return g
}

func (g *group) has(k string) bool {
	return slices.ContainsFunc(g.dims, func(d Dim) bool { return d.Name == k })
}

func (g *group) value(k string) (string, bool) {
	for _, d := range g.dims {
		if d.Name == k {
			return d.Value, true
		}
	}
	return "", false
}

// take ends the batch and returns its groups; every later Add is dropped.
func (b *Batch) take() []*group {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushed = true
	gs := b.groups
	b.groups, b.index = nil, nil
	return gs
}

// Sink receives an invocation's batch when the invocation ends.
type Sink interface {
	Flush(b *Batch) error
}

// Discard is the sink that drops every batch: for tests and local runs
// that do not look at metrics.
var Discard Sink = discard{}

type discard struct{}

func (discard) Flush(b *Batch) error {
	b.take()
	return nil
}
