package wiring_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/composiofake"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/tstest/emftest"
	"github.com/automators/connectors/internal/tstest/syncbuf"
	"github.com/automators/connectors/internal/wiring"
)

// composioWorld is a deployment routing Slack to Composio (step 6), with
// the fake Composio in front of a stand-in for Slack's API.
type composioWorld struct {
	app   *wiring.App
	fake  *composiofake.Server
	slack []*http.Request
	emf   *syncbuf.Buffer // the invocations' metrics
}

func newComposioWorld(t *testing.T) *composioWorld {
	t.Helper()
	w := &composioWorld{emf: &syncbuf.Buffer{}}
	slack := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.slack = append(w.slack, r.Clone(r.Context()))
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, `{"ok":true,"channel":"C0123","ts":"1700000000.000100","message":{"text":"hi"}}`)
	}))
	t.Cleanup(slack.Close)
	w.fake = composiofake.New(composiofake.Options{
		APIKey:      "composio-project-key",
		AuthConfigs: []composiofake.AuthConfig{{ID: "ac_slack1", Toolkit: "slack"}},
		Upstreams:   map[string]string{"slack": slack.URL},
	})
	base := w.fake.Start()
	t.Cleanup(w.fake.Close)
	var err error
	w.app, err = wiring.New(t.Context(), "test", wiring.Options{
		Store: boltStore(t),
		Getenv: env(merge(legacyKeys(), map[string]string{
			"COMPOSIO_API_KEY": "composio-project-key", "COMPOSIO_BASE_URL": base,
			"COMPOSIO_AUTH_CONFIGS": "slack=ac_slack1", "ROUTING_POLICY": "slack=composio",
			"PUBLIC_URL": "https://api.automators.test", "LOG_LEVEL": "error",
		})),
		Metrics: metrics.NewEMF(w.emf, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *composioWorld) token(t *testing.T, user string) string {
	tok, err := auth.Issue([]byte("jwt-secret-for-wiring-tests-0123456789"), auth.DevClaims{UserID: user, OrgID: "acme", TTL: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

// serve sends one request to function's handler.
func (w *composioWorld) serve(t *testing.T, function, method, target, token string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	route, ok := httpapi.RouteOf(function)
	if !ok {
		t.Fatalf("no route for %s", function)
	}
	mux := http.NewServeMux()
	mux.Handle(route.Pattern(), w.app.API(function).Handler(function))
	mux.ServeHTTP(rec, r)
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

// outbound is the OutboundCalls function's invocations made to target.
func (w *composioWorld) outbound(t *testing.T, function, target string) float64 {
	t.Helper()
	return emftest.Index(emftest.Parse(t, []byte(w.emf.String())))["OutboundCalls{Function="+function+",Target="+target+"}"]
}

// connect authorizes slack for user and completes the link at the fake,
// returning the callback URL Composio sends the browser to.
func (w *composioWorld) connect(t *testing.T, user string) string {
	t.Helper()
	code, body := w.serve(t, "nango-authorize", http.MethodGet, "/api/v1/nango/oauth/slack/authorize", w.token(t, user))
	if code != 200 {
		t.Fatalf("authorize: %d %v", code, body)
	}
	route := body["route"].(map[string]any)
	if route["step"] != float64(6) || route["target"] != "composio" {
		t.Fatalf("route %v, want step 6 (composio)", route)
	}
	back, err := w.fake.CompleteLink(body["authorizationUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// callback sends Composio's redirect to our callback function.
func (w *composioWorld) callback(t *testing.T, back, token string) (int, map[string]any) {
	t.Helper()
	u, err := url.Parse(back)
	if err != nil || u.Host != "api.automators.test" || u.Path != "/api/v1/nango/oauth/slack/callback" {
		t.Fatalf("Composio sends the browser to %q", back)
	}
	return w.serve(t, "nango-callback", http.MethodGet, u.RequestURI(), token)
}

// TestComposioFlow: connect -> callback -> execute -> delete through
// Composio: the account is confirmed ACTIVE and the state's user's before
// anything is stored, only its id is kept, actions go through Composio's
// proxy, and delete removes the account at Composio.
func TestComposioFlow(t *testing.T) {
	w := newComposioWorld(t)
	ctx := t.Context()
	code, body := w.callback(t, w.connect(t, "u1"), w.token(t, "u1"))
	if code != 200 {
		t.Fatalf("callback: %d %v", code, body)
	}
	conn := body["connection"].(map[string]any)
	id := conn["id"].(string)
	if conn["authProvider"] != "composio" || !strings.HasPrefix(id, "ca_") {
		t.Fatalf("connection %v", conn)
	}
	stored, err := w.app.Store.GetConnection(ctx, "acme", id)
	if err != nil || len(stored.SealedToken) != 0 {
		t.Fatalf("stored %+v (%v): Composio keeps the tokens, we keep only the account id", stored, err)
	}

	out, err := w.app.Executor.Execute(ctx, executor.Input{
		ExecutionID: "exec-1", NodeID: "n1", NodeType: "integration.slack.send_message",
		UserID: "u1", OrganizationID: "acme", Params: map[string]any{"channel": "C0123", "text": "hi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Route.Step != 6 || out.ConnectionID != id {
		t.Fatalf("executed on %+v, %s", out.Route, out.ConnectionID)
	}
	acct, _ := w.fake.Account(id)
	if len(w.slack) != 1 || w.slack[0].URL.Path != "/api/chat.postMessage" || w.slack[0].Header.Get("Authorization") != "Bearer "+acct.AccessToken {
		t.Fatalf("Slack saw %d requests; want one chat.postMessage with the account's token from Composio", len(w.slack))
	}
	if w.fake.Requests(http.MethodPost, "/api/v3/tools/execute/proxy") != 1 {
		t.Error("the action did not go through Composio's proxy")
	}

	// An expired account: the executor says reauth, the record says so.
	if err := w.fake.Expire(id); err != nil {
		t.Fatal(err)
	}
	w.app.Tokens.Forget(stored)
	_, err = w.app.Executor.Execute(ctx, executor.Input{
		ExecutionID: "exec-2", NodeID: "n1", NodeType: "integration.slack.send_message",
		UserID: "u1", OrganizationID: "acme", Params: map[string]any{"channel": "C0123", "text": "hi"},
	})
	if xe := executor.AsError(err); xe == nil || xe.Name != executor.NameReauthRequired {
		t.Fatalf("expired account: %v", err)
	}
	if got, _ := w.app.Store.GetConnection(ctx, "acme", id); got.Status != connectors.StatusReauthRequired {
		t.Errorf("status %s after Composio said EXPIRED", got.Status)
	}

	code, _ = w.serve(t, "nango-delete-connection", http.MethodDelete, "/api/v1/nango/connections/"+id, w.token(t, "u1"))
	if code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if a, _ := w.fake.Account(id); !a.Deleted {
		t.Error("the account is still at Composio")
	}
	for _, fn := range []string{"nango-authorize", "nango-callback", "nango-delete-connection"} {
		if w.outbound(t, fn, "composio") < 1 {
			t.Errorf("%s made no OutboundCalls to composio", fn)
		}
	}
}

// TestComposioCallbackAttacks: another user's connected account, or a
// failed link, in a callback stores nothing.
func TestComposioCallbackAttacks(t *testing.T) {
	w := newComposioWorld(t)
	mallory := w.connect(t, "mallory")
	victimBack := w.connect(t, "victim")

	// The victim's state with mallory's account id.
	mu, _ := url.Parse(mallory)
	vu, _ := url.Parse(victimBack)
	q := vu.Query()
	q.Set("connected_account_id", mu.Query().Get("connected_account_id"))
	vu.RawQuery = q.Encode()
	if code, body := w.callback(t, vu.String(), ""); code != 403 {
		t.Fatalf("another user's account: %d %v, want 403", code, body)
	}
	page, err := w.app.Store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: "acme"})
	if err != nil || len(page.Connections) != 0 {
		t.Fatalf("%d connections stored after the attack (%v)", len(page.Connections), err)
	}

	// A refused link.
	code, body := w.serve(t, "nango-authorize", http.MethodGet, "/api/v1/nango/oauth/slack/authorize", w.token(t, "u2"))
	if code != 200 {
		t.Fatal(body)
	}
	back, err := w.fake.FailLink(body["authorizationUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := w.callback(t, back, ""); code != 400 {
		t.Fatalf("failed link: %d %v, want 400", code, body)
	}
	page, _ = w.app.Store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: "acme"})
	if len(page.Connections) != 0 {
		t.Fatalf("%d connections stored after a failed link", len(page.Connections))
	}
}

// boltStore opens a fresh embedded store, closed when the test ends.
func boltStore(t *testing.T) *boltstore.Store {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "c.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}
