package actions

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

func noAuth(connectors.Credentials, http.Header) error { return nil }

// trelloActions builds the connector's actions.
//
// Trello REST API (https://developer.atlassian.com/cloud/trello/rest/).
// Trello is OAuth 1.0a: each request is signed with the app's consumer
// secret, which Nango holds, so requests go through Nango's proxy and carry
// no credentials here. Trello takes a card's fields as query parameters and
// reports failures as plain text ("invalid id").
func trelloActions() connector {
	return connector{provider: &provider{id: "trello", auth: noAuth, viaProxy: true}, actions: []*spec{
		{
			name:  "create_card",
			write: true,
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
			name: "list_cards",
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
