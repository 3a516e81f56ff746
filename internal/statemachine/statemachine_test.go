package statemachine_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/executor"
)

// Each test below runs the state machine of execute-node.asl.json with
// aws-local-stepfunctions, its Lambda task invoking the real
// execute-connector bootstrap under the emulator. Each has its own emulator
// (it fails on concurrent invokes), table, fake Nango and fake Slack. They
// run one after the other, a second or less each: in parallel they load
// moto enough for it to garble answers now and then.

// decodeOutput decodes a succeeded execution's output: the executor's
// result, which OutputPath "$.Payload" unwraps from the Lambda answer.
func decodeOutput(t *testing.T, r *report) executor.Output {
	t.Helper()
	if r.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: %s: %s", r.Status, r.Error, r.Cause)
	}
	var out executor.Output
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatalf("decode output %s: %v", r.Output, err)
	}
	return out
}

// causeOf decodes a failed execution's cause: the function's error document.
func causeOf(t *testing.T, r *report) (errorType, message string) {
	t.Helper()
	var doc struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(r.Cause), &doc); err != nil {
		t.Fatalf("cause %q is not the function's error document: %v", r.Cause, err)
	}
	return doc.Type, doc.Message
}

// checkPosted checks a succeeded output against the Slack answer.
func checkPosted(t *testing.T, e *env, out executor.Output) {
	t.Helper()
	if out.Status != "succeeded" {
		t.Errorf("output status %q, want succeeded", out.Status)
	}
	if out.ConnectionID != e.connectionID {
		t.Errorf("connectionId %q, want %q", out.ConnectionID, e.connectionID)
	}
	if out.Output["ts"] != "1712345678.000100" || out.Output["channel"] != "C0123" {
		t.Errorf("output %v, want Slack's ts and channel", out.Output)
	}
}

func TestSuccess(t *testing.T) {
	e := newEnv(t, slackOK)
	r := e.run(nodeInput(slackParams()))
	out := decodeOutput(t, r)
	checkPosted(t, e, out)
	if out.Route.Step != 1 {
		t.Errorf("route step %d (%s), want 1 (Nango OAuth)", out.Route.Step, out.Route.Name)
	}
	if n := e.slack.calls.Load(); n != 1 {
		t.Errorf("Slack called %d times, want 1", n)
	}
	if r.Invocations != 1 || r.count("StateRetried") != 0 {
		t.Errorf("%d invocations, %d retries; want 1 and 0", r.Invocations, r.count("StateRetried"))
	}
	if r.entered("NodeFailed") || r.entered("RetriesExhausted") || r.entered("UnexpectedFailure") {
		t.Errorf("a succeeded execution entered a failure state: %+v", r.Events)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first answer
		want  string // the first attempt's error
	}{
		{"provider unavailable", slackUnavailable, executor.NameProviderUnavailable},
		{"rate limited", slackRateLimited, executor.NameRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.first, slackOK)
			r := e.run(nodeInput(slackParams()))
			checkPosted(t, e, decodeOutput(t, r))
			if n := e.slack.calls.Load(); n != 2 {
				t.Errorf("Slack called %d times, want 2", n)
			}
			if r.Invocations != 2 {
				t.Errorf("%d invocations, want 2", r.Invocations)
			}
			if n := r.count("StateFailed", tc.want); n != 1 {
				t.Errorf("%d task failures named %s, want 1; events %+v", n, tc.want, r.Events)
			}
			if n := r.count("StateRetried"); n != 1 {
				t.Errorf("%d retries, want 1", n)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	retries := retrierFor(t, executor.NameProviderUnavailable).MaxAttempts
	e := newEnv(t, slackUnavailable)
	r := e.run(nodeInput(slackParams()))
	if r.Status != "FAILED" || r.Error != executor.NameProviderUnavailable {
		t.Fatalf("execution %s with error %q, want FAILED with %s", r.Status, r.Error, executor.NameProviderUnavailable)
	}
	if typ, msg := causeOf(t, r); typ != executor.NameProviderUnavailable || msg == "" {
		t.Errorf("cause errorType %q message %q, want %s with a message", typ, msg, executor.NameProviderUnavailable)
	}
	if !r.entered("RetriesExhausted") {
		t.Errorf("did not end in RetriesExhausted: %+v", r.Events)
	}
	if n := r.count("StateRetried"); n != retries {
		t.Errorf("%d retries, want MaxAttempts = %d", n, retries)
	}
	if want := 1 + retries; r.Invocations != want || int(e.slack.calls.Load()) != want {
		t.Errorf("%d invocations and %d Slack calls, want %d each", r.Invocations, e.slack.calls.Load(), want)
	}
}

func TestNonRetryableFailure(t *testing.T) {
	e := newEnv(t, slackOK)
	for _, tc := range []struct {
		name    string
		input   map[string]any
		want    string
		message string // in the cause's errorMessage
	}{
		{"invalid params", nodeInput(map[string]any{"text": "hello"}), executor.NameInvalidInput, "channel"},
		{"another user's node", func() map[string]any {
			in := nodeInput(slackParams())
			in["userId"] = "user-without-connection"
			return in
		}(), executor.NameConnectionNotFound, "slack"},
	} {
		// Sequential: the subtests share one emulator.
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.input)
			if r.Status != "FAILED" || r.Error != tc.want {
				t.Fatalf("execution %s with error %q, want FAILED with %s", r.Status, r.Error, tc.want)
			}
			if typ, msg := causeOf(t, r); typ != tc.want || !strings.Contains(msg, tc.message) {
				t.Errorf("cause errorType %q message %q, want %s naming %q", typ, msg, tc.want, tc.message)
			}
			if !r.entered("NodeFailed") {
				t.Errorf("did not end in NodeFailed: %+v", r.Events)
			}
			if r.Invocations != 1 || r.count("StateRetried") != 0 {
				t.Errorf("%d invocations, %d retries; want 1 and none", r.Invocations, r.count("StateRetried"))
			}
		})
	}
	if n := e.slack.calls.Load(); n != 0 {
		t.Errorf("Slack called %d times, want never", n)
	}
}

// TestRetriedWriteReachesProviderOnce loses the function's first answer
// after it posted the message, so Step Functions retries the task: the
// second invocation must answer the recorded result without posting again.
func TestRetriedWriteReachesProviderOnce(t *testing.T) {
	e := newEnv(t, slackOK)
	r := e.run(nodeInput(slackParams()), "--lose-first-success")
	out := decodeOutput(t, r)
	checkPosted(t, e, out)
	if r.LostAnswers != 1 || r.Invocations != 2 {
		t.Fatalf("%d lost answers in %d invocations, want 1 in 2", r.LostAnswers, r.Invocations)
	}
	if n := r.count("StateFailed", "Lambda.ServiceException"); n != 1 || r.count("StateRetried") != 1 {
		t.Errorf("%d Lambda.ServiceException failures and %d retries, want 1 each", n, r.count("StateRetried"))
	}
	if n := e.slack.calls.Load(); n != 1 {
		t.Errorf("Slack called %d times, want exactly 1", n)
	}
	if out.Attempts != 1 {
		t.Errorf("recorded result has %d attempts, want 1", out.Attempts)
	}
}
