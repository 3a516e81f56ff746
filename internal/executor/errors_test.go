package executor_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/nangofake"
)

// errorCase sets up a failing invocation; want is the error name and
// contains the substrings its message must hold.
type errorCase struct {
	name     string
	setup    func(e *env) executor.Input
	want     string
	contains []string
}

const org, user = "org-acme", "user-ada"

func withConn(connector string, ps func() map[string]any) func(e *env) executor.Input {
	return func(e *env) executor.Input {
		e.nangoConn(org, user, connector)
		return in(org, user, "integration."+connector+"."+map[string]string{
			"slack": "send_message", "stripe": "create_customer", "trello": "create_card",
		}[connector], ps())
	}
}

func slackAnswering(h http.HandlerFunc) func(e *env) executor.Input {
	return func(e *env) executor.Input {
		e.slack.set(h)
		return withConn("slack", slackParams)(e)
	}
}

func stripeAnswering(h http.HandlerFunc) func(e *env) executor.Input {
	return func(e *env) executor.Input {
		e.stripe.set(h)
		return withConn("stripe", stripeParams)(e)
	}
}

var errorCases = []errorCase{
	{
		name: "missing parameter", want: executor.NameInvalidInput, contains: []string{`"channel"`},
		setup: func(e *env) executor.Input {
			e.nangoConn(org, user, "slack")
			return in(org, user, "integration.slack.send_message", map[string]any{"text": "hi"})
		},
	},
	{
		name: "ill-typed parameter", want: executor.NameInvalidInput, contains: []string{`"channel"`, "string"},
		setup: func(e *env) executor.Input {
			e.nangoConn(org, user, "slack")
			return in(org, user, "integration.slack.send_message", map[string]any{"channel": 42.0, "text": "hi"})
		},
	},
	{
		name: "ill-typed nested parameter", want: executor.NameInvalidInput, contains: []string{"metadata.plan"},
		setup: func(e *env) executor.Input {
			e.nangoConn(org, user, "stripe")
			return in(org, user, "integration.stripe.create_customer", map[string]any{"metadata": map[string]any{"plan": 3.0}})
		},
	},
	{
		name: "missing userId", want: executor.NameInvalidInput, contains: []string{"userId"},
		setup: func(e *env) executor.Input {
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.UserID = ""
			return x
		},
	},
	{
		name: "missing executionId", want: executor.NameInvalidInput, contains: []string{"executionId"},
		setup: func(e *env) executor.Input {
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.ExecutionID = " "
			return x
		},
	},
	{
		name: "bad nodeType", want: executor.NameInvalidInput, contains: []string{"nodeType"},
		setup: func(e *env) executor.Input { return in(org, user, "slack.send_message", slackParams()) },
	},
	{
		name: "nodeType with an empty action", want: executor.NameInvalidInput, contains: []string{"nodeType"},
		setup: func(e *env) executor.Input { return in(org, user, "integration.slack.", slackParams()) },
	},
	{
		name: "unknown action", want: executor.NameInvalidInput, contains: []string{"no action", "delete_workspace"},
		setup: func(e *env) executor.Input { return in(org, user, "integration.slack.delete_workspace", nil) },
	},
	{
		name: "unknown connector", want: executor.NameUnknownConnector, contains: []string{"myspace"},
		setup: func(e *env) executor.Input { return in(org, user, "integration.myspace.post", nil) },
	},
	{
		name: "no connection", want: executor.NameConnectionNotFound, contains: []string{"slack"},
		setup: func(e *env) executor.Input {
			e.nangoConn(org, "someone-else", "slack") // another user's does not count
			e.nangoConn(org, user, "stripe")          // nor another connector's
			return in(org, user, "integration.slack.send_message", slackParams())
		},
	},
	{
		name: "connectionId of another organization", want: executor.NameConnectionNotFound,
		setup: func(e *env) executor.Input {
			id := e.nangoConn("org-other", user, "slack")
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.ConnectionID = id
			return x
		},
	},
	{
		name: "connectionId of another user", want: executor.NameConnectionNotFound,
		setup: func(e *env) executor.Input {
			id := e.nangoConn(org, "user-bob", "slack")
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.ConnectionID = id
			return x
		},
	},
	{
		name: "connectionId of another connector", want: executor.NameConnectionNotFound,
		setup: func(e *env) executor.Input {
			id := e.nangoConn(org, user, "stripe")
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.ConnectionID = id
			return x
		},
	},
	{
		name: "unknown connectionId", want: executor.NameConnectionNotFound,
		setup: func(e *env) executor.Input {
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.ConnectionID = "no-such-connection"
			return x
		},
	},
	{
		name: "status reauth_required", want: executor.NameReauthRequired, contains: []string{"reconnect"},
		setup: func(e *env) executor.Input {
			id := e.nangoConn(org, user, "slack")
			e.setStatus(org, id, connectors.StatusReauthRequired)
			return in(org, user, "integration.slack.send_message", slackParams())
		},
	},
	{
		name: "status revoked", want: executor.NameReauthRequired, contains: []string{"reconnect"},
		setup: func(e *env) executor.Input {
			id := e.nangoConn(org, user, "slack")
			e.setStatus(org, id, connectors.StatusRevoked)
			x := in(org, user, "integration.slack.send_message", slackParams())
			x.ConnectionID = id
			return x
		},
	},
	{
		name: "Nango refresh refused for an expired token", want: executor.NameReauthRequired, contains: []string{"reconnect"},
		setup: func(e *env) executor.Input {
			id := e.nangoConn(org, user, "slack")
			e.fake.FailRefresh(id)
			e.fake.ExpireToken(id)
			return in(org, user, "integration.slack.send_message", slackParams())
		},
	},
	{
		name: "provider 429 with Retry-After", want: executor.NameRateLimited, contains: []string{"retry after 30s"},
		setup: stripeAnswering(answer(429, `{"error":{"type":"rate_limit_error","message":"Too many requests"}}`, "Retry-After", "30")),
	},
	{
		name: "slack ok:false ratelimited with Retry-After", want: executor.NameRateLimited, contains: []string{"ratelimited", "retry after 5s"},
		setup: slackAnswering(answer(429, `{"ok":false,"error":"ratelimited"}`, "Retry-After", "5")),
	},
	{
		name: "provider 503", want: executor.NameProviderUnavailable, contains: []string{"stripe"},
		setup: stripeAnswering(answer(503, `<html>Service Unavailable</html>`, "Content-Type", "text/html")),
	},
	{
		name: "provider 500", want: executor.NameProviderUnavailable,
		setup: slackAnswering(answer(500, `{}`)),
	},
	{
		name: "provider network error", want: executor.NameProviderUnavailable, contains: []string{"unreachable"},
		setup: stripeAnswering(hangUp),
	},
	{
		name: "provider 400 with the provider's message", want: executor.NameActionFailed, contains: []string{"Invalid email address: nope"},
		setup: stripeAnswering(answer(400, `{"error":{"type":"invalid_request_error","code":"email_invalid","message":"Invalid email address: nope"}}`)),
	},
	{
		name: "provider 404", want: executor.NameActionFailed, contains: []string{"No such customer"},
		setup: stripeAnswering(answer(404, `{"error":{"type":"invalid_request_error","message":"No such customer"}}`)),
	},
	{
		name: "slack 200 ok:false", want: executor.NameActionFailed, contains: []string{"channel_not_found"},
		setup: slackAnswering(answer(200, `{"ok":false,"error":"channel_not_found"}`)),
	},
	{
		name: "trello 400 plain text through the proxy", want: executor.NameActionFailed, contains: []string{"invalid value for idList"},
		setup: func(e *env) executor.Input {
			e.trello.set(answer(400, "invalid value for idList", "Content-Type", "text/plain"))
			return withConn("trello", trelloParams)(e)
		},
	},
	{
		name: "Nango 503", want: executor.NameProviderUnavailable, contains: []string{"Nango"},
		setup: func(e *env) executor.Input {
			x := withConn("slack", slackParams)(e)
			e.fake.Inject(nangofake.Fault{Method: "GET", Path: "/connections/", Status: 503})
			return x
		},
	},
	{
		name: "Nango 429", want: executor.NameRateLimited, contains: []string{"Nango", "retry after 1s"},
		setup: func(e *env) executor.Input {
			x := withConn("slack", slackParams)(e)
			e.fake.Inject(nangofake.Fault{Method: "GET", Path: "/connections/", Status: 429, RetryAfter: "1"})
			return x
		},
	},
	{
		name: "Nango proxy 503 (trello)", want: executor.NameProviderUnavailable,
		setup: func(e *env) executor.Input {
			x := withConn("trello", trelloParams)(e)
			e.fake.Inject(nangofake.Fault{Path: "/proxy/", Status: 503})
			return x
		},
	},
	{
		name: "connection gone from Nango", want: executor.NameReauthRequired,
		setup: func(e *env) executor.Input {
			e.putConn(&connectors.Connection{
				ID: "vanished", OrganizationID: org, UserID: user, Connector: "slack",
				AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack", Status: connectors.StatusActive,
			})
			return in(org, user, "integration.slack.send_message", slackParams())
		},
	},
}

// TestErrorNames runs every failure through the Lambda adapter, which must
// return a messages.InvokeResponse_Error carrying the name (a wrapped Go
// error would lose it), and through Execute, which returns *executor.Error.
func TestErrorNames(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{wait: 100 * time.Millisecond})
			input := tc.setup(e)
			var logs bytes.Buffer
			handler := lambdatask.Executor(e.exec, slog.New(slog.NewJSONHandler(&logs, nil)))

			out, err := handler(t.Context(), input)
			if err == nil {
				t.Fatalf("succeeded with %+v, want %s", out, tc.want)
			}
			ire, ok := err.(messages.InvokeResponse_Error)
			if !ok {
				t.Fatalf("error is %T (%v), want messages.InvokeResponse_Error", err, err)
			}
			if ire.Type != tc.want {
				t.Errorf("errorType %q (%s), want %q", ire.Type, ire.Message, tc.want)
			}
			for _, s := range tc.contains {
				if !strings.Contains(ire.Message, s) {
					t.Errorf("errorMessage %q does not mention %q", ire.Message, s)
				}
			}
			if strings.Contains(ire.Message, "fake_access_token_") || strings.Contains(ire.Message, "fake_oauth1_") {
				t.Errorf("errorMessage leaks a token: %q", ire.Message)
			}
			if !strings.Contains(logs.String(), tc.want) {
				t.Errorf("the log does not record errorType %s: %s", tc.want, logs.String())
			}

			// The executor itself names the error, and says whether Step
			// Functions may retry it.
			again := input
			again.NodeID += "-direct"
			_, err = e.exec.Execute(t.Context(), again)
			xe := errName(t, err)
			if xe.Name != tc.want {
				t.Errorf("Execute: %s, want %s", xe.Name, tc.want)
			}
			retryable := tc.want == executor.NameRateLimited || tc.want == executor.NameProviderUnavailable
			if xe.Retryable() != retryable {
				t.Errorf("Retryable() = %v for %s", xe.Retryable(), xe.Name)
			}
			var target *executor.Error
			if !errors.As(err, &target) || executor.AsError(err) != xe {
				t.Errorf("AsError does not return the executor's own error")
			}
		})
	}
}

// A failed action gives its idempotency key back: the same input runs
// again (and reaches the provider) once the cause is fixed.
func TestFailureReleasesTheKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.stripe.set(sequence(answer(400, `{"error":{"message":"Invalid email address: nope"}}`), answer(200, stripeOK)))
	input := withConn("stripe", stripeParams)(e)
	if _, err := e.exec.Execute(t.Context(), input); errName(t, err).Name != executor.NameActionFailed {
		t.Fatalf("first: %v", err)
	}
	out, err := e.exec.Execute(t.Context(), input)
	if err != nil {
		t.Fatalf("second: %v", err)
	}
	if out.Output["id"] != "cus_NffrFeUfNV2Hib" || e.stripe.count() != 2 {
		t.Errorf("output %v after %d provider calls, want the customer after 2", out.Output, e.stripe.count())
	}
}
