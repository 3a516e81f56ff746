package localdev

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/composiofake"
	"github.com/automators/connectors/internal/local/panorafake"
	"github.com/automators/connectors/internal/router"
)

// routedTo lists the connectors the routing policy sends to target, for
// the deployment or any organization, sorted.
func routedTo(policy string, target connectors.AuthProvider) []string {
	p, err := router.ParsePolicy(policy)
	if err != nil {
		return nil // wiring reports the policy's error
	}
	var out []string
	add := func(overrides map[string]connectors.AuthProvider) {
		for c, t := range overrides {
			if t == target && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	add(p.Overrides)
	for _, o := range p.OrgOverrides {
		add(o)
	}
	slices.Sort(out)
	return out
}

// sandboxComposio starts the fake Composio when no composio_api_key is
// set and the policy routes a connector to Composio: an auth config per
// such connector, accounts connected on the fake's own link page.
func (a *App) sandboxComposio(env overlay, log *slog.Logger) {
	routed := routedTo(env.get("ROUTING_POLICY"), connectors.ProviderComposio)
	if env.get("COMPOSIO_API_KEY") != "" || len(routed) == 0 {
		return
	}
	var configs []composiofake.AuthConfig
	var pairs []string
	for _, c := range routed {
		slug, ok := composio.DefaultToolkits[c]
		if !ok {
			continue
		}
		id := "ac_sandbox_" + strings.ReplaceAll(c, "-", "_")
		configs = append(configs, composiofake.AuthConfig{ID: id, Toolkit: slug})
		pairs = append(pairs, c+"="+id)
	}
	key := "sandbox-composio-key"
	a.composio = composiofake.New(composiofake.Options{APIKey: key, AuthConfigs: configs})
	url := a.composio.Start()
	env.vars["COMPOSIO_API_KEY"], env.vars["COMPOSIO_BASE_URL"] = key, url
	if env.get("COMPOSIO_AUTH_CONFIGS") == "" {
		env.vars["COMPOSIO_AUTH_CONFIGS"] = strings.Join(pairs, ",")
	}
	log.Warn("COMPOSIO SANDBOX IN USE: offline fake Composio for the connectors the policy routes to it; no real provider is contacted",
		"url", url, "connectors", routed)
}

// sandboxPanora starts the fake Panora when no panora_api_key is set and
// the policy routes a connector to Panora; its magic-link page connects
// the app at once.
func (a *App) sandboxPanora(env overlay, log *slog.Logger) {
	routed := routedTo(env.get("ROUTING_POLICY"), connectors.ProviderPanora)
	if env.get("PANORA_API_KEY") != "" || len(routed) == 0 {
		return
	}
	key := "sandbox-panora-key"
	a.panora = panorafake.New(panorafake.Options{APIKey: key})
	url := a.panora.Start()
	env.vars["PANORA_API_KEY"], env.vars["PANORA_HOST"], env.vars["PANORA_CONNECT_HOST"] = key, url, a.panora.ConnectURL()
	log.Warn("PANORA SANDBOX IN USE: offline fake Panora for the connectors the policy routes to it; no real provider is contacted",
		"url", url, "connectors", routed)
}
