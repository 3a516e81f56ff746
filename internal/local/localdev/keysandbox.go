package localdev

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"unicode"
)

// keySandbox answers the API-key test calls of the connectors that accept
// API keys offline, so that `make run` can connect one without the
// provider: every other request (the actions themselves) goes on to base
// unchanged. A key holding "invalid" is refused, in the provider's own
// error shape; any other well-formed key (the registry checks the form
// first) is accepted.
type keySandbox struct{ base http.RoundTripper }

// keyTestCall is one provider's test call: where it goes, and its answers.
type keyTestCall struct {
	method, path string
	host         func(string) bool
	ok           string
	refused      func(w http.ResponseWriter)
}

var keyTestCalls = []keyTestCall{
	{http.MethodGet, "/v1/balance", exactly("api.stripe.com"),
		`{"object":"balance","available":[{"amount":0,"currency":"usd"}],"livemode":false,"pending":[]}`,
		jsonError(http.StatusUnauthorized, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided (sandbox)"}}`)},
	{http.MethodGet, "/api/1.0/users/me", exactly("app.asana.com"),
		`{"data":{"gid":"1","name":"Sandbox User","resource_type":"user"}}`,
		jsonError(http.StatusUnauthorized, `{"errors":[{"message":"Not Authorized (sandbox)"}]}`)},
	{http.MethodGet, "/account-info/v3/details", exactly("api.hubapi.com"),
		`{"portalId":1,"accountType":"DEVELOPER_TEST","timeZone":"UTC","companyCurrency":"USD","uiDomain":"app.hubspot.com","dataHostingLocation":"na1"}`,
		jsonError(http.StatusUnauthorized, `{"status":"error","message":"Authentication credentials not found (sandbox)","category":"INVALID_AUTHENTICATION"}`)},
	{http.MethodGet, "/1/members/me", exactly("api.trello.com"),
		`{"id":"5abbe4b7ddc1b351ef961414","username":"sandbox","fullName":"Sandbox User"}`,
		func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "invalid key (sandbox)")
		}},
	{http.MethodPost, "/admin/api/2026-04/graphql.json", func(h string) bool { return strings.HasSuffix(h, ".myshopify.com") },
		`{"data":{"shop":{"name":"Sandbox Shop"}}}`,
		jsonError(http.StatusUnauthorized, `{"errors":"[API] Invalid API key or access token (sandbox)"}`)},
}

func exactly(host string) func(string) bool { return func(h string) bool { return h == host } }

func jsonError(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// RoundTrip implements http.RoundTripper.
func (s keySandbox) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, c := range keyTestCalls {
		if req.Method != c.method || req.URL.Path != c.path || !c.host(req.URL.Hostname()) {
			continue
		}
		if c.method == http.MethodPost && !shopQuery(req) {
			break // a GraphQL request that is not the test call: an action
		}
		rec := httptest.NewRecorder()
		if strings.Contains(req.Header.Get("Authorization")+req.Header.Get("X-Shopify-Access-Token")+req.URL.RawQuery, "invalid") {
			c.refused(rec)
		} else {
			rec.Header().Set("Content-Type", "application/json")
			io.WriteString(rec, c.ok)
		}
		resp := rec.Result()
		resp.Request = req
		return resp, nil
	}
	return s.base.RoundTrip(req)
}

// shopQuery reports whether req is Shopify's test query (it reads the
// field shop and nothing is mutated), restoring its body.
func shopQuery(req *http.Request) bool {
	if req.Body == nil {
		return false
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false
	}
	var q struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(b, &q) != nil {
		return false
	}
	// The actions' documents go to the same endpoint, and some select
	// shop fields (shopMoney): only a query whose root field is shop is
	// the test call.
	head, sel, ok := strings.Cut(q.Query, "{")
	if !ok || strings.HasPrefix(strings.TrimSpace(head), "mutation") {
		return false
	}
	sel = strings.TrimSpace(sel)
	end := strings.IndexFunc(sel, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	return end >= 0 && sel[:end] == "shop"
}
