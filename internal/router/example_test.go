package router_test

import (
	"fmt"

	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// A routing decision: Slack is an OAuth connector that Nango serves (step
// 1); a deployment policy moves Gmail from the built-in OAuth (step 12) to
// Nango. The trace says, for each of the twelve steps, why it did or did not
// decide.
func ExampleRouter_Route() {
	reg := registry.Default()
	policy, err := router.ParsePolicy("gmail=nango")
	if err != nil {
		panic(err)
	}
	rt := router.New(policy)
	for _, id := range []string{"slack", "gmail", "outlook"} {
		m, _ := reg.Lookup(id)
		d, err := rt.Route(router.Input{Manifest: m, OrganizationID: "acme"})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: step %d (%s) -> %s; %d steps traced\n", id, d.Step, d.Name, d.Target, len(d.Trace))
	}
	// Output:
	// slack: step 1 (nango_oauth) -> nango; 12 steps traced
	// gmail: step 1 (nango_oauth) -> nango; 12 steps traced
	// outlook: step 12 (builtin_oauth) -> legacy; 12 steps traced
}
