package actions

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/automators/connectors/internal/registry"
)

// stripeActions builds the connector's actions.
//
// Stripe API (https://docs.stripe.com/api). Requests are form-encoded,
// answers JSON; failures are {"error":{"type","code","message"}}. A Stripe
// Connect OAuth token and a secret key both go as Bearer.
func stripeActions() connector {
	return connector{provider: &provider{id: "stripe", auth: bearer}, verify: stripeVerify(), actions: []*spec{
		{
			name:       "create_customer",
			write:      true,
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "email", Kind: String, SingleLine: true},
				{Name: "name", Kind: String, SingleLine: true},
				{Name: "description", Kind: String},
				{Name: "phone", Kind: String, SingleLine: true},
				{Name: "metadata", Kind: Object},
			},
			rule: func(s *spec, a args) error {
				for k, v := range a.obj("metadata") {
					if _, ok := v.(string); !ok {
						return s.paramErr("metadata."+k, "must be a string, got %s", typeName(v))
					}
				}
				return nil
			},
			// POST /v1/customers, form-encoded; the request's idempotency key
			// goes as Idempotency-Key so that Stripe itself drops a repeat.
			build: func(a args, req Request, c *call) error {
				c.method, c.path = http.MethodPost, "/customers"
				f := url.Values{}
				for _, k := range []string{"email", "name", "description", "phone"} {
					if a.has(k) {
						f.Set(k, a.str(k))
					}
				}
				for k, v := range a.obj("metadata") {
					f.Set("metadata["+k+"]", v.(string))
				}
				c.form(f)
				if req.IdempotencyKey != "" {
					c.header.Set("Idempotency-Key", req.IdempotencyKey)
				}
				return nil
			},
		},
		{
			name:       "list_customers",
			credential: registry.CredentialConnection,
			params: []Param{
				{Name: "email", Kind: String, SingleLine: true},
				{Name: "limit", Kind: Int, Min: 1, Max: 100},
				{Name: "starting_after", Kind: String, SingleLine: true},
			},
			// GET /v1/customers
			build: func(a args, _ Request, c *call) error {
				c.path = "/customers"
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
		return nil
	}}
}
