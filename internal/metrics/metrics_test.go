package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/tstest/emftest"
)

var clock = time.UnixMilli(1_764_000_000_123)

func flush(t *testing.T, b *metrics.Batch) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := metrics.NewEMF(&buf, func() time.Time { return clock }).Flush(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEMFFormat records metrics and holds the lines to the specification
// (emftest), then checks the points CloudWatch would publish from them.
func TestEMFFormat(t *testing.T) {
	tests := []struct {
		name   string
		record func(r metrics.Recorder)
		want   map[string]float64 // point key -> sum
		lines  int
	}{{
		name: "success has no ErrorCode set",
		record: func(r metrics.Recorder) {
			r.Add(metrics.Requests, 1)
			r.Add(metrics.ServerErrors, 0)
		},
		want:  map[string]float64{"Requests{Function=fn}": 1, "ServerErrors{Function=fn}": 0},
		lines: 1,
	}, {
		name: "an error adds the ErrorCode set",
		record: func(r metrics.Recorder) {
			r.Add(metrics.Requests, 1, metrics.ErrorCode("invalid_request"))
			r.Add(metrics.ClientErrors, 1, metrics.ErrorCode("invalid_request"))
		},
		want: map[string]float64{
			"Requests{Function=fn}": 1, "Requests{ErrorCode=invalid_request,Function=fn}": 1,
			"ClientErrors{Function=fn}": 1, "ClientErrors{ErrorCode=invalid_request,Function=fn}": 1,
		},
		lines: 1,
	}, {
		name: "counts are summed, one line per target value",
		record: func(r metrics.Recorder) {
			for range 3 {
				r.Add(metrics.OutboundCalls, 1, metrics.Target("dynamodb"))
			}
			r.Add(metrics.OutboundCalls, 1, metrics.Target("nango"))
		},
		want:  map[string]float64{"OutboundCalls{Function=fn,Target=dynamodb}": 3, "OutboundCalls{Function=fn,Target=nango}": 1},
		lines: 2,
	}, {
		name: "groups that agree share a line",
		record: func(r metrics.Recorder) {
			r.Add(metrics.Requests, 1)
			r.Add(metrics.OutboundCalls, 1, metrics.Target("kms"))
			r.Add(metrics.Refreshes, 1, metrics.Provider("nango"))
			r.Add(metrics.SweepVisited, 2)
		},
		want: map[string]float64{
			"Requests{Function=fn}": 1, "OutboundCalls{Function=fn,Target=kms}": 1,
			"Refreshes{}": 1, "Refreshes{Provider=nango}": 1, "SweepVisited{}": 2,
		},
		lines: 1,
	}, {
		name: "a dimension the record gives overrides the default",
		record: func(r metrics.Recorder) {
			r.Add(metrics.OutboundCalls, 1, metrics.Function("other"), metrics.Target("kms"))
		},
		want:  map[string]float64{"OutboundCalls{Function=other,Target=kms}": 1},
		lines: 1,
	}, {
		name: "an empty value drops the sets that need it",
		record: func(r metrics.Recorder) {
			r.Add(metrics.Executions, 1, metrics.Outcome("ok"), metrics.Connector("slack"), metrics.Action(""), metrics.Target("nango"))
			r.Add(metrics.Refreshes, 1, metrics.Provider("  "))
		},
		want:  map[string]float64{"Executions{Outcome=ok}": 1, "Refreshes{}": 1},
		lines: 1,
	}, {
		name: "a metric left with no set is not written",
		record: func(r metrics.Recorder) {
			r.Add(metrics.ProviderLatency, 5)
			r.Add(metrics.Attempts, 1, metrics.Connector(strings.Repeat("x", metrics.MaxDimensionValue+1)))
		},
		want:  map[string]float64{},
		lines: 0,
	}, {
		name: "non-finite values are dropped",
		record: func(r metrics.Recorder) {
			r.Add(metrics.Latency, 1/zero())
			r.Add(metrics.Latency, 7)
		},
		want:  map[string]float64{"Latency{Function=fn}": 7},
		lines: 1,
	}, {
		name: "values are escaped",
		record: func(r metrics.Recorder) {
			r.Add(metrics.Attempts, 1, metrics.Connector("a\"b\\c\n\x01\xff"))
		},
		want:  map[string]float64{"Attempts{Connector=a\"b\\c\n\x01\ufffd}": 1},
		lines: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := metrics.NewBatch(metrics.Function("fn"))
			tt.record(b)
			out := flush(t, b)
			lines := emftest.Lines(out)
			if len(lines) != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tt.lines, out)
			}
			if n := bytes.Count(out, []byte("\n")); n != len(lines) {
				t.Errorf("%d newlines for %d lines", n, len(lines))
			}
			points := emftest.Parse(t, out)
			for _, p := range points {
				if p.Namespace != metrics.Namespace || p.Timestamp != clock.UnixMilli() {
					t.Errorf("point %s: namespace %q, timestamp %d", p.Key(), p.Namespace, p.Timestamp)
				}
			}
			got := emftest.Index(points)
			if len(got) != len(tt.want) {
				t.Errorf("points %v, want %v", emftest.Keys(got), tt.want)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v; have %v", k, g, ok, v, emftest.Keys(got))
				}
			}
		})
	}
}

func zero() float64 { return 0 }

// TestEMFShape checks the literal shape of a line, as the specification's
// example has it.
func TestEMFShape(t *testing.T) {
	b := metrics.NewBatch(metrics.Function("nango-authorize"))
	b.Add(metrics.Requests, 1, metrics.ErrorCode("not_found"))
	b.Add(metrics.Latency, 12)
	b.Add(metrics.Latency, 30)
	out := flush(t, b)
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	aws := doc["_aws"].(map[string]any)
	if aws["Timestamp"] != float64(clock.UnixMilli()) {
		t.Errorf("Timestamp %v", aws["Timestamp"])
	}
	directives := aws["CloudWatchMetrics"].([]any)
	if len(directives) != 2 {
		t.Fatalf("directives %v, want Requests' and Latency's (their values differ: ErrorCode)", directives)
	}
	first := directives[0].(map[string]any)
	if got, _ := json.Marshal(first); string(got) != `{"Dimensions":[["Function"],["Function","ErrorCode"]],"Metrics":[{"Name":"Requests","Unit":"Count"}],"Namespace":"AutomatorsConnectors"}` {
		t.Errorf("directive %s", got)
	}
	second, _ := json.Marshal(directives[1])
	if string(second) != `{"Dimensions":[["Function"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}],"Namespace":"AutomatorsConnectors"}` {
		t.Errorf("directive %s", second)
	}
	if doc["Function"] != "nango-authorize" || doc["ErrorCode"] != "not_found" || doc["Requests"] != float64(1) {
		t.Errorf("members %v", doc)
	}
	if lat, _ := json.Marshal(doc["Latency"]); string(lat) != "[12,30]" {
		t.Errorf("Latency %s, want both values", lat)
	}
}

// TestEMFLimits: past 100 values of a metric, or 100 metrics, the batch
// takes more lines, each within the limits (emftest checks them).
func TestEMFLimits(t *testing.T) {
	b := metrics.NewBatch(metrics.Function("fn"))
	for i := range 250 {
		b.Add(metrics.Latency, float64(i))
	}
	var many []*metrics.Metric
	for i := range 150 {
		m := metrics.Define("M"+strings.Repeat("x", i/10)+string(rune('a'+i%10)), metrics.Count, []string{metrics.DimFunction})
		many = append(many, m)
		b.Add(m, 1)
	}
	out := flush(t, b)
	points := emftest.Parse(t, out)
	var latency []float64
	seen := map[string]bool{}
	for _, p := range points {
		if p.Name == "Latency" {
			latency = append(latency, p.Values...)
		} else {
			seen[p.Name] = true
		}
	}
	if len(latency) != 250 {
		t.Errorf("%d latency values, want 250", len(latency))
	}
	for i, v := range latency {
		if v != float64(i) {
			t.Fatalf("latency value %d = %v", i, v)
		}
	}
	if len(seen) != len(many) {
		t.Errorf("%d metrics written, want %d", len(seen), len(many))
	}
	if n := len(emftest.Lines(out)); n < 3 {
		t.Errorf("%d lines for 250 values of one metric", n)
	}
}

func TestDefineRefuses(t *testing.T) {
	tests := []struct {
		name string
		sets [][]string
	}{
		{"no sets", nil},
		{"ten dimensions", [][]string{{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}},
		{"repeated", [][]string{{"a", "a"}}},
		{"empty name", [][]string{{""}}},
		{"the metric's own name", [][]string{{"X"}}},
		{"31 sets", make([][]string, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Define accepted %v", tt.sets)
				}
			}()
			metrics.Define("X", metrics.Count, tt.sets...)
		})
	}
}

// TestContext: a context without a batch records nothing (and does not
// fail); Start's batch takes records through the context; records after
// the flush are dropped.
func TestContext(t *testing.T) {
	metrics.Add(context.Background(), metrics.Requests, 1) // Nop
	ctx, b := metrics.Start(context.Background(), metrics.Function("fn"))
	metrics.Add(ctx, metrics.Requests, 1)
	metrics.RecordRefresh(ctx, "nango", nil, false)
	metrics.RecordRefresh(ctx, "nango", errors.New("refused"), true)
	metrics.RecordRefresh(ctx, "builtin", errors.New("outage"), false)
	out := flush(t, b)
	metrics.Add(ctx, metrics.Requests, 1)
	if again := flush(t, b); len(again) != 0 {
		t.Errorf("second flush wrote %s", again)
	}
	got := emftest.Index(emftest.Parse(t, out))
	want := map[string]float64{
		"Requests{Function=fn}": 1, "Refreshes{}": 1, "Refreshes{Provider=nango}": 1,
		"RefreshFailures{}": 2, "RefreshFailures{Provider=nango}": 1, "RefreshFailures{Provider=builtin}": 1,
		"ReauthRequired{}": 1, "ReauthRequired{Provider=nango}": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (have %v)", k, got[k], v, emftest.Keys(got))
		}
	}
	if len(got) != len(want) {
		t.Errorf("points %v", emftest.Keys(got))
	}
}

// TestConcurrent: batches of concurrent invocations stay apart, and
// goroutines of one invocation record into its batch (run with -race).
func TestConcurrent(t *testing.T) {
	var buf safeBuffer
	sink := metrics.NewEMF(&buf, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx, b := metrics.Start(context.Background(), metrics.Function("fn"+string(rune('0'+i))))
			var inner sync.WaitGroup
			for range 10 {
				inner.Go(func() { metrics.Add(ctx, metrics.Requests, 1) })
			}
			inner.Wait()
			sink.Flush(b)
		})
	}
	wg.Wait()
	got := emftest.Index(emftest.Parse(t, buf.Bytes()))
	for i := range 8 {
		k := "Requests{Function=fn" + string(rune('0'+i)) + "}"
		if got[k] != 10 {
			t.Errorf("%s = %v, want 10", k, got[k])
		}
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// TestTransport: every round trip, and every request of a Doer, counts
// as an outbound call to its target, in the request's batch.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, b := metrics.Start(context.Background(), metrics.Function("fn"))
	nango := metrics.Client(srv.Client(), metrics.TargetNango)
	aws := metrics.CountDoer(srv.Client(), metrics.TargetDynamoDB)
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := nango.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := aws.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.Client().Transport == nango.Transport {
		t.Error("Client changed the client it copied")
	}
	got := emftest.Index(emftest.Parse(t, flush(t, b)))
	if got["OutboundCalls{Function=fn,Target=nango}"] != 2 || got["OutboundCalls{Function=fn,Target=dynamodb}"] != 1 {
		t.Errorf("outbound calls %v", got)
	}
}

func TestDiscard(t *testing.T) {
	ctx, b := metrics.Start(context.Background())
	metrics.Add(ctx, metrics.Requests, 1)
	if err := metrics.Discard.Flush(b); err != nil {
		t.Fatal(err)
	}
	if out := flush(t, b); len(out) != 0 {
		t.Errorf("a discarded batch still wrote %s", out)
	}
}
