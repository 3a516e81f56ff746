package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/registry"
)

// stripeVersion is the API version every request asks for
// (Stripe-Version): the one the actions, their parameters and output
// schemas are written against, that of provider-specs/stripe.json
// (stripe/openapi spec3 for API 2023-08-16). Without it Stripe answers
// in the account's default version, which may differ from this one.
const stripeVersion = "2023-08-16"

// stripeID is an object id, e.g. cus_NffrFeUfNV2Hib, ch_3MmlLr..., pi_3Mtw...
const stripeID = `^[A-Za-z0-9_]+$`

// stripeMetadata is Stripe's metadata: string values (stripe.json:
// additionalProperties string), sent as metadata[key]=value; "up to 50
// keys, with key names up to 40 characters long and values up to 500
// characters long" (https://docs.stripe.com/api/metadata).
const stripeMetadata = `{"additionalProperties":{"type":"string","maxLength":500},"propertyNames":{"maxLength":40},"maxProperties":50}`

// stripeCustomer is a customer object (stripe.json: required id, object,
// created, livemode; a deleted customer has deleted:true instead).
const stripeCustomer = `{"type":"object","required":["id","object"],"properties":{
	"id":{"type":"string"},
	"object":{"const":"customer"},
	"deleted":{"type":"boolean","description":"true for a deleted customer, which has no other field."},
	"created":{"type":"integer","description":"Unix time."},
	"livemode":{"type":"boolean"},
	"email":{"type":["string","null"]},
	"name":{"type":["string","null"]},
	"description":{"type":["string","null"]},
	"phone":{"type":["string","null"]},
	"metadata":{"type":"object","additionalProperties":{"type":"string"}}}}`

// stripeCustomerFields are the parameters create_customer and
// update_customer share, with stripe.json's lengths.
func stripeCustomerFields() []Param {
	return []Param{
		{Name: "email", Kind: String, SingleLine: true, Max: 512, Format: "email", Description: "The customer's email address."},
		{Name: "name", Kind: String, SingleLine: true, Max: 256, Description: "The customer's full name or business name."},
		{Name: "description", Kind: String, Max: 5000, Description: "A note shown with the customer in the dashboard."},
		{Name: "phone", Kind: String, SingleLine: true, Max: 20, Description: "The customer's phone number."},
		{Name: "metadata", Kind: Object, Schema: stripeMetadata, Description: "Key-value pairs (string values) stored on the customer."},
	}
}

// stripeForm sets in f the string parameters named that a has, and a's
// metadata as metadata[key]=value.
func stripeForm(a args, f url.Values, names ...string) {
	for _, k := range names {
		if a.has(k) {
			f.Set(k, a.str(k))
		}
	}
	for k, v := range a.obj("metadata") {
		f.Set("metadata["+k+"]", v.(string)) // the schema admits strings only
	}
}

// stripeWrite finishes a write: form body, Stripe-Version and the
// request's idempotency key as Idempotency-Key, so that Stripe itself
// answers a repeat with the first answer instead of acting twice (keys
// up to 255 characters; docs-rules stripe.idempotency). That is what
// makes every Stripe write safe to retry.
func stripeWrite(c *call, path string, f url.Values, req Request) {
	c.method, c.path = http.MethodPost, path
	c.form(f)
	c.header.Set("Stripe-Version", stripeVersion)
	if req.IdempotencyKey != "" {
		c.header.Set("Idempotency-Key", stripeIdempotencyKey(req.IdempotencyKey))
	}
}

// maxStripeKey is the longest key Stripe takes: "Idempotency keys are up
// to 255 characters long."
const maxStripeKey = 255

// stripeIdempotencyKey is key as Stripe takes it: as is when it fits,
// else its SHA-256 in hex, the same for every retry of the same key.
func stripeIdempotencyKey(key string) string {
	if len(key) <= maxStripeKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// stripeActions builds the connector's actions.
//
// Stripe API (https://docs.stripe.com/api), described by
// provider-specs/stripe.json. Requests are form-encoded, answers JSON;
// failures are {"error":{"type","code","message"}}. A Stripe Connect
// OAuth token and a secret key both go as Bearer; Connect grants
// read_write (reads are met by read_only too).
func stripeActions() connector {
	return connector{provider: &provider{id: "stripe", auth: bearer}, verify: stripeVerify(), actions: []*spec{
		{
			name:       "create_customer",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "stripe.json PostCustomers",
			scopes:     []string{"read_write"},
			params:     stripeCustomerFields(),
			output:     stripeCustomer,
			// POST /v1/customers; safe to retry (stripeWrite).
			build: func(a args, req Request, c *call) error {
				f := url.Values{}
				stripeForm(a, f, "email", "name", "description", "phone")
				stripeWrite(c, "/customers", f, req)
				return nil
			},
		},
		{
			name:       "list_customers",
			credential: registry.CredentialConnection,
			operation:  "stripe.json GetCustomers",
			scopes:     []string{"read_only|read_write"},
			params: []Param{
				{Name: "email", Kind: String, SingleLine: true, Max: 512, Description: "Only customers with this email address (case-sensitive)."},
				{Name: "limit", Kind: Int, Min: 1, Max: 100, Description: "Customers per page (default 10)."},
				{Name: "starting_after", Kind: String, SingleLine: true, Pattern: stripeID, Description: "The id of the last customer of the previous page."},
			},
			output: `{"type":"object","required":["object","data","has_more","url"],"properties":{
				"object":{"const":"list"},
				"data":{"type":"array","items":{"type":"object"}},
				"has_more":{"type":"boolean"},
				"url":{"type":"string"}}}`,
			// GET /v1/customers
			build: func(a args, _ Request, c *call) error {
				c.path = "/customers"
				c.header.Set("Stripe-Version", stripeVersion)
				q := url.Values{"limit": {strconv.FormatInt(defaultInt(a, "limit", 10), 10)}}
				if a.has("email") {
					q.Set("email", a.str("email"))
				}
				if a.has("starting_after") {
					q.Set("starting_after", a.str("starting_after"))
				}
				c.query = q
				return nil
			},
		},
		{
			name:       "update_customer",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "stripe.json PostCustomersCustomer",
			scopes:     []string{"read_write"},
			params: append([]Param{
				{Name: "customer", Kind: String, Required: true, Pattern: stripeID, Segment: true, Max: 5000, Description: "The customer's id, e.g. cus_NffrFeUfNV2Hib."},
			}, stripeCustomerFields()...),
			// Something to change (a form with nothing but the id changes nothing).
			constraints: `{"minProperties":2}`,
			output:      stripeCustomer,
			// POST /v1/customers/{customer}: sets the values given, so safe
			// to retry by nature, and sent with Idempotency-Key as well.
			build: func(a args, req Request, c *call) error {
				f := url.Values{}
				stripeForm(a, f, "email", "name", "description", "phone")
				stripeWrite(c, "/customers/"+a.str("customer"), f, req)
				return nil
			},
		},
		{
			name:       "retrieve_customer",
			credential: registry.CredentialConnection,
			operation:  "stripe.json GetCustomersCustomer",
			scopes:     []string{"read_only|read_write"},
			params: []Param{
				{Name: "customer", Kind: String, Required: true, Pattern: stripeID, Segment: true, Max: 5000, Description: "The customer's id, e.g. cus_NffrFeUfNV2Hib."},
			},
			output: stripeCustomer,
			// GET /v1/customers/{customer}
			build: func(a args, _ Request, c *call) error {
				c.path = "/customers/" + a.str("customer")
				c.header.Set("Stripe-Version", stripeVersion)
				return nil
			},
		},
		{
			name:       "create_invoice",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "stripe.json PostInvoices",
			scopes:     []string{"read_write"},
			params: []Param{
				{Name: "customer", Kind: String, Required: true, Pattern: stripeID, Max: 5000, Description: "The id of the customer billed."},
				{Name: "collection_method", Kind: String, Enum: []string{"charge_automatically", "send_invoice"}, Description: "Charge the customer's default payment method, or email the invoice (default charge_automatically)."},
				{Name: "days_until_due", Kind: Int, Schema: `{"minimum":0}`, Description: "Days until the invoice is due; only with collection_method send_invoice, which needs it."},
				{Name: "auto_advance", Kind: Bool, Description: "Let Stripe finalize and collect the invoice automatically."},
				{Name: "currency", Kind: String, Pattern: `^[a-z]{3}$`, Description: "ISO currency code, lower case (default the customer's)."},
				{Name: "description", Kind: String, Max: 1500, Description: "The invoice's memo."},
				{Name: "pending_invoice_items_behavior", Kind: String, Enum: []string{"exclude", "include", "include_and_require"}, Description: "Whether the customer's pending invoice items are included."},
				{Name: "metadata", Kind: Object, Schema: stripeMetadata, Description: "Key-value pairs (string values) stored on the invoice."},
			},
			// Stripe: days_until_due is "valid only for invoices where
			// collection_method=send_invoice", and a send_invoice invoice
			// needs it (this action offers no due_date).
			constraints: `{"if":{"required":["collection_method"],"properties":{"collection_method":{"const":"send_invoice"}}},
				"then":{"required":["days_until_due"]},"else":{"not":{"required":["days_until_due"]}}}`,
			output: `{"type":"object","required":["object","amount_due","currency","collection_method","created","livemode"],"properties":{
				"id":{"type":"string"},
				"object":{"const":"invoice"},
				"customer":{"type":["string","object","null"]},
				"status":{"enum":["draft","open","paid","uncollectible","void",null]},
				"amount_due":{"type":"integer"},
				"currency":{"type":"string"},
				"created":{"type":"integer"},
				"livemode":{"type":"boolean"},
				"collection_method":{"enum":["charge_automatically","send_invoice"]},
				"hosted_invoice_url":{"type":["string","null"]},
				"metadata":{"type":["object","null"]}}}`,
			// POST /v1/invoices; safe to retry (stripeWrite).
			build: func(a args, req Request, c *call) error {
				f := url.Values{}
				stripeForm(a, f, "customer", "collection_method", "currency", "description", "pending_invoice_items_behavior")
				if a.has("days_until_due") {
					f.Set("days_until_due", strconv.FormatInt(a.int("days_until_due"), 10))
				}
				if v, ok := a.boolean("auto_advance"); ok {
					f.Set("auto_advance", strconv.FormatBool(v))
				}
				stripeWrite(c, "/invoices", f, req)
				return nil
			},
		},
		{
			name:       "create_refund",
			write:      true,
			credential: registry.CredentialConnection,
			operation:  "stripe.json PostRefunds",
			scopes:     []string{"read_write"},
			params: []Param{
				{Name: "charge", Kind: String, Pattern: stripeID, Max: 5000, Description: "The id of the charge to refund (or give payment_intent)."},
				{Name: "payment_intent", Kind: String, Pattern: stripeID, Max: 5000, Description: "The id of the PaymentIntent to refund (or give charge)."},
				{Name: "amount", Kind: Int, Schema: `{"minimum":1}`, Description: "How much to refund, in the currency's smallest unit (default all that is left)."},
				{Name: "reason", Kind: String, Enum: []string{"duplicate", "fraudulent", "requested_by_customer"}, Description: "Why the payment is refunded."},
				{Name: "metadata", Kind: Object, Schema: stripeMetadata, Description: "Key-value pairs (string values) stored on the refund."},
			},
			// A refund is of one charge or one PaymentIntent.
			constraints: `{"oneOf":[{"required":["charge"]},{"required":["payment_intent"]}]}`,
			output: `{"type":"object","required":["id","object","amount","currency","created"],"properties":{
				"id":{"type":"string"},
				"object":{"const":"refund"},
				"amount":{"type":"integer"},
				"currency":{"type":"string"},
				"created":{"type":"integer"},
				"charge":{"type":["string","object","null"]},
				"payment_intent":{"type":["string","object","null"]},
				"reason":{"type":["string","null"]},
				"status":{"type":["string","null"]},
				"metadata":{"type":["object","null"]}}}`,
			// POST /v1/refunds; safe to retry (stripeWrite): without the key
			// a repeat would refund twice, or fail for a charge already
			// refunded in full.
			build: func(a args, req Request, c *call) error {
				f := url.Values{}
				stripeForm(a, f, "charge", "payment_intent", "reason")
				if a.has("amount") {
					f.Set("amount", strconv.FormatInt(a.int("amount"), 10))
				}
				stripeWrite(c, "/refunds", f, req)
				return nil
			},
		},
	}}
}

// stripeVerify proves a secret or restricted key: GET /v1/balance
// (Stripe's "Retrieve balance", https://docs.stripe.com/api/balance/balance_retrieve),
// read-only and free of side effects, with the key as Bearer (stripe.json's
// bearerAuth). It is not in the excerpt stripe.json. A restricted key
// without the Balance read permission is refused (403), with Stripe's
// message naming the permission.
func stripeVerify() *spec {
	return &spec{build: func(_ args, _ Request, c *call) error {
		c.path = "/balance"
		c.header.Set("Stripe-Version", stripeVersion) // as every Stripe request
		return nil
	}}
}
