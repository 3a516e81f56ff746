package wiring

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// managed is a managed provider (Composio, Panora) as wiring builds it:
// the provider, or its not-configured stand-in, and the router's option
// saying which connectors its step serves.
type managed struct {
	provider connectors.Provider
	route    router.Option
}

// unconfiguredManaged is a managed provider this deployment cannot use:
// its step is unavailable with the reason, and its calls answer it.
func unconfiguredManaged(p connectors.AuthProvider, reason string) managed {
	return managed{
		provider: connectors.Unconfigured{Provider: p, Reason: reason},
		route:    router.WithManaged(p, func(string) error { return errors.New(reason) }),
	}
}

// newComposio builds Composio (routing step 6) from composio_api_key and
// COMPOSIO_AUTH_CONFIGS; its callback is this API's, under PUBLIC_URL.
func newComposio(cfg config.Config, sec config.Secrets, httpClient *http.Client, reg *registry.Registry) managed {
	if sec.ComposioAPIKey == "" {
		return unconfiguredManaged(connectors.ProviderComposio, "Composio is not configured: composio_api_key is not set")
	}
	if cfg.PublicURL == "" {
		return unconfiguredManaged(connectors.ProviderComposio, "Composio is not configured: PUBLIC_URL (its callback) is not set")
	}
	p, err := composio.NewProvider(composio.New(cfg.ComposioBaseURL, sec.ComposioAPIKey, composio.WithHTTPClient(httpClient)), composio.Config{
		AuthConfigs: cfg.ComposioAuthConfigs,
		CallbackURL: cfg.PublicURL + httpapi.BasePath + "/oauth/{connector}/callback",
		APIOrigins:  apiOrigins(cfg, reg),
	})
	if err != nil {
		return unconfiguredManaged(connectors.ProviderComposio, "Composio is not configured: "+err.Error())
	}
	return managed{provider: p, route: router.WithManaged(connectors.ProviderComposio, func(connector string) error {
		if p.Serves(connector) {
			return nil
		}
		return fmt.Errorf("Composio has no auth config for %s (COMPOSIO_AUTH_CONFIGS)", connector)
	})}
}

// newPanora builds Panora (routing step 5) from panora_api_key (and the
// dashboard token its magic links need) and PANORA_HOST.
func newPanora(cfg config.Config, sec config.Secrets, httpClient *http.Client) managed {
	switch {
	case sec.PanoraAPIKey == "":
		return unconfiguredManaged(connectors.ProviderPanora, "Panora is not configured: panora_api_key is not set")
	case cfg.PanoraHost == "":
		return unconfiguredManaged(connectors.ProviderPanora, "Panora is not configured: PANORA_HOST is not set")
	}
	client := panora.New(cfg.PanoraHost, sec.PanoraAPIKey, panora.WithHTTPClient(httpClient), panora.WithDashboardToken(sec.PanoraDashboardToken))
	p := panora.NewProvider(client, panora.Options{ConnectHost: cfg.PanoraConnectHost})
	return managed{provider: p, route: router.WithManaged(connectors.ProviderPanora, func(connector string) error {
		if p.Serves(connector) {
			return nil
		}
		return fmt.Errorf("Panora does not serve %s (it serves %s)", connector, strings.Join(panora.Connectors(), ", "))
	})}
}

// apiOrigins are the connectors' API origins, for proxies that take
// absolute URLs: PROVIDER_BASE_URLS, else the manifest's own (none for a
// per-connection host such as Salesforce's or Shopify's).
func apiOrigins(cfg config.Config, reg *registry.Registry) map[string]string {
	out := map[string]string{}
	for _, m := range reg.All() {
		if o := cfg.ProviderBaseURLs[m.ID]; o != "" {
			out[m.ID] = strings.TrimSuffix(o, "/")
			continue
		}
		if strings.Contains(m.BaseURL, "${") {
			continue
		}
		if u, err := url.Parse(m.BaseURL); err == nil && u.Host != "" {
			out[m.ID] = u.Scheme + "://" + u.Host
		}
	}
	return out
}

// webhookEvents verifies a provider's webhook, choosing the provider by
// the headers it signs with: one route serves them all.
type webhookEvents struct {
	nango, composio, panora httpapi.Events
}

// Event implements httpapi.Events.
func (w webhookEvents) Event(ctx context.Context, body []byte, header http.Header) (*connectors.ConnectionEvent, error) {
	switch {
	case header.Get(composio.HeaderWebhookSignature) != "":
		return w.composio.Event(ctx, body, header)
	case header.Get(panora.HeaderSignature) != "":
		return w.panora.Event(ctx, body, header)
	}
	return w.nango.Event(ctx, body, header)
}
