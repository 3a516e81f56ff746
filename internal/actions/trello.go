package actions

import (
	"net/http"
	"net/url"
	"strconv"
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
// reports failures as plain text ("invalid id", 404 "The requested
// resource was not found.", 401 "invalid token").
//
// Retries: creating a card or a comment is not idempotent (Trello has no
// idempotency key: a retry creates another); update_card (PUT, the same
// fields) is.
func trelloActions() connector {
	viaProxy := func(c connectors.Credentials) bool { return !trelloAPIKey(c) }
	cardID := Param{Name: "card_id", Kind: String, Required: true, Segment: true, Pattern: trelloID, Description: "The card's id (24 hexadecimal digits)."}
	return connector{provider: &provider{id: "trello", auth: trelloAuth, viaProxy: viaProxy}, verify: trelloVerify(), actions: []*spec{
		{
			name:       "create_card",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "trello.json post-cards",
			scopes:     []string{"write"},
			output:     trelloCardOutput,
			params: []Param{
				// trello.json's idList is 24 hexadecimal digits; the
				// parameter keeps its looser check (other tests send short ids).
				{Name: "list_id", Kind: String, Required: true, SingleLine: true, Description: "The id of the list to add the card to (24 hexadecimal digits)."},
				{Name: "name", Kind: String, Required: true, Description: "The card's name."},
				{Name: "desc", Kind: String, Description: "The card's description."},
				{Name: "pos", Kind: String, SingleLine: true, Pattern: trelloPos, Description: "Where in the list: top, bottom or a positive number."},
				{Name: "due", Kind: String, SingleLine: true, Description: "The due date, ISO 8601 (2026-09-01 or 2026-09-01T17:00:00Z)."},
				{Name: "label_ids", Kind: Strings, SingleLine: true, Pattern: trelloID, Description: "Ids of the board's labels to put on the card."},
			},
			// POST /1/cards?idList=...&name=...; 200 with the card. Not
			// idempotent: a retry creates another card.
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
			operation:  "trello.json get-lists-id-cards",
			scopes:     []string{"read"},
			output:     `{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":` + trelloCardOutput + `}}}`,
			params: []Param{
				{Name: "list_id", Kind: String, Required: true, Segment: true, Description: "The list's id (24 hexadecimal digits)."},
				{Name: "fields", Kind: Strings, SingleLine: true, Description: "The card fields to answer (Trello's fields, comma-joined); all when absent."},
			},
			// GET /1/lists/{id}/cards. trello.json declares only id; fields
			// is the one query parameter Trello's reference page adds.
			build: func(a args, _ Request, c *call) error {
				c.path = "/lists/" + seg(a.str("list_id")) + "/cards"
				c.query = url.Values{}
				if a.has("fields") {
					c.query.Set("fields", strings.Join(a.strs("fields"), ","))
				}
				return nil
			},
		},
		{
			name:       "update_card",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "trello.json put-cards-id",
			scopes:     []string{"write"},
			output:     trelloCardOutput,
			params: []Param{
				cardID,
				{Name: "name", Kind: String, SingleLine: true, Description: "The card's new name."},
				{Name: "desc", Kind: String, Description: "The card's new description."},
				{Name: "closed", Kind: Bool, Description: "Archive (true) or unarchive (false) the card."},
				{Name: "list_id", Kind: String, SingleLine: true, Pattern: trelloID, Description: "Move the card to this list (24 hexadecimal digits)."},
				{Name: "pos", Kind: String, SingleLine: true, Pattern: trelloPos, Description: "Where in its list: top, bottom or a positive number."},
				{Name: "due", Kind: String, SingleLine: true, Description: "The due date, ISO 8601."},
				{Name: "due_complete", Kind: Bool, Description: "Whether the due date is marked complete."},
			},
			// A PUT with nothing to change changes nothing: one field at least.
			constraints: `{"anyOf":[{"required":["name"]},{"required":["desc"]},{"required":["closed"]},{"required":["list_id"]},{"required":["pos"]},{"required":["due"]},{"required":["due_complete"]}]}`,
			// PUT /1/cards/{id}?name=...; 200 with the card. Idempotent:
			// the same PUT leaves the same card.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPut, "/cards/"+seg(a.str("card_id"))
				q := url.Values{}
				for param, field := range map[string]string{"name": "name", "desc": "desc", "list_id": "idList", "pos": "pos", "due": "due"} {
					if a.has(param) {
						q.Set(field, a.str(param))
					}
				}
				for param, field := range map[string]string{"closed": "closed", "due_complete": "dueComplete"} {
					if v, ok := a.boolean(param); ok {
						q.Set(field, strconv.FormatBool(v))
					}
				}
				c.query = q
				return nil
			},
		},
		{
			name:       "add_comment",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "trello.json post-cards-id-actions-comments",
			scopes:     []string{"write"},
			output: `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"type":{"type":"string"},"date":{"type":"string"},
				"idMemberCreator":{"type":"string"},"data":{"type":"object","properties":{"text":{"type":"string"}}}}}`,
			params: []Param{
				cardID,
				{Name: "text", Kind: String, Required: true, Max: 16384, Description: "The comment (Trello keeps up to 16384 characters)."},
			},
			// POST /1/cards/{id}/actions/comments?text=...; 200 with the
			// commentCard action. Not idempotent: a retry comments again.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/cards/"+seg(a.str("card_id"))+"/actions/comments"
				c.query = url.Values{"text": {a.str("text")}}
				return nil
			},
		},
		{
			name:       "list_boards",
			credential: registry.CredentialConnection,
			operation:  "trello.json get-members-id-boards",
			scopes:     []string{"read"},
			output: `{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"object","required":["id"],
				"properties":{"id":{"type":"string"},"name":{"type":"string"},"desc":{"type":"string"},"closed":{"type":"boolean"},"url":{"type":"string"},"shortUrl":{"type":"string"}}}}}}`,
			params: []Param{
				{Name: "member", Kind: String, Segment: true, Pattern: trelloMember, Description: "Whose boards: a member's id, or me (the default) for the connection's own."},
				{Name: "filter", Kind: String, Enum: []string{"all", "closed", "members", "open", "organization", "public", "starred"}, Description: "Which boards (default all)."},
				{Name: "fields", Kind: Strings, Enum: trelloBoardFields, Description: "The board fields to answer; all when absent."},
			},
			// GET /1/members/{id}/boards, id "me" by default: Trello's
			// description of id is "The ID or username of the member".
			build: func(a args, _ Request, c *call) error {
				c.path = "/members/" + seg(orDefault(a.str("member"), "me")) + "/boards"
				c.query = url.Values{}
				if a.has("filter") {
					c.query.Set("filter", a.str("filter"))
				}
				if a.has("fields") {
					c.query.Set("fields", strings.Join(a.strs("fields"), ","))
				}
				return nil
			},
		},
	}}
}

// trelloID is a Trello object id as trello.json's parameters declare it.
const trelloID = `^[0-9a-fA-F]{24}$`

// trelloMember is a member's id, or "me" for the token's own member.
const trelloMember = `^([0-9a-fA-F]{24}|me)$`

// trelloPos is a card position: pos's oneOf in trello.json.
const trelloPos = `^(top|bottom|[0-9]+(\.[0-9]+)?)$`

// trelloBoardFields are the board fields get-members-id-boards declares.
var trelloBoardFields = []string{"id", "name", "desc", "descData", "closed", "idMemberCreator", "idOrganization", "pinned", "url", "shortUrl", "prefs", "labelNames", "starred", "limits", "memberships", "enterpriseOwned"}

// trelloCardOutput is a card, as far as callers read it.
const trelloCardOutput = `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"name":{"type":"string"},"desc":{"type":"string"},
	"idList":{"type":"string"},"idBoard":{"type":"string"},"closed":{"type":"boolean"},"due":{"type":["string","null"]},"url":{"type":"string"},"shortUrl":{"type":"string"}}}`

// trelloVerify proves a key and token: GET /1/members/me, the member the
// token belongs to (Trello's "Get a Member", documented with the id "me";
// the excerpt trello.json holds only /members/{id}/boards).
func trelloVerify() *spec {
	return &spec{build: func(_ args, _ Request, c *call) error {
		c.path = "/members/me"
		return nil
	}}
}
