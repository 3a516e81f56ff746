package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/automators/connectors/internal/connectors"
)

func init() { moreCases = append(moreCases, shopifyCases) }

// shopifyCreds is a shop's connection: its subdomain and Admin API token.
func shopifyCreds() connectors.Credentials {
	return connectors.Credentials{AccessToken: "shpat_secret", ConnectionConfig: map[string]string{"subdomain": "acme"}}
}

// graphqlBody checks a request body: the document the action declares
// and exactly the variables wanted.
func graphqlBody(query, variables string) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		var got graphqlRequest
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if got.Query != query {
			t.Errorf("query\n%s\nwant the action's document\n%s", got.Query, query)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(variables), &want); err != nil {
			t.Fatalf("bad want variables: %v", err)
		}
		if !reflect.DeepEqual(got.Variables, want) {
			gv, _ := json.Marshal(got.Variables)
			t.Errorf("variables\n got %s\nwant %s", gv, variables)
		}
	}
}

// shopifyRequest is the Admin GraphQL request of root field field.
func shopifyRequest(field, query, variables string) wantRequest {
	return wantRequest{
		method: "POST", path: "/admin/api/2026-04/graphql.json",
		header:    map[string]string{"X-Shopify-Access-Token": "shpat_secret", "Content-Type": jsonC},
		noAuth:    true,
		check:     graphqlBody(query, variables),
		operation: [2]string{shopifySchema, field},
	}
}

// shopifyCost is the extensions Shopify adds to every answer.
const shopifyCost = `"extensions":{"cost":{"requestedQueryCost":12,"actualQueryCost":12,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1988,"restoreRate":100.0}}}`

// shopifyCases are the connector's actions as the Admin GraphQL API
// documents them; the answers follow Shopify's documented examples.
func shopifyCases() []requestCase {
	return []requestCase{
		{
			connector: "shopify", action: "list_products",
			params: map[string]any{"limit": float64(10), "status": "active", "query": "vendor:Acme", "cursor": "eyJsYXN0X2lkIjoxMDc5NjIxMTk1fQ=="},
			creds:  shopifyCreds(),
			want: shopifyRequest("products", shopifyListProducts,
				`{"first":10,"after":"eyJsYXN0X2lkIjoxMDc5NjIxMTk1fQ==","query":"(vendor:Acme) AND status:active"}`),
			status: 200,
			answer: `{"data":{"products":{"nodes":[{"id":"gid://shopify/Product/108828309","legacyResourceId":"108828309","title":"Draft","handle":"draft","status":"ACTIVE","vendor":"Acme","productType":"","tags":["sale"],"createdAt":"2026-04-01T12:00:00Z","updatedAt":"2026-04-02T12:00:00Z"}],"pageInfo":{"hasNextPage":true,"endCursor":"eyJsYXN0X2lkIjoxMDg4MjgzMDl9"}}},` + shopifyCost + `}`,
			wantOut: func(t *testing.T, out map[string]any) {
				pi, _ := out["pageInfo"].(map[string]any)
				if pi["endCursor"] != "eyJsYXN0X2lkIjoxMDg4MjgzMDl9" || pi["hasNextPage"] != true {
					t.Errorf("the next page's cursor is lost: %v", out)
				}
				if nodes, _ := out["nodes"].([]any); len(nodes) != 1 {
					t.Errorf("nodes %v", out["nodes"])
				}
				if _, envelope := out["data"]; envelope {
					t.Errorf("the GraphQL envelope is returned: %v", out)
				}
			},
		},
		{
			connector: "shopify", action: "get_order",
			params: map[string]any{"order_id": "450789469"},
			creds:  shopifyCreds(),
			want:   shopifyRequest("order", shopifyGetOrder, `{"id":"gid://shopify/Order/450789469"}`),
			status: 200,
			answer: `{"data":{"order":{"id":"gid://shopify/Order/450789469","legacyResourceId":"450789469","name":"#1001","createdAt":"2026-04-01T12:00:00Z","processedAt":"2026-04-01T12:00:00Z","updatedAt":"2026-04-01T12:05:00Z","cancelledAt":null,"closed":false,"test":false,"displayFinancialStatus":"PAID","displayFulfillmentStatus":"UNFULFILLED","note":null,"tags":[],"currencyCode":"USD","totalPriceSet":{"shopMoney":{"amount":"199.0","currencyCode":"USD"}},"lineItems":{"nodes":[{"id":"gid://shopify/LineItem/466157049","title":"IPod Nano - 8gb","variantTitle":"green","sku":"IPOD2008GREEN","quantity":1}],"pageInfo":{"hasNextPage":false,"endCursor":"eyJsYXN0X2lkIjo0NjYxNTcwNDl9"}}}},` + shopifyCost + `}`,
			wantOut: func(t *testing.T, out map[string]any) {
				if out["name"] != "#1001" || out["id"] != "gid://shopify/Order/450789469" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "shopify", action: "create_order",
			params: map[string]any{
				"line_items": []any{
					map[string]any{"variant_id": float64(447654529), "quantity": float64(1)},
					map[string]any{"title": "Gift wrap", "price": "5.00", "quantity": float64(2)},
				},
				"currency": "USD", "email": "jane@example.com", "financial_status": "pending", "send_receipt": true, "note": "leave at door", "tags": []any{"vip"},
			},
			creds: shopifyCreds(),
			// orderCreate documents no @idempotent: the key is not sent.
			idempotencyKey: "exec-1/node-2",
			want: shopifyRequest("orderCreate", shopifyCreateOrder,
				`{"order":{"lineItems":[{"variantId":"gid://shopify/ProductVariant/447654529","quantity":1},{"title":"Gift wrap","quantity":2,"priceSet":{"shopMoney":{"amount":"5.00","currencyCode":"USD"}}}],
				  "email":"jane@example.com","financialStatus":"PENDING","note":"leave at door","tags":["vip"]},"options":{"sendReceipt":true}}`),
			status: 200,
			answer: `{"data":{"orderCreate":{"order":{"id":"gid://shopify/Order/450789470","legacyResourceId":"450789470","name":"#1002","createdAt":"2026-04-01T12:00:00Z","displayFinancialStatus":"PENDING","totalPriceSet":{"shopMoney":{"amount":"209.0","currencyCode":"USD"}}},"userErrors":[]}},` + shopifyCost + `}`,
			wantOut: func(t *testing.T, out map[string]any) {
				o, _ := out["order"].(map[string]any)
				if o["id"] != "gid://shopify/Order/450789470" {
					t.Errorf("out = %v", out)
				}
			},
		},
		{
			connector: "shopify", action: "create_customer",
			params: map[string]any{"email": "steve.lastnameson@example.com", "first_name": "Steve", "last_name": "Lastnameson", "phone": "+16135551111", "tags": "wholesale", "note": "met at the fair"},
			creds:  shopifyCreds(),
			want: shopifyRequest("customerCreate", shopifyCreateCustomer,
				`{"input":{"email":"steve.lastnameson@example.com","firstName":"Steve","lastName":"Lastnameson","phone":"+16135551111","tags":["wholesale"],"note":"met at the fair"}}`),
			status: 200,
			answer: `{"data":{"customerCreate":{"customer":{"id":"gid://shopify/Customer/1073339460","legacyResourceId":"1073339460","createdAt":"2026-04-01T12:00:00Z","state":"DISABLED","tags":["wholesale"],"note":"met at the fair","taxExempt":false},"userErrors":[]}},` + shopifyCost + `}`,
		},
		{
			connector: "shopify", action: "adjust_inventory",
			params: map[string]any{
				"changes": []any{
					map[string]any{"inventory_item_id": float64(30322695), "location_id": "gid://shopify/Location/124656943", "delta": float64(-4)},
					map[string]any{"inventory_item_id": "30322696", "location_id": float64(124656943), "delta": float64(2), "change_from_quantity": float64(10)},
				},
				"reason": "received", "reference_document_uri": "gid://my-app/PurchaseOrder/PO-1",
			},
			creds:          shopifyCreds(),
			idempotencyKey: "exec-1/node-3",
			want: shopifyRequest("inventoryAdjustQuantities", shopifyAdjustInventory,
				`{"idempotencyKey":"exec-1/node-3","input":{"reason":"received","name":"available","referenceDocumentUri":"gid://my-app/PurchaseOrder/PO-1","changes":[
				  {"inventoryItemId":"gid://shopify/InventoryItem/30322695","locationId":"gid://shopify/Location/124656943","delta":-4,"changeFromQuantity":null},
				  {"inventoryItemId":"gid://shopify/InventoryItem/30322696","locationId":"gid://shopify/Location/124656943","delta":2,"changeFromQuantity":10}]}}`),
			status: 200,
			answer: `{"data":{"inventoryAdjustQuantities":{"inventoryAdjustmentGroup":{"id":"gid://shopify/InventoryAdjustmentGroup/1","createdAt":"2026-04-01T12:00:00Z","reason":"Inventory received","referenceDocumentUri":"gid://my-app/PurchaseOrder/PO-1","changes":[{"name":"available","delta":-4,"quantityAfterChange":null,"item":{"id":"gid://shopify/InventoryItem/30322695"},"location":{"id":"gid://shopify/Location/124656943"}},{"name":"available","delta":2,"quantityAfterChange":null,"item":{"id":"gid://shopify/InventoryItem/30322696"},"location":{"id":"gid://shopify/Location/124656943"}}]},"userErrors":[]}},` + shopifyCost + `}`,
		},
	}
}

// TestShopifyGraphQLFailures: a GraphQL answer fails with 200 (userErrors,
// top-level errors, a null payload) as well as with HTTP statuses; each
// becomes the code its cause calls for. Each answer with data is also
// held to the schema.
func TestShopifyGraphQLFailures(t *testing.T) {
	cat := testCatalogue(t)
	order := shopifyCases()[2]
	customer := shopifyCases()[3]
	products := shopifyCases()[0]
	getOrder := shopifyCases()[1]
	const throttled = `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":202,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":27,"restoreRate":100.0}}}}`
	tests := []struct {
		name      string
		tc        requestCase
		status    int
		header    map[string]string
		body      string
		wantCode  string
		wantMsg   []string
		wantRetry time.Duration
	}{
		{"userErrors with code", order, 200, nil,
			`{"data":{"orderCreate":{"order":null,"userErrors":[{"field":["order","lineItems","0","variantId"],"message":"Variant is invalid","code":"INVALID"}]}},` + shopifyCost + `}`,
			connectors.EUpstream, []string{"orderCreate", "order.lineItems.0.variantId: Variant is invalid (INVALID)"}, 0},
		{"userErrors without code", customer, 200, nil,
			`{"data":{"customerCreate":{"customer":null,"userErrors":[{"field":["email"],"message":"Email has already been taken"},{"field":["phone"],"message":"Phone has already been taken"}]}},` + shopifyCost + `}`,
			connectors.EUpstream, []string{"email: Email has already been taken; phone: Phone has already been taken"}, 0},
		{"throttled, the wait from the cost", products, 200, nil, throttled,
			connectors.ERateLimited, []string{"Throttled"}, 1750 * time.Millisecond},
		{"access denied names the scope", order, 200, nil,
			"{\"errors\":[{\"message\":\"Access denied for orderCreate field. Required access: `write_orders` access scope. Also: This mutation is only accessible to apps authenticated using offline tokens.\",\"locations\":[{\"line\":2,\"column\":3}],\"extensions\":{\"code\":\"ACCESS_DENIED\",\"documentation\":\"https://shopify.dev/api/usage/access-scopes\",\"requiredAccess\":\"`write_orders` access scope. Also: This mutation is only accessible to apps authenticated using offline tokens.\"},\"path\":[\"orderCreate\"]}],\"data\":{\"orderCreate\":null}," + shopifyCost + "}",
			connectors.EForbidden, []string{"access scope write_orders", "Access denied for orderCreate field"}, 0},
		{"access denied without requiredAccess", products, 200, nil,
			`{"errors":[{"message":"Access denied for products field.","extensions":{"code":"ACCESS_DENIED"},"path":["products"]}],"data":null}`,
			connectors.EForbidden, []string{"access scope read_products"}, 0},
		{"order not found", getOrder, 200, nil, `{"data":{"order":null},` + shopifyCost + `}`,
			connectors.EUpstream, []string{"order: not found"}, 0},
		{"internal error in the body", products, 200, nil,
			`{"errors":[{"message":"Internal error. Looks like something went wrong on our end.","extensions":{"code":"INTERNAL_SERVER_ERROR","requestId":"1b355a21-7117-44c5-8d8b-8948082f40a8"}}]}`,
			connectors.EUnavailable, []string{"Internal error"}, 0},
		{"401", products, 401, nil, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`,
			connectors.EUnauthorized, []string{"Invalid API key or access token"}, 0},
		{"429", products, 429, map[string]string{"Retry-After": "2.0"}, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`,
			connectors.ERateLimited, []string{"Exceeded 2 calls"}, 2 * time.Second},
		{"503", products, 503, map[string]string{"Content-Type": "text/html"}, `<html>down</html>`,
			connectors.EUnavailable, []string{"Service Unavailable"}, 0},
		{"500", order, 500, nil, `{"errors":"Internal Server Error"}`,
			connectors.EUnavailable, []string{"Internal Server Error"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent sentRequest
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				sent = sentRequest{r.Method, r.URL, r.Header.Clone(), b}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			out, err := cat.Run(context.Background(), srv.Client(), nil, Request{
				Connector: "shopify", Action: tt.tc.action, Params: tt.tc.params,
				Credentials: tt.tc.creds, IdempotencyKey: tt.tc.idempotencyKey, BaseURL: srv.URL,
			})
			var ce *connectors.Error
			if !errors.As(err, &ce) || ce.Code != tt.wantCode {
				t.Fatalf("Run = %v, %v; want code %s", out, err, tt.wantCode)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(ce.Message, m) {
					t.Errorf("message %q does not say %q", ce.Message, m)
				}
			}
			if strings.Contains(err.Error(), "shpat_secret") {
				t.Errorf("error holds the token: %v", err)
			}
			var pe *ProviderError
			if !errors.As(err, &pe) || pe.Status != tt.status {
				t.Errorf("cause %v, want a ProviderError with status %d", pe, tt.status)
			}
			if ce.RetryAfter != tt.wantRetry || connectors.RetryAfter(err) != tt.wantRetry || (pe != nil && pe.RetryAfter != tt.wantRetry) {
				t.Errorf("RetryAfter %v (cause %v), want %v", ce.RetryAfter, pe, tt.wantRetry)
			}
			checkShopifyGraphQL(t, strings.Fields(cat.byKey["shopify."+tt.tc.action].operation)[1], sent, tt.status, []byte(tt.body))
		})
	}
}

// TestShopifyAdjustInventoryNeedsAnIdempotencyKey: 2026-04 refuses
// inventoryAdjustQuantities without @idempotent, so no request is sent
// without a key.
func TestShopifyAdjustInventoryNeedsAnIdempotencyKey(t *testing.T) {
	cat := testCatalogue(t)
	tc := shopifyCases()[4]
	for _, key := range []string{"", "  "} {
		d := &countingDoer{}
		_, err := cat.Run(context.Background(), d, nil, Request{Connector: "shopify", Action: tc.action, Params: tc.params, Credentials: tc.creds, IdempotencyKey: key, BaseURL: "http://127.0.0.1:1"})
		if !hasCode(err, connectors.EInvalid) || d.n != 0 || !strings.Contains(err.Error(), "idempotency key") {
			t.Errorf("key %q: err %v after %d requests", key, err, d.n)
		}
	}
}

// TestShopifyActionsDeclareWhatTheyNeed holds each action's operation and
// scopes to the schema: the operation names the document's root field,
// the scopes meet what Shopify's offline_scopes say every selected field
// and type needs (write_x includes read_x), each declared scope is
// needed, and no field is protected customer data.
func TestShopifyActionsDeclareWhatTheyNeed(t *testing.T) {
	cat := testCatalogue(t)
	a := shopifyAdmin(t)
	m, _ := cat.Registry().Lookup("shopify")
	seen := map[string]bool{}
	for _, tc := range shopifyCases() {
		s := cat.byKey["shopify."+tc.action]
		seen[tc.action] = true
		args, err := s.validate(tc.params)
		if err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		c := &call{header: http.Header{}}
		if err := s.build(args, Request{Params: tc.params, IdempotencyKey: "k"}, c); err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		var body graphqlRequest
		if err := json.Unmarshal(c.body, &body); err != nil {
			t.Fatal(err)
		}
		op, err := a.operation(body.Query)
		if err != nil {
			t.Fatalf("%s: %v", tc.action, err)
		}
		root := op.SelectionSet[0].(*ast.Field).Name
		if s.operation != shopifySchema+" "+root {
			t.Errorf("%s: operation %q, the document's root field is %s", tc.action, s.operation, root)
		}
		if s.write != (op.Operation == ast.Mutation) {
			t.Errorf("%s: write %v for a %s", tc.action, s.write, op.Operation)
		}
		needs, protected := a.needs(op)
		if len(protected) > 0 {
			t.Errorf("%s selects protected customer data: %v", tc.action, protected)
		}
		for what, alts := range needs {
			if !granted(s.scopes, alts) {
				t.Errorf("%s: %s needs one of %v; the action declares %v", tc.action, what, alts, s.scopes)
			}
		}
		for _, sc := range s.scopes {
			used := false
			for _, alts := range needs {
				used = used || granted([]string{sc}, alts)
			}
			if !used {
				t.Errorf("%s declares %s, which nothing it selects needs (needs %v)", tc.action, sc, needs)
			}
			if !slices.Contains(m.Scopes, sc) {
				t.Errorf("%s: scope %s is not requested by the manifest (%v)", tc.action, sc, m.Scopes)
			}
		}
	}
	for _, name := range cat.Actions("shopify") {
		if !seen[name] {
			t.Errorf("no case for shopify.%s", name)
		}
	}
}

// TestShopifyVerifyIsAdminGraphQL holds the credential test call, sent as
// the actions send GraphQL, to the schema (QueryRoot.shop as published).
func TestShopifyVerifyIsAdminGraphQL(t *testing.T) {
	cat := testCatalogue(t)
	const answer = `{"data":{"shop":{"name":"Acme"}},` + shopifyCost + `}`
	var sent sentRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sent = sentRequest{r.Method, r.URL, r.Header.Clone(), b}
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	if err := cat.Verify(context.Background(), srv.Client(), "shopify", apiKeyCreds(t, "shopify"), srv.URL); err != nil {
		t.Fatal(err)
	}
	checkShopifyGraphQL(t, "shop", sent, 200, []byte(answer))
	// A throttled test call waits as the cost says.
	d := &captureDoer{status: 200, body: `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":10,"throttleStatus":{"maximumAvailable":1000,"currentlyAvailable":5,"restoreRate":50}}}}`}
	err := cat.Verify(context.Background(), d, "shopify", apiKeyCreds(t, "shopify"), "https://shop.test")
	if !hasCode(err, connectors.ERateLimited) || connectors.RetryAfter(err) != 100*time.Millisecond {
		t.Errorf("throttled test call: %v, retry after %v", err, connectors.RetryAfter(err))
	}
}

// TestShopifyThrottleWait: (requested − available) / restore rate, and
// nothing to wait when the bucket already holds the cost or the answer
// says nothing.
func TestShopifyThrottleWait(t *testing.T) {
	for body, want := range map[string]time.Duration{
		`{"extensions":{"cost":{"requestedQueryCost":202,"throttleStatus":{"currentlyAvailable":27,"restoreRate":100}}}}`:  1750 * time.Millisecond,
		`{"extensions":{"cost":{"requestedQueryCost":1000,"throttleStatus":{"currentlyAvailable":0,"restoreRate":50}}}}`:   20 * time.Second,
		`{"extensions":{"cost":{"requestedQueryCost":10,"throttleStatus":{"currentlyAvailable":1000,"restoreRate":100}}}}`: 0,
		`{"extensions":{"cost":{"requestedQueryCost":10,"throttleStatus":{"currentlyAvailable":0,"restoreRate":0}}}}`:      0,
		`{"errors":[{"message":"Throttled"}]}`: 0,
		`not json`:                             0,
	} {
		if got := shopifyThrottleWait([]byte(body)); got != want {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
}
