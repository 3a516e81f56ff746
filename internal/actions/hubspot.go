package actions

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/registry"
)

// hubspotProperties is the schema of a properties parameter: HubSpot's
// description types every property value as a string; a workflow may
// give a number or a boolean, which hubspotStrings converts.
const hubspotProperties = `{"additionalProperties":{"type":["string","number","boolean"]}}`

// hubspotObject is SimplePublicObject, what HubSpot answers a create,
// update or read of one CRM object with (hubspot.json).
const hubspotObject = `{"type":"object","required":["id","properties","createdAt","updatedAt","archived"],"properties":{
	"id":{"type":"string"},
	"properties":{"type":"object","additionalProperties":{"type":["string","null"]}},
	"createdAt":{"type":"string"},
	"updatedAt":{"type":"string"},
	"archived":{"type":"boolean"},
	"archivedAt":{"type":"string"},
	"propertiesWithHistory":{"type":"object"},
	"associations":{"type":"object"}}}`

// hubspotActions builds the connector's actions.
//
// HubSpot CRM API v3 (https://developers.hubspot.com/docs/api/crm/contacts),
// described by provider-specs/hubspot.json (contacts) and
// hubspot-deals.json (deals). Failures are
// {"status":"error","message","category","correlationId"}.
func hubspotActions() connector {
	return connector{provider: &provider{id: "hubspot", auth: bearer}, verify: hubspotVerify(), actions: []*spec{
		{
			name:  "create_contact",
			write: true,
			// Not safe to retry blindly: a repeat is refused with 409
			// (email is unique) or creates a second contact without email.
			credential: registry.CredentialConnection,
			operation:  "hubspot.json post-/crm/v3/objects/contacts_create",
			scopes:     []string{"crm.objects.contacts.write"},
			params: []Param{
				{Name: "properties", Kind: Object, Required: true, Schema: hubspotProperties, Description: "The contact's property values by internal name, e.g. email, firstname."},
			},
			output: hubspotObject,
			// POST /crm/v3/objects/contacts {"properties":{...}}; the
			// associations the description requires are optional in
			// HubSpot's guide (docs-rules hubspot.create_optional_associations).
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/crm/v3/objects/contacts"
				return c.json(map[string]any{"properties": hubspotStrings(a.obj("properties"))})
			},
		},
		{
			name:       "search_contacts",
			credential: registry.CredentialConnection,
			operation:  "hubspot.json post-/crm/v3/objects/contacts/search_doSearch",
			scopes:     []string{"crm.objects.contacts.read"},
			params: []Param{
				{Name: "email", Kind: String, SingleLine: true, Format: "email", Description: "Only the contact with this email address."},
				{Name: "query", Kind: String, Description: "Text searched for in the contacts' default searchable properties."},
				{Name: "properties", Kind: Strings, Description: "The properties to return (HubSpot's defaults when omitted)."},
				{Name: "limit", Kind: Int, Min: 1, Max: 200, Description: "Contacts per page (default 10)."},
				{Name: "after", Kind: String, SingleLine: true, Description: "The paging cursor of the next page (paging.next.after)."},
			},
			output: `{"type":"object","required":["total","results"],"properties":{
				"total":{"type":"integer"},
				"results":{"type":"array","items":{"type":"object"}},
				"paging":{"type":"object"}}}`,
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
		{
			name:  "update_contact",
			write: true,
			// Safe to retry: the PATCH sets the same values again.
			credential: registry.CredentialConnection,
			operation:  "hubspot.json patch-/crm/v3/objects/contacts/{contactId}_update",
			scopes:     []string{"crm.objects.contacts.write"},
			params: []Param{
				{Name: "contact_id", Kind: String, Required: true, SingleLine: true, Segment: true, Description: "The contact's id, or its id_property value."},
				{Name: "id_property", Kind: String, SingleLine: true, Description: "A unique property contact_id is a value of, e.g. email (idProperty)."},
				{Name: "properties", Kind: Object, Required: true, Schema: hubspotProperties, Description: "The property values to change; \"\" clears one."},
			},
			output: hubspotObject,
			// PATCH /crm/v3/objects/contacts/{contactId} {"properties":{...}}
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPatch, "/crm/v3/objects/contacts/"+seg(a.str("contact_id"))
				if a.has("id_property") {
					c.query = url.Values{"idProperty": {a.str("id_property")}}
				}
				return c.json(map[string]any{"properties": hubspotStrings(a.obj("properties"))})
			},
		},
		{
			name:       "get_contact",
			credential: registry.CredentialConnection,
			operation:  "hubspot.json get-/crm/v3/objects/contacts/{contactId}_getById",
			scopes:     []string{"crm.objects.contacts.read"},
			params: []Param{
				{Name: "contact_id", Kind: String, Required: true, SingleLine: true, Segment: true, Description: "The contact's id, or its id_property value."},
				{Name: "id_property", Kind: String, SingleLine: true, Description: "A unique property contact_id is a value of, e.g. email (idProperty)."},
				{Name: "properties", Kind: Strings, Description: "The properties to return (HubSpot's defaults when omitted)."},
			},
			output: hubspotObject,
			// GET /crm/v3/objects/contacts/{contactId}; properties is an
			// exploded form array: properties=a&properties=b.
			build: func(a args, _ Request, c *call) error {
				c.path = "/crm/v3/objects/contacts/" + seg(a.str("contact_id"))
				q := url.Values{}
				if a.has("id_property") {
					q.Set("idProperty", a.str("id_property"))
				}
				if a.has("properties") {
					q["properties"] = a.strs("properties")
				}
				if len(q) > 0 {
					c.query = q
				}
				return nil
			},
		},
		{
			name:  "create_deal",
			write: true,
			// Not safe to retry: HubSpot has no idempotency key and deals
			// have no unique property, so a repeat creates a second deal.
			credential: registry.CredentialConnection,
			operation:  "hubspot-deals.json post-/crm/v3/objects/0-3_create",
			scopes:     []string{"crm.objects.deals.write"},
			params: []Param{
				{Name: "properties", Kind: Object, Required: true, Schema: hubspotProperties, Description: "The deal's property values, e.g. dealname, amount, dealstage, pipeline."},
			},
			output: hubspotObject,
			// POST /crm/v3/objects/deals: hubspot-deals.json names the path
			// /crm/v3/objects/0-3 (deals' object type id) and lists
			// /crm/v3/objects/deals as its alias (x-path-aliases); the
			// name is the one HubSpot's deals guide uses.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/crm/v3/objects/deals"
				return c.json(map[string]any{"properties": hubspotStrings(a.obj("properties"))})
			},
		},
	}}
}

// hubspotStrings returns props with every value a string, as HubSpot's
// description types them: a string as is; a number as written when it
// arrived as a json.Number (decoded JSON: nothing is rounded), else a
// float64 in strconv's 'f' form, the shortest digits that read back the
// same and no exponent (36 → "36", 0.1 → "0.1"); a boolean as "true" or
// "false", HubSpot's values for its checkbox properties. The schema
// admits no other type.
func hubspotStrings(props map[string]any) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		switch x := v.(type) {
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case float32:
			out[k] = strconv.FormatFloat(float64(x), 'f', -1, 32)
		case int:
			out[k] = strconv.Itoa(x)
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case int32:
			out[k] = strconv.FormatInt(int64(x), 10)
		case bool:
			out[k] = strconv.FormatBool(x)
		}
	}
	return out
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
