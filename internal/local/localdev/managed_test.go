package localdev_test

import (
	"context"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/localdev"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/tstest/syncbuf"
)

// TestManagedSandboxes: make run offers Composio and Panora offline when
// the policy routes a connector to one and its key is unset, says so in
// its log, and routes there; without such a policy it starts neither.
func TestManagedSandboxes(t *testing.T) {
	for _, tt := range []struct {
		name, policy string
		wantLog      []string
		wantSteps    map[string]int
	}{
		{"routed", "asana=composio,org:acme/hubspot=panora", []string{"COMPOSIO SANDBOX IN USE", "PANORA SANDBOX IN USE"}, map[string]int{"asana": 6, "hubspot": 5}},
		{"not routed", "", nil, map[string]int{"asana": 1, "hubspot": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			vars := map[string]string{"ROUTING_POLICY": tt.policy}
			app, err := localdev.New(t.Context(), localdev.Options{
				Dir: t.TempDir(), Getenv: func(k string) string { return vars[k] }, LogOutput: &logs,
				PublicURL: "http://127.0.0.1:3000",
			})
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			for _, want := range tt.wantLog {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("the log does not say %q", want)
				}
			}
			if tt.wantLog == nil && strings.Contains(logs.String(), "COMPOSIO SANDBOX") {
				t.Error("a Composio sandbox started without a policy routing to it")
			}
			for connector, step := range tt.wantSteps {
				m, _ := app.Registry.Lookup(connector)
				d, err := app.Router.Route(router.Input{Manifest: m, OrganizationID: "acme"})
				if err != nil || d.Step != step {
					t.Errorf("%s: step %d (%v), want %d", connector, d.Step, err, step)
				}
			}
			if tt.wantLog == nil {
				return
			}
			// The sandboxes really serve the connect flow.
			p := connectors.Principal{UserID: "u1", OrganizationID: "acme"}
			for _, connector := range []string{"asana", "hubspot"} {
				auth, err := app.Connections.Authorize(context.Background(), p, connect.AuthorizeParams{Connector: connector})
				if err != nil || !strings.HasPrefix(auth.AuthorizationURL, "http://127.0.0.1:") {
					t.Errorf("%s: authorize %+v, %v; want the sandbox's page", connector, auth, err)
				}
			}
		})
	}
}
