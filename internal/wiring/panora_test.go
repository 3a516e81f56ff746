package wiring_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/local/panorafake"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/tstest/syncbuf"
	"github.com/automators/connectors/internal/wiring"
)

// panoraWorld is a deployment routing HubSpot to Panora (step 5), with the
// fake Panora in front of a stand-in for HubSpot's API.
type panoraWorld struct {
	composioWorld // the same request helpers
	fake          *panorafake.Server
	mu            sync.Mutex
	hubspot       []*http.Request
}

func newPanoraWorld(t *testing.T) *panoraWorld {
	t.Helper()
	w := &panoraWorld{}
	w.emf = &syncbuf.Buffer{}
	hub := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.hubspot = append(w.hubspot, r.Clone(r.Context()))
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, `{"id":"501","properties":{"email":"ada@example.com"},"createdAt":"2026-12-02T08:00:00Z","archived":false}`)
	}))
	t.Cleanup(hub.Close)
	w.fake = panorafake.New(panorafake.Options{
		APIKey: "panora-api-key", DashboardToken: "panora-dashboard-jwt",
		Upstreams: map[string]string{"hubspot": hub.URL},
	})
	host := w.fake.Start()
	t.Cleanup(w.fake.Close)
	var err error
	w.app, err = wiring.New(t.Context(), "test", wiring.Options{
		Store: boltStore(t),
		Getenv: env(merge(legacyKeys(), map[string]string{
			"PANORA_API_KEY": "panora-api-key", "PANORA_DASHBOARD_TOKEN": "panora-dashboard-jwt",
			"PANORA_HOST": host, "PANORA_CONNECT_HOST": w.fake.ConnectURL(),
			"ROUTING_POLICY": "hubspot=panora", "LOG_LEVEL": "error",
		})),
		Metrics: metrics.NewEMF(w.emf, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// connect authorizes hubspot for user, connects it on the magic-link page
// and returns the flow's state (the page never returns to us: the front
// end calls the callback with the state when the page closes).
func (w *panoraWorld) connect(t *testing.T, user string) (state string, c panorafake.Connection) {
	t.Helper()
	code, body := w.serve(t, "nango-authorize", http.MethodGet, "/api/v1/nango/oauth/hubspot/authorize", w.token(t, user))
	if code != 200 {
		t.Fatalf("authorize: %d %v", code, body)
	}
	route := body["route"].(map[string]any)
	if route["step"] != float64(5) || route["target"] != "panora" {
		t.Fatalf("route %v, want step 5 (panora)", route)
	}
	u, err := url.Parse(body["authorizationUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	c, err = w.fake.CompleteMagicLink(u.Query().Get("uniqueLink"), "crm", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	return body["state"].(string), c
}

func (w *panoraWorld) execute(t *testing.T, user, node string) (executor.Output, error) {
	return w.app.Executor.Execute(t.Context(), executor.Input{
		ExecutionID: "exec-" + node, NodeID: node, NodeType: "integration.hubspot.create_contact",
		UserID: user, OrganizationID: "acme", Params: map[string]any{"properties": map[string]any{"email": "ada@example.com"}},
	})
}

// TestPanoraFlow: connect -> magic link -> callback (the user's own
// connection, found at Panora) -> execute through Panora's passthrough
// with the sealed connection token -> rate limit -> delete.
func TestPanoraFlow(t *testing.T) {
	w := newPanoraWorld(t)
	ctx := t.Context()
	state, pc := w.connect(t, "u1")
	code, body := w.serve(t, "nango-callback", http.MethodGet, "/api/v1/nango/oauth/hubspot/callback?state="+url.QueryEscape(state), "")
	if code != 200 {
		t.Fatalf("callback: %d %v", code, body)
	}
	id := body["connection"].(map[string]any)["id"].(string)
	stored, err := w.app.Store.GetConnection(ctx, "acme", id)
	if err != nil || stored.AuthProvider != connectors.ProviderPanora || len(stored.SealedToken) == 0 {
		t.Fatalf("stored %+v (%v): want a Panora record with its connection token sealed", stored, err)
	}
	if bytes.Contains(stored.SealedToken, []byte(pc.ConnectionToken)) {
		t.Fatal("the connection token is stored in plaintext")
	}

	out, err := w.execute(t, "u1", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if out.Route.Step != 5 || out.ConnectionID != id {
		t.Fatalf("executed on %+v, %s", out.Route, out.ConnectionID)
	}
	if len(w.hubspot) != 1 || w.hubspot[0].URL.Path != "/crm/v3/objects/contacts" || w.hubspot[0].Header.Get("Authorization") != "Bearer "+w.fake.UpstreamToken(pc.ID) {
		t.Fatalf("HubSpot saw %d requests; want one create with Panora's token for the connection", len(w.hubspot))
	}
	if strings.Contains(w.hubspot[0].Header.Get("Authorization"), pc.ConnectionToken) {
		t.Fatal("the Panora connection token reached HubSpot")
	}
	if w.fake.Requests(http.MethodPost, "/passthrough") != 1 {
		t.Error("the action did not go through Panora's passthrough")
	}

	// Panora queues a rate-limited request: the node fails as rate limited.
	w.fake.RateLimitNext(1)
	_, err = w.execute(t, "u1", "n2")
	if xe := executor.AsError(err); xe == nil || xe.Name != executor.NameRateLimited || !strings.Contains(xe.Message, "retry after") {
		t.Fatalf("queued request: %v", err)
	}

	if code, _ := w.serve(t, "nango-delete-connection", http.MethodDelete, "/api/v1/nango/connections/"+id, w.token(t, "u1")); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if _, err := w.app.Store.GetConnection(ctx, "acme", id); connectors.ErrorCode(err) != connectors.ENotFound {
		t.Fatalf("the record is still there: %v", err)
	}
	for _, fn := range []string{"nango-authorize", "nango-callback"} {
		if w.outbound(t, fn, "panora") < 1 {
			t.Errorf("%s made no OutboundCalls to panora", fn)
		}
	}
}

// TestPanoraCallbackAttacks: a user's state never completes with another
// user's connection at Panora, named or found.
func TestPanoraCallbackAttacks(t *testing.T) {
	w := newPanoraWorld(t)
	_, mallory := w.connect(t, "mallory")
	code, body := w.serve(t, "nango-authorize", http.MethodGet, "/api/v1/nango/oauth/hubspot/authorize", w.token(t, "victim"))
	if code != 200 {
		t.Fatal(body)
	}
	victimState := body["state"].(string)
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"state=" + url.QueryEscape(victimState) + "&connection_id=" + url.QueryEscape(mallory.ID), 403},
		{"state=" + url.QueryEscape(victimState), 400}, // the victim connected nothing
	} {
		code, body := w.serve(t, "nango-callback", http.MethodGet, "/api/v1/nango/oauth/hubspot/callback?"+tt.query, "")
		if code != tt.want {
			t.Fatalf("callback %s: %d %v, want %d", tt.query, code, body, tt.want)
		}
	}
	page, err := w.app.Store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: "acme"})
	if err != nil || len(page.Connections) != 0 {
		t.Fatalf("%d connections stored after the attack (%v)", len(page.Connections), err)
	}
}
