package panorafake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/local/panorafake"
	"github.com/automators/connectors/internal/tstest/panoracontract"
)

const (
	apiKey = "sk_test_6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
	secret = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)

type harness struct {
	fake *panorafake.Server
	url  string
	hc   *http.Client
	c    *panoracontract.Contract
}

// newHarness starts a fake and an HTTP client whose every exchange is held
// to Panora's document (or, where the document is silent, its source).
func newHarness(t *testing.T, opts panorafake.Options) *harness {
	t.Helper()
	c := panoracontract.Load(t)
	opts.APIKey = apiKey
	opts.WebhookSecret = secret
	f := panorafake.New(opts)
	u := f.Start()
	t.Cleanup(f.Close)
	v := c.Transport(t, nil)
	t.Cleanup(func() { t.Logf("contract: %d exchanges validated; taken by exceptions: %v", v.Checked(), v.Excepted()) })
	return &harness{fake: f, url: u, hc: &http.Client{Transport: v}, c: c}
}

func (h *harness) do(t *testing.T, method, path, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return h.send(t, h.hc, method, path, body, hdr...)
}

// raw sends a request that breaks the document on purpose (no API key, an
// unknown route, a missing field), without the validator.
func (h *harness) raw(t *testing.T, method, path, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return h.send(t, http.DefaultClient, method, path, body, hdr...)
}

func (h *harness) send(t *testing.T, hc *http.Client, method, path, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return m
}

func TestAPIKeyCheck(t *testing.T) {
	h := newHarness(t, panorafake.Options{})
	for _, tt := range []struct {
		key, msg string
		status   int
	}{
		{"", "Unauthorized", 401},
		{"sk_wrong", "Invalid API Key", 401},
		{apiKey, "", 200},
	} {
		send := h.do
		if tt.key == "" {
			send = h.raw // the document requires the key
		}
		status, _, b := send(t, "GET", "/connections", "", "x-api-key", tt.key)
		if status != tt.status {
			t.Errorf("key %q: status %d, want %d", tt.key, status, tt.status)
		}
		if tt.msg != "" && decode(t, b)["message"] != tt.msg {
			t.Errorf("key %q: answer %s", tt.key, b)
		}
	}
	if status, _, b := h.raw(t, "GET", "/nope", ""); status != 404 || decode(t, b)["message"] != "Cannot GET /nope" {
		t.Errorf("unknown route: %d %s", status, b)
	}
}

func TestLinkedUsers(t *testing.T) {
	h := newHarness(t, panorafake.Options{ProjectID: "801f9ede-c698-4e66-a7fc-48d19eebaa40"})
	status, _, b := h.do(t, "POST", "/linked_users", `{"linked_user_origin_id":"o/u","alias":"o"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, b)
	}
	u := decode(t, b)
	if u["id_project"] != h.fake.ProjectID() || u["linked_user_origin_id"] != "o/u" {
		t.Errorf("created %v", u)
	}
	// Panora makes a duplicate: no unique constraint.
	if status, _, _ := h.do(t, "POST", "/linked_users", `{"linked_user_origin_id":"o/u","alias":"o"}`); status != 201 {
		t.Errorf("second create: %d", status)
	}
	if ids := h.fake.LinkedUsers("o/u"); len(ids) != 2 || ids[0] != u["id_linked_user"] {
		t.Errorf("linked users %v", ids)
	}
	status, _, b = h.do(t, "GET", "/linked_users/fromRemoteId?remoteId="+url.QueryEscape("o/u"), "")
	if status != 200 || decode(t, b)["id_linked_user"] != u["id_linked_user"] {
		t.Errorf("fromRemoteId: %d %s (want the first)", status, b)
	}
	status, _, b = h.do(t, "GET", "/linked_users/"+u["id_linked_user"].(string), "")
	if status != 200 || decode(t, b)["linked_user_origin_id"] != "o/u" {
		t.Errorf("get: %d %s", status, b)
	}
	for _, p := range []string{"/linked_users/fromRemoteId?remoteId=none", "/linked_users/5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0"} {
		if status, hdr, b := h.do(t, "GET", p, ""); status != 200 || len(b) != 0 || hdr.Get("Content-Type") != "" {
			t.Errorf("%s: %d %q %q, want 200 with nothing", p, status, hdr.Get("Content-Type"), b)
		}
	}
	if status, _, b := h.do(t, "GET", "/linked_users", ""); status != 200 || strings.Count(string(b), "id_linked_user") != 2 {
		t.Errorf("list: %d %s", status, b)
	}
	// Another project's linked user: found by origin id, not listed.
	foreign := h.fake.AddForeignLinkedUser("x/y")
	if status, _, b := h.do(t, "GET", "/linked_users/fromRemoteId?remoteId="+url.QueryEscape("x/y"), ""); status != 200 || decode(t, b)["id_linked_user"] != foreign {
		t.Errorf("foreign lookup: %d %s", status, b)
	}
	if _, _, b := h.do(t, "GET", "/linked_users", ""); strings.Contains(string(b), foreign) {
		t.Errorf("the project's list shows another project's linked user")
	}
	if status, _, _ := h.raw(t, "POST", "/linked_users", `{"alias":"o"}`); status != 500 {
		t.Errorf("create without origin id: %d, want Prisma's 500", status)
	}
}

func TestUniqueOriginIDs(t *testing.T) {
	h := newHarness(t, panorafake.Options{UniqueOriginIDs: true})
	h.do(t, "POST", "/linked_users", `{"linked_user_origin_id":"o/u","alias":"o"}`)
	if status, _, _ := h.do(t, "POST", "/linked_users", `{"linked_user_origin_id":"o/u","alias":"o"}`); status != 409 {
		t.Errorf("duplicate: %d, want 409", status)
	}
}

func TestMagicLinkAndConnections(t *testing.T) {
	const dash = "eyJhbGciOiJIUzI1NiJ9.e30.sig"
	h := newHarness(t, panorafake.Options{DashboardToken: dash})
	body := `{"linked_user_origin_id":"o/u","email":"","alias":"o","id_project":"` + h.fake.ProjectID() + `"}`
	if status, _, _ := h.do(t, "POST", "/magic_links", body); status != 401 {
		t.Errorf("magic link with the API key only: %d, want 401 (JwtAuthGuard)", status)
	}
	status, _, b := h.do(t, "POST", "/magic_links", body, "Authorization", "Bearer "+dash)
	if status != 201 {
		t.Fatalf("magic link: %d %s", status, b)
	}
	link := decode(t, b)
	id := link["id_invite_link"].(string)
	if ids := h.fake.LinkedUsers("o/u"); len(ids) != 1 || ids[0] != link["id_linked_user"] {
		t.Errorf("the magic link made linked users %v", ids)
	}
	// Again: the same linked user (createUniqueLink's checkDup).
	h.do(t, "POST", "/magic_links", body, "Authorization", "Bearer "+dash)
	if ids := h.fake.LinkedUsers("o/u"); len(ids) != 1 {
		t.Errorf("second magic link made linked users %v", ids)
	}
	if status, _, b := h.do(t, "GET", "/magic_links/"+id, "", "x-api-key", ""); status != 200 || decode(t, b)["id_project"] != h.fake.ProjectID() {
		t.Errorf("get magic link: %d %s", status, b)
	}

	// The page lists the apps, and connects one.
	page := h.fake.ConnectURL() + "/?uniqueLink=" + id
	resp, err := h.hc.Get(page) // through the validator: exception magic-link-page
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(html), "hubspot") || !strings.Contains(string(html), "provider=hubspot") {
		t.Errorf("page: %s", html)
	}
	resp, err = h.hc.Get(page + "&provider=hubspot&vertical=crm")
	if err != nil {
		t.Fatal(err)
	}
	var done map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&done)
	resp.Body.Close()
	if resp.StatusCode != 200 || done["provider_slug"] != "hubspot" || done["id_connection"] == "" {
		t.Fatalf("connect: %d %v", resp.StatusCode, done)
	}
	conns := h.fake.Connections()
	if len(conns) != 1 || conns[0].ID != done["id_connection"] || conns[0].LinkedUserID != link["id_linked_user"] {
		t.Fatalf("connections %+v", conns)
	}
	// Connecting the same app again updates the connection in place.
	again, err := h.fake.CompleteMagicLink(id, "crm", "hubspot")
	if err != nil || again.ID != conns[0].ID || again.ConnectionToken != conns[0].ConnectionToken {
		t.Errorf("reconnect: %+v %v", again, err)
	}
	status, _, b = h.do(t, "GET", "/connections", "")
	var list []map[string]any
	if err := json.Unmarshal(b, &list); status != 200 || err != nil || len(list) != 1 || list[0]["connection_token"] != conns[0].ConnectionToken || list[0]["status"] != "valid" {
		t.Errorf("GET /connections: %d %s", status, b)
	}
	if strings.Contains(string(b), h.fake.UpstreamToken(conns[0].ID)) {
		t.Errorf("GET /connections shows the provider's token in clear")
	}
	if _, err := h.fake.CompleteMagicLink("nope", "crm", "hubspot"); err == nil {
		t.Errorf("unknown magic link completed")
	}
}

// upstream is a provider API recording what it receives.
type upstream struct {
	mu     sync.Mutex
	got    []*http.Request
	bodies []string
	status int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got, u.bodies = append(u.got, r), append(u.bodies, string(b))
	status := u.status
	u.mu.Unlock()
	if status == 0 {
		status = 200
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"results":[{"id":"1"}],"echo":` + jsonString(r.URL.RequestURI()) + `}`))
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestPassthrough(t *testing.T) {
	up := &upstream{}
	us := httptest.NewServer(up)
	t.Cleanup(us.Close)
	h := newHarness(t, panorafake.Options{Upstreams: map[string]string{"hubspot": us.URL}})
	c, err := h.fake.MakeConnection("o/u", "crm", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	tok := "x-connection-token"
	body := `{"method":"POST","path":"crm/v3/objects/contacts?limit=1","data":{"properties":{"email":"a@b.c"}},"request_format":"JSON","overrideBaseUrl":null,"headers":{"X-Trace":"t1"}}`
	status, _, b := h.do(t, "POST", "/passthrough", body, tok, c.ConnectionToken)
	if status != 201 {
		t.Fatalf("passthrough: %d %s", status, b)
	}
	a := decode(t, b)
	if a["status"] != float64(200) || a["statusText"] != "OK" {
		t.Errorf("answer %v", a)
	}
	hd := a["headers"].(map[string]any)
	if hd["content-type"] != "application/json" || len(hd["set-cookie"].([]any)) != 2 {
		t.Errorf("headers %v", hd)
	}
	if d := a["data"].(map[string]any); d["echo"] != "/crm/v3/objects/contacts?limit=1" {
		t.Errorf("data %v", d)
	}
	r := up.got[0]
	if r.Method != "POST" || r.Header.Get("Authorization") != "Bearer "+h.fake.UpstreamToken(c.ID) || r.Header.Get("X-Trace") != "t1" ||
		r.Header.Get("Content-Type") != "application/json" || up.bodies[0] != `{"properties":{"email":"a@b.c"}}` {
		t.Errorf("upstream got %s %v %q", r.Method, r.Header, up.bodies[0])
	}

	// A provider error: Panora reports its status in a 500.
	up.status = 404
	status, _, b = h.do(t, "POST", "/passthrough", body, tok, c.ConnectionToken)
	if m := decode(t, b); status != 500 || m["message"] != "Request failed with status code 404" {
		t.Errorf("upstream 404: %d %s", status, b)
	}
	// A provider 429: queued; the retry worker sends it again.
	up.status = 429
	status, _, b = h.do(t, "POST", "/passthrough", body, tok, c.ConnectionToken)
	q := decode(t, b)
	retry, _ := q["retryId"].(string)
	if status != 201 || q["statusCode"] != float64(200) || retry == "" {
		t.Fatalf("upstream 429: %d %s", status, b)
	}
	if status, _, b := h.do(t, "GET", "/passthrough/"+retry, ""); status != 200 || len(b) != 0 {
		t.Errorf("pending retry: %d %s", status, b)
	}
	h.fake.RunRetries(context.Background()) // rate limited again: still queued
	if h.fake.PendingRetries() != 1 {
		t.Errorf("pending %d", h.fake.PendingRetries())
	}
	up.status = 200
	h.fake.RunRetries(context.Background())
	if status, _, b := h.do(t, "GET", "/passthrough/"+retry, ""); status != 200 || decode(t, b)["status"] != float64(200) {
		t.Errorf("finished retry: %d %s", status, b)
	}
	// The hook: the next request is queued without reaching the provider.
	n := len(up.got)
	h.fake.RateLimitNext(1)
	if _, _, b := h.do(t, "POST", "/passthrough", body, tok, c.ConnectionToken); decode(t, b)["retryId"] == nil || len(up.got) != n {
		t.Errorf("RateLimitNext: %s, upstream calls %d -> %d", b, n, len(up.got))
	}
	// An unknown token: Panora's 500 names it.
	status, _, b = h.do(t, "POST", "/passthrough", body, tok, "5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0")
	if status != 500 || !strings.HasPrefix(decode(t, b)["message"].(string), "Connection undefined for token ") {
		t.Errorf("unknown token: %d %s", status, b)
	}
	// request_format null: no body goes upstream (the source's switch).
	h.do(t, "POST", "/passthrough", strings.Replace(body, `"request_format":"JSON"`, `"request_format":null`, 1), tok, c.ConnectionToken)
	if last := up.bodies[len(up.bodies)-1]; last != "" {
		t.Errorf("request_format null sent %q", last)
	}
}

func TestWebhookSignedAsPanora(t *testing.T) {
	h := newHarness(t, panorafake.Options{})
	c, err := h.fake.MakeConnection("o/u", "crm", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	body, hdr, err := h.fake.Webhook("connection.created", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.c.CheckWebhook(t, body)
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	// Panora's own check (POST /webhooks/verifyEvent) accepts it, with the
	// received body as payload, and refuses another secret.
	verify := func(sec string) int {
		in, _ := json.Marshal(map[string]any{"payload": env, "signature": hdr.Get(panorafake.SignatureHeader), "secret": sec})
		status, _, _ := h.do(t, "POST", "/webhooks/verifyEvent", string(in))
		return status
	}
	if s := verify(secret); s != 201 {
		t.Errorf("verifyEvent with the secret: %d", s)
	}
	if s := verify("another"); s != 500 {
		t.Errorf("verifyEvent with another secret: %d", s)
	}
	received := make(chan *http.Request, 1)
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { received <- r }))
	defer rs.Close()
	resp, err := h.fake.SendWebhook(context.Background(), rs.URL, "connection.created", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := <-received; r.Header.Get("Panora-Signature") == "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("delivery headers %v", r.Header)
	}
}

// TestJSStringify holds the encoder to what JavaScript's JSON.stringify
// writes for the same strings (node -e 'console.log(JSON.stringify(s))').
func TestJSStringify(t *testing.T) {
	for in, want := range map[string]string{
		`a"b\c`:          `"a\"b\\c"`,
		"\b\f\n\r\t":     `"\b\f\n\r\t"`,
		"\x00\x1f":       `"\u0000\u001f"`,
		"<>&":            `"<>&"`,
		"\u2028\u2029é😀": "\"\u2028\u2029é😀\"",
		"\x7f":           "\"\x7f\"",
		"\xff":           "\"\uFFFD\"",
	} {
		if got := panorafake.JSStringify(in); got != want {
			t.Errorf("JSStringify(%q) = %s, want %s", in, got, want)
		}
	}
}
