package actions

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

func init() { moreCases = append(moreCases, hubspotCases) }

func hubspotOp(id string) [2]string { return [2]string{"hubspot.json", id} }

// hubspotAnswer is a SimplePublicObject as HubSpot answers one.
const hubspotAnswer = `{"id":"512","properties":{"email":"ada@example.com","firstname":"Ada","lastname":null,"createdate":"2026-09-01T10:00:00.000Z","hs_object_id":"512"},"createdAt":"2026-09-01T10:00:00.000Z","updatedAt":"2026-09-02T10:00:00.000Z","archived":false}`

// hubspotCases are the connector's actions as hubspot.json and
// hubspot-deals.json describe them.
func hubspotCases() []requestCase {
	return []requestCase{
		{
			connector: "hubspot", action: "create_contact",
			params: map[string]any{"properties": map[string]any{"email": "ada@example.com", "firstname": "Ada"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/crm/v3/objects/contacts",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"properties":{"email":"ada@example.com","firstname":"Ada"}}`,
				operation: hubspotOp("post-/crm/v3/objects/contacts_create"),
			},
			status: 201, answer: hubspotAnswer,
		},
		{
			connector: "hubspot", action: "search_contacts",
			params: map[string]any{"email": "ada@example.com", "properties": []any{"email", "firstname"}, "limit": float64(5)},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "POST", path: "/crm/v3/objects/contacts/search",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"ada@example.com"}]}],"properties":["email","firstname"],"limit":5}`,
				operation: hubspotOp("post-/crm/v3/objects/contacts/search_doSearch"),
			},
			status: 200, answer: `{"total":1,"results":[` + hubspotAnswer + `],"paging":{"next":{"after":"NTI1Cg%3D%3D"}}}`,
		},
		{
			connector: "hubspot", action: "update_contact",
			// A number and a boolean go as strings.
			params: map[string]any{"contact_id": "512", "properties": map[string]any{"lastname": "Lovelace", "num_children": float64(3), "annualrevenue": json.Number("1250000.50"), "hs_marketable_status": true}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "PATCH", path: "/crm/v3/objects/contacts/512",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"properties":{"lastname":"Lovelace","num_children":"3","annualrevenue":"1250000.50","hs_marketable_status":"true"}}`,
				operation: hubspotOp("patch-/crm/v3/objects/contacts/{contactId}_update"),
			},
			status: 200, answer: hubspotAnswer,
		},
		{
			connector: "hubspot", action: "update_contact",
			params: map[string]any{"contact_id": "ada+1@example.com", "id_property": "email", "properties": map[string]any{"firstname": "Ada"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "PATCH", path: "/crm/v3/objects/contacts/ada+1@example.com",
				query:     url.Values{"idProperty": {"email"}},
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC},
				json:      `{"properties":{"firstname":"Ada"}}`,
				operation: hubspotOp("patch-/crm/v3/objects/contacts/{contactId}_update"),
			},
			status: 200, answer: hubspotAnswer,
		},
		{
			connector: "hubspot", action: "get_contact",
			params: map[string]any{"contact_id": "512", "properties": []any{"email", "firstname"}},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/crm/v3/objects/contacts/512",
				query:     url.Values{"properties": {"email", "firstname"}},
				header:    map[string]string{"Authorization": "Bearer " + tok},
				operation: hubspotOp("get-/crm/v3/objects/contacts/{contactId}_getById"),
			},
			status: 200, answer: hubspotAnswer,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["id"] != "512" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "hubspot", action: "create_deal",
			params: map[string]any{"properties": map[string]any{"dealname": "New deal", "amount": float64(1500), "dealstage": "presentationscheduled", "pipeline": "default"}},
			creds:  bearerCreds(),
			// HubSpot has no idempotency key: none is sent.
			idempotencyKey: "exec-1/node-2",
			want: wantRequest{
				method: "POST", path: "/crm/v3/objects/deals",
				header:    map[string]string{"Authorization": "Bearer " + tok, "Content-Type": jsonC, "Idempotency-Key": ""},
				json:      `{"properties":{"dealname":"New deal","amount":"1500","dealstage":"presentationscheduled","pipeline":"default"}}`,
				operation: [2]string{"hubspot-deals.json", "post-/crm/v3/objects/0-3_create"},
			},
			status: 201, answer: `{"id":"14774","properties":{"amount":"1500","dealname":"New deal","dealstage":"presentationscheduled","pipeline":"default","hs_object_id":"14774"},"createdAt":"2026-09-01T10:00:00.000Z","updatedAt":"2026-09-01T10:00:00.000Z","archived":false}`,
		},
	}
}

func TestHubSpotFailures(t *testing.T) {
	cs := hubspotCases()
	notFound := `{"status":"error","message":"Object not found.  objectId are usually numeric.","correlationId":"b4cd3f0e-7b6a-4b4c-9d1c-2e4c7a2d9f11","context":{"id":["999"]},"category":"OBJECT_NOT_FOUND"}`
	conflict := `{"status":"error","message":"Contact already exists. Existing ID: 512","correlationId":"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b","category":"CONFLICT"}`
	limited := `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c033cdaa-2c40-4a64-ae48-b4cec88dad24","policyName":"TEN_SECONDLY_ROLLING"}`
	var cases []failureCase
	for _, action := range []string{"update_contact", "get_contact"} {
		cases = append(cases, failureCase{name: action + " not found", req: actionCase(t, cs, action), status: 404, answer: notFound, code: connectors.EUpstream, message: "OBJECT_NOT_FOUND: Object not found."})
	}
	for _, action := range []string{"update_contact", "create_contact"} {
		cases = append(cases, failureCase{name: action + " conflict", req: actionCase(t, cs, action), status: 409, answer: conflict, code: connectors.EUpstream, message: "CONFLICT: Contact already exists. Existing ID: 512"})
	}
	for _, action := range []string{"update_contact", "get_contact", "create_deal"} {
		cases = append(cases, failureCase{
			name: action + " rate limited", req: actionCase(t, cs, action), status: 429, answer: limited,
			header: http.Header{"Retry-After": {"1"}}, code: connectors.ERateLimited, message: "ten_secondly_rolling limit",
		})
	}
	runFailures(t, cases)
}

// TestHubSpotPropertiesAreStrings: the schema admits strings, numbers and
// booleans as property values, and refuses what HubSpot could not read as
// a string.
func TestHubSpotPropertiesAreStrings(t *testing.T) {
	cat := testCatalogue(t)
	a, _ := cat.Lookup("hubspot", "create_deal")
	for _, bad := range []any{map[string]any{"x": 1}, []any{"a"}} {
		if err := a.Validate(map[string]any{"properties": map[string]any{"amount": bad}}); !hasCode(err, connectors.EInvalid) {
			t.Errorf("property value %v: %v", bad, err)
		}
	}
	got := hubspotStrings(map[string]any{"a": 0.1, "b": float64(1e21), "c": false, "d": json.Number("1e3"), "e": int64(7)})
	want := map[string]string{"a": "0.1", "b": "1000000000000000000000", "c": "false", "d": "1e3", "e": "7"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
