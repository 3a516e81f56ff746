package actions

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/automators/connectors/internal/registry"
)

// sObjectName is a standard or custom object's API name (Account, Invoice__c).
var sObjectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// salesforceActions builds the connector's actions.
//
// Salesforce REST API (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta),
// at the connection's instance_url. Failures are
// [{"message","errorCode","fields"}].
func salesforceActions() connector {
	return connector{provider: &provider{id: "salesforce", auth: bearer}, actions: []*spec{
		{
			name:       "create_record",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "sobject", Kind: String, Required: true, Pattern: sObjectName},
				{Name: "fields", Kind: Object, Required: true},
			},
			// POST /sobjects/{SObjectName}/ with the record's fields.
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/sobjects/"+a.str("sobject")+"/"
				return c.json(a.obj("fields"))
			},
		},
		{
			name:       "query",
			credential: registry.CredentialConnection,
			params:     []Param{{Name: "soql", Kind: String, Required: true}},
			// GET /query/?q=SOQL
			build: func(a args, _ Request, c *call) error {
				c.path = "/query/"
				c.query = url.Values{"q": {a.str("soql")}}
				return nil
			},
		},
	}}
}
