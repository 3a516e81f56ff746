package actions

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/reftest"
)

// verifyCall is a connector's credential test call as the provider
// documents it. These operations are not in provider-specs' excerpts
// (which keep the actions' operations): path and method are held to the
// providers' documentation pages, named on each, and the authentication
// to the excerpts' security schemes where they state it.
type verifyCall struct {
	connector string
	method    string
	path      string // escaped path at the test server
	auth      wantAuth
	body      string // JSON, compared as JSON; "" for none
	origin    string // the production URL, without query
	accepted  string // a 2xx answer's body
	// refusal is the provider's own 401 answer, and the reason Verify
	// must keep from it.
	refusalType, refusal, reason string
}

func verifyCalls() []verifyCall {
	f := func(id, k string) string { return sampleFields[id][k] }
	return []verifyCall{
		{
			// https://docs.stripe.com/api/balance/balance_retrieve
			connector: "stripe", method: "GET", path: "/v1/balance",
			auth:     wantAuth{header: map[string]string{"Authorization": "Bearer " + f("stripe", "secret_key"), "Stripe-Version": "2023-08-16"}},
			origin:   "https://api.stripe.com/v1/balance",
			accepted: `{"object":"balance","available":[{"amount":0,"currency":"usd","source_types":{"card":0}}],"livemode":false,"pending":[{"amount":0,"currency":"usd"}]}`,
			refusal:  `{"error":{"message":"Invalid API Key provided: ` + f("stripe", "secret_key") + `","type":"invalid_request_error"}}`,
			reason:   "Invalid API Key provided",
		},
		{
			// https://developers.asana.com/reference/getuser (user_gid "me")
			connector: "asana", method: "GET", path: "/api/1.0/users/me",
			auth:     wantAuth{header: map[string]string{"Authorization": "Bearer " + f("asana", "personal_access_token")}},
			origin:   "https://app.asana.com/api/1.0/users/me",
			accepted: `{"data":{"gid":"1200000000000001","resource_type":"user","name":"Ada","email":"ada@example.com"}}`,
			refusal:  `{"errors":[{"message":"Not Authorized","help":"For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}]}`,
			reason:   "Not Authorized",
		},
		{
			// https://developers.hubspot.com/docs/api/settings/account-information-api
			connector: "hubspot", method: "GET", path: "/account-info/v3/details",
			auth:     wantAuth{header: map[string]string{"Authorization": "Bearer " + f("hubspot", "private_app_token")}},
			origin:   "https://api.hubapi.com/account-info/v3/details",
			accepted: `{"portalId":62515,"accountType":"STANDARD","timeZone":"US/Eastern","companyCurrency":"USD","uiDomain":"app.hubspot.com","dataHostingLocation":"na1"}`,
			refusal:  `{"status":"error","message":"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview","correlationId":"c5f6b6ae-0b4c-4b6a-9d38-2f1e2a7f3d51","category":"INVALID_AUTHENTICATION"}`,
			reason:   "Authentication credentials not found",
		},
		{
			// shopify-admin-graphql-2026-04.json x-source.endpoint; QueryRoot.shop
			connector: "shopify", method: "POST", path: "/admin/api/2026-04/graphql.json",
			auth:     wantAuth{header: map[string]string{"X-Shopify-Access-Token": f("shopify", "access_token"), "Authorization": "", "Content-Type": jsonC}},
			body:     `{"query":"{ shop { name } }"}`,
			origin:   "https://acme.myshopify.com/admin/api/2026-04/graphql.json",
			accepted: `{"data":{"shop":{"name":"Acme"}},"extensions":{"cost":{"requestedQueryCost":1}}}`,
			refusal:  `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`,
			reason:   "[API] Invalid API key or access token",
		},
		{
			// https://developer.atlassian.com/cloud/trello/rest/api-group-members/#api-members-id-get (id "me")
			connector: "trello", method: "GET", path: "/1/members/me",
			auth:        wantAuth{header: map[string]string{"Authorization": ""}, query: url.Values{"key": {f("trello", "api_key")}, "token": {f("trello", "token")}}},
			origin:      "https://api.trello.com/1/members/me",
			accepted:    `{"id":"5abbe4b7ddc1b351ef961414","username":"ada","fullName":"Ada Lovelace"}`,
			refusalType: "text/plain; charset=utf-8",
			refusal:     "invalid key",
			reason:      "invalid key",
		},
	}
}

// TestVerifyOutcomes: each connector's test call, as documented, and what
// each kind of answer becomes. No error may hold a credential.
func TestVerifyOutcomes(t *testing.T) {
	cat := testCatalogue(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	type answer struct {
		status int
		ctype  string
		header map[string]string
		body   string
	}
	for _, vc := range verifyCalls() {
		creds := apiKeyCreds(t, vc.connector)
		tests := []struct {
			name      string
			answer    answer
			closed    bool
			wantCode  string // "" for nil
			wantMsg   string
			wantRetry time.Duration
		}{
			{name: "accepted", answer: answer{200, "application/json", nil, vc.accepted}},
			{name: "refused 401", answer: answer{401, vc.refusalType, nil, vc.refusal}, wantCode: connectors.EInvalidCredentials, wantMsg: vc.reason},
			{name: "forbidden 403", answer: answer{403, "application/json", nil, `{"message":"This key lacks the permission for this endpoint: ` + creds.APIKey + creds.AccessToken + `"}`}, wantCode: connectors.EInvalidCredentials, wantMsg: "lacks the permission"},
			{name: "other 4xx", answer: answer{404, "text/plain", nil, "not found"}, wantCode: connectors.EInvalidCredentials, wantMsg: "not found"},
			{name: "rate limited", answer: answer{429, "application/json", map[string]string{"Retry-After": "7"}, `{"message":"slow down"}`}, wantCode: connectors.ERateLimited, wantRetry: 7 * time.Second},
			{name: "timeout 408", answer: answer{408, "text/plain", nil, ""}, wantCode: connectors.EUnavailable},
			{name: "outage 500", answer: answer{500, "text/html", nil, "<html>oops</html>"}, wantCode: connectors.EUnavailable},
			{name: "closed server", closed: true, wantCode: connectors.EUnavailable, wantMsg: "unreachable"},
		}
		for _, tt := range tests {
			t.Run(vc.connector+"/"+tt.name, func(t *testing.T) {
				var got *http.Request
				var body []byte
				base := closedURL
				if !tt.closed {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						got = r
						body, _ = io.ReadAll(r.Body)
						for k, v := range tt.answer.header {
							w.Header().Set(k, v)
						}
						if tt.answer.ctype != "" {
							w.Header().Set("Content-Type", tt.answer.ctype)
						}
						w.WriteHeader(tt.answer.status)
						io.WriteString(w, tt.answer.body)
					}))
					defer srv.Close()
					base = srv.URL
				}
				err := cat.Verify(context.Background(), http.DefaultClient, vc.connector, creds, base)
				if tt.wantCode == "" {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
				} else {
					var ce *connectors.Error
					if !errors.As(err, &ce) || ce.Code != tt.wantCode {
						t.Fatalf("err = %v, want code %s", err, tt.wantCode)
					}
					if !strings.Contains(ce.Message, tt.wantMsg) {
						t.Errorf("message %q does not carry %q", ce.Message, tt.wantMsg)
					}
					if ce.RetryAfter != tt.wantRetry {
						t.Errorf("RetryAfter = %v, want %v", ce.RetryAfter, tt.wantRetry)
					}
					for _, s := range creds.Secrets() {
						if s != "" && (strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), s)) {
							t.Errorf("error holds a credential: %v", err)
						}
					}
				}
				if tt.closed {
					return
				}
				if got == nil {
					t.Fatal("no request reached the provider")
				}
				if got.Method != vc.method || got.URL.EscapedPath() != vc.path {
					t.Errorf("sent %s %s, want %s %s", got.Method, got.URL.EscapedPath(), vc.method, vc.path)
				}
				vc.auth.check(t, got.Header, got.URL.Query())
				if q := got.URL.Query(); len(q) != len(vc.auth.query) {
					t.Errorf("query %v, want only %v", q, vc.auth.query)
				}
				checkJSONBody(t, vc.body, body)
			})
		}
	}
}

func checkJSONBody(t *testing.T, want string, got []byte) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Errorf("body %s, want none", got)
		}
		return
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(want), &w) != nil || fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("body %s, want %s", got, want)
	}
}

// TestVerifyProductionOrigins: without a base URL the call goes to the
// provider's own origin (Shopify's from the submitted subdomain).
func TestVerifyProductionOrigins(t *testing.T) {
	cat := testCatalogue(t)
	for _, vc := range verifyCalls() {
		d := &captureDoer{status: 200, body: vc.accepted}
		if err := cat.Verify(context.Background(), d, vc.connector, apiKeyCreds(t, vc.connector), ""); err != nil {
			t.Errorf("%s: %v", vc.connector, err)
			continue
		}
		if u := d.req.URL; u.Scheme+"://"+u.Host+u.EscapedPath() != vc.origin {
			t.Errorf("%s: URL %s, want %s", vc.connector, u.Redacted(), vc.origin)
		}
	}
}

// TestVerifyRefusesWhatItCannotTest: a connector without API keys, an
// unknown one, and credentials that lack a value, all before sending.
func TestVerifyRefusesWhatItCannotTest(t *testing.T) {
	cat := testCatalogue(t)
	tests := []struct {
		connector string
		creds     connectors.Credentials
		want      string
	}{
		{"slack", connectors.Credentials{AccessToken: tok}, connectors.EInvalid},
		{"discord", connectors.Credentials{AppToken: botTok}, connectors.EInvalid},
		{"myspace", connectors.Credentials{APIKey: "k"}, connectors.EUnknownConnector},
		{"stripe", connectors.Credentials{}, connectors.EInvalid},
		{"trello", connectors.Credentials{APIKey: sampleFields["trello"]["api_key"]}, connectors.EInvalid},
		{"shopify", connectors.Credentials{AccessToken: "shpat_x"}, connectors.EInvalid}, // no subdomain, no base URL
	}
	for _, tt := range tests {
		d := &countingDoer{}
		if err := cat.Verify(context.Background(), d, tt.connector, tt.creds, ""); !hasCode(err, tt.want) || d.n != 0 {
			t.Errorf("%s: err %v after %d requests, want %s and none", tt.connector, err, d.n, tt.want)
		}
	}
	// Every connector that accepts API keys has a test call; no other does.
	for _, m := range cat.Registry().All() {
		_, has := cat.verify[m.ID]
		if has != m.AcceptsAPIKey() {
			t.Errorf("%s: test call %v, accepts API keys %v", m.ID, has, m.AcceptsAPIKey())
		}
	}
}

// TestVerifyShopifyGraphQLErrors: GraphQL fails with 200 and errors.
func TestVerifyShopifyGraphQLErrors(t *testing.T) {
	cat := testCatalogue(t)
	for body, want := range map[string]string{
		`{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}`:                                     connectors.ERateLimited,
		`{"data":null,"errors":[{"message":"Access denied for shop field.","extensions":{"code":"ACCESS_DENIED"}}]}`: connectors.EInvalidCredentials,
		`{"data":{"shop":{"name":"Acme"}},"errors":[{"message":"a deprecation notice"}]}`:                            "",
	} {
		d := &captureDoer{status: 200, body: body}
		err := cat.Verify(context.Background(), d, "shopify", apiKeyCreds(t, "shopify"), "https://shop.test")
		if connectors.ErrorCode(err) != want {
			t.Errorf("%s: err %v, want %q", body, err, want)
		}
	}
}

// TestVerifyAuthMatchesSpecs holds the test calls' authentication to what
// the excerpts state for the whole API: Stripe's bearerAuth, Asana's
// personalAccessToken, Trello's APIKey and APIToken, Shopify's endpoint and
// header (the schema file's x-source). HubSpot's contacts excerpt names
// its private-app scheme without the header form; its private-app guide
// sends "Authorization: Bearer".
func TestVerifyAuthMatchesSpecs(t *testing.T) {
	for file, want := range map[string]struct {
		scheme string
		s      securityScheme
	}{
		"stripe.json": {"bearerAuth", securityScheme{Type: "http", Scheme: "bearer"}},
		"asana.json":  {"personalAccessToken", securityScheme{Type: "http", Scheme: "bearer"}},
		"trello.json": {"APIToken", securityScheme{Type: "apiKey", In: "query", Name: "token"}},
	} {
		doc := loadSpec(t, file)
		if got := doc.Components.SecuritySchemes[want.scheme]; got != want.s {
			t.Errorf("%s %s = %+v, want %+v", file, want.scheme, got, want.s)
		}
		found := false
		for _, req := range doc.Security {
			_, found = req[want.scheme]
			if found {
				break
			}
		}
		if !found {
			t.Errorf("%s: %s is not one of the API's security requirements %v", file, want.scheme, doc.Security)
		}
	}
	var src struct {
		XSource struct {
			Endpoint struct {
				URLTemplate string `json:"url_template"`
				Method      string `json:"method"`
				AuthHeader  string `json:"auth_header"`
			} `json:"endpoint"`
			APIVersion string `json:"api_version"`
		} `json:"x-source"`
	}
	readJSON(t, reftest.Path(t, "provider-specs/shopify-admin-graphql-2026-04.json", ""), &src)
	e := src.XSource.Endpoint
	var shopify verifyCall
	for _, vc := range verifyCalls() {
		if vc.connector == "shopify" {
			shopify = vc
		}
	}
	wantURL := strings.NewReplacer("{shop}", "acme", "{version}", src.XSource.APIVersion).Replace(e.URLTemplate)
	if e.Method != shopify.method || wantURL != shopify.origin {
		t.Errorf("Shopify endpoint %s %s, the test call %s %s", e.Method, wantURL, shopify.method, shopify.origin)
	}
	if _, ok := shopify.auth.header[e.AuthHeader]; !ok || !strings.EqualFold(e.AuthHeader, "X-Shopify-Access-Token") {
		t.Errorf("Shopify auth header %q, the test call sends %v", e.AuthHeader, shopify.auth.header)
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The Admin GraphQL schema, as an introspection result.
type gqlSchema struct {
	Data struct {
		Schema struct {
			QueryType struct {
				Name string `json:"name"`
			} `json:"queryType"`
			Types []gqlType `json:"types"`
		} `json:"__schema"`
	} `json:"data"`
	XReduced struct {
		Roots map[string][]string `json:"roots"`
	} `json:"x-reduced"`
}

type gqlType struct {
	Kind   string     `json:"kind"`
	Name   string     `json:"name"`
	Fields []gqlField `json:"fields"`
}

type gqlField struct {
	Name string     `json:"name"`
	Type gqlTypeRef `json:"type"`
	Args []struct {
		Name         string     `json:"name"`
		Type         gqlTypeRef `json:"type"`
		DefaultValue *string    `json:"defaultValue"`
	} `json:"args"`
}

type gqlTypeRef struct {
	Kind   string      `json:"kind"`
	Name   string      `json:"name"`
	OfType *gqlTypeRef `json:"ofType"`
}

func (r gqlTypeRef) named() string {
	for r.OfType != nil {
		r = *r.OfType
	}
	return r.Name
}

// validateQuery checks a query made of fields and selection sets only
// (no arguments, variables, fragments or aliases: what shopQuery is)
// against the schema: every field exists on its type, object types are
// selected into, leaves are not, and no field needs an argument.
func validateQuery(types map[string]gqlType, root, query string) error {
	toks := strings.FieldsFunc(strings.NewReplacer("{", " { ", "}", " } ").Replace(query), unicode.IsSpace)
	if len(toks) > 0 && toks[0] == "query" {
		toks = toks[1:]
		if len(toks) > 0 && toks[0] != "{" {
			toks = toks[1:] // the operation's name
		}
	}
	pos := 0
	var selection func(typeName string) error
	selection = func(typeName string) error {
		t, ok := types[typeName]
		if !ok {
			return fmt.Errorf("type %s is not in the schema", typeName)
		}
		if pos >= len(toks) || toks[pos] != "{" {
			return fmt.Errorf("%s needs a selection set", typeName)
		}
		pos++
		n := 0
		for pos < len(toks) && toks[pos] != "}" {
			name := toks[pos]
			pos++
			var f *gqlField
			for i := range t.Fields {
				if t.Fields[i].Name == name {
					f = &t.Fields[i]
				}
			}
			if f == nil {
				return fmt.Errorf("%s has no field %s", typeName, name)
			}
			for _, a := range f.Args {
				if a.Type.Kind == "NON_NULL" && a.DefaultValue == nil {
					return fmt.Errorf("%s.%s needs argument %s", typeName, name, a.Name)
				}
			}
			ft := types[f.Type.named()]
			switch ft.Kind {
			case "OBJECT", "INTERFACE", "UNION":
				if err := selection(ft.Name); err != nil {
					return fmt.Errorf("%s.%s: %w", typeName, name, err)
				}
			case "SCALAR", "ENUM":
				if pos < len(toks) && toks[pos] == "{" {
					return fmt.Errorf("%s.%s is a leaf (%s) and takes no selection", typeName, name, ft.Name)
				}
			default:
				return fmt.Errorf("%s.%s: type %s is not in the schema", typeName, name, f.Type.named())
			}
			n++
		}
		if pos >= len(toks) || n == 0 {
			return fmt.Errorf("%s: unterminated or empty selection set", typeName)
		}
		pos++
		return nil
	}
	if err := selection(root); err != nil {
		return err
	}
	if pos != len(toks) {
		return fmt.Errorf("unexpected %q after the query", toks[pos])
	}
	return nil
}

// publishedShopField is QueryRoot.shop as Shopify publishes it for
// 2026-04 (Shopify/Shopify-AI-Toolkit@fedd51537360 admin_2026-04.json.gz,
// blob 8f403185e429: "Returns the Shop resource corresponding to the
// access token used in the request", type Shop!, no arguments). The
// excerpt's QueryRoot keeps only the actions' root fields (its x-reduced
// says which), so the root field is taken from there; Shop itself, and its
// name, are read from the excerpt, where kept types are as published.
var publishedShopField = gqlField{Name: "shop", Type: gqlTypeRef{Kind: "NON_NULL", OfType: &gqlTypeRef{Kind: "OBJECT", Name: "Shop"}}}

// TestShopQueryIsValid holds shopQuery to the Admin GraphQL schema of
// 2026-04: QueryRoot.shop is a Shop, and Shop.name a String!. With
// SHOPIFY_ADMIN_SCHEMA naming the full published introspection result
// (admin_2026-04.json, or .json.gz), the query is also validated against
// it, root field included.
func TestShopQueryIsValid(t *testing.T) {
	var s gqlSchema
	readJSON(t, reftest.Path(t, "provider-specs/shopify-admin-graphql-2026-04.json", ""), &s)
	types := map[string]gqlType{}
	for _, ty := range s.Data.Schema.Types {
		types[ty.Name] = ty
	}
	root := s.Data.Schema.QueryType.Name
	q, ok := types[root]
	if !ok {
		t.Fatalf("no query type %q", root)
	}
	var shop *gqlField
	for i := range q.Fields {
		if q.Fields[i].Name == "shop" {
			shop = &q.Fields[i]
		}
	}
	switch kept := s.XReduced.Roots[root]; {
	case shop != nil:
		if shop.Type.named() != "Shop" {
			t.Fatalf("QueryRoot.shop is %s, want Shop", shop.Type.named())
		}
	case len(kept) == 0 || slices.Contains(kept, "shop"):
		t.Fatalf("QueryRoot has no shop field and the excerpt does not say it cut it (kept %v)", kept)
	default:
		q.Fields = append(q.Fields, publishedShopField)
		types[root] = q
	}
	if name := fieldOf(types["Shop"], "name"); name == nil || name.Type.Kind != "NON_NULL" || name.Type.named() != "String" {
		t.Fatalf("Shop.name = %+v, want String!", name)
	}
	if err := validateQuery(types, root, shopQuery); err != nil {
		t.Errorf("%q: %v", shopQuery, err)
	}
	// The validator refuses what the schema does not have.
	for _, bad := range []string{"{ shop { nme } }", "{ shop }", "{ shop { name { x } } }", "{ shopp { name } }", "{ product { id } }", "{ shop { name }"} {
		if err := validateQuery(types, root, bad); err == nil {
			t.Errorf("%q validated", bad)
		}
	}
	if full := os.Getenv("SHOPIFY_ADMIN_SCHEMA"); full != "" {
		var fs gqlSchema
		readJSON(t, full, &fs)
		ft := map[string]gqlType{}
		for _, ty := range fs.Data.Schema.Types {
			ft[ty.Name] = ty
		}
		if err := validateQuery(ft, fs.Data.Schema.QueryType.Name, shopQuery); err != nil {
			t.Errorf("against %s: %v", full, err)
		}
	}
}

func fieldOf(t gqlType, name string) *gqlField {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}
