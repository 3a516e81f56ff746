package connect_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// fakeActions describes one slack action that needs two scopes, the
// second met by either of two; the built-in catalogue need declare none.
type fakeActions struct{}

func (fakeActions) Describe(connector string) ([]actions.ActionInfo, error) {
	if connector != "slack" {
		return nil, nil
	}
	return []actions.ActionInfo{{
		Name: "post", Write: true, Scopes: []string{"chat:write", "channels:read|groups:read"},
		InputSchema: json.RawMessage(`{"type":"object"}`), OutputSchema: json.RawMessage(`{"type":"object"}`),
	}}, nil
}

// catalogueService is a service over a fresh store with the policy given.
func catalogueService(t *testing.T, policy string) (*connect.Service, connectors.Store) {
	t.Helper()
	store := newStore(t)
	pol, err := router.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	providers := connectors.NewProviders(connectors.Unconfigured{Provider: connectors.ProviderNango, Reason: "Nango is not configured"})
	return connect.New(connect.Deps{
		Store: store, Registry: registry.Default(), Router: router.New(pol), Providers: providers,
		Tokens: credentials.New(store, providers, nil, nil), StateKey: []byte("catalogue-state-key-0123456789abcdef"),
		Actions: fakeActions{},
	}), store
}

// seed stores a connection; age orders them (older is smaller).
func seed(t *testing.T, store connectors.Store, id, org, user, connector string, status connectors.Status, shared bool, age int, scopes ...string) {
	t.Helper()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(age) * time.Hour)
	err := store.CreateConnection(t.Context(), &connectors.Connection{
		ID: id, OrganizationID: org, UserID: user, Connector: connector, AuthProvider: connectors.ProviderNango,
		ProviderConfigKey: connector, Status: status, Scopes: scopes, Shared: shared, CreatedAt: at, UpdatedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(cs []*connectors.Connection) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestCatalogueConnectionsAndScopeGaps(t *testing.T) {
	svc, store := catalogueService(t, "")
	const (
		orgA, orgB = "org-a", "org-b"
		member     = "member"
		other      = "other"
		admin      = "admin"
	)
	// The member's own: an older active one lacking a scope, a newer
	// revoked one (active wins), a shared one of theirs.
	seed(t, store, "own-old-active", orgA, member, "slack", connectors.StatusActive, false, 1, "chat:write")
	seed(t, store, "own-new-revoked", orgA, member, "slack", connectors.StatusRevoked, false, 5, "chat:write", "channels:read")
	// Others' in the organization: one shared (visible, read-only), one
	// unshared of a member and one unshared of an admin (never visible).
	seed(t, store, "other-shared", orgA, other, "slack", connectors.StatusActive, true, 9, "chat:write", "groups:read")
	seed(t, store, "other-private", orgA, other, "slack", connectors.StatusActive, false, 9)
	seed(t, store, "admin-private", orgA, admin, "slack", connectors.StatusActive, false, 9)
	// Another organization's, even one shared there and owned by a user of
	// the same id: never visible.
	seed(t, store, "b-shared", orgB, member, "slack", connectors.StatusActive, true, 9)
	seed(t, store, "b-hubspot", orgB, member, "hubspot", connectors.StatusActive, false, 9)

	tests := []struct {
		name        string
		p           connectors.Principal
		connections []string
		status      connectors.Status
		missing     []string
	}{
		{"member: own active first, shared last", connectors.Principal{UserID: member, OrganizationID: orgA},
			[]string{"own-old-active", "own-new-revoked", "other-shared"}, connectors.StatusActive, []string{"channels:read|groups:read"}},
		{"another member: only the shared one, which has every scope", connectors.Principal{UserID: "newcomer", OrganizationID: orgA},
			[]string{"other-shared"}, connectors.StatusActive, nil},
		{"admin: their own and the shared, not members' unshared", connectors.Principal{UserID: admin, OrganizationID: orgA, Roles: []string{"admin"}},
			[]string{"admin-private", "other-shared"}, connectors.StatusActive, nil},
		{"same user id in another organization", connectors.Principal{UserID: member, OrganizationID: "org-c"},
			[]string{}, connect.NotConnected, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			one, err := svc.Connector(t.Context(), tt.p, "slack")
			if err != nil {
				t.Fatal(err)
			}
			all, err := svc.Connectors(t.Context(), tt.p)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(all, func(v *connect.ConnectorView) bool { return v.Manifest.ID == "slack" })
			if len(all) != len(registry.Default().IDs()) || i < 0 {
				t.Fatalf("Connectors gave %d entries (slack at %d), want every connector", len(all), i)
			}
			for what, v := range map[string]*connect.ConnectorView{"Connector": one, "Connectors": all[i]} {
				if got := ids(v.Connections); !slices.Equal(got, tt.connections) {
					t.Errorf("%s: connections %v, want %v", what, got, tt.connections)
				}
				if v.Status != tt.status {
					t.Errorf("%s: status %q, want %q", what, v.Status, tt.status)
				}
				if len(v.Actions) != 1 || !slices.Equal(v.Actions[0].MissingScopes, tt.missing) {
					t.Errorf("%s: actions %+v, want one missing %v", what, v.Actions, tt.missing)
				}
			}
			for _, v := range all {
				for _, c := range v.Connections {
					if c.OrganizationID != tt.p.OrganizationID || (c.UserID != tt.p.UserID && !c.Shared) {
						t.Errorf("%s shows %s (org %s, user %s, shared %v)", v.Manifest.ID, c.ID, c.OrganizationID, c.UserID, c.Shared)
					}
				}
			}
		})
	}
}

func TestCatalogueNoScopesRecorded(t *testing.T) {
	svc, store := catalogueService(t, "")
	seed(t, store, "key", "o", "u", "slack", connectors.StatusActive, false, 1) // an API key records none
	v, err := svc.Connector(t.Context(), connectors.Principal{UserID: "u", OrganizationID: "o"}, "slack")
	if err != nil {
		t.Fatal(err)
	}
	if v.Default == nil || v.Default.ID != "key" || len(v.Actions[0].MissingScopes) != 0 {
		t.Errorf("default %v, missing %v: want the key connection, nothing judged", v.Default, v.Actions[0].MissingScopes)
	}
}

func TestCatalogueRoutesPerOrganization(t *testing.T) {
	svc, _ := catalogueService(t, "org:org-b/hubspot=api_key,org:org-c/slack=panora")
	tests := []struct {
		org    string
		step   int
		target connectors.AuthProvider
		err    string
	}{
		{"org-a", 1, connectors.ProviderNango, ""},
		{"org-b", 2, connectors.ProviderAPIKey, ""},
	}
	for _, tt := range tests {
		v, err := svc.Connector(t.Context(), connectors.Principal{UserID: "u", OrganizationID: tt.org}, "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		if v.RouteErr != nil || v.Route.Step != tt.step || v.Route.Target != tt.target || len(v.Route.Trace) != len(router.Steps()) {
			t.Errorf("%s: route %d %s (%v), %d trace entries; want step %d %s", tt.org, v.Route.Step, v.Route.Target, v.RouteErr, len(v.Route.Trace), tt.step, tt.target)
		}
	}
	// An override to a provider this build cannot serve: the entry is
	// still answered, with the reason and the trace.
	v, err := svc.Connector(t.Context(), connectors.Principal{UserID: "u", OrganizationID: "org-c"}, "slack")
	if err != nil {
		t.Fatal(err)
	}
	if connectors.ErrorCode(v.RouteErr) != connectors.ENotConfigured || v.Route.Step != 0 || len(v.Route.Trace) != len(router.Steps()) {
		t.Errorf("org-c slack: route %+v, error %v; want not_configured with the full trace", v.Route, v.RouteErr)
	}
}

func TestCatalogueUnknownConnector(t *testing.T) {
	svc, _ := catalogueService(t, "")
	_, err := svc.Connector(t.Context(), connectors.Principal{UserID: "u", OrganizationID: "o"}, "no-such")
	if connectors.ErrorCode(err) != connectors.EUnknownConnector {
		t.Fatalf("err %v, want %s", err, connectors.EUnknownConnector)
	}
}

// brokenActions cannot make one connector's schema documents.
type brokenActions struct{ fakeActions }

func (b brokenActions) Describe(connector string) ([]actions.ActionInfo, error) {
	if connector == "trello" {
		return nil, connectors.Errorf(connectors.EInternal, "describe trello.create_card: no schema")
	}
	return b.fakeActions.Describe(connector)
}

// TestCatalogueDescribeFails: a connector whose actions cannot be
// described fails its entry and the whole list as internal errors, rather
// than answering a connector without actions.
func TestCatalogueDescribeFails(t *testing.T) {
	store := newStore(t)
	pol, err := router.ParsePolicy("")
	if err != nil {
		t.Fatal(err)
	}
	providers := connectors.NewProviders(connectors.Unconfigured{Provider: connectors.ProviderNango, Reason: "Nango is not configured"})
	svc := connect.New(connect.Deps{
		Store: store, Registry: registry.Default(), Router: router.New(pol), Providers: providers,
		Tokens: credentials.New(store, providers, nil, nil), StateKey: []byte("catalogue-state-key-0123456789abcdef"),
		Actions: brokenActions{},
	})
	p := connectors.Principal{OrganizationID: "org-a", UserID: "member"}
	if _, err := svc.Connector(t.Context(), p, "trello"); connectors.ErrorCode(err) != connectors.EInternal {
		t.Errorf("Connector(trello) = %v, want an internal error", err)
	}
	if _, err := svc.Connectors(t.Context(), p); connectors.ErrorCode(err) != connectors.EInternal {
		t.Errorf("Connectors = %v, want an internal error", err)
	}
	if v, err := svc.Connector(t.Context(), p, "slack"); err != nil || len(v.Actions) != 1 {
		t.Errorf("Connector(slack) = %v, %v; want its one action", v, err)
	}
}
