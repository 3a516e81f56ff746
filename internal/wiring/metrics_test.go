package wiring_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/emftest"
	"github.com/automators/connectors/internal/tstest/oauthtest"
	"github.com/automators/connectors/internal/tstest/syncbuf"
	"github.com/automators/connectors/internal/wiring"
)

// Ids and secrets of the metrics flow: none may appear in an EMF line.
const (
	metricsUser   = "user-metrics-7f3a"
	metricsOrg    = "org-metrics-91c2"
	metricsJWTKey = "jwt-secret-for-metrics-tests-0123456789"
	metricsNango  = "nango-SECRET-metrics-key"
	metricsHook   = "webhook-SECRET-metrics-key"
	metricsState  = "state-SECRET-metrics-signing-key-0123456789"
	googleID      = "google-metrics-client"
	googleSecret  = "google-metrics-SECRET"
)

// TestMetricsFlow runs authorize -> callback -> execute -> refresh (and a
// refused request, a replay, a forged webhook, a Gmail connect) through
// the handlers as wired, with DynamoDB, Secrets Manager and KMS on moto,
// the fake Nango, a fake Google and a stand-in for Slack's API, then reads
// the EMF lines the invocations wrote: every line holds to the
// specification, every metric has its dimensions and values, and no
// dimension carries a user, organization or connection id, a token or a
// secret.
func TestMetricsFlow(t *testing.T) {
	// AWS on moto, through the clients wiring builds itself.
	endpoint := awstest.Endpoint(t, "dynamodb")
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	ddb := awstest.DynamoDB(t)
	table := awstest.Table(t, ddb)
	keyARN := awstest.KMSKey(t, awstest.KMS(t))
	secretID := createSecret(t, endpoint, map[string]any{
		"nango_secret_key": metricsNango, "nango_webhook_signing_keys": metricsHook,
		"jwt_hs256_secret": metricsJWTKey, "state_signing_key": metricsState,
		"google_client_id": googleID, "google_client_secret": googleSecret,
	})

	nangoFake := nangofake.New(nangofake.Options{SecretKey: metricsNango, WebhookSigningKey: metricsHook, Integrations: nangofake.RegistryIntegrations(registry.Default())})
	nangoURL := nangoFake.Start()
	t.Cleanup(nangoFake.Close)
	google := oauthtest.New(t, oauthtest.Options{ClientID: googleID, ClientSecret: googleSecret, Rotate: true})
	// Slack refuses the first call (the token was revoked): the executor
	// refreshes and calls again.
	var slackCalls atomic.Int32
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if slackCalls.Add(1) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"channel":"C0123","ts":"1700000000.000100","message":{"text":"hi"}}`)
	}))
	t.Cleanup(slack.Close)

	out := &syncbuf.Buffer{}
	app, err := wiring.New(t.Context(), "", wiring.Options{
		Getenv: env(map[string]string{
			"TABLE_NAME": table, "SECRETS_ID": secretID, "KMS_KEY_ID": keyARN,
			"NANGO_HOST": nangoURL, "PROVIDER_BASE_URLS": "slack=" + slack.URL,
			"PUBLIC_URL": "https://api.automators.test", "REDIRECT_ALLOWLIST": "https://app.automators.test",
			"LOG_LEVEL": "error",
		}),
		LogOutput: io.Discard,
		Metrics:   metrics.NewEMF(out, nil),
		OAuthServers: map[string]*legacyoauth.Provider{
			"gmail": google.GoogleProvider("https://api.automators.test/api/v1/nango/oauth/gmail/callback"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue([]byte(metricsJWTKey), auth.DevClaims{UserID: metricsUser, OrgID: metricsOrg, TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(function, method, target, body string, header http.Header) (int, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		for k, v := range header {
			r.Header[k] = v
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		route, _ := httpapi.RouteOf(function)
		mux := http.NewServeMux()
		mux.Handle(route.Pattern(), app.API(function).Handler(function))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		var got map[string]any
		json.Unmarshal(rec.Body.Bytes(), &got)
		return rec.Code, got
	}

	// authorize -> callback through Nango.
	code, a := serve("nango-authorize", http.MethodGet, "/api/v1/nango/oauth/slack/authorize", "", nil)
	if code != 200 {
		t.Fatalf("authorize: %d %v", code, a)
	}
	nangoID, err := nangoFake.CompleteSession(a["connectSessionToken"].(string))
	if err != nil {
		t.Fatal(err)
	}
	state := a["state"].(string)
	code, cb := serve("nango-callback", http.MethodGet, "/api/v1/nango/oauth/slack/callback?"+url.Values{"state": {state}, "connection_id": {nangoID}}.Encode(), "", nil)
	if code != 200 {
		t.Fatalf("callback: %d %v", code, cb)
	}
	connID := cb["connection"].(map[string]any)["id"].(string)

	// A refused request: an unknown connector.
	if code, _ := serve("nango-authorize", http.MethodGet, "/api/v1/nango/oauth/no-such-app/authorize", "", nil); code != http.StatusNotFound {
		t.Fatalf("unknown connector: %d", code)
	}

	// execute (401, refresh, again), then the same node again: a replay.
	task := app.ExecutorTask()
	in := executor.Input{
		ExecutionID: "exec-metrics-1", NodeID: "node-1", NodeType: "integration.slack.send_message",
		UserID: metricsUser, OrganizationID: metricsOrg, Params: map[string]any{"channel": "C0123", "text": "hi"},
	}
	for range 2 {
		res, err := task(t.Context(), in)
		if err != nil || res.Attempts != 2 {
			t.Fatalf("execute: %+v, %v", res, err)
		}
	}
	// A failed execution: parameters the action refuses.
	in.NodeID, in.Params = "node-2", map[string]any{"channel": "C0123"}
	_, err = task(t.Context(), in)
	if err == nil {
		t.Fatal("execute without text succeeded")
	}
	var failure messages.InvokeResponse_Error // as Step Functions sees it
	if !errors.As(err, &failure) || !strings.HasPrefix(failure.Type, "Connectors.") {
		t.Fatalf("execute failed with %v", err)
	}
	failed := failure.Type

	// refresh through the API.
	if code, body := serve("nango-refresh", http.MethodPost, "/api/v1/nango/oauth/slack/refresh", `{"connectionId":"`+connID+`"}`, nil); code != 200 {
		t.Fatalf("refresh: %d %v", code, body)
	}

	// A forged webhook: refused (the secret is not read again so soon
	// after the cold start; TestAWSClientsCount covers Secrets Manager).
	code, _ = serve("nango-webhook", http.MethodPost, "/api/v1/nango/webhooks", `{"type":"auth"}`,
		http.Header{"X-Nango-Hmac-Sha256": {strings.Repeat("0", 64)}, "Content-Type": {"application/json"}})
	if code < 400 {
		t.Fatalf("forged webhook answered %d", code)
	}

	// Gmail through the built-in OAuth: its token is sealed under the
	// organization's data key (KMS), after the code exchange at Google.
	code, g := serve("nango-authorize", http.MethodGet, "/api/v1/nango/oauth/gmail/authorize", "", nil)
	if code != 200 {
		t.Fatalf("authorize gmail: %d %v", code, g)
	}
	gcode, _ := google.Authorize(t, g["authorizationUrl"].(string))
	if code, body := serve("nango-callback", http.MethodGet, "/api/v1/nango/oauth/gmail/callback?"+url.Values{"state": {g["state"].(string)}, "code": {gcode}}.Encode(), "", nil); code != 200 {
		t.Fatalf("gmail callback: %d %v", code, body)
	}

	lines := emftest.Lines([]byte(out.String()))
	points := emftest.Parse(t, []byte(out.String()))
	got := emftest.Index(points)
	want := map[string]float64{
		// Requests per route; the refused one with its ErrorCode.
		"Requests{Function=nango-authorize}":                                 3,
		"Requests{ErrorCode=unknown_connector,Function=nango-authorize}":     1,
		"ClientErrors{ErrorCode=unknown_connector,Function=nango-authorize}": 1,
		"ClientErrors{Function=nango-authorize}":                             1,
		"ServerErrors{Function=nango-authorize}":                             0,
		"Requests{Function=nango-callback}":                                  2,
		"Requests{Function=nango-refresh}":                                   1,
		"Requests{Function=nango-webhook}":                                   1,
		"ClientErrors{Function=nango-webhook}":                               1,
		// Executions: two ok (the run and its replay), one failed.
		"Executions{Outcome=ok}": 2,
		"Executions{Action=send_message,Connector=slack,Outcome=ok,Target=nango}": 2,
		"Executions{Outcome=" + failed + "}":                                      1,
		"Attempts{Connector=slack}":                                               2,
		"IdempotentReplays{Connector=slack}":                                      1,
		// The executor's refresh on 401 and the API's refresh.
		"Refreshes{}":               2,
		"Refreshes{Provider=nango}": 2,
		// The provider: Slack twice, Google's code exchange once.
		"OutboundCalls{Function=execute-connector,Target=provider}": 2,
		"OutboundCalls{Function=nango-callback,Target=provider}":    1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// Calls whose number is the adapters' business: present, not counted.
	for _, k := range []string{
		"OutboundCalls{Function=nango-authorize,Target=dynamodb}",
		"OutboundCalls{Function=nango-authorize,Target=nango}",
		"OutboundCalls{Function=nango-callback,Target=dynamodb}",
		"OutboundCalls{Function=nango-callback,Target=nango}",
		"OutboundCalls{Function=nango-authorize,Target=kms}", // the data key, for the PKCE verifier
		"OutboundCalls{Function=execute-connector,Target=dynamodb}",
		"OutboundCalls{Function=execute-connector,Target=nango}",
		"OutboundCalls{Function=nango-refresh,Target=nango}",
	} {
		if got[k] < 1 {
			t.Errorf("%s = %v, want at least 1", k, got[k])
		}
	}
	var latency, providerLatency int
	for _, p := range points {
		switch {
		case p.Name == "Latency" && p.Dims["Function"] == "nango-callback" && len(p.Dims) == 1:
			latency += len(p.Values)
		case p.Name == "ProviderLatency" && p.Dims["Connector"] == "slack":
			providerLatency += len(p.Values)
			for _, v := range p.Values {
				if v < 0 {
					t.Errorf("ProviderLatency %v", v)
				}
			}
		}
	}
	if latency != 2 || providerLatency != 2 {
		t.Errorf("Latency of nango-callback has %d values (want 2), ProviderLatency of slack %d (want 2)", latency, providerLatency)
	}

	// No dimension names anything but these, nor holds an id or a secret.
	allowed := map[string]bool{"Function": true, "ErrorCode": true, "Outcome": true, "Connector": true, "Action": true, "Target": true, "Provider": true}
	for _, p := range points {
		for k := range p.Dims {
			if !allowed[k] {
				t.Errorf("point %s has dimension %q", p.Key(), k)
			}
		}
	}
	secrets := []string{metricsUser, metricsOrg, connID, nangoID, tok, state, gcode, metricsNango, metricsHook, metricsState, googleSecret, "exec-metrics-1", "node-1"}
	for _, l := range lines {
		for _, s := range secrets {
			if strings.Contains(string(l), s) {
				t.Errorf("EMF line carries %q: %s", s, l)
			}
		}
	}
	// One invocation flushes its batch once: no function's lines repeat
	// a metric of another invocation (each line names one Function).
	if len(lines) < 10 {
		t.Errorf("%d EMF lines for 10 invocations", len(lines))
	}
	if t.Failed() {
		t.Logf("points: %v\nlines:\n%s", emftest.Keys(got), out.String())
	}
}

// createSecret stores the deployment's secret in the emulator's Secrets
// Manager and returns its id.
func createSecret(t *testing.T, endpoint string, values map[string]any) string {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	b, _ := json.Marshal(values)
	name := "metrics-test-" + time.Now().Format("150405.000000000")
	got, err := client.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(b))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.DeleteSecret(t.Context(), &secretsmanager.DeleteSecretInput{SecretId: got.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	return aws.ToString(got.ARN)
}
