package composiofake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/automators/connectors/internal/local/composiofake"
	"github.com/automators/connectors/internal/tstest/composiocontract"
)

const key = "ak_fake-test-key"

type harness struct {
	fake     *composiofake.Server
	url      string
	hc       *http.Client
	upstream *httptest.Server
	seen     chan *http.Request
}

// newHarness starts a fake and an HTTP client whose every exchange is held
// to Composio's document.
func newHarness(t *testing.T) *harness {
	t.Helper()
	seen := make(chan *http.Request, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(strings.NewReader(string(b)))
		seen <- r2
		if r.URL.Path == "/api/text" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "hello")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"echo":`+string(orNull(b))+`}`)
	}))
	t.Cleanup(up.Close)
	f := composiofake.New(composiofake.Options{
		APIKey:         key,
		WebhookSecrets: []string{"whsec_c2VjcmV0"},
		AuthConfigs:    []composiofake.AuthConfig{{ID: "ac_slack", Toolkit: "slack"}, {ID: "ac_key", Toolkit: "hubspot", AuthScheme: "API_KEY"}},
		Upstreams:      map[string]string{"slack": up.URL},
	})
	u := f.Start()
	t.Cleanup(f.Close)
	hc := &http.Client{
		Transport:     composiocontract.Load(t).Transport(t, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &harness{fake: f, url: u, hc: hc, upstream: up, seen: seen}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func (h *harness) do(t *testing.T, method, path, apiKey, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" {
		req.Header.Set("x-api-key", apiKey)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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

func errSlug(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["slug"].(string)
	return s
}

func TestAPIKeyCheck(t *testing.T) {
	h := newHarness(t)
	if st, _, m := h.do(t, "GET", "/api/v3/connected_accounts/ca_x", "wrong", ""); st != 401 || errSlug(m) != "Unauthorized" {
		t.Errorf("wrong key: %d %v", st, m)
	}
	// Without a key the request itself breaks the document (security), so
	// it is checked outside the validator.
	resp, err := http.Get(h.url + "/api/v3/connected_accounts/ca_x")
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("no key: %v %v", resp, err)
	}
	if st, _, _ := h.do(t, "GET", "/api/v3/connected_accounts/ca_x", key, ""); st != 404 {
		t.Errorf("right key, unknown account: %d", st)
	}
}

func TestLinkLifecycle(t *testing.T) {
	h := newHarness(t)
	st, _, m := h.do(t, "POST", "/api/v3/connected_accounts/link", key, `{"auth_config_id":"ac_slack","user_id":"o/u","callback_url":"https://app.test/cb?state=s1"}`)
	if st != 201 {
		t.Fatalf("link: %d %v", st, m)
	}
	id, _ := m["connected_account_id"].(string)
	redirect, _ := m["redirect_url"].(string)
	if !strings.HasPrefix(redirect, h.url+"/link/lt_") || !strings.HasPrefix(id, "ca_") {
		t.Fatalf("link answer %v", m)
	}
	if exp, err := time.Parse(time.RFC3339, m["expires_at"].(string)); err != nil || time.Until(exp) < 9*time.Minute {
		t.Errorf("expires_at %v", m["expires_at"])
	}
	if st, _, m := h.do(t, "GET", "/api/v3/connected_accounts/"+id, key, ""); st != 200 || m["status"] != "INITIATED" || m["user_id"] != "o/u" {
		t.Errorf("pending account: %d %v", st, m)
	}

	// The hosted page, as a browser sees it.
	resp, err := h.hc.Get(redirect)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `value="allow"`) || !strings.Contains(string(page), id) {
		t.Fatalf("link page: %d %s", resp.StatusCode, page)
	}
	resp, err = h.hc.PostForm(redirect, url.Values{"action": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "app.test" ||
		loc.Query().Get("state") != "s1" || loc.Query().Get("status") != "success" || loc.Query().Get("connected_account_id") != id {
		t.Fatalf("after the page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	st, _, m = h.do(t, "GET", "/api/v3/connected_accounts/"+id, key, "")
	state, _ := m["state"].(map[string]any)
	val, _ := state["val"].(map[string]any)
	acct, _ := h.fake.Account(id)
	if st != 200 || m["status"] != "ACTIVE" || val["access_token"] == acct.AccessToken || val["access_token"] == "" {
		t.Errorf("active account: %d %v (the token must be masked)", st, m)
	}
	// Single use.
	if _, err := h.fake.CompleteLink(redirect); err != composiofake.ErrLinkUsed {
		t.Errorf("second completion: %v", err)
	}

	// Re-authorization, then delete.
	st, _, m = h.do(t, "POST", "/api/v3/connected_accounts/"+id+"/refresh", key, `{"redirect_url":"https://app.test/cb?state=s2"}`)
	again, _ := m["redirect_url"].(string)
	if st != 200 || m["status"] != "INITIATED" || !strings.HasPrefix(again, h.url+"/link/") {
		t.Fatalf("refresh: %d %v", st, m)
	}
	if st, _, _ := h.do(t, "GET", "/api/v3/connected_accounts/"+id, key, ""); st != 200 {
		t.Errorf("initiated account: %d", st)
	}
	cb, err := h.fake.CompleteLink(again)
	if err != nil || !strings.Contains(cb, "state=s2") || !strings.Contains(cb, "connected_account_id="+id) {
		t.Errorf("reauthorized: %s %v", cb, err)
	}
	if st, _, m := h.do(t, "DELETE", "/api/v3/connected_accounts/"+id, key, ""); st != 200 || m["success"] != true {
		t.Errorf("delete: %d %v", st, m)
	}
	for _, tt := range []struct{ method, path, body string }{
		{"DELETE", "/api/v3/connected_accounts/" + id, ""},
		{"GET", "/api/v3/connected_accounts/" + id, ""},
		{"POST", "/api/v3/connected_accounts/" + id + "/refresh", "{}"},
	} {
		if st, _, m := h.do(t, tt.method, tt.path, key, tt.body); st != 404 || errSlug(m) != "ConnectedAccount_NotFound" {
			t.Errorf("%s %s after delete: %d %v", tt.method, tt.path, st, m)
		}
	}
}

func TestLinkRefusalsAndStates(t *testing.T) {
	h := newHarness(t)
	if st, _, m := h.do(t, "POST", "/api/v3/connected_accounts/link", key, `{"auth_config_id":"ac_nope","user_id":"u"}`); st != 404 || errSlug(m) != "AuthConfig_NotFound" {
		t.Errorf("unknown auth config: %d %v", st, m)
	}
	// Each status, and each scheme, answers in the document's shape.
	for _, st := range []string{"INITIALIZING", "INITIATED", "ACTIVE", "FAILED", "EXPIRED", "INACTIVE"} {
		for _, ac := range []string{"ac_slack", "ac_key"} {
			id, err := h.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: ac, UserID: "u", Status: st})
			if err != nil {
				t.Fatal(err)
			}
			if code, _, m := h.do(t, "GET", "/api/v3/connected_accounts/"+id, key, ""); code != 200 || m["status"] != st {
				t.Errorf("%s %s: %d %v", ac, st, code, m)
			}
		}
	}
	id, _ := h.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: "ac_key", UserID: "u"})
	if st, _, m := h.do(t, "POST", "/api/v3/connected_accounts/"+id+"/refresh", key, ""); st != 200 || m["status"] != "ACTIVE" || m["redirect_url"] != nil {
		t.Errorf("refresh of an API-key account: %d %v", st, m)
	}
	// A failed link sends status=failed.
	_, _, m := h.do(t, "POST", "/api/v3/connected_accounts/link", key, `{"auth_config_id":"ac_slack","user_id":"u","callback_url":"https://app.test/cb"}`)
	cb, err := h.fake.FailLink(m["link_token"].(string))
	if err != nil || !strings.Contains(cb, "status=failed") {
		t.Errorf("FailLink: %s %v", cb, err)
	}
	if st, _, m := h.do(t, "GET", "/api/v3/connected_accounts/"+m["connected_account_id"].(string), key, ""); st != 200 || m["status"] != "FAILED" {
		t.Errorf("failed account: %d %v", st, m)
	}
	if _, err := h.fake.CompleteLink("lt_nope"); err != composiofake.ErrUnknownLink {
		t.Errorf("unknown link: %v", err)
	}
}

func TestLinkExpires(t *testing.T) {
	now := time.Now()
	f := composiofake.New(composiofake.Options{APIKey: key, AuthConfigs: []composiofake.AuthConfig{{ID: "ac_slack", Toolkit: "slack"}},
		Now: func() time.Time { return now }})
	u := f.Start()
	defer f.Close()
	req, _ := http.NewRequest("POST", u+"/api/v3/connected_accounts/link", strings.NewReader(`{"auth_config_id":"ac_slack","user_id":"u"}`))
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	now = now.Add(composiofake.DefaultLinkTTL)
	if _, err := f.CompleteLink(m["link_token"].(string)); err != composiofake.ErrLinkExpired {
		t.Errorf("expired link: %v", err)
	}
}

func TestProxy(t *testing.T) {
	h := newHarness(t)
	id, _ := h.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: "ac_slack", UserID: "u"})
	acct, _ := h.fake.Account(id)
	proxy := func(body string) (int, map[string]any) {
		st, _, m := h.do(t, "POST", "/api/v3/tools/execute/proxy", key, body)
		return st, m
	}

	st, m := proxy(`{"connected_account_id":"` + id + `","endpoint":"https://slack.com/api/chat.postMessage?x=1","method":"POST","body":{"a":1},` +
		`"parameters":[{"name":"X-A","value":"1","type":"header"},{"name":"q","value":"2","type":"query"}]}`)
	if st != 200 || m["status"] != float64(202) {
		t.Fatalf("absolute: %d %v", st, m)
	}
	data, _ := m["data"].(map[string]any)
	echo, _ := data["echo"].(map[string]any)
	headers, _ := m["headers"].(map[string]any)
	if echo["a"] != float64(1) || headers["content-type"] != "application/json" {
		t.Errorf("answer %v", m)
	}
	r := <-h.seen
	if r.URL.Path != "/api/chat.postMessage" || r.URL.Query().Get("x") != "1" || r.URL.Query().Get("q") != "2" ||
		r.Header.Get("X-A") != "1" || r.Header.Get("Authorization") != "Bearer "+acct.AccessToken || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("upstream got %s %v", r.URL, r.Header)
	}

	st, m = proxy(`{"connected_account_id":"` + id + `","endpoint":"/text","method":"GET"}`)
	if st != 200 || m["data"] != "hello" || m["status"] != float64(200) {
		t.Errorf("relative, text: %d %v", st, m)
	}
	if r := <-h.seen; r.URL.Path != "/api/text" {
		t.Errorf("relative endpoint reached %s", r.URL.Path)
	}
	st, _ = proxy(`{"connected_account_id":"` + id + `","endpoint":"/x","method":"PUT","binary_body":{"base64":"YT0xJmI9Mg==","content_type":"application/x-www-form-urlencoded"}}`)
	if r := <-h.seen; st != 200 || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || readBody(r) != "a=1&b=2" {
		t.Errorf("binary body: %d %v", st, r.Header)
	}

	for _, tt := range []struct {
		name, body, slug string
		status           int
	}{
		{"another domain", `{"connected_account_id":"` + id + `","endpoint":"https://evil.test/x","method":"GET"}`, "OriginMismatch", 400},
		{"another scheme", `{"connected_account_id":"` + id + `","endpoint":"http://slack.com/x","method":"GET"}`, "OriginMismatch", 400},
		{"no account", `{"endpoint":"/x","method":"GET"}`, "MissingAuthContext", 400},
		{"unknown account", `{"connected_account_id":"ca_nope","endpoint":"/x","method":"GET"}`, "ConnectedAccount_NotFound", 404},
	} {
		if st, m := proxy(tt.body); st != tt.status || errSlug(m) != tt.slug {
			t.Errorf("%s: %d %v", tt.name, st, m)
		}
	}
	_ = h.fake.Expire(id)
	if st, m := proxy(`{"connected_account_id":"` + id + `","endpoint":"/x","method":"GET"}`); st != 400 || errSlug(m) != "ConnectedAccount_Inactive" {
		t.Errorf("expired: %d %v", st, m)
	}
	h.upstream.Close()
	id2, _ := h.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: "ac_slack", UserID: "u"})
	if st, m := proxy(`{"connected_account_id":"` + id2 + `","endpoint":"/x","method":"GET"}`); st != 502 || errSlug(m) != "Proxy_UpstreamUnreachable" {
		t.Errorf("upstream down: %d %v", st, m)
	}
}

func readBody(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestFaults(t *testing.T) {
	h := newHarness(t)
	h.fake.Inject(composiofake.Fault{Method: "GET", Path: "/api/v3/connected_accounts/", Status: 429, RetryAfter: "2", Times: 1})
	st, hdr, m := h.do(t, "GET", "/api/v3/connected_accounts/ca_x", key, "")
	if st != 429 || hdr.Get("Retry-After") != "2" || errSlug(m) != "TooManyRequests" {
		t.Errorf("fault: %d %v %v", st, hdr, m)
	}
	if st, _, _ := h.do(t, "GET", "/api/v3/connected_accounts/ca_x", key, ""); st != 404 {
		t.Errorf("after the fault: %d", st)
	}
	if n := h.fake.Requests("GET", "/api/v3/connected_accounts/"); n != 2 {
		t.Errorf("Requests = %d", n)
	}
	h.fake.Inject(composiofake.Fault{Status: 503})
	if st, _, _ := h.do(t, "POST", "/api/v3/connected_accounts/link", key, `{"auth_config_id":"ac_slack","user_id":"u"}`); st != 503 {
		t.Errorf("503 fault: %d", st)
	}
	h.fake.ClearFaults()
	if st, _, _ := h.do(t, "POST", "/api/v3/connected_accounts/link", key, `{"auth_config_id":"ac_slack","user_id":"u"}`); st != 201 {
		t.Errorf("after ClearFaults: %d", st)
	}
}

// TestWebhookSignature: the fake's webhooks verify with the Standard
// Webhooks reference library, keyed with the secret's bytes, and carry the
// account as GET answers it.
func TestWebhookSignature(t *testing.T) {
	h := newHarness(t)
	id, _ := h.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: "ac_slack", UserID: "o/u"})
	_ = h.fake.Expire(id)
	h.fake.SetWebhookSecrets("whsec_c2VjcmV0", "second")
	body, hdr, err := h.fake.Event(composiofake.EventConnectedAccountExpired, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"whsec_c2VjcmV0", "second"} {
		wh, _ := standardwebhooks.NewWebhookRaw([]byte(s))
		if err := wh.Verify(body, hdr); err != nil {
			t.Errorf("secret %s: %v", s, err)
		}
	}
	var ev struct {
		ID, Type string
		Data     struct {
			ID, Status string
			UserID     string `json:"user_id"`
		}
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != hdr.Get("webhook-id") || ev.Type != composiofake.EventConnectedAccountExpired ||
		ev.Data.ID != id || ev.Data.Status != "EXPIRED" || ev.Data.UserID != "o/u" || hdr.Get("x-composio-webhook-version") != "V3" {
		t.Errorf("event %s %v", body, hdr)
	}
	// Delivered over HTTP.
	got := make(chan http.Header, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header }))
	defer sink.Close()
	resp, err := h.fake.SendEvent(t.Context(), sink.URL, composiofake.EventConnectedAccountExpired, id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g := <-got; g.Get("webhook-signature") == "" || g.Get("webhook-timestamp") == "" {
		t.Errorf("delivered headers %v", g)
	}
	if _, _, err := h.fake.Event(composiofake.EventConnectedAccountExpired, "ca_nope"); err != composiofake.ErrUnknownAccount {
		t.Errorf("unknown account: %v", err)
	}
}
