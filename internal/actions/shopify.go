package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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

// The Admin GraphQL documents, one per action. Each selects only fields
// the action's scopes can read (a write scope includes its read scope)
// and none of Shopify's protected customer data (names, emails, phones),
// which needs an approval most apps lack: a field the token may not read
// fails the whole answer with ACCESS_DENIED. The test holds each to the
// published 2026-04 schema.
const (
	// shopifyListProducts is QueryRoot.products: a page of products and
	// the cursor of the next one.
	shopifyListProducts = `query ListProducts($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) {
    nodes {
      id
      legacyResourceId
      title
      handle
      status
      vendor
      productType
      tags
      createdAt
      updatedAt
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}`
	// shopifyGetOrder is QueryRoot.order.
	shopifyGetOrder = `query GetOrder($id: ID!) {
  order(id: $id) {
    id
    legacyResourceId
    name
    createdAt
    processedAt
    updatedAt
    cancelledAt
    closed
    test
    displayFinancialStatus
    displayFulfillmentStatus
    note
    tags
    currencyCode
    totalPriceSet {
      shopMoney {
        amount
        currencyCode
      }
    }
    lineItems(first: 100) {
      nodes {
        id
        title
        variantTitle
        sku
        quantity
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
}`
	// shopifyCreateOrder is Mutation.orderCreate. Not idempotent: the
	// mutation documents no @idempotent support (the directive is
	// refused where it is not documented), so a repeat creates a second
	// order. A retry is safe only because the executor records each
	// result under its idempotency key and never resends a recorded
	// write; an answer lost in transit can still leave a duplicate.
	shopifyCreateOrder = `mutation CreateOrder($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order {
      id
      legacyResourceId
      name
      createdAt
      displayFinancialStatus
      totalPriceSet {
        shopMoney {
          amount
          currencyCode
        }
      }
    }
    userErrors {
      field
      message
      code
    }
  }
}`
	// shopifyCreateCustomer is Mutation.customerCreate. It documents no
	// @idempotent support either; but a shop's customer emails and phone
	// numbers are unique, so a repeat with the same email or phone fails
	// with a userError ("has already been taken") instead of creating a
	// second customer. A customer with neither can be duplicated by a
	// repeat.
	shopifyCreateCustomer = `mutation CreateCustomer($input: CustomerInput!) {
  customerCreate(input: $input) {
    customer {
      id
      legacyResourceId
      createdAt
      state
      tags
      note
      taxExempt
    }
    userErrors {
      field
      message
    }
  }
}`
	// shopifyAdjustInventory is Mutation.inventoryAdjustQuantities, with
	// the @idempotent directive that 2026-04 requires on it: Shopify
	// applies a key's adjustment once, so a repeat (a retried task) does
	// not move the stock twice.
	shopifyAdjustInventory = `mutation AdjustInventory($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      id
      createdAt
      reason
      referenceDocumentUri
      changes {
        name
        delta
        quantityAfterChange
        item {
          id
        }
        location {
          id
        }
      }
    }
    userErrors {
      field
      message
      code
    }
  }
}`
)

// shopifySchema is the operation file of every Shopify action.
const shopifySchema = "shopify-admin-graphql-2026-04.json"

// gidParam is a Shopify object's id as a parameter: the GraphQL global id
// (gid://shopify/<Type>/<n>) or the numeric id the REST API and the
// admin's URLs show.
func gidParam(typ string, integer bool) string {
	s := fmt.Sprintf(`{"type":"string","pattern":"^(gid://shopify/%s/)?[0-9]+$"}`, typ)
	if integer {
		return fmt.Sprintf(`{"anyOf":[{"type":"integer","minimum":1},%s]}`, s)
	}
	return s
}

// gid is v (a number or a string, as gidParam accepts) as the global id
// of a Shopify object of type typ.
func gid(typ string, v any) string {
	if s, ok := v.(string); ok {
		if strings.HasPrefix(s, "gid://") {
			return s
		}
		return "gid://shopify/" + typ + "/" + s
	}
	n, _ := toInt(v)
	return "gid://shopify/" + typ + "/" + strconv.FormatInt(n, 10)
}

// shopifyActions builds the connector's actions.
//
// Shopify Admin GraphQL API 2026-04 (https://shopify.dev/docs/api/admin-graphql),
// at the shop's own domain (the connection's subdomain): each action is
// one document POSTed to /admin/api/2026-04/graphql.json with
// X-Shopify-Access-Token (an OAuth token or a custom app's Admin API
// token). Shopify has deprecated the REST products endpoints for public
// apps. A GraphQL answer fails with 200: top-level errors (THROTTLED, the
// cost throttle; ACCESS_DENIED, a missing scope) or the mutation
// payload's userErrors; 401, 429 and 5xx keep their HTTP meaning. Run
// returns the root field's payload, not the {"data"} envelope.
func shopifyActions() connector {
	return connector{
		provider: &provider{id: "shopify", auth: shopifyAuth, classify: shopifyClassify("", nil)},
		verify:   shopifyVerify(),
		actions: []*spec{
			shopifyAction(&spec{
				name:       "list_products",
				credential: registry.CredentialConnection,
				operation:  shopifySchema + " products",
				scopes:     []string{"read_products"},
				params: []Param{
					{Name: "limit", Kind: Int, Min: 1, Max: 250, Description: "Products per page (1 to 250; 50 when not set)."},
					{Name: "cursor", Kind: String, SingleLine: true, Description: "The pageInfo.endCursor of the previous page, for the page after it."},
					{Name: "query", Kind: String, Description: "A filter in Shopify's search syntax, e.g. vendor:Acme or title:*shirt*."},
					{Name: "status", Kind: String, Enum: []string{"active", "archived", "draft", "unlisted"}, Description: "Only products with this status (added to query)."},
				},
				output: shopifyProductsOutput,
			}, "products", func(a args, _ Request) (string, map[string]any, error) {
				vars := map[string]any{"first": defaultInt(a, "limit", 50)}
				if a.has("cursor") {
					vars["after"] = a.str("cursor")
				}
				var q []string
				if a.has("query") {
					q = append(q, "("+a.str("query")+")")
				}
				if a.has("status") {
					q = append(q, "status:"+a.str("status"))
				}
				if len(q) > 0 {
					vars["query"] = strings.Join(q, " AND ")
				}
				return shopifyListProducts, vars, nil
			}),
			shopifyAction(&spec{
				name:       "get_order",
				credential: registry.CredentialConnection,
				operation:  shopifySchema + " order",
				scopes:     []string{"read_orders"},
				params: []Param{
					{Name: "order_id", Kind: String, Required: true, Pattern: `^(gid://shopify/Order/)?[0-9]+$`, Description: "The order: its id (450789469) or global id (gid://shopify/Order/450789469). Orders older than 60 days need the read_all_orders scope."},
				},
				output: shopifyOrderOutput,
			}, "order", func(a args, _ Request) (string, map[string]any, error) {
				return shopifyGetOrder, map[string]any{"id": gid("Order", a.str("order_id"))}, nil
			}),
			shopifyAction(&spec{
				name:       "create_order",
				write:      true,
				credential: registry.CredentialConnection,
				operation:  shopifySchema + " orderCreate",
				scopes:     []string{"write_orders"},
				params: []Param{
					{Name: "line_items", Kind: Objects, Required: true, Schema: shopifyLineItems, Description: "The order's items: a product variant (variant_id) and a quantity, or a custom item with title, price and quantity."},
					{Name: "currency", Kind: String, Pattern: `^[A-Z]{3}$`, Description: "The shop's currency (ISO 4217, e.g. USD): required with custom items, whose price is in it."},
					{Name: "email", Kind: String, SingleLine: true, Format: "email", Description: "The customer's email address."},
					{Name: "financial_status", Kind: String, Enum: []string{"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "expired"}, Description: "The order's financial status; derived from its transactions when not set."},
					{Name: "send_receipt", Kind: Bool, Description: "Send the customer an order confirmation."},
					{Name: "note", Kind: String, Description: "A note on the order."},
					{Name: "tags", Kind: Strings, SingleLine: true, Description: "Tags for the order."},
				},
				// A custom item's price is in the shop's currency.
				constraints: `{"if":{"required":["line_items"],"properties":{"line_items":{"contains":{"not":{"required":["variant_id"]}}}}},"then":{"required":["currency"]}}`,
				output:      shopifyCreateOrderOutput,
			}, "orderCreate", func(a args, _ Request) (string, map[string]any, error) {
				items := make([]map[string]any, 0, len(a.objs("line_items")))
				for _, li := range a.objs("line_items") {
					q, _ := toInt(li["quantity"])
					item := map[string]any{"quantity": q}
					if v, ok := li["variant_id"]; ok {
						item["variantId"] = gid("ProductVariant", v)
					} else {
						item["title"] = li["title"]
						item["priceSet"] = map[string]any{"shopMoney": map[string]any{"amount": fmt.Sprint(li["price"]), "currencyCode": a.str("currency")}}
					}
					if sku, ok := li["sku"]; ok {
						item["sku"] = sku
					}
					items = append(items, item)
				}
				order := map[string]any{"lineItems": items}
				for k, v := range map[string]string{"email": "email", "note": "note"} {
					if a.has(k) {
						order[v] = a.str(k)
					}
				}
				if a.has("financial_status") {
					order["financialStatus"] = strings.ToUpper(a.str("financial_status"))
				}
				if a.has("tags") {
					order["tags"] = a.strs("tags")
				}
				vars := map[string]any{"order": order}
				if v, ok := a.boolean("send_receipt"); ok {
					vars["options"] = map[string]any{"sendReceipt": v}
				}
				return shopifyCreateOrder, vars, nil
			}),
			shopifyAction(&spec{
				name:       "create_customer",
				write:      true,
				credential: registry.CredentialConnection,
				operation:  shopifySchema + " customerCreate",
				scopes:     []string{"write_customers"},
				params: []Param{
					{Name: "email", Kind: String, SingleLine: true, Format: "email", Description: "The customer's email address, unique in the shop."},
					{Name: "phone", Kind: String, SingleLine: true, Pattern: `^\+[1-9][0-9]{1,14}$`, Description: "The customer's phone number (E.164, e.g. +16135551111), unique in the shop."},
					{Name: "first_name", Kind: String, SingleLine: true, Description: "The customer's first name."},
					{Name: "last_name", Kind: String, SingleLine: true, Description: "The customer's last name."},
					{Name: "note", Kind: String, Description: "A note about the customer."},
					{Name: "tags", Kind: Strings, SingleLine: true, Description: "Tags for the customer."},
				},
				// Shopify refuses a customer with none of these.
				constraints: `{"anyOf":[{"required":["email"]},{"required":["phone"]},{"required":["first_name"]},{"required":["last_name"]}]}`,
				output:      shopifyCreateCustomerOutput,
			}, "customerCreate", func(a args, _ Request) (string, map[string]any, error) {
				input := map[string]any{}
				for k, v := range map[string]string{"email": "email", "phone": "phone", "first_name": "firstName", "last_name": "lastName", "note": "note"} {
					if a.has(k) {
						input[v] = a.str(k)
					}
				}
				if a.has("tags") {
					input["tags"] = a.strs("tags")
				}
				return shopifyCreateCustomer, map[string]any{"input": input}, nil
			}),
			shopifyAction(&spec{
				name:       "adjust_inventory",
				write:      true,
				credential: registry.CredentialConnection,
				operation:  shopifySchema + " inventoryAdjustQuantities",
				scopes:     []string{"write_inventory"},
				params: []Param{
					{Name: "changes", Kind: Objects, Required: true, Schema: shopifyInventoryChanges, Description: "The changes: an inventory item at a location, and by how much its available quantity changes."},
					{Name: "reason", Kind: String, Pattern: `^[a-z_]+$`, Description: "Why the quantities change, one of Shopify's reasons (correction, cycle_count_available, damaged, received, restock, shrinkage, ...); correction when not set."},
					{Name: "reference_document_uri", Kind: String, SingleLine: true, Description: "A URI for what caused the change (gid://my-app/PurchaseOrder/PO-1, or an https URL), shown in the shop's inventory history."},
				},
				output: shopifyAdjustInventoryOutput,
			}, "inventoryAdjustQuantities", func(a args, req Request) (string, map[string]any, error) {
				if strings.TrimSpace(req.IdempotencyKey) == "" {
					// 2026-04 refuses the mutation without one.
					return "", nil, connectors.Errorf(connectors.EInvalid, "shopify.adjust_inventory: Shopify requires an idempotency key for inventoryAdjustQuantities, and the request has none")
				}
				changes := make([]map[string]any, 0, len(a.objs("changes")))
				for _, ch := range a.objs("changes") {
					delta, _ := toInt(ch["delta"])
					c := map[string]any{
						"inventoryItemId": gid("InventoryItem", ch["inventory_item_id"]),
						"locationId":      gid("Location", ch["location_id"]),
						"delta":           delta,
						// Mandatory in 2026-04, even as null: null skips
						// the compare-and-swap check, a value makes the
						// change fail (CHANGE_FROM_QUANTITY_STALE) when
						// the quantity is no longer that.
						"changeFromQuantity": nil,
					}
					if v, ok := ch["change_from_quantity"]; ok && v != nil {
						n, _ := toInt(v)
						c["changeFromQuantity"] = n
					}
					changes = append(changes, c)
				}
				reason := "correction"
				if a.has("reason") {
					reason = a.str("reason")
				}
				input := map[string]any{"reason": reason, "name": "available", "changes": changes}
				if a.has("reference_document_uri") {
					input["referenceDocumentUri"] = a.str("reference_document_uri")
				}
				return shopifyAdjustInventory, map[string]any{"input": input, "idempotencyKey": req.IdempotencyKey}, nil
			}),
		},
	}
}

// shopifyAction completes s as the Admin GraphQL call of field (the root
// field its document selects): the request vars builds, the answer's
// failures (userErrors, a null payload, top-level errors) classified,
// and the payload under data.<field> as its output.
func shopifyAction(s *spec, field string, vars func(a args, req Request) (query string, variables map[string]any, err error)) *spec {
	s.classify = shopifyClassify(field, s.scopes)
	s.build = func(a args, req Request, c *call) error {
		query, v, err := vars(a, req)
		if err != nil {
			return err
		}
		if err := shopifyGraphQL(c, query, v); err != nil {
			return err
		}
		c.decode = func(body []byte) (map[string]any, error) { return graphqlPayload(s, body, field) }
		return nil
	}
	return s
}

// shopifyGraphQL makes c an Admin GraphQL request: POST graphql.json
// under the manifest's base URL (/admin/api/2026-04), with the JSON body
// {"query","variables"}. The actions and the credential test call send
// GraphQL this way. A throttled answer's wait is read from its cost.
func shopifyGraphQL(c *call, query string, variables map[string]any) error {
	c.method, c.path = http.MethodPost, "/graphql.json"
	c.wait = shopifyThrottleWait
	body := map[string]any{"query": query}
	if variables != nil {
		body["variables"] = variables
	}
	return c.json(body)
}

// graphqlAnswer is a GraphQL response, as far as failures go.
type graphqlAnswer struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []graphqlError             `json:"errors"`
}

type graphqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code           string `json:"code"`
		RequiredAccess string `json:"requiredAccess"`
	} `json:"extensions"`
}

type graphqlUserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// isNull reports whether a JSON value is absent or null.
func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// shopifyClassify reads a 2xx GraphQL answer for field's payload (""
// for the envelope only): a null payload with top-level errors fails as
// those errors say; a null payload without any is an unknown id (Shopify
// answers null for an order it does not find); a payload with userErrors
// is refused input (EUpstream, each with its field path, message and
// code). scopes name, in an ACCESS_DENIED message, what the action needs
// when Shopify's error does not say.
func shopifyClassify(field string, scopes []string) func(status int, body []byte) (code, message string) {
	return func(status int, body []byte) (string, string) {
		if status < 200 || status >= 300 {
			return "", ""
		}
		var a graphqlAnswer
		if json.Unmarshal(body, &a) != nil {
			return "", "" // not JSON: decoding the output says so
		}
		if field == "" {
			for _, v := range a.Data {
				if !isNull(v) {
					return "", "" // partial data: the query ran
				}
			}
			if len(a.Errors) == 0 {
				return "", ""
			}
			return graphqlErrorsCode(a.Errors, scopes)
		}
		payload := a.Data[field]
		if isNull(payload) {
			if len(a.Errors) > 0 {
				return graphqlErrorsCode(a.Errors, scopes)
			}
			why := "an unknown id"
			if field == "order" {
				why += ", or an order older than 60 days without the read_all_orders scope"
			}
			return connectors.EUpstream, field + ": not found (Shopify answered null: " + why + ")"
		}
		var p struct {
			UserErrors []graphqlUserError `json:"userErrors"`
		}
		if json.Unmarshal(payload, &p) != nil || len(p.UserErrors) == 0 {
			return "", ""
		}
		parts := make([]string, 0, len(p.UserErrors))
		for _, ue := range p.UserErrors {
			m := ue.Message
			if len(ue.Field) > 0 {
				m = strings.Join(ue.Field, ".") + ": " + m
			}
			if ue.Code != "" {
				m += " (" + ue.Code + ")"
			}
			parts = append(parts, m)
		}
		return connectors.EUpstream, field + " refused the input: " + strings.Join(parts, "; ")
	}
}

// backticked finds the scope names in Shopify's requiredAccess texts
// ("`write_orders` access scope.").
var backticked = regexp.MustCompile("`([a-z_]+)`")

// graphqlErrorsCode maps top-level GraphQL errors to a code: THROTTLED
// is the cost throttle (ERateLimited; the wait is in the answer's cost);
// ACCESS_DENIED a token without the scope the field needs, EForbidden:
// the connection must be granted it (connected again, or the custom
// app's token given the scope), which is what the executor's
// ReauthRequired says, where EUpstream would call the action's input
// wrong; INTERNAL_SERVER_ERROR an outage; anything else (a document
// Shopify refuses, MAX_COST_EXCEEDED) EUpstream.
func graphqlErrorsCode(errs []graphqlError, scopes []string) (string, string) {
	msgs := make([]string, 0, len(errs))
	code := connectors.EUpstream
	for _, e := range errs {
		m := e.Message
		if e.Extensions.Code != "" && !strings.Contains(m, e.Extensions.Code) {
			m = e.Extensions.Code + ": " + m
		}
		if !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	msg := strings.Join(msgs, "; ")
	for _, e := range errs {
		switch e.Extensions.Code {
		case "THROTTLED":
			return connectors.ERateLimited, msg
		case "ACCESS_DENIED":
			var need []string
			for _, m := range backticked.FindAllStringSubmatch(e.Extensions.RequiredAccess+" "+e.Message, -1) {
				if !slices.Contains(need, m[1]) {
					need = append(need, m[1])
				}
			}
			if len(need) == 0 {
				need = scopes
			}
			return connectors.EForbidden, fmt.Sprintf("the connection lacks the access scope %s (connect the shop again granting it): %s", strings.Join(need, " or "), msg)
		case "INTERNAL_SERVER_ERROR":
			code = connectors.EUnavailable
		}
	}
	return code, msg
}

// shopifyThrottleWait is how long a THROTTLED answer asks to wait: until
// the bucket holds the query's cost, (requestedQueryCost −
// currentlyAvailable) / restoreRate seconds, from the answer's
// extensions.cost.throttleStatus.
func shopifyThrottleWait(body []byte) time.Duration {
	var a struct {
		Extensions struct {
			Cost struct {
				RequestedQueryCost float64 `json:"requestedQueryCost"`
				ThrottleStatus     struct {
					CurrentlyAvailable float64 `json:"currentlyAvailable"`
					RestoreRate        float64 `json:"restoreRate"`
				} `json:"throttleStatus"`
			} `json:"cost"`
		} `json:"extensions"`
	}
	if json.Unmarshal(body, &a) != nil {
		return 0
	}
	c := a.Extensions.Cost
	need := c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable
	if c.ThrottleStatus.RestoreRate <= 0 || need <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(need/c.ThrottleStatus.RestoreRate*1000)) * time.Millisecond
}

// graphqlPayload is the payload of a successful answer, data.<field>.
func graphqlPayload(s *spec, body []byte, field string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep 64-bit ids exact
	var a struct {
		Data map[string]any `json:"data"`
	}
	if err := dec.Decode(&a); err != nil {
		return nil, connectors.Wrap(err, connectors.EUpstream, s.key+": the provider's answer is not JSON")
	}
	p, ok := a.Data[field].(map[string]any)
	if !ok {
		return nil, connectors.Errorf(connectors.EUpstream, "%s: the answer has no data.%s object", s.key, field)
	}
	return p, nil
}

// Item shapes of create_order's line_items and adjust_inventory's changes
// (a GraphQL Int is 32 bits).
var (
	shopifyLineItems = `{"items":{
		"properties":{
			"variant_id":` + gidParam("ProductVariant", true) + `,
			"quantity":{"type":"integer","minimum":1,"maximum":2147483647},
			"title":{"type":"string","minLength":1},
			"price":{"anyOf":[{"type":"string","pattern":"^[0-9]+(\\.[0-9]+)?$"},{"type":"number","minimum":0}]},
			"sku":{"type":"string"}
		},
		"required":["quantity"],
		"additionalProperties":false,
		"allOf":[
			{"if":{"not":{"required":["title"]}},"then":{"required":["variant_id"]}},
			{"if":{"required":["title"],"not":{"required":["variant_id"]}},"then":{"required":["price"]}}
		]}}`
	shopifyInventoryChanges = `{"items":{
		"properties":{
			"inventory_item_id":` + gidParam("InventoryItem", true) + `,
			"location_id":` + gidParam("Location", true) + `,
			"delta":{"type":"integer","minimum":-2147483648,"maximum":2147483647,"not":{"const":0}},
			"change_from_quantity":{"type":["integer","null"],"minimum":-2147483648,"maximum":2147483647}
		},
		"required":["inventory_item_id","location_id","delta"],
		"additionalProperties":false}}`
)

// Output schemas: the payload of each action's root field.
const (
	shopifyMoney          = `{"type":"object","required":["shopMoney"],"properties":{"shopMoney":{"type":"object","required":["amount","currencyCode"],"properties":{"amount":{"type":"string"},"currencyCode":{"type":"string"}}}}}`
	shopifyPageInfo       = `{"type":"object","required":["hasNextPage"],"properties":{"hasNextPage":{"type":"boolean"},"endCursor":{"type":["string","null"]}}}`
	shopifyUserErrors     = `{"type":"array","items":{"type":"object","required":["message"],"properties":{"field":{"type":["array","null"],"items":{"type":"string"}},"message":{"type":"string"},"code":{"type":["string","null"]}}}}`
	shopifyStringList     = `{"type":"array","items":{"type":"string"}}`
	shopifyProductsOutput = `{"type":"object","required":["nodes","pageInfo"],"properties":{
		"nodes":{"type":"array","items":{"type":"object","required":["id","title"],"properties":{
			"id":{"type":"string"},"legacyResourceId":{"type":"string"},"title":{"type":"string"},"handle":{"type":"string"},
			"status":{"type":"string"},"vendor":{"type":"string"},"productType":{"type":"string"},"tags":` + shopifyStringList + `,
			"createdAt":{"type":"string"},"updatedAt":{"type":"string"}}}},
		"pageInfo":` + shopifyPageInfo + `}}`
	shopifyOrderOutput = `{"type":"object","required":["id","name"],"properties":{
		"id":{"type":"string"},"legacyResourceId":{"type":"string"},"name":{"type":"string"},
		"createdAt":{"type":"string"},"processedAt":{"type":"string"},"updatedAt":{"type":"string"},"cancelledAt":{"type":["string","null"]},
		"closed":{"type":"boolean"},"test":{"type":"boolean"},
		"displayFinancialStatus":{"type":["string","null"]},"displayFulfillmentStatus":{"type":"string"},
		"note":{"type":["string","null"]},"tags":` + shopifyStringList + `,"currencyCode":{"type":"string"},
		"totalPriceSet":` + shopifyMoney + `,
		"lineItems":{"type":"object","required":["nodes","pageInfo"],"properties":{
			"nodes":{"type":"array","items":{"type":"object","required":["id","quantity"],"properties":{
				"id":{"type":"string"},"title":{"type":"string"},"variantTitle":{"type":["string","null"]},"sku":{"type":["string","null"]},"quantity":{"type":"integer"}}}},
			"pageInfo":` + shopifyPageInfo + `}}}}`
	shopifyCreateOrderOutput = `{"type":"object","required":["order","userErrors"],"properties":{
		"order":{"type":"object","required":["id","name"],"properties":{
			"id":{"type":"string"},"legacyResourceId":{"type":"string"},"name":{"type":"string"},"createdAt":{"type":"string"},
			"displayFinancialStatus":{"type":["string","null"]},"totalPriceSet":` + shopifyMoney + `}},
		"userErrors":` + shopifyUserErrors + `}}`
	shopifyCreateCustomerOutput = `{"type":"object","required":["customer","userErrors"],"properties":{
		"customer":{"type":"object","required":["id"],"properties":{
			"id":{"type":"string"},"legacyResourceId":{"type":"string"},"createdAt":{"type":"string"},"state":{"type":"string"},
			"tags":` + shopifyStringList + `,"note":{"type":["string","null"]},"taxExempt":{"type":"boolean"}}},
		"userErrors":` + shopifyUserErrors + `}}`
	shopifyAdjustInventoryOutput = `{"type":"object","required":["inventoryAdjustmentGroup","userErrors"],"properties":{
		"inventoryAdjustmentGroup":{"type":"object","required":["id","changes"],"properties":{
			"id":{"type":"string"},"createdAt":{"type":"string"},"reason":{"type":"string"},"referenceDocumentUri":{"type":["string","null"]},
			"changes":{"type":"array","items":{"type":"object","required":["name","delta"],"properties":{
				"name":{"type":"string"},"delta":{"type":"integer"},"quantityAfterChange":{"type":["integer","null"]},
				"item":{"type":["object","null"],"properties":{"id":{"type":"string"}}},
				"location":{"type":["object","null"],"properties":{"id":{"type":"string"}}}}}}}},
		"userErrors":` + shopifyUserErrors + `}}`
)

// shopQuery is the Admin GraphQL query that proves a shop's access token:
// QueryRoot.shop (Shop!, "the Shop resource corresponding to the access
// token used in the request") and the shop's name (String!), which every
// token may read.
const shopQuery = "{ shop { name } }"

// shopifyVerify proves a custom app's Admin API access token with
// shopQuery, sent as the actions send GraphQL: POST
// /admin/api/2026-04/graphql.json, X-Shopify-Access-Token, the endpoint
// and header of the schema file's x-source (Shopify's admin-api-client).
// The operation is not in the excerpt schema's QueryRoot, which keeps
// only the fields the actions use (the test adds it as published).
func shopifyVerify() *spec {
	return &spec{
		build: func(_ args, _ Request, c *call) error {
			return shopifyGraphQL(c, shopQuery, nil)
		},
		classify: graphqlClassify,
	}
}

// graphqlClassify reads the test call's GraphQL answer that fails with
// 200: top-level errors and no data. Shopify's cost throttle is
// THROTTLED (a rate limit); any other error refuses the token for this
// query.
func graphqlClassify(status int, body []byte) (code, message string) {
	code, msg := shopifyClassify("", nil)(status, body)
	if code == "" || code == connectors.ERateLimited || code == connectors.EUnavailable {
		return code, msg
	}
	return connectors.EInvalidCredentials, msg
}
