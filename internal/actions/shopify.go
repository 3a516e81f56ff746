package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

func shopifyAuth(c connectors.Credentials, r *http.Request) error {
	if c.AccessToken == "" {
		return connectors.Errorf(connectors.EUnauthorized, "no Shopify access token for the request")
	}
	r.Header.Set("X-Shopify-Access-Token", c.AccessToken)
	return nil
}

// shopifyActions builds the connector's actions.
//
// Shopify Admin REST API (https://shopify.dev/docs/api/admin-rest), at the
// shop's own domain (the connection's subdomain). It authenticates with
// X-Shopify-Access-Token, not Authorization. Failures are {"errors": ...};
// throttling is 429 with Retry-After in (possibly fractional) seconds.
func shopifyActions() connector {
	return connector{provider: &provider{id: "shopify", auth: shopifyAuth}, verify: shopifyVerify(), actions: []*spec{
		{
			name:       "list_products",
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "limit", Kind: Int, Min: 1, Max: 250},
				{Name: "since_id", Kind: Int, Min: 0, Max: 1 << 53},
				{Name: "status", Kind: String, Enum: []string{"active", "archived", "draft"}},
				{Name: "fields", Kind: Strings, SingleLine: true},
			},
			// GET /products.json
			build: func(a args, _ Request, c *call) error {
				c.path = "/products.json"
				q := url.Values{"limit": {strconv.FormatInt(defaultInt(a, "limit", 50), 10)}}
				if a.has("since_id") {
					q.Set("since_id", strconv.FormatInt(a.int("since_id"), 10))
				}
				if a.has("status") {
					q.Set("status", a.str("status"))
				}
				if a.has("fields") {
					q.Set("fields", joinComma(a.strs("fields")))
				}
				c.query = q
				return nil
			},
		},
		{
			name:       "create_order",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "line_items", Kind: Objects, Required: true},
				{Name: "email", Kind: String, SingleLine: true},
				{Name: "financial_status", Kind: String, Enum: []string{"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided"}},
				{Name: "send_receipt", Kind: Bool},
				{Name: "note", Kind: String},
				{Name: "tags", Kind: Strings, SingleLine: true},
			},
			rule: checkLineItems,
			// POST /orders.json {"order":{...}}
			build: func(a args, _ Request, c *call) error {
				c.method, c.path = http.MethodPost, "/orders.json"
				order := map[string]any{"line_items": a.objs("line_items")}
				for _, k := range []string{"email", "financial_status", "note"} {
					if a.has(k) {
						order[k] = a.str(k)
					}
				}
				if v, ok := a.boolean("send_receipt"); ok {
					order["send_receipt"] = v
				}
				if a.has("tags") {
					order["tags"] = joinComma(a.strs("tags"))
				}
				return c.json(map[string]any{"order": order})
			},
		},
	}}
}

// checkLineItems requires each line item to name a variant, or a title and
// a price (a custom item), with a positive integer quantity.
func checkLineItems(s *spec, a args) error {
	for i, li := range a.objs("line_items") {
		field := func(k string) string { return fmt.Sprintf("line_items[%d].%s", i, k) }
		q, ok := toInt(li["quantity"])
		if !ok || q < 1 {
			return s.paramErr(field("quantity"), "must be a positive integer")
		}
		if v, present := li["variant_id"]; present {
			if _, ok := toInt(v); !ok {
				return s.paramErr(field("variant_id"), "must be an integer")
			}
			continue
		}
		if t, _ := li["title"].(string); t == "" {
			return s.paramErr(field("variant_id"), "is required unless title and price are given")
		}
		switch li["price"].(type) {
		case string, float64:
		default:
			return s.paramErr(field("price"), "is required with title, as a string or number")
		}
	}
	return nil
}

// shopQuery is the Admin GraphQL query that proves a shop's access token:
// QueryRoot.shop (Shop!, "the Shop resource corresponding to the access
// token used in the request") and the shop's name (String!), which every
// token may read.
const shopQuery = "{ shop { name } }"

// shopifyVerify proves a custom app's Admin API access token with
// shopQuery: POST /admin/api/2026-04/graphql.json, X-Shopify-Access-Token,
// the endpoint and header of the schema file's x-source (Shopify's
// admin-api-client). The REST Admin API the actions use is legacy; the
// GraphQL endpoint is the one Shopify documents for new calls. The
// operation is not in the excerpt schema's QueryRoot, which keeps only
// the fields the actions use (the test checks the query against it).
func shopifyVerify() *spec {
	return &spec{
		build: func(_ args, _ Request, c *call) error {
			c.method, c.path = http.MethodPost, "/graphql.json"
			return c.json(map[string]any{"query": shopQuery})
		},
		classify: graphqlClassify,
	}
}

// graphqlClassify reads a GraphQL answer that fails with 200: top-level
// errors and no data. Shopify's cost throttle is THROTTLED (a rate
// limit); any other error refuses the token for this query.
func graphqlClassify(status int, body []byte) (code, message string) {
	if status < 200 || status >= 300 {
		return "", ""
	}
	var b struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Errors) == 0 {
		return "", ""
	}
	if d := string(bytes.TrimSpace(b.Data)); d != "" && d != "null" {
		return "", "" // partial data: the query ran
	}
	e := b.Errors[0]
	if e.Extensions.Code == "THROTTLED" {
		return connectors.ERateLimited, e.Message
	}
	return connectors.EInvalidCredentials, e.Message
}
