package legacyoauth

import (
	"context"
	"slices"

	"golang.org/x/oauth2"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
)

// AuthProvider is the built-in OAuth as an auth provider (routing step 12):
// this service keeps the token, sealed in the connection's record.
type AuthProvider struct {
	client *Client
}

// NewProvider returns the built-in OAuth as an auth provider, through client.
func NewProvider(client *Client) *AuthProvider { return &AuthProvider{client: client} }

var _ connectors.Provider = (*AuthProvider)(nil)

// Name implements connectors.Provider.
func (p *AuthProvider) Name() connectors.AuthProvider { return connectors.ProviderLegacy }

// Connectors lists the connectors it serves (those with an authorization
// server configured or named), sorted.
func (p *AuthProvider) Connectors() []string {
	ids := make([]string, 0, len(p.client.providers))
	for id := range p.client.providers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Connect returns the authorization URL with a fresh PKCE verifier, which
// the service keeps sealed until the callback.
func (p *AuthProvider) Connect(_ context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	verifier := oauth2.GenerateVerifier()
	u, err := p.client.AuthCodeURL(r.Connector, r.State, verifier, r.Scopes)
	if err != nil {
		return nil, err
	}
	return &connectors.ConnectFlow{AuthorizationURL: u, Verifier: verifier}, nil
}

// Complete exchanges the callback's code; the grant's token is the
// service's to keep.
func (p *AuthProvider) Complete(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	if r.Code == "" {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state was issued to another kind of flow")
	}
	t, err := p.client.Exchange(ctx, r.Connector, r.Code, r.Verifier)
	if err != nil {
		return nil, err
	}
	return tokenGrant(r.Connector, t), nil
}

// Grant returns the held token as credentials, refreshed first when
// refresh is set. The provider keeps nothing: without a held token there is
// no grant.
func (p *AuthProvider) Grant(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
	if held == nil {
		return nil, connectors.Errorf(connectors.EReauthRequired, "connection %s holds no token", c.ID)
	}
	t := *held
	if refresh {
		var err error
		if t, err = p.client.Refresh(ctx, c.Connector, t); err != nil {
			return nil, err
		}
	}
	return tokenGrant(c.ProviderConfigKey, t), nil
}

// Revoke revokes the held token where the provider supports it. It is best
// effort: the user asked to forget the connection, and a provider outage
// must not keep it alive here; detail says what happened.
func (p *AuthProvider) Revoke(ctx context.Context, c *connectors.Connection, held *connectors.Token) (string, error) {
	if held == nil {
		return "revocation skipped: token unreadable", nil
	}
	supported, err := p.client.Revoke(ctx, c.Connector, *held)
	switch {
	case !supported:
		return "revocation not supported by the provider", nil
	case err != nil:
		logging.FromContext(ctx).Warn("revoke failed", "connection", c.ID, "errorCode", connectors.ErrorCode(err))
		return "revocation failed: " + connectors.ErrorCode(err), nil
	}
	return "revoked at the provider", nil
}

// Proxy implements connectors.Provider: requests go directly, with the
// access token.
func (p *AuthProvider) Proxy(*connectors.Connection, connectors.Credentials) connectors.Proxy {
	return nil
}

// tokenGrant is a grant of a token this service keeps. The integration key
// of a built-in OAuth connection is its connector id.
func tokenGrant(connector string, t connectors.Token) *connectors.Grant {
	return &connectors.Grant{
		ProviderConfigKey: connector,
		ExpiresAt:         t.Expiry,
		Token:             &t,
		Credentials:       connectors.Credentials{AccessToken: t.AccessToken},
	}
}
