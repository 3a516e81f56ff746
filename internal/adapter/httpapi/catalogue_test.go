package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// connectorAnswer is a catalogue entry, decoded.
type connectorAnswer struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Category    string   `json:"category"`
	AuthModes   []string `json:"authModes"`
	Scopes      []string `json:"scopes"`
	Routing     struct {
		Step   *int    `json:"step"`
		Target *string `json:"target"`
		Trace  []any   `json:"trace"`
	} `json:"routing"`
	Connection struct {
		Status              string  `json:"status"`
		DefaultConnectionID *string `json:"defaultConnectionId"`
		Connections         []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Shared   bool   `json:"shared"`
			ReadOnly bool   `json:"readOnly"`
		} `json:"connections"`
	} `json:"connection"`
	Actions []struct {
		Name          string          `json:"name"`
		Scopes        []string        `json:"scopes"`
		MissingScopes []string        `json:"missingScopes"`
		InputSchema   json.RawMessage `json:"inputSchema"`
		OutputSchema  json.RawMessage `json:"outputSchema"`
	} `json:"actions"`
}

func (c connectorAnswer) connectionIDs() []string {
	out := []string{}
	for _, x := range c.Connection.Connections {
		out = append(out, x.ID)
	}
	return out
}

// getConnector asks for one connector as tok and decodes the 200.
func (e *env) getConnector(t *testing.T, tok, connector string) (connectorAnswer, response) {
	t.Helper()
	resp := e.Do(t, request{Fn: "nango-get-connector", Token: tok, Params: map[string]string{"connector": connector}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get connector %s: %d %s", connector, resp.StatusCode, resp.Body)
	}
	var body struct {
		Connector connectorAnswer `json:"connector"`
	}
	resp.JSON(t, &body)
	return body.Connector, resp
}

// listConnectors asks for the catalogue as tok and decodes the 200.
func (e *env) listConnectors(t *testing.T, tok string) (map[string]connectorAnswer, response) {
	t.Helper()
	resp := e.Do(t, request{Fn: "nango-list-connectors", Token: tok})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list connectors: %d %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Connectors []connectorAnswer `json:"connectors"`
	}
	resp.JSON(t, &body)
	out := map[string]connectorAnswer{}
	for _, c := range body.Connectors {
		out[c.ID] = c
	}
	return out, resp
}

// seedConn stores a Nango connection directly, with the scopes given.
func (e *env) seedConn(t *testing.T, id, org, user, connector string, shared bool, age time.Duration, scopes ...string) {
	t.Helper()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(age)
	err := e.store.CreateConnection(t.Context(), &connectors.Connection{
		ID: id, OrganizationID: org, UserID: user, Connector: connector, AuthProvider: connectors.ProviderNango,
		ProviderConfigKey: connector, Status: connectors.StatusActive, Scopes: scopes, Shared: shared, CreatedAt: at, UpdatedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCatalogueShowsOnlyWhatTheCallerMayUse is the tenant isolation attack
// on the catalogue: another organization's connections (even a shared one
// of a user with the same id) and another member's or an admin's unshared
// ones never appear, in either route; a shared one appears read-only; the
// answer matches the manifest and the action catalogue.
func TestCatalogueShowsOnlyWhatTheCallerMayUse(t *testing.T) {
	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	forEachStore(t, func(t *testing.T, e *env) {
		e.seedConn(t, "a1-slack", orgA, userA1, "slack", false, time.Hour, "chat:write")
		e.seedConn(t, "a2-slack-private", orgA, userA2, "slack", false, 2*time.Hour, "chat:write")
		e.seedConn(t, "admin-slack-private", orgA, adminA, "slack", false, 3*time.Hour)
		e.seedConn(t, "admin-slack-shared", orgA, adminA, "slack", true, 4*time.Hour, "chat:write", "channels:read")
		e.seedConn(t, "b-slack-shared", orgB, userA1, "slack", true, 5*time.Hour)
		e.seedConn(t, "b-hubspot", orgB, userB1, "hubspot", false, 5*time.Hour)
		never := map[string][]string{
			userA1: {"a2-slack-private", "admin-slack-private", "b-slack-shared", "b-hubspot"},
			userA2: {"a1-slack", "admin-slack-private", "b-slack-shared", "b-hubspot"},
		}
		tests := []struct {
			user        string
			connections []string
			readOnly    []bool
		}{
			{userA1, []string{"a1-slack", "admin-slack-shared"}, []bool{false, true}},
			{userA2, []string{"a2-slack-private", "admin-slack-shared"}, []bool{false, true}},
		}
		for _, tt := range tests {
			tok := e.token(t, tt.user, orgA)
			one, resp := e.getConnector(t, tok, "slack")
			all, listResp := e.listConnectors(t, tok)
			for _, body := range []string{resp.Body, listResp.Body} {
				for _, id := range never[tt.user] {
					if strings.Contains(body, id) {
						t.Errorf("%s sees %s: %s", tt.user, id, body)
					}
				}
			}
			if len(all) != len(registry.Default().IDs()) {
				t.Errorf("list has %d connectors, want %d", len(all), len(registry.Default().IDs()))
			}
			if got := all["hubspot"].connectionIDs(); len(got) != 0 {
				t.Errorf("%s: hubspot connections %v, want none (only another organization has one)", tt.user, got)
			}
			for what, c := range map[string]connectorAnswer{"get": one, "list": all["slack"]} {
				if got := c.connectionIDs(); !slices.Equal(got, tt.connections) {
					t.Errorf("%s %s: connections %v, want %v", tt.user, what, got, tt.connections)
				}
				for i, x := range c.Connection.Connections {
					if i < len(tt.readOnly) && x.ReadOnly != tt.readOnly[i] {
						t.Errorf("%s %s: %s readOnly %v", tt.user, what, x.ID, x.ReadOnly)
					}
				}
				if c.Connection.DefaultConnectionID == nil || *c.Connection.DefaultConnectionID != tt.connections[0] || c.Connection.Status != "active" {
					t.Errorf("%s %s: default %v status %q, want %s active", tt.user, what, c.Connection.DefaultConnectionID, c.Connection.Status, tt.connections[0])
				}
				m, _ := registry.Default().Lookup("slack")
				if c.DisplayName != m.DisplayName || c.Category != m.Category || !slices.Equal(c.Scopes, m.Scopes) || len(c.AuthModes) != len(m.Modes()) {
					t.Errorf("%s: manifest fields %+v", what, c)
				}
				if c.Routing.Step == nil || *c.Routing.Step != 1 || *c.Routing.Target != "nango" || len(c.Routing.Trace) != 12 {
					t.Errorf("%s: routing %+v, want step 1 nango with 12 trace entries", what, c.Routing)
				}
			}
			infos, _ := cat.Describe("slack")
			if len(one.Actions) != len(infos) {
				t.Fatalf("get: %d actions, want %d", len(one.Actions), len(infos))
			}
			for i, a := range one.Actions {
				info := infos[i]
				var want bytes.Buffer
				json.Compact(&want, info.InputSchema)
				if a.Name != info.Name || !bytes.Equal(a.InputSchema, want.Bytes()) || len(a.OutputSchema) == 0 {
					t.Errorf("get: action %d is %s with input schema %s, want %s with %s", i, a.Name, a.InputSchema, info.Name, want.Bytes())
				}
				if l := all["slack"].Actions[i]; l.Name != a.Name || l.InputSchema != nil || l.OutputSchema != nil {
					t.Errorf("list: action %s carries schemas (or is not %s)", l.Name, a.Name)
				}
			}
		}
	})
}

// TestCatalogueScopeGap: an action's missingScopes are the scopes the
// default connection lacks, computed by actions.MissingScopes on the
// scopes the answer shows.
func TestCatalogueScopeGap(t *testing.T) {
	e := newEnv(t, "bolt")
	for _, m := range registry.Default().All() {
		if len(m.Scopes) < 2 {
			continue
		}
		// A connection granted only the first of the manifest's scopes.
		e.seedConn(t, m.ID+"-narrow", orgA, userA1, m.ID, false, time.Hour, m.Scopes[0])
	}
	all, _ := e.listConnectors(t, e.token(t, userA1, orgA))
	judged := 0
	for id, c := range all {
		m, _ := registry.Default().Lookup(id)
		for _, a := range c.Actions {
			want := []string{}
			if len(m.Scopes) >= 2 {
				want = append(want, actions.MissingScopes(a.Scopes, m.Scopes[:1])...)
				judged += len(a.Scopes)
			}
			if !slices.Equal(a.MissingScopes, want) {
				t.Errorf("%s.%s: missingScopes %v, want %v (needs %v)", id, a.Name, a.MissingScopes, want, a.Scopes)
			}
		}
	}
	t.Logf("%d action scopes judged against narrow connections", judged)
}

// TestCatalogueCaching: a strong ETag that is the same while nothing
// changes and differs per caller and per change; If-None-Match gives 304
// with no body.
func TestCatalogueCaching(t *testing.T) {
	e := newEnv(t, "bolt")
	a1, a2 := e.token(t, userA1, orgA), e.token(t, userA2, orgA)
	for _, tt := range []struct {
		fn     string
		params map[string]string
	}{
		{"nango-get-connector", map[string]string{"connector": "slack"}},
		{"nango-list-connectors", nil},
	} {
		t.Run(tt.fn, func(t *testing.T) {
			do := func(tok string, h map[string]string) response {
				return e.Do(t, request{Fn: tt.fn, Token: tok, Params: tt.params, Headers: h})
			}
			first := do(a1, nil)
			tag := first.Headers["ETag"]
			if first.StatusCode != 200 || !strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, "W/") {
				t.Fatalf("first: %d, ETag %q", first.StatusCode, tag)
			}
			if cc := first.Headers["Cache-Control"]; !strings.Contains(cc, "private") {
				t.Errorf("Cache-Control %q, want private", cc)
			}
			if again := do(a1, nil); again.Headers["ETag"] != tag || again.Body != first.Body {
				t.Errorf("same state, ETag %q then %q", tag, again.Headers["ETag"])
			}
			for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
				nm := do(a1, map[string]string{"If-None-Match": inm})
				if nm.StatusCode != http.StatusNotModified || nm.Body != "" || nm.Headers["ETag"] != tag {
					t.Errorf("If-None-Match %s: %d %q ETag %q, want 304 without body", inm, nm.StatusCode, nm.Body, nm.Headers["ETag"])
				}
			}
			if other := do(a1, map[string]string{"If-None-Match": `"0123"`}); other.StatusCode != 200 {
				t.Errorf("another tag: %d, want 200", other.StatusCode)
			}
			// Another member with the same (empty) state has a tag of their own.
			if b := do(a2, map[string]string{"If-None-Match": tag}); b.StatusCode != 200 || b.Headers["ETag"] == tag {
				t.Errorf("another user with the first's tag: %d, ETag %q", b.StatusCode, b.Headers["ETag"])
			}
			// The state changes: the old tag no longer matches.
			e.seedConn(t, "new-"+tt.fn, orgA, userA1, "slack", false, time.Hour)
			changed := do(a1, map[string]string{"If-None-Match": tag})
			if changed.StatusCode != 200 || changed.Headers["ETag"] == tag || !strings.Contains(changed.Body, "new-"+tt.fn) {
				t.Errorf("after a new connection: %d, ETag %q (was %q)", changed.StatusCode, changed.Headers["ETag"], tag)
			}
		})
	}
}

func TestCatalogueRefusals(t *testing.T) {
	e := newEnv(t, "bolt")
	tok := e.token(t, userA1, orgA)
	for _, tt := range []struct {
		name   string
		r      request
		status int
		code   string
	}{
		{"unknown connector", request{Fn: "nango-get-connector", Token: tok, Params: map[string]string{"connector": "no-such"}}, 404, connectors.EUnknownConnector},
		{"get without token", request{Fn: "nango-get-connector", Params: map[string]string{"connector": "slack"}}, 401, connectors.EUnauthorized},
		{"list without token", request{Fn: "nango-list-connectors"}, 401, connectors.EUnauthorized},
		{"forged token", request{Fn: "nango-list-connectors", Token: tok[:len(tok)-4] + "AAAA"}, 401, connectors.EUnauthorized},
		{"malformed query", request{Fn: "nango-list-connectors", Token: tok, Query: "a=%zz"}, 400, connectors.EInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.expectError(t, tt.r, tt.status, tt.code)
			if resp.Headers["ETag"] != "" {
				t.Errorf("an error answer with an ETag: %v", resp.Headers)
			}
		})
	}
}
