// Package apikey is routing step 2: connections a user makes by pasting an
// API key or token (a Stripe secret key, a Shopify shop and Admin API token,
// a Trello key and token, an Asana or HubSpot token) instead of an OAuth
// flow. This service keeps the credentials, sealed in the connection's
// record like a token; they never expire, so instead of refreshing them the
// provider re-tests them: when they are submitted, when the provider
// refuses them mid-run, and once a day from the sweeper (CheckEvery).
//
// It implements connectors.Provider with no provider of its own to call:
// the test call is the connector's (a Verifier, which package actions
// provides), and the registry names the fields each connector takes.
package apikey

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// CheckEvery is how often a kept API key is tested again: a key revoked at
// the provider shows as reauth_required within a day, as Nango's own
// checks of its API-key connections do.
const CheckEvery = 24 * time.Hour

// Verifier tests credentials with one cheap, documented, read-only call to
// m's provider. A refusal is an EInvalidCredentials error carrying the
// provider's reason; an outage EUnavailable.
type Verifier func(ctx context.Context, m registry.Manifest, creds connectors.Credentials) error

// Provider serves API-key connections.
type Provider struct {
	reg    *registry.Registry
	verify Verifier
	now    func() time.Time
}

// New returns the provider of the connectors of reg that accept API keys.
// now is the clock (nil: time.Now).
func New(reg *registry.Registry, verify Verifier, now func() time.Time) *Provider {
	if now == nil {
		now = time.Now
	}
	return &Provider{reg: reg, verify: verify, now: now}
}

// Name implements connectors.Provider.
func (*Provider) Name() connectors.AuthProvider { return connectors.ProviderAPIKey }

// Connect implements connectors.Provider: there is no flow to start.
func (*Provider) Connect(_ context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	return nil, connectors.Errorf(connectors.EInvalid, "%s connects with an API key: POST /api/v1/nango/connections", r.Connector)
}

// Complete implements connectors.Provider: it tests the submitted fields
// and returns them as the token this service keeps.
func (p *Provider) Complete(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	m, err := p.manifest(r.Connector)
	if err != nil {
		return nil, err
	}
	if err := m.CheckFields(r.Fields); err != nil {
		return nil, err
	}
	creds := m.FieldCredentials(r.Fields)
	if err := p.verify(ctx, m, creds); err != nil {
		return nil, err
	}
	return &connectors.Grant{
		Token:       &connectors.Token{Fields: maps.Clone(r.Fields)},
		CheckAt:     p.now().Add(CheckEvery),
		Credentials: creds,
	}, nil
}

// Grant implements connectors.Provider: the kept fields as credentials.
// With refresh, which for a key means "is it still good?", they are tested
// again first; a refusal is EReauthRequired (the user must paste a new
// key).
func (p *Provider) Grant(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
	if held == nil || len(held.Fields) == 0 {
		return nil, connectors.Errorf(connectors.EReauthRequired, "connection %s holds no API key", c.ID)
	}
	m, err := p.manifest(c.Connector)
	if err != nil {
		return nil, err
	}
	g := &connectors.Grant{Token: held, Credentials: m.FieldCredentials(held.Fields)}
	if !refresh {
		return g, nil
	}
	err = p.verify(ctx, m, g.Credentials)
	var ce *connectors.Error
	if errors.As(err, &ce) && ce.Code == connectors.EInvalidCredentials {
		return nil, &connectors.Error{Code: connectors.EReauthRequired, Message: "the provider refused the API key of connection " + c.ID + ": " + ce.Message, Err: err}
	}
	if err != nil {
		return nil, err
	}
	g.CheckAt = p.now().Add(CheckEvery)
	return g, nil
}

// Revoke implements connectors.Provider. A pasted key can be revoked only
// where it was made; deleting the connection forgets it here.
func (*Provider) Revoke(context.Context, *connectors.Connection, *connectors.Token) (string, error) {
	return "API key forgotten; revoke it at the provider", nil
}

// Proxy implements connectors.Provider: requests go directly.
func (*Provider) Proxy(*connectors.Connection, connectors.Credentials) connectors.Proxy { return nil }

func (p *Provider) manifest(id string) (registry.Manifest, error) {
	m, ok := p.reg.Lookup(id)
	if !ok {
		return registry.Manifest{}, connectors.Errorf(connectors.EUnknownConnector, "unknown connector %q", id)
	}
	if !m.AcceptsAPIKey() {
		return registry.Manifest{}, connectors.Errorf(connectors.EInvalid, "%s does not accept an API key", id)
	}
	return m, nil
}
