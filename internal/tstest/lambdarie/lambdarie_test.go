package lambdarie

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/local/samtemplate"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/emftest"
	"github.com/automators/connectors/internal/tstest/reftest"
	"github.com/automators/connectors/internal/tstest/syncbuf"
)

// Identity of the sample events: the token's user and organization, and the
// connection the events name.
const (
	sampleUser = "user_123"
	sampleOrg  = "org_456"
	sampleConn = "conn_01JD8Z3Q4T6X9B2C5E7G8H1K3M"
)

var (
	repoRoot string
	buildDir string
	builds   sync.Map // package path -> *buildResult
	buildMu  sync.Mutex
)

type buildResult struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	tpl, err := samtemplate.Locate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = filepath.Dir(tpl)
	if buildDir, err = os.MkdirTemp("", "lambdarie-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	os.Exit(code)
}

// rieBinary returns the emulator, skipping the test where it is missing,
// except under CI=true where a missing tool fails.
func rieBinary(t testing.TB) string {
	t.Helper()
	p, err := FindRIE(repoRoot)
	if err != nil {
		reftest.MissingTool(t, err.Error())
	}
	return p
}

// bootstrap builds pkg once per test binary, for the host architecture.
func bootstrap(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		buildMu.Lock() // one go build at a time: they share the CPU and the build cache
		defer buildMu.Unlock()
		b.path = filepath.Join(buildDir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_"), "bootstrap")
		b.err = Build(context.Background(), repoRoot, pkg, b.path, "")
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// backend is what a deployed function has around it: a table (in moto), its
// secrets, and Nango (the fake, on loopback).
type backend struct {
	env     []string
	secrets Secrets
	token   string // the sample user's
	admin   string // the sample user's, as an admin of the organization
	store   *dynamostore.Store
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	endpoint := awstest.Endpoint(t, "dynamodb")
	client := awstest.DynamoDB(t)
	table := awstest.Table(t, client)

	sec := NewSecrets()
	ins := nangofake.RegistryIntegrations(registry.Default())
	fake := nangofake.New(nangofake.Options{SecretKey: sec.NangoSecretKey, WebhookSigningKey: sec.WebhookSigningKey, Integrations: ins})
	nangoURL := fake.Start()
	t.Cleanup(fake.Close)
	// Stripe's balance read, the test call of the sample events' API key.
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet || r.URL.Path != "/v1/balance" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_test_") {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`)
			return
		}
		io.WriteString(w, `{"object":"balance","livemode":false,"available":[],"pending":[]}`)
	}))
	t.Cleanup(stripe.Close)

	token, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{UserID: sampleUser, OrgID: sampleOrg, TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{UserID: sampleUser, OrgID: sampleOrg, Roles: []string{"admin"}, TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	env := append([]string{
		"TABLE_NAME=" + table,
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"NANGO_HOST=" + nangoURL,
		"PROVIDER_BASE_URLS=stripe=" + stripe.URL,
		"REDIRECT_ALLOWLIST=https://app.automators.dev",
		"CORS_ALLOW_ORIGINS=https://app.automators.dev",
		"LOG_LEVEL=debug",
	}, sec.Env()...)
	store := dynamostore.New(client, table, seal.DeriveKey([]byte(sec.StateSigningKey), "cursor"))
	return &backend{env: env, secrets: sec, token: token, admin: admin, store: store}
}

// seedConnection stores the sample events' connection, owned by their user.
func (b *backend) seedConnection(t *testing.T) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	err := b.store.CreateConnection(context.Background(), &connectors.Connection{
		ID: sampleConn, OrganizationID: sampleOrg, UserID: sampleUser,
		Connector: "slack", AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack",
		Status: connectors.StatusActive, Scopes: []string{"chat:write"},
		CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// event reads a sample event and fills its placeholders.
func (b *backend) event(t *testing.T, name string) []byte {
	t.Helper()
	return b.eventAs(t, name, b.token)
}

// eventAs reads a sample event and fills its placeholders, with token as
// its bearer token.
func (b *backend) eventAs(t *testing.T, name, token string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := PrepareEvent(raw, token, func(body []byte) string { return nango.SignWebhook(body, b.secrets.WebhookSigningKey) })
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// run invokes folder's bootstrap once under its own emulator.
func run(t *testing.T, folder string, env []string, event []byte) (*Result, string) {
	t.Helper()
	rie := rieBinary(t)
	bin := bootstrap(t, "./functions/"+folder)
	var logs syncbuf.Buffer
	emu, err := Start(context.Background(), Config{RIE: rie, Bootstrap: bin, Env: env, FunctionName: folder, Output: &logs})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := emu.Invoke(ctx, event)
	// The emulator relays the function's output as it comes: stop it
	// before reading, so the logs hold every line (the init lines too).
	emu.Stop()
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs.String())
	}
	return res, logs.String()
}

// TestFunctionsAnswerSampleEvents runs every function's bootstrap under the
// emulator with its sample event from events/ and checks the real answer.
func TestFunctionsAnswerSampleEvents(t *testing.T) {
	type want struct {
		status   int    // HTTP functions: the API Gateway answer's status
		code     string // HTTP: error code; executor/sweeper: errorType ("" = success)
		bodyHas  string // a fragment the body must hold
		noHeader bool   // remove the authorization header first
		admin    bool   // the token is an organization admin's
	}
	tests := []struct {
		name, folder string
		seed         bool
		want         want
	}{
		{"authorize", "nango-authorize", false, want{status: 200, bodyHas: `"authorizationUrl":"`}},
		{"authorize without token", "nango-authorize", false, want{status: 401, code: "unauthorized", noHeader: true}},
		{"callback with a forged state", "nango-callback", false, want{status: 400, code: "invalid_state"}},
		{"refresh of an unknown connection", "nango-refresh", false, want{status: 404, code: "not_found"}},
		{"list", "nango-list-connections", true, want{status: 200, bodyHas: `"id":"` + sampleConn + `"`}},
		{"list without token", "nango-list-connections", false, want{status: 401, code: "unauthorized", noHeader: true}},
		{"get", "nango-get-connection", true, want{status: 200, bodyHas: `"connection":{"id":"` + sampleConn + `"`}},
		{"get unknown", "nango-get-connection", false, want{status: 404, code: "not_found"}},
		{"delete", "nango-delete-connection", true, want{status: 204}},
		{"create", "nango-create-connection", false, want{status: 201, bodyHas: `"authProvider":"api_key"`}},
		{"create without token", "nango-create-connection", false, want{status: 401, code: "unauthorized", noHeader: true}},
		{"rotate of an unknown connection", "nango-rotate-credentials", false, want{status: 404, code: "not_found"}},
		{"share", "nango-update-connection", true, want{status: 200, bodyHas: `"shared":true`, admin: true}},
		{"share as a member", "nango-update-connection", true, want{status: 403, code: "forbidden"}},
		{"share of an unknown connection", "nango-update-connection", false, want{status: 404, code: "not_found", admin: true}},
		{"catalogue", "nango-list-connectors", true, want{status: 200, bodyHas: `"defaultConnectionId":"` + sampleConn + `"`}},
		{"catalogue without token", "nango-list-connectors", false, want{status: 401, code: "unauthorized", noHeader: true}},
		{"connector", "nango-get-connector", true, want{status: 200, bodyHas: `"inputSchema":{`}},
		{"connector without token", "nango-get-connector", false, want{status: 401, code: "unauthorized", noHeader: true}},
		{"executions", "nango-list-executions", true, want{status: 200, bodyHas: `"connectionId":"` + sampleConn + `","executions":[]`}},
		{"executions of an unknown connection", "nango-list-executions", false, want{status: 404, code: "not_found"}},
		{"webhook", "nango-webhook", false, want{status: 200, bodyHas: `{"received":true}`}},
		{"execute without a connection", "execute-connector", false, want{code: executeAnswer()}},
		{"sweep", "connection-sweeper", false, want{}},
	}
	var folders []string
	for _, tt := range tests {
		folders = append(folders, tt.folder)
	}
	everyFunction(t, folders)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t)
			if tt.seed {
				b.seedConnection(t)
			}
			ev := b.event(t, tt.folder)
			if tt.want.admin {
				ev = b.eventAs(t, tt.folder, b.admin)
			}
			if tt.want.noHeader {
				ev = withoutHeader(t, ev, "authorization")
			}
			res, logs := run(t, tt.folder, b.env, ev)
			if res.StatusCode != 200 {
				t.Fatalf("emulator answered %d: %s\nlogs:\n%s", res.StatusCode, res.Payload, logs)
			}
			// The invocation's metrics, on stdout as EMF lines, name its function.
			if !slices.ContainsFunc(emftest.Parse(t, []byte(logs)), func(p emftest.Point) bool { return p.Dims["Function"] == tt.folder }) {
				t.Errorf("no EMF line names Function %s; logs:\n%s", tt.folder, logs)
			}
			if tt.want.status == 0 { // a Step Functions or schedule invocation
				fe := res.FunctionError()
				got := ""
				if fe != nil {
					got = fe.Type
				}
				if got != tt.want.code {
					t.Fatalf("errorType %q, want %q; payload %s\nlogs:\n%s", got, tt.want.code, res.Payload, logs)
				}
				if fe == nil && !json.Valid(res.Payload) {
					t.Fatalf("payload is not JSON: %s", res.Payload)
				}
				return
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(res.Payload, &resp); err != nil || res.FunctionError() != nil {
				t.Fatalf("not an API Gateway response (%v): %s\nlogs:\n%s", err, res.Payload, logs)
			}
			if resp.StatusCode != tt.want.status {
				t.Fatalf("status %d, want %d; body %s\nlogs:\n%s", resp.StatusCode, tt.want.status, resp.Body, logs)
			}
			if tt.want.code != "" {
				var body struct {
					Error struct{ Code, Message, RequestID string }
				}
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
					t.Fatalf("error body %q: %v", resp.Body, err)
				}
				if body.Error.Code != tt.want.code || body.Error.RequestID == "" {
					t.Errorf("error %+v, want code %q with a request id", body.Error, tt.want.code)
				}
			}
			if tt.want.status == 401 && resp.Headers["WWW-Authenticate"] == "" {
				t.Errorf("401 without WWW-Authenticate: %v", resp.Headers)
			}
			if !strings.Contains(resp.Body, tt.want.bodyHas) {
				t.Errorf("body %s does not hold %s", resp.Body, tt.want.bodyHas)
			}
		})
	}
}

// everyFunction fails the test when a function of template.yaml has none
// of the folders: a table of cases must grow with the template.
func everyFunction(t *testing.T, folders []string) {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, samtemplate.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tpl.Functions {
		if !slices.Contains(folders, f.Folder) {
			t.Errorf("%s (%s) has no case", f.LogicalID, f.Folder)
		}
	}
}

// executeAnswer is the executor's answer to its sample event with no
// connection stored.
func executeAnswer() string { return "Connectors.ConnectionNotFound" }

// TestEveryFunctionHasASampleEvent: events/ has one event per function of
// template.yaml, and each HTTP event names its function's route.
func TestEveryFunctionHasASampleEvent(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(repoRoot, samtemplate.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tpl.Functions {
		raw, err := os.ReadFile(filepath.Join(repoRoot, "events", f.Folder+".json"))
		if err != nil {
			t.Errorf("%s: %v", f.LogicalID, err)
			continue
		}
		if len(f.Routes) == 0 {
			if !json.Valid(raw) {
				t.Errorf("events/%s.json is not JSON", f.Folder)
			}
			continue
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("events/%s.json: %v", f.Folder, err)
			continue
		}
		if ev.Version != "2.0" || ev.RouteKey != f.Routes[0].Key() || ev.RequestContext.RouteKey != ev.RouteKey ||
			ev.RequestContext.HTTP.Method != f.Routes[0].Method || ev.RawPath != ev.RequestContext.HTTP.Path {
			t.Errorf("events/%s.json: routeKey %q method %q rawPath %q, want route %q",
				f.Folder, ev.RouteKey, ev.RequestContext.HTTP.Method, ev.RawPath, f.Routes[0].Key())
		}
	}
}

// TestBootstrapsLinkNoLocalOnlyCode keeps the embedded store, the fake Nango
// and the local API out of every function.
func TestBootstrapsLinkNoLocalOnlyCode(t *testing.T) {
	forbidden := []string{"go.etcd.io/bbolt", "/internal/local/boltstore", "/internal/local/nangofake", "/internal/local/localapi", "/internal/local/localdev", "/internal/tstest/awstest", "/internal/local/localkms"}
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "-f", "{{.ImportPath}}", "./functions/...")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for pkg := range strings.SplitSeq(string(out), "\n") {
		for _, f := range forbidden {
			if strings.HasSuffix(pkg, f) || pkg == f || strings.Contains(pkg, f+"/") {
				t.Errorf("a function links %s", pkg)
			}
		}
	}
}

// TestColdStart reports the emulator's start-to-first-answer time for a
// real function against a hello-world aws-lambda-go bootstrap, measured in
// the same run (median of several), and fails only if the function does not
// answer. Run with -v to see the figures.
func TestColdStart(t *testing.T) {
	rie := rieBinary(t)
	b := newBackend(t)
	const rounds = 5
	cases := []struct {
		name, pkg string
		event     []byte
	}{
		{"hello", "./internal/tstest/lambdarie/testdata/hello", []byte(`{}`)},
		{"nango-list-connections", "./functions/nango-list-connections", b.event(t, "nango-list-connections")},
	}
	times := map[string][]time.Duration{}
	for range rounds {
		for _, c := range cases { // interleaved, so drift hits both alike
			d, err := coldStart(rie, bootstrap(t, c.pkg), b.env, c.event)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			times[c.name] = append(times[c.name], d)
		}
	}
	for _, c := range cases {
		ds := times[c.name]
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("start-to-first-answer %-24s median %7.1f ms  (min %.1f, max %.1f, n=%d)",
			c.name, ms(ds[len(ds)/2]), ms(ds[0]), ms(ds[len(ds)-1]), len(ds))
	}
}

// BenchmarkColdStart measures one emulator start to first answer per
// iteration, for the hello-world baseline and a real function.
func BenchmarkColdStart(b *testing.B) {
	rie := rieBinary(b)
	be := benchBackend(b)
	for _, c := range []struct{ name, pkg string }{
		{"hello", "./internal/tstest/lambdarie/testdata/hello"},
		{"nango-list-connections", "./functions/nango-list-connections"},
	} {
		bin := bootstrap(b, c.pkg)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := coldStart(rie, bin, be.env, be.listEvent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchEnv is the minimal backend of the benchmark: the list function needs
// a table and secrets; the hello bootstrap ignores them.
type benchEnv struct {
	env       []string
	listEvent []byte
}

func benchBackend(b *testing.B) benchEnv {
	b.Helper()
	endpoint := awstest.Endpoint(b, "dynamodb")
	table := awstest.Table(b, awstest.DynamoDB(b))
	sec := NewSecrets()
	token, err := auth.Issue([]byte(sec.JWTHS256Secret), auth.DevClaims{UserID: sampleUser, OrgID: sampleOrg, TTL: time.Hour}, "")
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "events", "nango-list-connections.json"))
	if err != nil {
		b.Fatal(err)
	}
	ev, _ := PrepareEvent(raw, token, nil)
	env := append([]string{"TABLE_NAME=" + table, "AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "LOG_LEVEL=error"}, sec.Env()...)
	return benchEnv{env: env, listEvent: ev}
}

// coldStart starts an emulator, invokes it once and stops it, returning the
// time from the emulator's start to the first answer.
func coldStart(rie, bin string, env []string, event []byte) (time.Duration, error) {
	emu, err := Start(context.Background(), Config{RIE: rie, Bootstrap: bin, Env: env})
	if err != nil {
		return 0, err
	}
	defer emu.Stop()
	res, err := emu.Invoke(context.Background(), event)
	if err != nil {
		return 0, err
	}
	d := time.Since(emu.Started)
	if res.StatusCode != 200 || res.FunctionError() != nil {
		return 0, fmt.Errorf("answer %d %s", res.StatusCode, res.Payload)
	}
	return d, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func withoutHeader(t *testing.T, event []byte, name string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	delete(ev["headers"].(map[string]any), name)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrepareEvent(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"token", `{"headers":{"authorization":"Bearer ` + TokenPlaceholder + `"}}`, `{"headers":{"authorization":"Bearer tok"}}`},
		{"signature over the body", `{"body":"abc","headers":{"x":"` + SignaturePlaceholder + `"}}`, `{"body":"abc","headers":{"x":"sig(abc)"}}`},
		{"signature over the decoded body", `{"body":"YWJj","isBase64Encoded":true,"headers":{"x":"` + SignaturePlaceholder + `"}}`, `{"body":"YWJj","isBase64Encoded":true,"headers":{"x":"sig(abc)"}}`},
		{"nothing to do", `{"a":1}`, `{"a":1}`},
	}
	for _, tt := range tests {
		got, err := PrepareEvent([]byte(tt.in), "tok", func(b []byte) string { return "sig(" + string(b) + ")" })
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: got %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}

func TestFunctionError(t *testing.T) {
	tests := []struct {
		payload string
		want    string
	}{
		{`{"errorType":"Connectors.RateLimited","errorMessage":"slow down"}`, "Connectors.RateLimited"},
		{`{"errorMessage":"x","errorType":"Runtime.ExitError","stackTrace":[]}`, "Runtime.ExitError"},
		{`{"status":"succeeded","errorType":"x"}`, ""},
		{`{"statusCode":200}`, ""},
		{`not json`, ""},
	}
	for _, tt := range tests {
		fe := (&Result{Payload: []byte(tt.payload)}).FunctionError()
		got := ""
		if fe != nil {
			got = fe.Type
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.payload, got, tt.want)
		}
	}
}
