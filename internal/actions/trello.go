package actions

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// trelloAPIKey reports whether c are an API-key connection's credentials:
// Trello's API key and a token its user authorized.
func trelloAPIKey(c connectors.Credentials) bool { return c.APIKey != "" && c.AccessToken != "" }

// trelloAuth authenticates a direct request with an API key and token.
//
// trello.json declares them as its security schemes APIKey and APIToken:
// query parameters "key" and "token" on every operation, which is how
// Trello's API introduction shows its requests too. Trello's guides also
// describe an "Authorization: OAuth oauth_consumer_key=..., oauth_token=..."
// header that keeps them out of URLs, but neither trello.json nor
// docs-rules.json documents that form, so the request follows the
// published description: the query. URLs then carry credentials, so
// nothing here keeps a request's URL in an error without cutting its
// query (see redact), and provider text is scrubbed of both values.
func trelloAuth(c connectors.Credentials, r *http.Request) error {
	if !trelloAPIKey(c) {
		return connectors.Errorf(connectors.EUnauthorized, "no Trello API key and token for the request")
	}
	auth := url.Values{"key": {c.APIKey}, "token": {c.AccessToken}}.Encode()
	if r.URL.RawQuery != "" {
		r.URL.RawQuery += "&" + auth
	} else {
		r.URL.RawQuery = auth
	}
	return nil
}

// trelloActions builds the connector's actions.
//
// Trello REST API (https://developer.atlassian.com/cloud/trello/rest/).
// With an OAuth connection Trello is OAuth 1.0a: each request is signed
// with the app's consumer secret, which Nango holds, so requests go
// through Nango's proxy and carry no credentials here. With an API-key
// connection (the user's API key and token) requests go directly to
// https://api.trello.com/1, authenticated by trelloAuth, and never
// through the proxy. Trello takes a card's fields as query parameters and
// reports failures as plain text ("invalid id").
func trelloActions() connector {
	viaProxy := func(c connectors.Credentials) bool { return !trelloAPIKey(c) }
	return connector{provider: &provider{id: "trello", auth: trelloAuth, viaProxy: viaProxy}, verify: trelloVerify(), actions: []*spec{
		{
			name:       "create_card",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "list_id", Kind: String, Required: true, SingleLine: true},
				{Name: "name", Kind: String, Required: true},
				{Name: "desc", Kind: String},
				{Name: "pos", Kind: String, SingleLine: true},
				{Name: "due", Kind: String, SingleLine: true},
				{Name: "label_ids", Kind: Strings, SingleLine: true},
			},
			// POST /1/cards?idList=...&name=...
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/cards"
				q := url.Values{"idList": {a.str("list_id")}, "name": {a.str("name")}}
				for _, k := range []string{"desc", "pos", "due"} {
					if a.has(k) {
						q.Set(k, a.str(k))
					}
				}
				if a.has("label_ids") {
					q.Set("idLabels", strings.Join(a.strs("label_ids"), ","))
				}
				c.query = q
				return nil
			},
		},
		{
			name:       "list_cards",
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "list_id", Kind: String, Required: true, Segment: true},
				{Name: "fields", Kind: Strings, SingleLine: true},
			},
			// GET /1/lists/{id}/cards
			build: func(a args, _ Request, c *call) error {
				c.path = "/lists/" + seg(a.str("list_id")) + "/cards"
				c.query = url.Values{}
				if a.has("fields") {
					c.query.Set("fields", strings.Join(a.strs("fields"), ","))
				}
				return nil
			},
		},
	}}
}

// trelloVerify proves a key and token: GET /1/members/me, the member the
// token belongs to (Trello's "Get a Member", documented with the id "me";
// the excerpt trello.json holds only /members/{id}/boards).
func trelloVerify() *spec {
	return &spec{build: func(_ args, _ Request, c *call) error {
		c.path = "/members/me"
		return nil
	}}
}
