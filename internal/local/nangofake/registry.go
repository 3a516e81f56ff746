package nangofake

import (
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// RegistryIntegrations returns an integration for each connector reg
// serves through Nango by default, as a deployment configures them.
func RegistryIntegrations(reg *registry.Registry) []Integration {
	var ins []Integration
	for _, m := range reg.All() {
		if m.OAuthProvider == connectors.ProviderNango {
			ins = append(ins, Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
		}
	}
	return ins
}
