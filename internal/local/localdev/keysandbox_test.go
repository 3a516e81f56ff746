package localdev

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// passThrough records what the sandbox lets through.
type passThrough struct{ reqs []*http.Request }

func (p *passThrough) RoundTrip(r *http.Request) (*http.Response, error) {
	p.reqs = append(p.reqs, r)
	return nil, errors.New("the network is not reachable in this test")
}

// TestKeySandboxAnswersEveryTestCall holds the sandbox to the test calls
// the actions really send: for every connector that accepts API keys, a
// key is accepted offline, and one holding "invalid" is refused as the
// provider refuses it.
func TestKeySandboxAnswersEveryTestCall(t *testing.T) {
	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	base := &passThrough{}
	client := &http.Client{Transport: keySandbox{base: base}}
	samples := map[string]map[string]string{
		"stripe":  {"secret_key": "sk_test_0123456789abcdef"},
		"asana":   {"personal_access_token": "2/1234/5678:abcdef0123456789"},
		"hubspot": {"private_app_token": "pat-na1-01234567-89ab-cdef"},
		"trello":  {"api_key": "0123456789abcdef0123456789abcdef", "token": "ATTA0123456789abcdef0123456789abcdef"},
		"shopify": {"subdomain": "acme", "access_token": "shpat_0123456789abcdef0123"},
	}
	n := 0
	for _, m := range cat.Registry().All() {
		if !m.AcceptsAPIKey() {
			continue
		}
		n++
		fields, ok := samples[m.ID]
		if !ok {
			t.Fatalf("%s accepts API keys and this test has no sample for it", m.ID)
		}
		if err := m.CheckFields(fields); err != nil {
			t.Fatalf("%s sample: %v", m.ID, err)
		}
		if err := cat.Verify(t.Context(), client, m.ID, m.FieldCredentials(fields), ""); err != nil {
			t.Errorf("%s: a good key was refused offline: %v", m.ID, err)
		}
		bad := map[string]string{}
		for k, v := range fields {
			bad[k] = v
		}
		for _, f := range m.APIKey.Fields {
			if f.Use != registry.UseConfig {
				bad[f.Name] = strings.Repeat("a", 8) + "invalid" + strings.Repeat("0", 24)
				if f.Pattern != nil && !f.Pattern.MatchString(bad[f.Name]) {
					bad[f.Name] = fields[f.Name] + "invalid"
				}
				break
			}
		}
		err := cat.Verify(t.Context(), client, m.ID, m.FieldCredentials(bad), "")
		if connectors.ErrorCode(err) != connectors.EInvalidCredentials || !strings.Contains(err.Error(), "sandbox") {
			t.Errorf("%s: an invalid key: %v, want invalid_credentials from the sandbox", m.ID, err)
		}
	}
	if n != len(samples) {
		t.Errorf("%d connectors accept API keys, the test has %d samples", n, len(samples))
	}
	if len(base.reqs) != 0 {
		t.Errorf("%d test calls left the sandbox, the first to %s", len(base.reqs), base.reqs[0].URL)
	}

	// Anything else goes on, untouched: the actions reach the provider.
	req, _ := http.NewRequest(http.MethodPost, "https://api.stripe.com/v1/customers", nil)
	client.Do(req)
	if len(base.reqs) != 1 || base.reqs[0].URL.Path != "/v1/customers" {
		t.Fatalf("an action's request did not go on: %v", base.reqs)
	}
	// Shopify's actions are GraphQL at the test call's endpoint: they go
	// on too, even when they select shop fields (get_order's shopMoney).
	shop := connectors.Credentials{AccessToken: "shpat_x", ConnectionConfig: map[string]string{"subdomain": "acme"}}
	for action, params := range map[string]map[string]any{"get_order": {"order_id": "1"}, "list_products": nil} {
		n := len(base.reqs)
		if _, err := cat.Run(t.Context(), client, nil, actions.Request{Connector: "shopify", Action: action, Params: params, Credentials: shop}); connectors.ErrorCode(err) != connectors.EUnavailable || len(base.reqs) != n+1 {
			t.Errorf("shopify.%s: %v; the request did not go on", action, err)
		}
	}
}
