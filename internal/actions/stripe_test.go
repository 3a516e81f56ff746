package actions

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

func init() { moreCases = append(moreCases, stripeCases) }

func stripeOp(id string) [2]string { return [2]string{"stripe.json", id} }

func stripeKey() connectors.Credentials { return connectors.Credentials{APIKey: "sk_test_secret"} }

// stripeWriteHeader is what every Stripe write sends.
func stripeWriteHeader(key string) map[string]string {
	return map[string]string{
		"Authorization": "Bearer sk_test_secret", "Content-Type": "application/x-www-form-urlencoded",
		"Idempotency-Key": key, "Stripe-Version": "2023-08-16",
	}
}

const (
	stripeCustomerAnswer = `{"id":"cus_NffrFeUfNV2Hib","object":"customer","created":1680893993,"livemode":false,"email":"jenny@example.com","name":"Jenny Rosen","description":null,"phone":null,"metadata":{"order_id":"6735"},"balance":0,"currency":null,"delinquent":false,"invoice_prefix":"0759376C","preferred_locales":[],"tax_exempt":"none","test_clock":null}`
	stripeInvoiceAnswer  = `{"id":"in_1MtHbELkdIwHu7ixl4OzzPMv","object":"invoice","customer":"cus_NffrFeUfNV2Hib","status":"draft","amount_due":0,"amount_paid":0,"amount_remaining":0,"amount_shipping":0,"attempt_count":0,"attempted":false,"automatic_tax":{"enabled":false,"status":null},"collection_method":"send_invoice","created":1680644467,"currency":"usd","default_tax_rates":[],"days_until_due":30,"lines":{"object":"list","data":[],"has_more":false,"url":"/v1/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv/lines"},"livemode":false,"metadata":{"order_id":"6735"},"paid":false,"paid_out_of_band":false,"payment_settings":{"default_mandate":null,"payment_method_options":null,"payment_method_types":null},"period_end":1680644467,"period_start":1680644467,"post_payment_credit_notes_amount":0,"pre_payment_credit_notes_amount":0,"starting_balance":0,"status_transitions":{"finalized_at":null,"marked_uncollectible_at":null,"paid_at":null,"voided_at":null},"subtotal":0,"total":0,"total_tax_amounts":[]}`
	stripeRefundAnswer   = `{"id":"re_1Nispe2eZvKYlo2Cd31jOCgZ","object":"refund","amount":1000,"balance_transaction":"txn_1Nispe2eZvKYlo2CYezqFhEx","charge":"ch_1NirD82eZvKYlo2CIvbtLWuY","created":1692942318,"currency":"usd","metadata":{},"payment_intent":"pi_1GszsK2eZvKYlo2CfhZyoZLp","reason":"requested_by_customer","receipt_number":null,"source_transfer_reversal":null,"status":"succeeded","transfer_reversal":null}`
)

// stripeCases are the connector's actions as stripe.json (API 2023-08-16)
// describes them; the answers follow Stripe's API reference examples.
func stripeCases() []requestCase {
	return []requestCase{
		{
			connector: "stripe", action: "create_customer",
			params:         map[string]any{"email": "jenny@example.com", "name": "Jenny Rosen", "metadata": map[string]any{"order_id": "6735"}},
			creds:          stripeKey(),
			idempotencyKey: "exec-1/node-2",
			want: wantRequest{
				method: "POST", path: "/v1/customers",
				header:    stripeWriteHeader("exec-1/node-2"),
				form:      url.Values{"email": {"jenny@example.com"}, "name": {"Jenny Rosen"}, "metadata[order_id]": {"6735"}},
				operation: stripeOp("PostCustomers"),
			},
			status: 200, answer: stripeCustomerAnswer,
		},
		{
			connector: "stripe", action: "list_customers",
			params: map[string]any{"limit": float64(3), "email": "jenny@example.com"},
			creds:  bearerCreds(),
			want: wantRequest{
				method: "GET", path: "/v1/customers",
				query:     url.Values{"limit": {"3"}, "email": {"jenny@example.com"}},
				header:    map[string]string{"Authorization": "Bearer " + tok, "Stripe-Version": "2023-08-16"},
				operation: stripeOp("GetCustomers"),
			},
			status: 200, answer: `{"object":"list","url":"/v1/customers","has_more":false,"data":[` + stripeCustomerAnswer + `]}`,
		},
		{
			connector: "stripe", action: "update_customer",
			params:         map[string]any{"customer": "cus_NffrFeUfNV2Hib", "phone": "+15555550100", "metadata": map[string]any{"order_id": "6735", "tier": "gold"}},
			creds:          stripeKey(),
			idempotencyKey: "exec-1/node-3",
			want: wantRequest{
				method: "POST", path: "/v1/customers/cus_NffrFeUfNV2Hib",
				header:    stripeWriteHeader("exec-1/node-3"),
				form:      url.Values{"phone": {"+15555550100"}, "metadata[order_id]": {"6735"}, "metadata[tier]": {"gold"}},
				operation: stripeOp("PostCustomersCustomer"),
			},
			status: 200, answer: stripeCustomerAnswer,
		},
		{
			connector: "stripe", action: "retrieve_customer",
			params: map[string]any{"customer": "cus_NffrFeUfNV2Hib"},
			creds:  stripeKey(),
			want: wantRequest{
				method: "GET", path: "/v1/customers/cus_NffrFeUfNV2Hib",
				header:    map[string]string{"Authorization": "Bearer sk_test_secret", "Stripe-Version": "2023-08-16", "Idempotency-Key": ""},
				operation: stripeOp("GetCustomersCustomer"),
			},
			status: 200, answer: stripeCustomerAnswer,
		},
		{
			connector: "stripe", action: "retrieve_customer",
			params: map[string]any{"customer": "cus_gone"},
			creds:  stripeKey(),
			want: wantRequest{
				method: "GET", path: "/v1/customers/cus_gone",
				header:    map[string]string{"Authorization": "Bearer sk_test_secret"},
				operation: stripeOp("GetCustomersCustomer"),
			},
			// A deleted customer: the description's second anyOf.
			status: 200, answer: `{"id":"cus_gone","object":"customer","deleted":true}`,
		},
		{
			connector: "stripe", action: "create_invoice",
			params:         map[string]any{"customer": "cus_NffrFeUfNV2Hib", "collection_method": "send_invoice", "days_until_due": float64(30), "auto_advance": false, "metadata": map[string]any{"order_id": "6735"}},
			creds:          stripeKey(),
			idempotencyKey: "exec-1/node-4",
			want: wantRequest{
				method: "POST", path: "/v1/invoices",
				header:    stripeWriteHeader("exec-1/node-4"),
				form:      url.Values{"customer": {"cus_NffrFeUfNV2Hib"}, "collection_method": {"send_invoice"}, "days_until_due": {"30"}, "auto_advance": {"false"}, "metadata[order_id]": {"6735"}},
				operation: stripeOp("PostInvoices"),
			},
			status: 200, answer: stripeInvoiceAnswer,
		},
		{
			connector: "stripe", action: "create_refund",
			params:         map[string]any{"charge": "ch_1NirD82eZvKYlo2CIvbtLWuY", "amount": float64(1000), "reason": "requested_by_customer"},
			creds:          stripeKey(),
			idempotencyKey: "exec-1/node-5",
			want: wantRequest{
				method: "POST", path: "/v1/refunds",
				header:    stripeWriteHeader("exec-1/node-5"),
				form:      url.Values{"charge": {"ch_1NirD82eZvKYlo2CIvbtLWuY"}, "amount": {"1000"}, "reason": {"requested_by_customer"}},
				operation: stripeOp("PostRefunds"),
			},
			status: 200, answer: stripeRefundAnswer,
		},
	}
}

func TestStripeFailures(t *testing.T) {
	cs := stripeCases()
	declined := `{"error":{"charge":"ch_3Mtw","code":"card_declined","decline_code":"insufficient_funds","doc_url":"https://stripe.com/docs/error-codes/card-declined","message":"Your card has insufficient funds.","type":"card_error"}}`
	missing := `{"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","message":"No such customer: 'cus_NffrFeUfNV2Hib'","param":"id","type":"invalid_request_error"}}`
	limited := `{"error":{"code":"rate_limit","doc_url":"https://stripe.com/docs/error-codes/rate-limit","message":"Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.","type":"invalid_request_error"}}`
	reused := `{"error":{"message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'exec-1/node-3' if you meant to execute a different request.","type":"idempotency_error"}}`
	var cases []failureCase
	cases = append(cases,
		failureCase{name: "create_invoice card declined", req: actionCase(t, cs, "create_invoice"), status: 402, answer: declined, code: connectors.EUpstream, message: "card_declined: Your card has insufficient funds."},
		failureCase{name: "create_refund card error", req: actionCase(t, cs, "create_refund"), status: 402, answer: declined, code: connectors.EUpstream, message: "card_declined"},
	)
	for _, action := range []string{"update_customer", "retrieve_customer", "create_invoice", "create_refund"} {
		tc := actionCase(t, cs, action)
		cases = append(cases,
			failureCase{name: action + " resource missing", req: tc, status: 404, answer: missing, code: connectors.EUpstream, message: "resource_missing: No such customer"},
			failureCase{name: action + " rate limited", req: tc, status: 429, answer: limited, header: http.Header{"Retry-After": {"2"}}, code: connectors.ERateLimited, message: "Request rate limit exceeded"},
		)
	}
	for _, action := range []string{"update_customer", "create_invoice", "create_refund"} {
		cases = append(cases, failureCase{name: action + " idempotency key reused", req: actionCase(t, cs, action), status: 400, answer: reused, code: connectors.EUpstream, message: "can only be used with the same parameters"})
	}
	runFailures(t, cases)
}

// TestStripeConstraints: the cross-field rules are the input schema's.
func TestStripeConstraints(t *testing.T) {
	cat := testCatalogue(t)
	for _, tt := range []struct {
		action string
		params map[string]any
		ok     bool
	}{
		{"create_refund", map[string]any{"charge": "ch_1"}, true},
		{"create_refund", map[string]any{"payment_intent": "pi_1"}, true},
		{"create_refund", map[string]any{}, false},
		{"create_refund", map[string]any{"charge": "ch_1", "payment_intent": "pi_1"}, false},
		{"create_invoice", map[string]any{"customer": "cus_1"}, true},
		{"create_invoice", map[string]any{"customer": "cus_1", "collection_method": "send_invoice"}, false},
		{"create_invoice", map[string]any{"customer": "cus_1", "days_until_due": float64(3)}, false},
		{"create_invoice", map[string]any{"customer": "cus_1", "collection_method": "charge_automatically", "days_until_due": float64(3)}, false},
		{"update_customer", map[string]any{"customer": "cus_1"}, false},
		{"update_customer", map[string]any{"customer": "cus_1", "metadata": map[string]any{"n": float64(1)}}, false},
		{"update_customer", map[string]any{"customer": "../balance", "name": "x"}, false},
	} {
		a, _ := cat.Lookup("stripe", tt.action)
		if err := a.Validate(tt.params); (err == nil) != tt.ok {
			t.Errorf("%s %v: %v, want ok %v", tt.action, tt.params, err, tt.ok)
		}
	}
}

// TestStripeIdempotencyKeyFits: a key longer than Stripe's 255
// characters goes as its digest, the same on every retry.
func TestStripeIdempotencyKeyFits(t *testing.T) {
	long := strings.Repeat("exec-1/node-2/", 20)
	got := stripeIdempotencyKey(long)
	if len(got) > maxStripeKey || got == long || got != stripeIdempotencyKey(long) {
		t.Errorf("key %q for a %d-character key", got, len(long))
	}
	if k := strings.Repeat("k", maxStripeKey); stripeIdempotencyKey(k) != k {
		t.Error("a key that fits is changed")
	}
}
