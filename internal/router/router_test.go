package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

func manifest(t *testing.T, id string) registry.Manifest {
	t.Helper()
	m, ok := registry.Default().Lookup(id)
	if !ok {
		t.Fatalf("no manifest %s", id)
	}
	return m
}

func mustPolicy(t *testing.T, s string) Policy {
	t.Helper()
	p, err := ParsePolicy(s)
	if err != nil {
		t.Fatalf("ParsePolicy(%q): %v", s, err)
	}
	return p
}

func TestRoute(t *testing.T) {
	apiKeyConn := registry.Manifest{ID: "openweather", AuthType: registry.AuthAPIKey, APIKey: &registry.APIKeyMode{Fields: []registry.Field{{Name: "key", Use: registry.UseAPIKey}}}}
	apiKeyless := registry.Manifest{ID: "keyless", AuthType: registry.AuthAPIKey}
	noAuthConn := registry.Manifest{ID: "public-rss", AuthType: registry.AuthNone}
	gmailNoKey := manifest(t, "gmail")
	gmailNoKey.ProviderConfigKey = ""
	shared := &connectors.Connection{ID: "c-shared", OrganizationID: "acme", Connector: "slack", AuthProvider: "nango", Status: connectors.StatusActive, Shared: true}
	unshared := *shared
	unshared.Shared = false
	revoked := *shared
	revoked.Status = connectors.StatusRevoked

	tests := []struct {
		name     string
		policy   string
		in       Input
		wantStep int    // 0: an error
		wantCode string // with wantStep 0
		wantKey  string // ProviderConfigKey when routed to Nango
		// wantMatchedUnavailable is a step that must be matched but
		// unavailable in the trace (the reason routing failed).
		wantMatchedUnavailable int
	}{
		// Step 1 and step 12: registry defaults.
		{name: "slack default is Nango", in: Input{Manifest: manifest(t, "slack")}, wantStep: 1, wantKey: "slack"},
		{name: "trello oauth1 is Nango", in: Input{Manifest: manifest(t, "trello")}, wantStep: 1, wantKey: "trello"},
		{name: "gmail default is built-in", in: Input{Manifest: manifest(t, "gmail")}, wantStep: 12},
		{name: "outlook default is built-in", in: Input{Manifest: manifest(t, "outlook")}, wantStep: 12},

		// Deployment and organization overrides.
		{name: "deployment override gmail=nango", policy: "gmail=nango", in: Input{Manifest: manifest(t, "gmail")}, wantStep: 1, wantKey: "google-mail"},
		{name: "org override applies to its org", policy: "org:acme/outlook=nango", in: Input{Manifest: manifest(t, "outlook"), OrganizationID: "acme"}, wantStep: 1, wantKey: "outlook"},
		{name: "org override ignores other orgs", policy: "org:acme/outlook=nango", in: Input{Manifest: manifest(t, "outlook"), OrganizationID: "globex"}, wantStep: 12},
		{name: "org override with slash in org id", policy: "org:tenants/acme/outlook=nango", in: Input{Manifest: manifest(t, "outlook"), OrganizationID: "tenants/acme"}, wantStep: 1, wantKey: "outlook"},
		{name: "tie: org beats deployment", policy: "gmail=nango,org:acme/gmail=legacy", in: Input{Manifest: manifest(t, "gmail"), OrganizationID: "acme"}, wantStep: 12},
		{name: "tie: deployment applies to other orgs", policy: "gmail=nango,org:acme/gmail=legacy", in: Input{Manifest: manifest(t, "gmail"), OrganizationID: "globex"}, wantStep: 1, wantKey: "google-mail"},
		{name: "override to a provider that cannot serve it", policy: "slack=legacy", in: Input{Manifest: manifest(t, "slack")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 12},
		{name: "override to Nango without integration key", policy: "gmail=nango", in: Input{Manifest: gmailNoKey}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 1},

		// An existing connection stays where it is.
		{name: "tie: existing legacy beats override", policy: "gmail=nango", in: Input{Manifest: manifest(t, "gmail"), Existing: &connectors.Connection{ID: "c1", Connector: "gmail", AuthProvider: "legacy"}}, wantStep: 12},
		{name: "tie: existing legacy beats org override", policy: "org:acme/gmail=nango", in: Input{Manifest: manifest(t, "gmail"), OrganizationID: "acme", Existing: &connectors.Connection{ID: "c1", OrganizationID: "acme", Connector: "gmail", AuthProvider: "legacy"}}, wantStep: 12},
		{name: "existing Nango gmail stays on Nango with its key", in: Input{Manifest: manifest(t, "gmail"), Existing: &connectors.Connection{ID: "c2", Connector: "gmail", AuthProvider: "nango", ProviderConfigKey: "gm-eu"}}, wantStep: 1, wantKey: "gm-eu"},
		{name: "existing revoked connection still stays", in: Input{Manifest: manifest(t, "slack"), Existing: &connectors.Connection{ID: "c3", Connector: "slack", AuthProvider: "nango", Status: connectors.StatusRevoked}}, wantStep: 1, wantKey: "slack"},
		{name: "existing on an unknown provider", in: Input{Manifest: manifest(t, "slack"), Existing: &connectors.Connection{ID: "c4", Connector: "slack", AuthProvider: "zapier"}}, wantCode: connectors.ENotConfigured},
		{name: "existing of another connector", in: Input{Manifest: manifest(t, "slack"), Existing: &connectors.Connection{ID: "c5", Connector: "gmail", AuthProvider: "legacy"}}, wantCode: connectors.EInvalid},
		{name: "existing of another organization", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme", Existing: &connectors.Connection{ID: "c6", OrganizationID: "globex", Connector: "slack", AuthProvider: "nango"}}, wantCode: connectors.EInvalid},

		// Step 2: API keys, when the caller asks (or policy says so).
		{name: "api-key connector", in: Input{Manifest: apiKeyConn}, wantStep: 2},
		{name: "api-key connector that accepts no key", in: Input{Manifest: apiKeyless}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 2},
		{name: "caller asks for a Stripe key", in: Input{Manifest: manifest(t, "stripe"), WantAPIKey: true}, wantStep: 2},
		{name: "caller asks for a Shopify key", in: Input{Manifest: manifest(t, "shopify"), WantAPIKey: true}, wantStep: 2},
		{name: "caller asks for a Slack key, which Slack does not take", in: Input{Manifest: manifest(t, "slack"), WantAPIKey: true}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 2},
		{name: "override stripe=api_key", policy: "stripe=api_key", in: Input{Manifest: manifest(t, "stripe")}, wantStep: 2},
		{name: "org override asana=api_key", policy: "org:acme/asana=api_key", in: Input{Manifest: manifest(t, "asana"), OrganizationID: "acme"}, wantStep: 2},
		{name: "tie: Nango default when nobody asks for a key", in: Input{Manifest: manifest(t, "stripe")}, wantStep: 1, wantKey: "stripe"},
		{name: "existing API-key connection stays on step 2", policy: "stripe=nango", in: Input{Manifest: manifest(t, "stripe"), Existing: &connectors.Connection{ID: "k1", Connector: "stripe", AuthProvider: "api_key"}}, wantStep: 2},
		{name: "tie: existing Nango connection beats asking for a key", in: Input{Manifest: manifest(t, "stripe"), WantAPIKey: true, Existing: &connectors.Connection{ID: "n1", Connector: "stripe", AuthProvider: "nango"}}, wantStep: 1, wantKey: "stripe"},

		// Step 3: an organization's shared connection, for a member who
		// has none of their own.
		{name: "org shared connection", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme", Shared: shared}, wantStep: 3},
		{name: "tie: shared beats a policy override", policy: "slack=legacy", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme", Shared: shared}, wantStep: 3},
		{name: "org shared connection revoked", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme", Shared: &revoked}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 3},
		{name: "connection not shared", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme", Shared: &unshared}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 3},
		{name: "shared connection of another organization", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "globex", Shared: shared}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 3},
		{name: "shared connection of another connector", in: Input{Manifest: manifest(t, "hubspot"), OrganizationID: "acme", Shared: shared}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 3},
		{name: "org shared connection missing", policy: "slack=org_shared", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme"}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 3},
		{name: "tie: existing beats shared", policy: "slack=org_shared", in: Input{Manifest: manifest(t, "slack"), Shared: shared, Existing: &connectors.Connection{ID: "c7", Connector: "slack", AuthProvider: "nango"}}, wantStep: 1, wantKey: "slack"},

		// Step 4: no credentials.
		{name: "no-auth connector", in: Input{Manifest: noAuthConn}, wantStep: 4},
		{name: "override slack=none refused", policy: "slack=none", in: Input{Manifest: manifest(t, "slack")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 4},

		// Steps 5-11: slots without a client are reported, never chosen.
		{name: "panora unavailable", policy: "slack=panora", in: Input{Manifest: manifest(t, "slack")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 5},
		{name: "composio unavailable", policy: "slack=composio", in: Input{Manifest: manifest(t, "slack")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 6},
		{name: "merge unavailable", policy: "hubspot=merge", in: Input{Manifest: manifest(t, "hubspot")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 7},
		{name: "paragon unavailable", policy: "asana=paragon", in: Input{Manifest: manifest(t, "asana")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 8},
		{name: "pipedream unavailable", policy: "discord=pipedream", in: Input{Manifest: manifest(t, "discord")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 9},
		{name: "unified unavailable", policy: "salesforce=unified", in: Input{Manifest: manifest(t, "salesforce")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 10},
		{name: "apideck unavailable", policy: "shopify=apideck", in: Input{Manifest: manifest(t, "shopify")}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 11},
		{name: "org override to an unavailable slot", policy: "org:acme/slack=panora", in: Input{Manifest: manifest(t, "slack"), OrganizationID: "acme"}, wantCode: connectors.ENotConfigured, wantMatchedUnavailable: 5},

		{name: "no connector", in: Input{}, wantCode: connectors.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(mustPolicy(t, tt.policy)).Route(tt.in)
			if tt.wantStep == 0 {
				var ce *connectors.Error
				if !errors.As(err, &ce) || ce.Code != tt.wantCode {
					t.Fatalf("Route = step %d, err %v; want error code %s", d.Step, err, tt.wantCode)
				}
				if d.Step != 0 || d.Target != "" {
					t.Errorf("failed decision names step %d target %q", d.Step, d.Target)
				}
			} else {
				if err != nil {
					t.Fatalf("Route: %v\ntrace: %+v", err, d.Trace)
				}
				if d.Step != tt.wantStep {
					t.Fatalf("step = %d (%s), want %d\ntrace: %+v", d.Step, d.Name, tt.wantStep, d.Trace)
				}
				st := Steps()[tt.wantStep-1]
				if d.Name != st.Name || d.Target != st.Target {
					t.Errorf("decision %s/%s, want %s/%s", d.Name, d.Target, st.Name, st.Target)
				}
				if d.Target == connectors.ProviderNango && d.ProviderConfigKey != tt.wantKey {
					t.Errorf("ProviderConfigKey = %q, want %q", d.ProviderConfigKey, tt.wantKey)
				}
				// Every step before the decision did not both match and
				// stand available: the first such step decides.
				for _, e := range d.Trace[:tt.wantStep-1] {
					if e.Matched && e.Available {
						t.Errorf("step %d matched and was available before the deciding step", e.Step)
					}
				}
				if e := d.Trace[tt.wantStep-1]; !e.Matched || !e.Available {
					t.Errorf("deciding step's trace entry: %+v", e)
				}
			}
			if tt.wantCode == connectors.EInvalid {
				return // no trace for an inconsistent input
			}
			checkTrace(t, d.Trace)
			if n := tt.wantMatchedUnavailable; n != 0 {
				e := d.Trace[n-1]
				if !e.Matched || e.Available || !strings.Contains(e.Reason, "unavailable") {
					t.Errorf("step %d trace = %+v, want matched, unavailable, with a reason", n, e)
				}
				if !strings.Contains(err.Error(), e.Name) {
					t.Errorf("error %q does not name step %s", err, e.Name)
				}
			}
		})
	}
}

// checkTrace holds every trace to the contract: all twelve steps in order,
// each with a reason; slots without a client always report unavailable.
func checkTrace(t *testing.T, tr []TraceEntry) {
	t.Helper()
	if len(tr) != 12 {
		t.Fatalf("trace has %d entries, want 12", len(tr))
	}
	for i, e := range tr {
		if e.Step != i+1 || e.Name == "" || e.Target == "" || e.Reason == "" {
			t.Errorf("trace[%d] = %+v", i, e)
		}
		if e.Step >= 5 && e.Step <= 11 && e.Available {
			t.Errorf("step %d (%s) claims to be available", e.Step, e.Name)
		}
	}
}

func TestStepsAreTheWaterfall(t *testing.T) {
	s := Steps()
	if len(s) != 12 {
		t.Fatalf("%d steps", len(s))
	}
	if s[0].Target != connectors.ProviderNango || s[11].Target != connectors.ProviderLegacy {
		t.Errorf("step 1 = %s, step 12 = %s", s[0].Target, s[11].Target)
	}
	seen := map[connectors.AuthProvider]bool{}
	for i, st := range s {
		if st.Number != i+1 || st.Name == "" || st.Description == "" || seen[st.Target] {
			t.Errorf("step %d: %+v", i+1, st)
		}
		seen[st.Target] = true
	}
	if connectors.AuthProvider(connectors.ProviderNango) != connectors.ProviderNango || connectors.AuthProvider(connectors.ProviderLegacy) != connectors.ProviderLegacy {
		t.Error("targets drifted from the connection auth providers")
	}
}

func TestEveryDefaultConnectorRoutes(t *testing.T) {
	r := New(Policy{})
	for _, m := range registry.Default().All() {
		d, err := r.Route(Input{Manifest: m, OrganizationID: "acme"})
		if err != nil {
			t.Errorf("%s: %v", m.ID, err)
			continue
		}
		if d.Target != m.OAuthProvider {
			t.Errorf("%s: routed to %s, registry says %s", m.ID, d.Target, m.OAuthProvider)
		}
	}
}

func TestDecisionJSON(t *testing.T) {
	d, err := New(Policy{}).Route(Input{Manifest: manifest(t, "gmail")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(top)); !slices.Equal(got, []string{"name", "step", "target", "trace"}) {
		t.Errorf("decision keys %v", got)
	}
	var trace []map[string]any
	if err := json.Unmarshal(top["trace"], &trace); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(trace[0])); !slices.Equal(got, []string{"available", "matched", "name", "reason", "step", "target"}) {
		t.Errorf("trace entry keys %v", got)
	}
	if string(top["step"]) != "12" || string(top["target"]) != `"legacy"` {
		t.Errorf("decision %s", b)
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    Policy
		wantErr string
	}{
		{in: "", want: Policy{}},
		{in: "gmail=nango", want: Policy{Overrides: map[string]connectors.AuthProvider{"gmail": connectors.ProviderNango}}},
		{
			in: " gmail = nango ; org:acme/outlook=nango,\norg:acme/gmail=legacy, org:globex/slack=panora ,",
			want: Policy{
				Overrides: map[string]connectors.AuthProvider{"gmail": connectors.ProviderNango},
				OrgOverrides: map[string]map[string]connectors.AuthProvider{
					"acme":   {"outlook": connectors.ProviderNango, "gmail": connectors.ProviderLegacy},
					"globex": {"slack": connectors.ProviderPanora},
				},
			},
		},
		{in: "org:a/b/c=nango", want: Policy{OrgOverrides: map[string]map[string]connectors.AuthProvider{"a/b": {"c": connectors.ProviderNango}}}},
		{in: "gmail", wantErr: "want connector=target"},
		{in: "gmail=zapier", wantErr: "unknown target"},
		{in: "gmail=", wantErr: "unknown target"},
		{in: "Gmail=nango", wantErr: "not a connector id"},
		{in: "=nango", wantErr: "not a connector id"},
		{in: "org:acme=nango", wantErr: "org:<organizationId>/<connector>"},
		{in: "org:/gmail=nango", wantErr: "org:<organizationId>/<connector>"},
		{in: "org: /gmail=nango", wantErr: "empty organization id"},
		{in: "org:acme/=nango", wantErr: "not a connector id"},
		{in: "gmail=nango,gmail=legacy", wantErr: "given twice"},
		{in: "org:acme/gmail=nango,org:acme/gmail=legacy", wantErr: "given twice for organization acme"},
	}
	for _, tt := range tests {
		got, err := ParsePolicy(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePolicy(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePolicy(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePolicy(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	reg := registry.Default()
	if err := mustPolicy(t, "gmail=nango,org:acme/outlook=nango").Validate(reg); err != nil {
		t.Errorf("valid policy: %v", err)
	}
	if err := mustPolicy(t, "gmial=nango").Validate(reg); err == nil || !strings.Contains(err.Error(), "gmial") {
		t.Errorf("typo not caught: %v", err)
	}
	if err := mustPolicy(t, "org:acme/outlok=nango").Validate(reg); err == nil || !strings.Contains(err.Error(), "acme") {
		t.Errorf("org typo not caught: %v", err)
	}
}

// TestManagedSteps: steps 5 and 6 decide for the connectors their
// provider serves, when policy prefers them, and say why not otherwise.
func TestManagedSteps(t *testing.T) {
	panora := WithManaged(connectors.ProviderPanora, func(c string) error {
		if c == "hubspot" || c == "salesforce" {
			return nil
		}
		return errors.New("Panora has no " + c + " integration")
	})
	composio := WithManaged(connectors.ProviderComposio, func(string) error {
		return errors.New("Composio is not configured: composio_api_key is not set")
	})
	tests := []struct {
		name       string
		policy     string
		connector  string
		org        string
		opts       []Option
		wantStep   int
		wantReason string // in the deciding or failing step's reason
	}{
		{"panora serves hubspot", "hubspot=panora", "hubspot", "", []Option{panora}, 5, "Panora serves hubspot"},
		{"per organization", "org:acme/salesforce=panora", "salesforce", "acme", []Option{panora}, 5, "Panora serves salesforce"},
		{"other organizations stay on Nango", "org:acme/salesforce=panora", "salesforce", "globex", []Option{panora}, 1, ""},
		{"panora does not serve slack", "slack=panora", "slack", "", []Option{panora}, 0, "Panora has no slack integration"},
		{"composio not configured", "asana=composio", "asana", "", []Option{panora, composio}, 0, "composio_api_key is not set"},
		{"no client in this build", "asana=merge", "asana", "", []Option{panora, composio}, 0, "this build has no Merge client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(mustPolicy(t, tt.policy), tt.opts...).Route(Input{Manifest: manifest(t, tt.connector), OrganizationID: tt.org})
			if d.Step != tt.wantStep {
				t.Fatalf("step %d (err %v), want %d\ntrace %+v", d.Step, err, tt.wantStep, d.Trace)
			}
			if tt.wantStep == 0 && connectors.ErrorCode(err) != connectors.ENotConfigured {
				t.Fatalf("err %v, want not_configured", err)
			}
			if tt.wantReason == "" {
				return
			}
			found := strings.Contains(fmt.Sprint(err), tt.wantReason)
			for _, e := range d.Trace {
				found = found || (e.Step == d.Step && strings.Contains(e.Reason, tt.wantReason))
			}
			if !found {
				t.Errorf("no reason %q in %v / %+v", tt.wantReason, err, d.Trace)
			}
		})
	}
}
