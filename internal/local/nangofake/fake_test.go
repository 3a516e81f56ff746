package nangofake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/tstest/nangocontract"
)

const key = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"

type harness struct {
	fake *nangofake.Server
	url  string
	hc   *http.Client
}

// newHarness starts a fake and an HTTP client whose every exchange is held
// to Nango's document.
func newHarness(t *testing.T, opts nangofake.Options) *harness {
	t.Helper()
	opts.SecretKey = key
	if opts.Integrations == nil {
		opts.Integrations = []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}, {UniqueKey: "asana", Provider: "asana"}}
	}
	f := nangofake.New(opts)
	u := f.Start()
	t.Cleanup(f.Close)
	return &harness{fake: f, url: u, hc: &http.Client{Transport: nangotest.Load(t).Transport(t, nil)}}
}

func (h *harness) do(t *testing.T, method, path, auth, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestSecretKeyCheck(t *testing.T) {
	h := newHarness(t, nangofake.Options{})
	tests := []struct {
		auth, want string
		status     int
	}{
		{"", "missing_auth_header", 401},
		{"Basic abc", "malformed_auth_header", 401},
		{"Bearer wrong", "invalid_secret_key_format", 401},
		{"Bearer 00000000-0000-4000-8000-000000000000", "unknown_account", 401},
		{"Bearer " + key, "", 200},
	}
	for _, tt := range tests {
		status, _, m := h.do(t, "GET", "/integrations", tt.auth, "")
		if status != tt.status || errCode(m) != tt.want {
			t.Errorf("auth %q: %d %s, want %d %s", tt.auth, status, errCode(m), tt.status, tt.want)
		}
	}
}

func TestConnectURL(t *testing.T) {
	h := newHarness(t, nangofake.Options{})
	bearer := "Bearer " + key
	newSession := func(allowed string) string {
		status, _, m := h.do(t, "POST", "/connect/sessions", bearer, `{"tags":{"Organization_ID":"o1"},"allowed_integrations":["`+allowed+`"]}`)
		if status != 201 {
			t.Fatalf("session: %d %v", status, m)
		}
		return m["data"].(map[string]any)["token"].(string)
	}
	tests := []struct {
		name, accept, integration string
		wantStatus                int
		wantHTML                  bool
	}{
		{"json by default", "", "slack", 200, false},
		{"html when preferred", "text/html,application/xhtml+xml,*/*;q=0.8", "slack", 200, true},
		{"json when preferred", "application/json, text/html;q=0.5", "slack", 200, false},
		{"integration not allowed", "", "asana", 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := newSession("slack")
			req, _ := http.NewRequest("GET", h.fake.ConnectURL(tt.integration, tok), nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") != tt.wantHTML {
				t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if tt.wantStatus != 200 {
				return
			}
			status, _, m := h.do(t, "GET", "/connections?tags[organization_id]=o1", bearer, "")
			if status != 200 || len(m["connections"].([]any)) == 0 {
				t.Errorf("connection not listed by its session's tags: %v", m)
			}
		})
	}
}

func TestSessionExpires(t *testing.T) {
	now := time.Now()
	h := newHarness(t, nangofake.Options{Now: func() time.Time { return now }})
	status, _, m := h.do(t, "POST", "/connect/sessions", "Bearer "+key, `{"allowed_integrations":["slack"]}`)
	if status != 201 {
		t.Fatal(status)
	}
	data := m["data"].(map[string]any)
	exp, _ := time.Parse(time.RFC3339, data["expires_at"].(string))
	if d := exp.Sub(now); d < 29*time.Minute || d > 30*time.Minute {
		t.Errorf("expires in %v", d)
	}
	now = now.Add(31 * time.Minute)
	if _, err := h.fake.CompleteSession(data["token"].(string)); err == nil {
		t.Error("an expired session completed")
	}
}

func TestFaultsAndCounters(t *testing.T) {
	h := newHarness(t, nangofake.Options{})
	h.fake.Inject(nangofake.Fault{Method: "GET", Path: "/integrations", Status: 429, RetryAfter: "7", Times: 2})
	want := []int{429, 429, 200}
	for i, w := range want {
		status, hdr, m := h.do(t, "GET", "/integrations", "Bearer "+key, "")
		if status != w {
			t.Errorf("request %d: %d, want %d", i, status, w)
		}
		if status == 429 && (hdr.Get("Retry-After") != "7" || errCode(m) != "too_many_request") {
			t.Errorf("429 answer: %v %v", hdr, m)
		}
	}
	if n := h.fake.Requests("GET", "/integrations"); n != 3 {
		t.Errorf("Requests = %d, want 3", n)
	}
	if n := h.fake.Requests("POST", "/integrations"); n != 0 {
		t.Errorf("Requests(POST) = %d", n)
	}
	h.fake.ClearFaults()
	h.fake.Inject(nangofake.Fault{Latency: 50 * time.Millisecond})
	start := time.Now()
	if status, _, _ := h.do(t, "GET", "/integrations", "Bearer "+key, ""); status != 200 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("latency fault: %d after %v", status, time.Since(start))
	}
}

func TestConnectionErrorsAsNango(t *testing.T) {
	h := newHarness(t, nangofake.Options{})
	b := "Bearer " + key
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/connections/x?provider_config_key=slack", "", 404, "not_found"},
		{"GET", "/connections/x?provider_config_key=nope", "", 400, "unknown_provider_config"},
		{"DELETE", "/connections/x?provider_config_key=slack", "", 400, "unknown_connection"},
		{"PATCH", "/connections/x?provider_config_key=slack", `{"tags":{}}`, 404, "not_found"},
		{"POST", "/connections/metadata", `{"connection_id":"x","provider_config_key":"slack","metadata":{}}`, 400, "unknown_connection"},
		{"POST", "/connect/sessions", `{"allowed_integrations":["nope"]}`, 400, "invalid_body"},
	}
	for _, tt := range tests {
		status, _, m := h.do(t, tt.method, tt.path, b, tt.body)
		if status != tt.status || errCode(m) != tt.code {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, status, errCode(m), tt.status, tt.code)
		}
	}
	status, _, m := h.do(t, "GET", "/proxy/x", b, "", "Connection-Id", "x", "Provider-Config-Key", "slack")
	if status != 400 || errCode(m) != "server_error" {
		t.Errorf("proxy of unknown connection: %d %v", status, m)
	}
}

// TestConnectionFieldsAsSDKTypes pins the fields the official SDKs' types
// have that the fake once lacked: webhook_url_override (from the session,
// changed by PATCH) and last_fetched_at null before the first fetch.
func TestConnectionFieldsAsSDKTypes(t *testing.T) {
	h := newHarness(t, nangofake.Options{})
	b := "Bearer " + key
	status, _, m := h.do(t, "POST", "/connect/sessions", b, `{"allowed_integrations":["slack"],"webhook_url_override":"https://hooks.example.com/a"}`)
	if status != 201 {
		t.Fatalf("session: %d %v", status, m)
	}
	id, err := h.fake.CompleteSession(m["data"].(map[string]any)["token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	h.fake.FailRefresh(id)
	status, _, m = h.do(t, "GET", "/connections/"+id+"?provider_config_key=slack&force_refresh=true", b, "")
	payload, _ := m["error"].(map[string]any)["payload"].(map[string]any)
	if status != 400 || payload == nil || payload["last_fetched_at"] != nil {
		t.Errorf("failed refresh of a never fetched connection: %d, payload %v", status, payload)
	}
	steps := []struct {
		patch, want string
	}{
		{"", "https://hooks.example.com/a"},
		{`{"webhook_url_override":"https://hooks.example.com/b"}`, "https://hooks.example.com/b"},
		{`{"webhook_url_override":""}`, ""},
	}
	for _, s := range steps {
		if s.patch != "" {
			if status, _, m := h.do(t, "PATCH", "/connections/"+id+"?provider_config_key=slack", b, s.patch); status != 200 {
				t.Fatalf("patch %s: %d %v", s.patch, status, m)
			}
		}
		h.fake.ClearFaults()
		_, _, m := h.do(t, "GET", "/connections/"+id+"?provider_config_key=slack", b, "")
		got, _ := m["webhook_url_override"].(string)
		if _, present := m["webhook_url_override"]; !present || got != s.want || m["last_fetched_at"] == nil {
			t.Errorf("after %q: webhook_url_override %v, last_fetched_at %v", s.patch, m["webhook_url_override"], m["last_fetched_at"])
		}
	}
}

// TestStateFileSurvivesRestart: a connection made before a restart is read,
// refreshed and deleted after it, with the same tokens until a refresh.
func TestStateFileSurvivesRestart(t *testing.T) {
	file := t.TempDir() + "/nango-sandbox.json"
	opts := nangofake.Options{StateFile: file}
	h := newHarness(t, opts)
	b := "Bearer " + key
	_, _, m := h.do(t, "POST", "/connect/sessions", b, `{"tags":{"organization_id":"o1"},"allowed_integrations":["slack"]}`)
	id, err := h.fake.CompleteSession(m["data"].(map[string]any)["token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	_, _, before := h.do(t, "GET", "/connections/"+id+"?provider_config_key=slack", b, "")
	h.fake.Close()

	opts.SecretKey, opts.Integrations = key, []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}
	again, err := nangofake.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.url = again.Start()
	t.Cleanup(again.Close)
	steps := []struct {
		method, path string
		status       int
	}{
		{"GET", "/connections/" + id + "?provider_config_key=slack", 200},
		{"GET", "/connections?tags[organization_id]=o1", 200},
		{"GET", "/connections/" + id + "?provider_config_key=slack&force_refresh=true", 200},
		{"DELETE", "/connections/" + id + "?provider_config_key=slack", 200},
		{"GET", "/connections/" + id + "?provider_config_key=slack", 404},
	}
	for i, s := range steps {
		status, _, m := h.do(t, s.method, s.path, b, "")
		if status != s.status {
			t.Fatalf("step %d %s %s: %d %v", i, s.method, s.path, status, m)
		}
		if i == 0 && m["credentials"].(map[string]any)["access_token"] != before["credentials"].(map[string]any)["access_token"] {
			t.Error("the access token changed across the restart")
		}
	}
	if err := again.SaveError(); err != nil {
		t.Error(err)
	}
}

// TestAddConnection: a connection added with a chosen id answers as one a
// session completed (tags, OAuth2 credentials), and an add that would
// replace a connection or name an unknown integration is refused.
func TestAddConnection(t *testing.T) {
	h := newHarness(t, nangofake.Options{})
	const id = "conn_01JD8Z3Q4T6X9B2C5E7G8H1K3M"
	if err := h.fake.AddConnection("slack", id, map[string]string{"end_user_id": "u1", "Organization_ID": "o1"}); err != nil {
		t.Fatal(err)
	}
	status, _, m := h.do(t, "GET", "/connections/"+id+"?provider_config_key=slack", "Bearer "+key, "")
	if status != 200 {
		t.Fatalf("get added connection: %d %v", status, m)
	}
	tags, _ := m["tags"].(map[string]any)
	creds, _ := m["credentials"].(map[string]any)
	if m["connection_id"] != id || tags["end_user_id"] != "u1" || tags["organization_id"] != "o1" {
		t.Errorf("connection %v, want id %s with tags end_user_id=u1 organization_id=o1", m, id)
	}
	if creds["type"] != "OAUTH2" || creds["access_token"] == "" || creds["access_token"] == nil {
		t.Errorf("credentials %v, want fresh OAUTH2 ones", creds)
	}
	if err := h.fake.AddConnection("slack", id, nil); err == nil {
		t.Error("adding the same connection twice succeeded")
	}
	if err := h.fake.AddConnection("nope", "other", nil); err == nil {
		t.Error("adding a connection of an unknown integration succeeded")
	}
	if err := h.fake.AddConnection("slack", "", nil); err == nil {
		t.Error("adding a connection without id succeeded")
	}
}
