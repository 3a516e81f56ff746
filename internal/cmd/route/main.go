// Command route prints the router's decision for a connector as JSON, with
// the trace of all twelve steps:
//
//	go run ./internal/cmd/route -connector gmail
//	go run ./internal/cmd/route -connector gmail -org acme -policy 'org:acme/gmail=nango'
//	go run ./internal/cmd/route -connector gmail -existing legacy -policy gmail=nango
//	go run ./internal/cmd/route -connector stripe -api-key
//	go run ./internal/cmd/route -connector slack -org acme -shared
//	go run ./internal/cmd/route -connector hubspot -policy hubspot=panora
//	go run ./internal/cmd/route -connector asana -policy asana=composio
//
// Panora and Composio are taken as configured, serving what their adapters
// can serve (Panora its CRM apps, Composio a toolkit per connector); a
// deployment's Composio also needs an auth config per connector.
//
// The policy defaults to $ROUTING_POLICY and provider config key
// overrides to $NANGO_INTEGRATIONS, as in a deployment. It exits 1
// when no step can serve the connector (the decision is still printed) and
// 2 on bad flags.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

func main() {
	connector := flag.String("connector", "", "connector id, e.g. slack (required)")
	org := flag.String("org", "", "organization id")
	policy := flag.String("policy", os.Getenv(router.PolicyEnv), "routing policy, e.g. gmail=nango,org:acme/outlook=nango")
	keys := flag.String("provider-config-keys", os.Getenv("NANGO_INTEGRATIONS"), "Nango integration keys, e.g. slack=slack-prod")
	existing := flag.String("existing", "", "auth provider of an existing connection (nango or legacy)")
	apiKey := flag.Bool("api-key", false, "the caller asks to connect with an API key")
	shared := flag.Bool("shared", false, "the user has no connection; the organization shares one")
	flag.Parse()
	if err := run(*connector, *org, *policy, *keys, *existing, *apiKey, *shared); err != nil {
		fmt.Fprintln(os.Stderr, "route:", err)
		if connectors.ErrorCode(err) == connectors.ENotConfigured {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

func run(connector, org, policy, keys, existing string, apiKey, shared bool) error {
	if connector == "" {
		return fmt.Errorf("-connector is required")
	}
	reg := registry.Default()
	overrides, err := reg.ParseProviderConfigKeys(keys)
	if err != nil {
		return err
	}
	reg = reg.WithProviderConfigKeys(overrides)
	m, ok := reg.Lookup(connector)
	if !ok {
		return fmt.Errorf("unknown connector %q (known: %v)", connector, reg.IDs())
	}
	p, err := router.ParsePolicy(policy)
	if err != nil {
		return err
	}
	if err := p.Validate(reg); err != nil {
		return err
	}
	in := router.Input{Manifest: m, OrganizationID: org, WantAPIKey: apiKey}
	if shared {
		in.Shared = &connectors.Connection{ID: "shared", OrganizationID: org, Connector: connector, AuthProvider: connectors.ProviderNango, Status: connectors.StatusActive, Shared: true}
	}
	if existing != "" {
		in.Existing = &connectors.Connection{ID: "existing", OrganizationID: org, Connector: connector, AuthProvider: connectors.AuthProvider(existing), Status: connectors.StatusActive}
	}
	d, routeErr := router.New(p, managed()...).Route(in)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return err
	}
	return routeErr
}

// managed are the router's options for Panora's and Composio's steps, as
// a deployment that configured both sees them.
func managed() []router.Option {
	return []router.Option{
		router.WithManaged(connectors.ProviderPanora, func(connector string) error {
			if panora.Serves(connector) {
				return nil
			}
			return fmt.Errorf("Panora does not serve %s (it serves %s)", connector, strings.Join(panora.Connectors(), ", "))
		}),
		router.WithManaged(connectors.ProviderComposio, func(connector string) error {
			if _, ok := composio.DefaultToolkits[connector]; ok {
				return nil
			}
			return fmt.Errorf("Composio has no toolkit for %s", connector)
		}),
	}
}
