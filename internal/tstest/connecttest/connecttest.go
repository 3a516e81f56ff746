// Package connecttest builds the connection service and the token
// lifecycle the way wiring does, from the parts a test chooses: a Nango API
// (a fake or a stub), the built-in OAuth's authorization servers, the
// API-key provider's test call, a sealer.
package connecttest

import (
	"net/http"
	"time"

	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/apikey"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// Options choose the parts. Zero values: Nango not configured, no built-in
// OAuth server, the default registry and an empty routing policy.
type Options struct {
	Nango        nango.API // nil: Nango is not configured
	NangoHost    string
	OAuthServers map[string]*legacyoauth.Provider
	HTTPClient   *http.Client // of the built-in OAuth
	Sealer       credentials.Sealer
	StateKey     []byte
	Redirects    []string
	Registry     *registry.Registry
	Router       *router.Router
	Now          func() time.Time
	// VerifyAPIKey tests API keys for the API-key provider (routing step
	// 2); nil leaves the step without a provider.
	VerifyAPIKey apikey.Verifier
}

// Providers returns the auth providers o describes.
func Providers(o Options) connectors.Providers {
	np := nango.NotConfigured
	if o.Nango != nil {
		np = nango.NewProvider(o.Nango, o.NangoHost)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	ps := []connectors.Provider{np, legacyoauth.NewProvider(legacyoauth.New(hc, o.OAuthServers))}
	if o.VerifyAPIKey != nil {
		reg := o.Registry
		if reg == nil {
			reg = registry.Default()
		}
		ps = append(ps, apikey.New(reg, o.VerifyAPIKey, o.Now))
	}
	return connectors.NewProviders(ps...)
}

// New returns the connection service over store and its token lifecycle.
func New(store connectors.Store, o Options) (*connect.Service, *credentials.Lifecycle) {
	if o.Registry == nil {
		o.Registry = registry.Default()
	}
	if o.Router == nil {
		o.Router = router.New(router.Policy{})
	}
	providers := Providers(o)
	tokens := credentials.New(store, providers, o.Sealer, o.Now)
	svc := connect.New(connect.Deps{
		Store: store, Registry: o.Registry, Router: o.Router, Providers: providers, Tokens: tokens,
		Sealer: o.Sealer, StateKey: o.StateKey, RedirectAllowlist: o.Redirects, Now: o.Now,
	})
	return svc, tokens
}
