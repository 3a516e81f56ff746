package nango

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// Tag names the connect sessions carry, binding a Nango connection to a
// user and organization of this service, and to the state of the flow that
// made it (a webhook that arrives before the callback is applied only
// while that state is live).
const (
	TagUser  = "end_user_id"
	TagOrg   = "organization_id"
	TagState = "connect_state"
)

// Provider is Nango as an auth provider (routing step 1): Nango holds the
// tokens; this service keeps only the record.
type Provider struct {
	client API
	host   string // where the connect UI is served, for authorization URLs
}

// API is what the provider calls of Nango's API; *Client is one.
type API interface {
	CreateConnectSession(ctx context.Context, req ConnectSessionRequest) (*ConnectSession, error)
	CreateReconnectSession(ctx context.Context, req ReconnectSessionRequest) (*ConnectSession, error)
	GetConnection(ctx context.Context, providerConfigKey, connectionID string, opt GetConnectionOptions) (*Connection, error)
	DeleteConnection(ctx context.Context, providerConfigKey, connectionID string) error
	Proxy(ctx context.Context, req ProxyRequest) (*ProxyResponse, error)
}

// NewProvider returns Nango as an auth provider, calling api; host is
// Nango's public URL, where authorization URLs point.
func NewProvider(api API, host string) *Provider {
	return &Provider{client: api, host: strings.TrimRight(host, "/")}
}

var _ connectors.Provider = (*Provider)(nil)

// NotConfigured stands in for Nango in a deployment without its secret key:
// every call answers not_configured, naming the missing key.
var NotConfigured connectors.Provider = connectors.Unconfigured{Provider: connectors.ProviderNango, Reason: "Nango is not configured: nango_secret_key is not set"}

// Name implements connectors.Provider.
func (p *Provider) Name() connectors.AuthProvider { return connectors.ProviderNango }

// Connect opens a connect session (a reconnect session for an existing
// connection) tagged with the user, organization and state nonce.
func (p *Provider) Connect(ctx context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	tags := map[string]string{TagUser: r.UserID, TagOrg: r.OrganizationID, TagState: r.Nonce}
	var sess *ConnectSession
	var err error
	if c := r.Reconnect; c != nil {
		sess, err = p.client.CreateReconnectSession(ctx, ReconnectSessionRequest{ConnectionID: c.ID, IntegrationID: c.ProviderConfigKey, Tags: tags})
	} else {
		sess, err = p.client.CreateConnectSession(ctx, ConnectSessionRequest{Tags: tags, AllowedIntegrations: []string{r.ProviderConfigKey}})
	}
	if err != nil {
		return nil, domainError("create connect session", err)
	}
	return &connectors.ConnectFlow{
		SessionToken: sess.Token,
		AuthorizationURL: p.host + "/oauth/connect/" + url.PathEscape(r.ProviderConfigKey) + "?" +
			url.Values{"connect_session_token": {sess.Token}}.Encode(),
	}, nil
}

// Complete reads back the connection Nango made; the service checks that
// its tags name the state's user.
func (p *Provider) Complete(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	switch {
	case r.Code != "":
		return nil, connectors.Errorf(connectors.EInvalidState, "the state was issued to another kind of flow")
	case r.ConnectionID == "":
		return nil, connectors.Errorf(connectors.EInvalid, "the callback needs Nango's connection_id")
	}
	nc, err := p.client.GetConnection(ctx, r.ProviderConfigKey, r.ConnectionID, GetConnectionOptions{})
	if err != nil {
		return nil, domainError("fetch connection", err)
	}
	return grant(nc), nil
}

// Grant reads c back from Nango, which refreshes an expiring token on
// read (and any token when refresh is set).
func (p *Provider) Grant(ctx context.Context, c *connectors.Connection, _ *connectors.Token, refresh bool) (*connectors.Grant, error) {
	nc, err := p.client.GetConnection(ctx, c.ProviderConfigKey, c.ID, GetConnectionOptions{ForceRefresh: refresh})
	if err != nil {
		return nil, domainError("fetch connection", err)
	}
	return grant(nc), nil
}

// Revoke deletes the connection at Nango; one Nango no longer has is gone
// already.
func (p *Provider) Revoke(ctx context.Context, c *connectors.Connection, _ *connectors.Token) (string, error) {
	if err := p.client.DeleteConnection(ctx, c.ProviderConfigKey, c.ID); err != nil && !IsNotFound(err) {
		return "", domainError("delete connection", err)
	}
	return "", nil
}

// Proxy sends c's provider requests through Nango's proxy, which signs
// them with the connection's credentials (OAuth 1.0a connectors).
func (p *Provider) Proxy(c *connectors.Connection, _ connectors.Credentials) connectors.Proxy {
	pck, id := c.ProviderConfigKey, c.ID
	return connectors.ProxyFunc(func(ctx context.Context, call connectors.ProxyCall) (int, http.Header, []byte, error) {
		resp, err := p.client.Proxy(ctx, ProxyRequest{
			Method: call.Method, Path: call.Path, Query: call.Query, Header: call.Header, Body: call.Body,
			ConnectionID: id, ProviderConfigKey: pck,
		})
		if err != nil {
			return 0, nil, nil, domainError("proxy", err)
		}
		return resp.Status, resp.Header, resp.Body, nil
	})
}

// grant is what a Nango connection says, as a domain grant. A connection
// without both owner tags is owned by nobody we know: Owner is then empty,
// never nil, so that it matches no state.
func grant(nc *Connection) *connectors.Grant {
	cfg := make(map[string]string, len(nc.ConnectionConfig))
	for k, v := range nc.ConnectionConfig {
		if s, ok := v.(string); ok {
			cfg[k] = s
		}
	}
	return &connectors.Grant{
		ProviderConfigKey: nc.ProviderConfigKey,
		ConnectionID:      nc.ConnectionID,
		Owner:             &connectors.Owner{OrganizationID: nc.Tags[TagOrg], UserID: nc.Tags[TagUser], ConnectionID: nc.ConnectionID},
		State:             nc.Tags[TagState],
		ExpiresAt:         nc.Credentials.ExpiresAt,
		Credentials: connectors.Credentials{
			AccessToken:      nc.Credentials.AccessToken,
			OAuthToken:       nc.Credentials.OAuthToken,
			OAuthTokenSecret: nc.Credentials.OAuthTokenSecret,
			APIKey:           nc.Credentials.APIKey,
			ConnectionConfig: cfg,
		},
	}
}

// domainError is the one place Nango's failures become domain errors:
//   - no such connection: ENotFound;
//   - Nango could not refresh the grant: EReauthRequired;
//   - 429: ERateLimited with Nango's wait;
//   - an answered 5xx: EUpstream (a bad gateway), temporary;
//   - no answer at all: EUnavailable;
//   - 401: ENotConfigured (Nango refused this deployment's secret key);
//   - any other refusal: EUpstream.
func domainError(op string, err error) error {
	var apiErr *APIError
	answered := errors.As(err, &apiErr)
	switch wait, limited := IsRateLimited(err); {
	case IsNotFound(err):
		return connectors.Wrap(err, connectors.ENotFound, op+": Nango has no such connection")
	case IsRefreshFailure(err):
		return connectors.Wrap(err, connectors.EReauthRequired, "Nango could not provide a valid token; the user must reconnect")
	case limited:
		return &connectors.Error{Code: connectors.ERateLimited, Message: "Nango is rate limiting; retry later", RetryAfter: wait, Err: err}
	case answered && apiErr.Status >= 500:
		return &connectors.Error{Code: connectors.EUpstream, Message: op + ": Nango answered an error", Temporary: true, Err: err}
	case IsUnavailable(err):
		return connectors.Wrap(err, connectors.EUnavailable, op+": Nango is unavailable")
	case answered && apiErr.Status == http.StatusUnauthorized:
		return connectors.Wrap(err, connectors.ENotConfigured, op+": Nango refused this deployment's secret key")
	}
	return connectors.Wrap(err, connectors.EUpstream, op+": Nango refused the request")
}
