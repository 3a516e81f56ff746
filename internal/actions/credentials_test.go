package actions

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// sampleFields are API-key credentials as a user submits them, one set per
// connector whose manifest accepts API keys; each matches its field's
// pattern (the test checks).
var sampleFields = map[string]map[string]string{
	"stripe":  {"secret_key": "sk_test_4eC39HqLyjWDarjtT1zdp7dc"},
	"asana":   {"personal_access_token": "2/1200000000000001/1200000000000002:0123456789abcdef0123456789abcdef"},
	"hubspot": {"private_app_token": "pat-na1-11111111-2222-3333-4444-555555555555"},
	"shopify": {"subdomain": "acme", "access_token": "shpat_0123456789abcdef0123456789abcdef"},
	"trello":  {"api_key": "0123456789abcdef0123456789abcdef", "token": "ATTA0123456789abcdef0123456789abcdef0123456789abcdef0123"},
}

// apiKeyCreds returns the credentials an API-key connection of id sends,
// built as the service builds them: FieldCredentials over checked fields.
func apiKeyCreds(t testing.TB, id string) connectors.Credentials {
	t.Helper()
	m, ok := registry.Default().Lookup(id)
	if !ok || !m.AcceptsAPIKey() {
		t.Fatalf("%s accepts no API key", id)
	}
	fields, ok := sampleFields[id]
	if !ok {
		t.Fatalf("no sample fields for %s", id)
	}
	if err := m.CheckFields(fields); err != nil {
		t.Fatalf("sample fields of %s: %v", id, err)
	}
	return m.FieldCredentials(fields)
}

// wantAuth is how a request must be authenticated, exactly.
type wantAuth struct {
	header map[string]string // exact values ("" means absent)
	query  url.Values        // auth query parameters, exact
}

func (w wantAuth) check(t *testing.T, h http.Header, q url.Values) {
	t.Helper()
	for k, v := range w.header {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"key", "token"} {
		if got, want := q[k], w.query[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
}

const (
	oauthTok = "oauth-access-token-1"
	botTok   = "bot-token-MTIzNDU2"
)

// oauthAuth is what each connector's provider receives for an OAuth
// connection's token: Bearer, except Shopify's own header.
func oauthAuth(connector string) wantAuth {
	if connector == "shopify" {
		return wantAuth{header: map[string]string{"X-Shopify-Access-Token": oauthTok, "Authorization": ""}}
	}
	return wantAuth{header: map[string]string{"Authorization": "Bearer " + oauthTok}}
}

// apiKeyAuth is what each connector's provider receives for the sample
// API-key connection, as the providers document it: Stripe's secret key,
// Asana's personal access token and HubSpot's private app token as
// Bearer, Shopify's Admin API token as X-Shopify-Access-Token, Trello's
// key and token as the query parameters of trello.json's security
// schemes.
func apiKeyAuth(connector string) wantAuth {
	f := sampleFields[connector]
	switch connector {
	case "stripe":
		return wantAuth{header: map[string]string{"Authorization": "Bearer " + f["secret_key"]}}
	case "asana":
		return wantAuth{header: map[string]string{"Authorization": "Bearer " + f["personal_access_token"]}}
	case "hubspot":
		return wantAuth{header: map[string]string{"Authorization": "Bearer " + f["private_app_token"]}}
	case "shopify":
		return wantAuth{header: map[string]string{"X-Shopify-Access-Token": f["access_token"], "Authorization": ""}}
	case "trello":
		return wantAuth{header: map[string]string{"Authorization": ""}, query: url.Values{"key": {f["api_key"]}, "token": {f["token"]}}}
	}
	return wantAuth{}
}

// allCases is every action's sample request: requestCases and Trello's.
func allCases() map[string]requestCase {
	out := map[string]requestCase{}
	for _, tc := range append(requestCases(), trelloCases()...) {
		out[tc.connector+"."+tc.action] = tc
	}
	return out
}

// runCase runs tc with creds against a server that answers tc's exchanges
// in turn, and returns the requests it received.
func runCase(t *testing.T, cat *Catalogue, tc requestCase, creds connectors.Credentials, proxy connectors.Proxy) ([]*http.Request, error) {
	t.Helper()
	ex := tc.exchanges()
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := len(got)
		got = append(got, r)
		io.Copy(io.Discard, r.Body)
		if i >= len(ex) {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ex[i].status)
		io.WriteString(w, ex[i].answer)
	}))
	defer srv.Close()
	_, err := cat.Run(context.Background(), srv.Client(), proxy, Request{
		Connector: tc.connector, Action: tc.action, Params: tc.params,
		Credentials: creds, IdempotencyKey: tc.idempotencyKey, BaseURL: srv.URL,
	})
	return got, err
}

// TestEveryActionRunsWithItsCredential runs every action of the catalogue
// with each credential kind it may be given: the credential it declares
// (an OAuth connection's, or the deployment's app credential), and, for a
// connector whose manifest accepts API keys, an API-key connection's. The
// provider must receive exactly the documented authentication.
func TestEveryActionRunsWithItsCredential(t *testing.T) {
	cat := testCatalogue(t)
	cases := allCases()
	for _, m := range cat.Registry().All() {
		for _, name := range m.Actions {
			key := m.ID + "." + name
			tc, ok := cases[key]
			if !ok {
				t.Errorf("%s: no sample request", key)
				continue
			}
			a, _ := cat.Lookup(m.ID, name)
			if a.Credential() != m.Credential(name) {
				t.Errorf("%s: Action.Credential %q, registry %q", key, a.Credential(), m.Credential(name))
			}
			cred := a.Credential()
			if app, isApp := cred.App(); isApp {
				t.Run(key+"/app_credential", func(t *testing.T) {
					if !strings.Contains(strings.Join(m.AppCredentials, " "), app) {
						t.Fatalf("%s sends %s, which the manifest does not list", key, app)
					}
					creds := connectors.Credentials{AccessToken: oauthTok, AppToken: botTok}
					got, err := runCase(t, cat, tc, creds, nil)
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					if len(got) == 0 {
						t.Fatal("nothing sent")
					}
					last := got[len(got)-1]
					wantAuth{header: map[string]string{"Authorization": "Bot " + botTok}}.check(t, last.Header, last.URL.Query())
					// The connection's token alone is not enough: the app
					// credential is missing, and nothing is sent.
					got, err = runCase(t, cat, tc, connectors.Credentials{AccessToken: oauthTok}, nil)
					if !hasCode(err, connectors.ENotConfigured) || !strings.Contains(connectors.ErrorMessage(err), app) || len(got) != 0 {
						t.Errorf("without AppToken: err %v after %d requests, want ENotConfigured naming %s and none", err, len(got), app)
					}
				})
			} else if cred != registry.CredentialConnection {
				t.Errorf("%s declares %q", key, cred)
				continue
			} else {
				t.Run(key+"/oauth", func(t *testing.T) {
					if m.ID == "trello" {
						// OAuth 1.0a: through Nango's proxy, which signs.
						p := &fakeProxy{status: 200, body: tc.answer}
						creds := connectors.Credentials{OAuthToken: "oauth1-token", OAuthTokenSecret: "oauth1-secret"}
						got, err := runCase(t, cat, tc, creds, p)
						if err != nil || len(got) != 0 || len(p.calls) != 1 {
							t.Fatalf("err %v, %d direct requests, %d proxy calls; want the proxy once", err, len(got), len(p.calls))
						}
						if q := p.calls[0].Query; q.Has("key") || q.Has("token") || p.calls[0].Header.Get("Authorization") != "" {
							t.Errorf("proxy call carries credentials: %v %v", q, p.calls[0].Header)
						}
						return
					}
					got, err := runCase(t, cat, tc, connectors.Credentials{AccessToken: oauthTok}, nil)
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					if len(got) != 1 {
						t.Fatalf("%d requests, want 1", len(got))
					}
					oauthAuth(m.ID).check(t, got[0].Header, got[0].URL.Query())
				})
			}
			if m.AcceptsAPIKey() {
				t.Run(key+"/api_key", func(t *testing.T) {
					p := &fakeProxy{status: 599}
					got, err := runCase(t, cat, tc, apiKeyCreds(t, m.ID), p)
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					if len(got) != 1 || len(p.calls) != 0 {
						t.Fatalf("%d direct requests, %d proxy calls; want 1 and 0", len(got), len(p.calls))
					}
					apiKeyAuth(m.ID).check(t, got[0].Header, got[0].URL.Query())
				})
			}
		}
	}
	for id := range sampleFields {
		if m, _ := cat.Registry().Lookup(id); !m.AcceptsAPIKey() {
			t.Errorf("sample API-key fields for %s, which accepts none", id)
		}
	}
}

// TestViaProxyNeverSentDirectly: credentials of a provider that sends
// every request itself (Panora's connection token) never reach the
// provider's API directly, even for a request (Discord's guard reads) that
// does not go through the proxy.
func TestViaProxyNeverSentDirectly(t *testing.T) {
	cat, err := NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	creds := connectors.Credentials{AccessToken: "panora-connection-token", ViaProxy: true, AppToken: "bot"}
	for _, tt := range []struct {
		connector, action string
		params            map[string]any
	}{
		{"hubspot", "create_contact", map[string]any{"properties": map[string]any{"email": "ada@example.com"}}},
		{"discord", "send_message", map[string]any{"channel_id": "111111111111111111", "content": "hi"}},
	} {
		_, err := cat.Run(t.Context(), srv.Client(), nil, Request{Connector: tt.connector, Action: tt.action, Params: tt.params, Credentials: creds, BaseURL: srv.URL})
		if connectors.ErrorCode(err) != connectors.EInternal && connectors.ErrorCode(err) != connectors.ENotConfigured {
			t.Errorf("%s.%s without its proxy: %v", tt.connector, tt.action, err)
		}
	}
	if hits != 0 {
		t.Fatalf("%d requests carried a proxy-only credential directly", hits)
	}
}
