package statemachine_test

// Test harness: the execute-connector bootstrap under the Runtime Interface
// Emulator, wired to a fresh DynamoDB table on moto, the fake Nango and a
// fake Slack API in this process; the state machine run by run.mjs
// (aws-local-stepfunctions) with its Lambda task sent to that emulator.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/lambdarie"
	"github.com/automators/connectors/internal/tstest/reftest"
	"github.com/automators/connectors/internal/tstest/reporoot"
	"github.com/automators/connectors/internal/tstest/syncbuf"
)

const (
	definitionFile = "execute-node.asl.json"
	runnerFile     = "run.mjs"
	// functionARN stands in for template.yaml's ExecuteConnectorFunction.Arn.
	functionARN = "arn:aws:lambda:us-east-1:123456789012:function:execute-connector"
	// retryIntervalMs replaces the definition's retry waits (seconds, with
	// jitter) so that a test with three retries takes milliseconds.
	retryIntervalMs = "10"

	org  = "org-1"
	user = "user-1"
)

// missingTool skips the test, or fails it under CI=true: CI must run
// everything.
func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	reftest.MissingTool(t, fmt.Sprintf(format, args...))
}

// moduleRoot is the directory of go.mod, above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var npmOnce sync.Once

// nodeRunner returns the node binary, with the runner's packages installed:
// `npm ci` runs here when node_modules is missing (make tools normally does
// it), once per test binary.
func nodeRunner(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missingTool(t, "node not found on PATH: install Node.js 20 or later")
	}
	marker := filepath.Join("node_modules", "aws-local-stepfunctions", "package.json")
	npmOnce.Do(func() {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			return // reported below, as the package being missing
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("npm ci: %v\n%s", err, out)
		}
	})
	if _, err := os.Stat(marker); err != nil {
		missingTool(t, "aws-local-stepfunctions is not installed in internal/statemachine/node_modules: run make tools (npm ci failed or npm is missing)")
	}
	return node
}

var (
	buildOnce sync.Once
	bootstrap string
	buildErr  error
)

// TestMain removes the bootstrap built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if bootstrap != "" {
		os.RemoveAll(filepath.Dir(bootstrap))
	}
	os.Exit(code)
}

// executorBootstrap builds functions/execute-connector for the host, once.
func executorBootstrap(t *testing.T, root string) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "statemachine-test-")
		if err != nil {
			buildErr = err
			return
		}
		bootstrap = filepath.Join(dir, "bootstrap")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		buildErr = lambdarie.Build(ctx, root, "./functions/execute-connector", bootstrap, "")
	})
	if buildErr != nil {
		t.Fatalf("build execute-connector: %v", buildErr)
	}
	return bootstrap
}

// slackAPI stands in for Slack's Web API. It counts chat.postMessage calls
// and answers each with the next of its answers, repeating the last.
type slackAPI struct {
	*httptest.Server
	calls   atomic.Int64
	answers []answer
}

// answer is one canned HTTP answer.
type answer struct {
	status int
	body   string
	header map[string]string
}

var (
	slackOK          = answer{status: 200, body: `{"ok":true,"channel":"C0123","ts":"1712345678.000100","message":{"type":"message","text":"hello"}}`}
	slackUnavailable = answer{status: 503, body: `<html>Service Unavailable</html>`, header: map[string]string{"Content-Type": "text/html"}}
	slackRateLimited = answer{status: 429, body: `{"ok":false,"error":"ratelimited"}`, header: map[string]string{"Retry-After": "1"}}
)

func newSlackAPI(t *testing.T, answers ...answer) *slackAPI {
	s := &slackAPI{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			http.Error(w, `{"ok":false,"error":"unknown_method"}`, http.StatusNotFound)
			return
		}
		n := int(s.calls.Add(1))
		a := s.answers[min(n, len(s.answers))-1]
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

// env is one emulator running execute-connector against its own table,
// fake Nango and fake Slack, with one Slack connection of user in org.
type env struct {
	t            *testing.T
	node         string
	emulator     *lambdarie.Emulator
	slack        *slackAPI
	nango        *nangofake.Server
	connectionID string
}

func newEnv(t *testing.T, slackAnswers ...answer) *env {
	t.Helper()
	return newEnvWith(t, nil, slackAnswers...)
}

// newEnvWith is newEnv whose deployment setup also runs extra with the
// table's store and secrets before the emulator starts; the environment
// variables it returns are added to the function's.
func newEnvWith(t *testing.T, extra func(store *dynamostore.Store, secrets lambdarie.Secrets) []string, slackAnswers ...answer) *env {
	t.Helper()
	root := moduleRoot(t)
	node := nodeRunner(t)
	rie, err := lambdarie.FindRIE(root)
	if err != nil {
		missingTool(t, "%v", err)
	}
	boot := executorBootstrap(t, root)
	ctx := t.Context()

	// A fresh table on moto.
	endpoint := awstest.Endpoint(t, "dynamodb")
	db := awstest.DynamoDB(t)
	table := awstest.Table(t, db)
	store := dynamostore.New(db, table, []byte("cursor-key"))

	// The fake Nango with a completed Slack connection tagged with the
	// user and organization, and its record in the table.
	secrets := lambdarie.NewSecrets()
	m, ok := registry.Default().Lookup("slack")
	if !ok {
		t.Fatal("no slack manifest in the registry")
	}
	fake := nangofake.New(nangofake.Options{
		SecretKey:    secrets.NangoSecretKey,
		Integrations: []nangofake.Integration{{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider}},
	})
	nangoURL := fake.Start()
	t.Cleanup(fake.Close)
	sess, err := nango.New(nangoURL, secrets.NangoSecretKey).CreateConnectSession(ctx, nango.ConnectSessionRequest{
		Tags:                map[string]string{nango.TagUser: user, nango.TagOrg: org},
		AllowedIntegrations: []string{m.ProviderConfigKey},
	})
	if err != nil {
		t.Fatalf("CreateConnectSession: %v", err)
	}
	connID, err := fake.CompleteSession(sess.Token)
	if err != nil {
		t.Fatalf("CompleteSession: %v", err)
	}
	now := time.Now().UTC()
	if err := store.CreateConnection(ctx, &connectors.Connection{
		ID: connID, OrganizationID: org, UserID: user, Connector: "slack",
		AuthProvider: connectors.ProviderNango, ProviderConfigKey: m.ProviderConfigKey,
		Status: connectors.StatusActive, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		// moto now and then garbles an answer (a checksum mismatch): the
		// SDK retries the conditional put, which then finds the item its
		// first try wrote. That item is ours.
		got, gerr := store.GetConnection(ctx, org, connID)
		if !errors.Is(err, connectors.ErrConflict) || gerr != nil || got.UserID != user || got.Connector != "slack" {
			t.Fatalf("CreateConnection: %v", err)
		}
	}

	slack := newSlackAPI(t, slackAnswers...)
	var extraEnv []string
	if extra != nil {
		extraEnv = extra(store, secrets)
	}

	logs := &syncbuf.Buffer{}
	emu, err := lambdarie.Start(ctx, lambdarie.Config{
		RIE:          rie,
		Bootstrap:    boot,
		FunctionName: "execute-connector",
		Output:       logs,
		Env: append([]string{
			"TABLE_NAME=" + table,
			"AWS_ENDPOINT_URL=" + endpoint,
			"AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=test",
			"AWS_SECRET_ACCESS_KEY=test",
			"AWS_EC2_METADATA_DISABLED=true",
			"NANGO_HOST=" + nangoURL,
			"PROVIDER_BASE_URLS=slack=" + slack.URL,
			"LOG_LEVEL=debug",
		}, append(secrets.Env(), extraEnv...)...),
	})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := emu.Stop(); err != nil {
			t.Errorf("stop emulator: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})
	return &env{t: t, node: node, emulator: emu, slack: slack, nango: fake, connectionID: connID}
}

// report is what run.mjs prints for one execution.
type report struct {
	Status      string          `json:"status"` // SUCCEEDED, FAILED, TIMED_OUT
	Output      json.RawMessage `json:"output"`
	Error       string          `json:"error"`
	Cause       string          `json:"cause"`
	Invocations int             `json:"invocations"` // POSTs to the emulator
	LostAnswers int             `json:"lostAnswers"`
	Events      []event         `json:"events"`
}

type event struct {
	Type  string `json:"type"`
	State string `json:"state"`
	Error string `json:"error"`
}

// count returns how many events have type typ (and error errName, when
// given).
func (r *report) count(typ string, errName ...string) int {
	n := 0
	for _, e := range r.Events {
		if e.Type == typ && (len(errName) == 0 || e.Error == errName[0]) {
			n++
		}
	}
	return n
}

// entered reports whether the execution entered state.
func (r *report) entered(state string) bool {
	for _, e := range r.Events {
		if e.Type == "StateEntered" && e.State == state {
			return true
		}
	}
	return false
}

// run executes the state machine once with input, through run.mjs.
func (e *env) run(input map[string]any, flags ...string) *report {
	e.t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		e.t.Fatal(err)
	}
	r, stderr, err := runNode(e.t, e.node, in, append([]string{
		"--definition", definitionFile,
		"--lambda-url", e.emulator.URL,
		"--sub", "ExecuteConnectorFunctionArn=" + functionARN,
		"--retry-interval-ms", retryIntervalMs,
	}, flags...)...)
	if err != nil {
		e.t.Fatalf("run.mjs: %v\nstderr:\n%s", err, stderr)
	}
	return r
}

// runNode runs run.mjs with args and stdin. An execution that failed is a
// report, not an error; err is the runner's own failure (exit status 2).
func runNode(t *testing.T, node string, stdin []byte, args ...string) (*report, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{runnerFile}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, stderr.String(), err
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, stderr.String(), fmt.Errorf("decode report %q: %w", stdout.String(), err)
	}
	if (r.Status == "SUCCEEDED") != (cmd.ProcessState.ExitCode() == 0) {
		return nil, stderr.String(), fmt.Errorf("status %s with exit status %d", r.Status, cmd.ProcessState.ExitCode())
	}
	return &r, stderr.String(), nil
}

var nodeSeq atomic.Int64

// nodeInput is the input of a Slack send_message node with a fresh node id
// (the default idempotency key is executionId/nodeId).
func nodeInput(params map[string]any) map[string]any {
	return map[string]any{
		"executionId":    "arn:aws:states:us-east-1:123456789012:execution:workflow:run-1",
		"nodeId":         fmt.Sprintf("node-%d-%d", time.Now().UnixNano(), nodeSeq.Add(1)),
		"nodeType":       "integration.slack.send_message",
		"userId":         user,
		"organizationId": org,
		"params":         params,
	}
}

func slackParams() map[string]any { return map[string]any{"channel": "C0123", "text": "hello"} }
