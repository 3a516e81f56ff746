package lambdatask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/sweeper"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

const secretToken = "xoxb-lambdatask-secret-token-31337"

// stubNango hands out one OAuth2 token in process.
type stubNango struct {
	nango.API // only GetConnection and Proxy are called
	gets      atomic.Int64
}

func (n *stubNango) GetConnection(_ context.Context, key, id string, _ nango.GetConnectionOptions) (*nango.Connection, error) {
	n.gets.Add(1)
	return &nango.Connection{ConnectionID: id, ProviderConfigKey: key, Credentials: nango.Credentials{
		Type: "OAUTH2", AccessToken: secretToken, ExpiresAt: time.Now().Add(time.Hour),
	}}, nil
}

func (n *stubNango) Proxy(context.Context, nango.ProxyRequest) (*nango.ProxyResponse, error) {
	return nil, errors.New("not used")
}

type fixture struct {
	handler lambda.Handler
	slack   *httptest.Server
	answer  atomic.Value // func(w, r)
	calls   atomic.Int64
	logs    *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{logs: &bytes.Buffer{}}
	f.answer.Store(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1712345678.000100"}`)
	}))
	f.slack = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.answer.Load().(http.HandlerFunc)(w, r)
	}))
	t.Cleanup(f.slack.Close)

	st, err := boltstore.Open(filepath.Join(t.TempDir(), "store.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateConnection(context.Background(), &connectors.Connection{
		ID: "conn-1", OrganizationID: "org-1", UserID: "user-1", Connector: "slack",
		AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack", Status: connectors.StatusActive,
		CreatedAt: time.Now(), UpdatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	opts := connecttest.Options{Nango: &stubNango{}}
	_, tokens := connecttest.New(st, opts)
	exec := executor.New(executor.Deps{
		Store: st, Registry: cat.Registry(), Router: router.New(router.Policy{}), Providers: connecttest.Providers(opts), Tokens: tokens, Actions: cat,
		HTTP: f.slack.Client(), BaseURLs: map[string]string{"slack": f.slack.URL},
	})
	logger := slog.New(slog.NewJSONHandler(f.logs, nil))
	// The runtime's own handler wrapper: JSON in, JSON out, errors as the
	// runtime reports them.
	f.handler = lambda.NewHandler(lambdatask.Executor(exec, logger))
	return f
}

func payload(nodeType, nodeID string, params string) []byte {
	return []byte(`{"executionId":"arn:aws:states:us-east-1:123456789012:execution:wf:1","nodeId":"` + nodeID +
		`","nodeType":"` + nodeType + `","userId":"user-1","organizationId":"org-1","params":` + params + `}`)
}

func TestExecutorSucceeds(t *testing.T) {
	f := newFixture(t)
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	raw, err := f.handler.Invoke(ctx, payload("integration.slack.send_message", "n1", `{"channel":"C1","text":"hi"}`))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var out struct {
		Status       string         `json:"status"`
		Output       map[string]any `json:"output"`
		Route        map[string]any `json:"route"`
		ConnectionID string         `json:"connectionId"`
		Attempts     int            `json:"attempts"`
		DurationMs   *int64         `json:"durationMs"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	if out.Status != "succeeded" || out.Output["ts"] != "1712345678.000100" || out.ConnectionID != "conn-1" ||
		out.Attempts != 1 || out.DurationMs == nil || out.Route["step"] != 1.0 || out.Route["name"] != "nango_oauth" || out.Route["target"] != "nango" {
		t.Errorf("output %s", raw)
	}
	if strings.Contains(string(raw), secretToken) {
		t.Errorf("output holds the token")
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "req-42") || !strings.Contains(logs, "node succeeded") || !strings.Contains(logs, "execute-connector") {
		t.Errorf("log lacks the request id, function or outcome: %s", logs)
	}
}

func TestExecutorErrorsKeepTheirNames(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		provider http.HandlerFunc
		want     string
		contains string
	}{
		{name: "bad nodeType", in: payload("slack.send_message", "n", `{}`), want: executor.NameInvalidInput, contains: "nodeType"},
		{name: "missing parameter", in: payload("integration.slack.send_message", "n", `{"text":"hi"}`), want: executor.NameInvalidInput, contains: `"channel"`},
		{name: "ill-typed parameter", in: payload("integration.slack.send_message", "n", `{"channel":["C1"],"text":"hi"}`), want: executor.NameInvalidInput, contains: `"channel"`},
		{name: "unknown connector", in: payload("integration.friendster.poke", "n", `{}`), want: executor.NameUnknownConnector},
		{name: "no connection", in: payload("integration.stripe.create_customer", "n", `{"email":"a@b.c"}`), want: executor.NameConnectionNotFound},
		{
			name: "rate limited", in: payload("integration.slack.send_message", "n", `{"channel":"C1","text":"hi"}`), want: executor.NameRateLimited, contains: "retry after 12s",
			provider: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "12")
				w.WriteHeader(429)
				io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
			},
		},
		{
			name: "provider down", in: payload("integration.slack.send_message", "n", `{"channel":"C1","text":"hi"}`), want: executor.NameProviderUnavailable,
			provider: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) },
		},
		{
			name: "action failed, token echoed", in: payload("integration.slack.send_message", "n", `{"channel":"C1","text":"hi"}`), want: executor.NameActionFailed, contains: "not_in_channel",
			provider: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"ok":false,"error":"not_in_channel `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+`"}`)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.provider != nil {
				f.answer.Store(tc.provider)
			}
			_, err := f.handler.Invoke(t.Context(), tc.in)
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			// The runtime type-asserts; errors.As is not enough.
			ire, ok := err.(messages.InvokeResponse_Error)
			if !ok {
				t.Fatalf("error %T %v is not a messages.InvokeResponse_Error", err, err)
			}
			if ire.Type != tc.want {
				t.Errorf("errorType %q (%s), want %q", ire.Type, ire.Message, tc.want)
			}
			if ire.Message == "" || strings.HasPrefix(ire.Message, "Connectors.") || !strings.Contains(ire.Message, tc.contains) {
				t.Errorf("errorMessage %q, want the caller-safe message mentioning %q", ire.Message, tc.contains)
			}
			wire, _ := json.Marshal(ire)
			if !strings.Contains(string(wire), `"errorType":"`+tc.want+`"`) {
				t.Errorf("wire form %s", wire)
			}
			if strings.Contains(string(wire), secretToken) || strings.Contains(f.logs.String(), secretToken) {
				t.Errorf("the token leaked: %s / %s", wire, f.logs.String())
			}
			if !strings.Contains(f.logs.String(), `"errorType":"`+tc.want+`"`) {
				t.Errorf("the log does not record the errorType: %s", f.logs.String())
			}
		})
	}
}

// failingSweepStore fails every listing.
type failingSweepStore struct{}

func (failingSweepStore) ListDueConnections(context.Context, time.Time, int, string) (connectors.ConnectionPage, error) {
	return connectors.ConnectionPage{}, errors.New("dynamodb: connection reset by peer at 10.0.0.1")
}
func (failingSweepStore) SweepCursor(context.Context) (string, error)   { return "", nil }
func (failingSweepStore) SaveSweepCursor(context.Context, string) error { return nil }
func (failingSweepStore) AcquireLease(context.Context, string, string, time.Duration) error {
	return nil
}
func (failingSweepStore) ReleaseLease(context.Context, string, string) error       { return nil }
func (failingSweepStore) AppendAudit(context.Context, connectors.AuditEvent) error { return nil }
func (failingSweepStore) ListAudit(context.Context, string, int) ([]connectors.AuditEvent, error) {
	return nil, nil
}

func TestSweeper(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "store.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.DiscardHandler)

	ok := lambdatask.Sweeper(sweeper.New(st, nil, sweeper.Options{Owner: "test"}), logger)
	for _, in := range []string{``, `{}`, `{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","time":"2026-03-01T12:00:00Z","detail":{}}`} {
		res, err := ok(t.Context(), json.RawMessage(in))
		if err != nil || res.Checked != 0 || res.Cursor != "" {
			t.Errorf("sweep of an empty store with input %q: %+v, %v", in, res, err)
		}
	}

	_, err = ok(t.Context(), json.RawMessage(`{"cursor":`))
	if ire, isIRE := err.(messages.InvokeResponse_Error); !isIRE || ire.Type != executor.NameInvalidInput {
		t.Errorf("invalid JSON: %T %v, want InvalidInput", err, err)
	}

	bad := lambdatask.Sweeper(sweeper.New(failingSweepStore{}, nil, sweeper.Options{Owner: "test"}), logger)
	_, err = bad(t.Context(), nil)
	ire, isIRE := err.(messages.InvokeResponse_Error)
	if !isIRE || ire.Type != executor.NameInternal {
		t.Fatalf("failed sweep: %T %v, want Internal", err, err)
	}
	if strings.Contains(ire.Message, "10.0.0.1") {
		t.Errorf("an internal error's detail reached the caller: %q", ire.Message)
	}
}

// TestBadPayloadsHaveADocumentedName: whatever bytes the runtime hands the
// executor or the sweeper, a payload that is not their JSON input fails as
// Connectors.InvalidInput (never the runtime decoder's SyntaxError), and
// the message does not echo the payload.
func TestBadPayloadsHaveADocumentedName(t *testing.T) {
	f := newFixture(t)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "sweep.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	handlers := map[string]lambda.Handler{
		"executor": f.handler,
		"sweeper":  lambda.NewHandler(lambdatask.Sweeper(sweeper.New(st, nil, sweeper.Options{Owner: "test"}), slog.New(slog.DiscardHandler))),
	}
	for name, h := range handlers {
		for _, in := range []string{`not json secret-ish`, `{"nodeId":`, `"a string"`, `[1,2]`, "\x00\xff", `{"cursor":42,"nodeId":42}`} {
			_, err := h.Invoke(t.Context(), []byte(in))
			ire, ok := err.(messages.InvokeResponse_Error)
			if !ok || ire.Type != executor.NameInvalidInput {
				t.Errorf("%s, payload %q: %T %v, want %s", name, in, err, err, executor.NameInvalidInput)
				continue
			}
			if strings.Contains(ire.Message, "secret-ish") {
				t.Errorf("%s: the message echoes the payload: %q", name, ire.Message)
			}
		}
	}
}
