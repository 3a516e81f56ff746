package actions

import (
	"net/http"

	"github.com/automators/connectors/internal/registry"
)

// hubspotActions builds the connector's actions.
//
// HubSpot CRM API v3 (https://developers.hubspot.com/docs/api/crm/contacts).
// Failures are {"status":"error","message","category","correlationId"}.
func hubspotActions() connector {
	return connector{provider: &provider{id: "hubspot", auth: bearer}, verify: hubspotVerify(), actions: []*spec{
		{
			name:       "create_contact",
			write:      true,
			credential: registry.CredentialConnection,
			params:     []Param{{Name: "properties", Kind: Object, Required: true}},
			// POST /crm/v3/objects/contacts {"properties":{...}}
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/crm/v3/objects/contacts"
				return c.json(map[string]any{"properties": a.obj("properties")})
			},
		},
		{
			name:       "search_contacts",
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "email", Kind: String, SingleLine: true},
				{Name: "query", Kind: String},
				{Name: "properties", Kind: Strings},
				{Name: "limit", Kind: Int, Min: 1, Max: 200},
				{Name: "after", Kind: String, SingleLine: true},
			},
			// POST /crm/v3/objects/contacts/search: a read sent as POST.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/crm/v3/objects/contacts/search"
				body := map[string]any{"limit": defaultInt(a, "limit", 10)}
				if a.has("email") {
					body["filterGroups"] = []any{map[string]any{"filters": []any{
						map[string]any{"propertyName": "email", "operator": "EQ", "value": a.str("email")},
					}}}
				}
				if a.has("query") {
					body["query"] = a.str("query")
				}
				if a.has("properties") {
					body["properties"] = a.strs("properties")
				}
				if a.has("after") {
					body["after"] = a.str("after")
				}
				return c.json(body)
			},
		},
	}}
}

// hubspotVerify proves a private app's access token: GET
// /account-info/v3/details (HubSpot's account information API,
// https://developers.hubspot.com/docs/api/settings/account-information-api),
// with the token as "Authorization: Bearer", as HubSpot's private-app
// guide sends it (the contacts excerpt hubspot.json names the scheme
// "private-app" without its header form, and holds no account-info
// operation).
func hubspotVerify() *spec {
	return &spec{build: func(_ args, _ Request, c *call) error {
		c.path = "/account-info/v3/details"
		return nil
	}}
}
