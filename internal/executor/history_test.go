package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/tstest/emftest"
)

// historyOf lists connection id's whole history in org.
func historyOf(t *testing.T, e *env, org, id string) []connectors.Execution {
	t.Helper()
	page, err := e.store.ListExecutions(t.Context(), connectors.ExecutionFilter{OrganizationID: org, ConnectionID: id, Limit: connectors.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Executions
}

// failingLog refuses every history write.
type failingLog struct{ connectors.ExecutionLog }

func (failingLog) RecordExecution(context.Context, connectors.Execution) error {
	return errors.New("table is on fire")
}

// TestHistoryRecordsEachOutcome: one entry per invocation, with its
// connector, action, route, outcome, attempts, duration and expiry, and
// nothing of the node's parameters or output; a replay adds none.
func TestHistoryRecordsEachOutcome(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.exec.Retention = 7 * 24 * time.Hour
	id := e.nangoConn("acme", "u1", "slack")
	params := map[string]any{"channel": "C0SECRETCHAN", "text": "user words nobody else may read"}
	node := in("acme", "u1", "integration.slack.send_message", params)
	before := time.Now()
	out, err := e.exec.Execute(t.Context(), node)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.exec.Execute(t.Context(), node); err != nil { // a duplicate: replayed
		t.Fatal(err)
	}
	got := historyOf(t, e, "acme", id)
	if len(got) != 1 {
		t.Fatalf("history = %+v, want one entry for one run and its replay", got)
	}
	x := got[0]
	want := connectors.Execution{
		ID: x.ID, OrganizationID: "acme", ConnectionID: id, Connector: "slack", Action: "send_message",
		RouteStep: 1, RouteTarget: connectors.ProviderNango, Outcome: connectors.OutcomeOK, Attempts: 1,
		DurationMs: x.DurationMs, Time: x.Time, ExpiresAt: x.ExpiresAt,
	}
	if x != want || x.ID == "" {
		t.Errorf("entry = %+v\nwant %+v", x, want)
	}
	if x.Time.Before(before.Add(-time.Second)) || x.Time.After(time.Now()) || !x.ExpiresAt.Equal(x.Time.Add(7*24*time.Hour)) {
		t.Errorf("time %v, expiry %v: want now and 7 days later", x.Time, x.ExpiresAt)
	}
	if x.DurationMs < 0 || x.DurationMs > out.DurationMs+1000 {
		t.Errorf("duration %d ms, the output says %d", x.DurationMs, out.DurationMs)
	}
	raw, _ := json.Marshal(got)
	for _, leak := range []string{"C0SECRETCHAN", "user words", "1712345678.000100", "hello", "fake_access_token"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the history holds %q: %s", leak, raw)
		}
	}
}

// TestHistoryRecordsFailures: a failed execution is recorded under its
// error name, with the route and attempts it got to; a node with no
// connection has no history to go in.
func TestHistoryRecordsFailures(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(e *env, id string)
		want     string
		step     int
		attempts int
	}{
		{"rate limited", func(e *env, _ string) {
			e.slack.set(answer(429, `{"ok":false,"error":"ratelimited"}`, "Retry-After", "5"))
		}, executor.NameRateLimited, 1, 1},
		{"provider refuses", func(e *env, _ string) {
			e.slack.set(answer(200, `{"ok":false,"error":"channel_not_found"}`))
		}, executor.NameActionFailed, 1, 1},
		{"needs reauth", func(e *env, id string) { e.setStatus("acme", id, connectors.StatusReauthRequired) },
			executor.NameReauthRequired, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			id := e.nangoConn("acme", "u1", "slack")
			tc.setup(e, id)
			_, err := e.exec.Execute(t.Context(), in("acme", "u1", "integration.slack.send_message", slackParams()))
			if got := errName(t, err).Name; got != tc.want {
				t.Fatalf("error %s, want %s", got, tc.want)
			}
			got := historyOf(t, e, "acme", id)
			if len(got) != 1 {
				t.Fatalf("history = %+v, want one entry", got)
			}
			if x := got[0]; x.Outcome != tc.want || x.RouteStep != tc.step || x.Attempts != tc.attempts || x.Action != "send_message" {
				t.Errorf("entry = %+v, want outcome %s, step %d, %d attempts", x, tc.want, tc.step, tc.attempts)
			}
			raw, _ := json.Marshal(got)
			for _, leak := range []string{"channel_not_found", "ratelimited", "reconnect"} { // error messages stay out
				if strings.Contains(string(raw), leak) {
					t.Errorf("the history holds the message %q: %s", leak, raw)
				}
			}
		})
	}

	t.Run("no connection", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		counted := &countingLog{ExecutionLog: e.store}
		e.exec.Executions = counted
		_, err := e.exec.Execute(t.Context(), in("acme", "nobody", "integration.slack.send_message", slackParams()))
		if got := errName(t, err).Name; got != executor.NameConnectionNotFound {
			t.Fatalf("error %s", got)
		}
		if counted.n != 0 {
			t.Fatalf("%d history writes for a node with no connection", counted.n)
		}
	})
}

// countingLog counts history writes.
type countingLog struct {
	connectors.ExecutionLog
	n int
}

func (c *countingLog) RecordExecution(ctx context.Context, x connectors.Execution) error {
	c.n++
	return c.ExecutionLog.RecordExecution(ctx, x)
}

// TestHistoryFailureNeverFailsTheExecution: a history write that fails is
// counted (HistoryFailures, and the metric of that name) and logged; the
// node still succeeds, once.
func TestHistoryFailureNeverFailsTheExecution(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.exec.Executions = failingLog{}
	e.nangoConn("acme", "u1", "slack")
	ctx, batch := metrics.Start(t.Context(), metrics.Function("execute-connector"))
	if _, err := e.exec.Execute(ctx, in("acme", "u1", "integration.slack.send_message", slackParams())); err != nil {
		t.Fatalf("a failed history write failed the execution: %v", err)
	}
	if n := e.exec.HistoryFailures(); n != 1 {
		t.Fatalf("HistoryFailures = %d, want 1", n)
	}
	var out bytes.Buffer
	if err := metrics.NewEMF(&out, nil).Flush(batch); err != nil {
		t.Fatal(err)
	}
	if got := emftest.Index(emftest.Parse(t, out.Bytes()))["HistoryFailures{}"]; got != 1 {
		t.Fatalf("HistoryFailures metric %v, want 1 (lines %s)", got, out.Bytes())
	}
	if n := e.slack.count(); n != 1 {
		t.Fatalf("Slack got %d messages, want 1", n)
	}
}
