package panora

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/automators/connectors/internal/connectors"
)

// API is what the provider calls of Panora's API; *Client is one.
type API interface {
	CreateLinkedUser(ctx context.Context, in CreateLinkedUserRequest) (*LinkedUser, error)
	LinkedUserByOrigin(ctx context.Context, originID string) (*LinkedUser, error)
	LinkedUser(ctx context.Context, id string) (*LinkedUser, error)
	ListLinkedUsers(ctx context.Context) ([]LinkedUser, error)
	CreateMagicLink(ctx context.Context, in MagicLinkRequest) (*MagicLink, error)
	ListConnections(ctx context.Context) ([]Connection, error)
	Passthrough(ctx context.Context, token string, req PassthroughRequest) (*PassthroughResponse, error)
}

var _ API = (*Client)(nil)

// Options configure a Provider. The zero value is usable.
type Options struct {
	// ConnectHost is where Panora serves its magic-link page
	// (DefaultConnectHost when empty; a self-hosted Panora's
	// NEXT_PUBLIC_MAGIC_LINK_DOMAIN, or the fake's ConnectURL).
	ConnectHost string
	// ProjectID is the API key's Panora project, when the deployment
	// knows it; otherwise the provider learns it from answers bound to the
	// key (see findLinkedUser).
	ProjectID string
	// OriginPrefix starts the origin ids of linked users
	// (DefaultOriginPrefix when empty). Deployments sharing one Panora
	// project give each its own.
	OriginPrefix string
	// CheckEvery is how often the sweeper should read a connection's
	// status back from Panora (Grant.CheckAt; default 24 h): Panora
	// refreshes the provider's tokens itself, so nothing else in the
	// record expires.
	CheckEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultCheckEvery is Options.CheckEvery's default.
const DefaultCheckEvery = 24 * time.Hour

// Provider is Panora as an auth provider (a routing step): Panora holds the
// provider's tokens; this service keeps the connection's record and its
// Panora connection token, sealed, and sends the connection's requests
// through Panora's passthrough.
//
// Each user of this service is a linked user at Panora, one per
// (organization, user), whose origin id is OriginID(prefix, org, user).
type Provider struct {
	client      API
	connectHost string
	prefix      string
	checkEvery  time.Duration
	now         func() time.Time

	mu        sync.Mutex
	projectID string
	users     map[string]*LinkedUser // by origin id, in the project
	flight    singleflight.Group
}

// NewProvider returns Panora as an auth provider, calling api.
func NewProvider(api API, o Options) *Provider {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Provider{
		client:      api,
		connectHost: cmp.Or(o.ConnectHost, DefaultConnectHost),
		prefix:      cmp.Or(o.OriginPrefix, DefaultOriginPrefix),
		checkEvery:  cmp.Or(o.CheckEvery, DefaultCheckEvery),
		now:         o.Now,
		projectID:   o.ProjectID,
		users:       map[string]*LinkedUser{},
	}
}

var _ connectors.Provider = (*Provider)(nil)

// NotConfigured stands in for Panora in a deployment without its API key:
// every call answers not_configured, naming the missing key.
var NotConfigured connectors.Provider = connectors.Unconfigured{Provider: connectors.ProviderPanora, Reason: "Panora is not configured: panora_api_key is not set"}

// Name implements connectors.Provider.
func (p *Provider) Name() connectors.AuthProvider { return connectors.ProviderPanora }

// Serves reports whether Panora serves connector (a registry id): the
// package's Serves.
func (p *Provider) Serves(connector string) bool { return Serves(connector) }

func app(connector string) (App, error) {
	a, ok := AppFor(connector)
	if !ok {
		return App{}, connectors.Errorf(connectors.ENotImplemented, "Panora does not serve the connector %q", connector)
	}
	return a, nil
}

// Connect makes sure the user has a linked user at Panora and creates a
// magic link for them; the link's page is the authorization URL. The user
// picks the app on Panora's page (it lists every active provider of the
// project, not only this connector's: a magic link cannot be limited to
// one at c6741e9e) and Complete then finds the connection by the
// connector's provider slug. A reconnect is a new magic link for the same
// linked user: Panora updates that user's connection to the app in place
// (same id, same connection token).
func (p *Provider) Connect(ctx context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	if _, err := app(r.Connector); err != nil {
		return nil, err
	}
	if r.OrganizationID == "" || r.UserID == "" {
		return nil, connectors.Errorf(connectors.EInvalid, "a Panora connect flow needs the user and the organization")
	}
	lu, err := p.linkedUser(ctx, r.OrganizationID, r.UserID, true)
	if err != nil {
		return nil, domainError("find or create the linked user", err)
	}
	ml, err := p.client.CreateMagicLink(ctx, MagicLinkRequest{OriginID: lu.OriginID, Alias: r.OrganizationID, ProjectID: lu.ProjectID})
	if err != nil {
		return nil, domainError("create magic link", err)
	}
	return &connectors.ConnectFlow{AuthorizationURL: LinkURL(p.connectHost, ml.ID)}, nil
}

// Complete finds the connection the user made at Panora for the connector:
// r.ConnectionID when the callback names it, else the user's newest usable
// connection to the connector's app. A connection of another user is
// refused (EForbidden), and a missing one is ENotFound; neither returns
// anything. The grant's token is Panora's connection token, which this
// service keeps sealed.
func (p *Provider) Complete(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	a, err := app(r.Connector)
	if err != nil {
		return nil, err
	}
	if r.OrganizationID == "" || r.UserID == "" {
		return nil, connectors.Errorf(connectors.EInvalidState, "the flow names no user")
	}
	lu, err := p.linkedUser(ctx, r.OrganizationID, r.UserID, false)
	if err != nil && !IsNotFound(err) {
		return nil, domainError("find the linked user", err)
	}
	if err != nil {
		lu = nil // the user has no linked user: nothing at Panora is theirs
	}
	conns, err := p.client.ListConnections(ctx)
	if err != nil {
		return nil, domainError("list connections", err)
	}
	var found *Connection
	if r.ConnectionID != "" {
		for i := range conns {
			if c := &conns[i]; c.ID == r.ConnectionID && c.Vertical == a.Vertical && c.ProviderSlug == a.Slug {
				found = c
			}
		}
		if found == nil {
			return nil, connectors.Errorf(connectors.ENotFound, "Panora has no %s connection %s", a, r.ConnectionID)
		}
		mine := false
		if lu != nil {
			if mine, err = p.ownedBy(ctx, found, lu); err != nil {
				return nil, domainError("read the connection's linked user", err)
			}
		}
		if !mine {
			return nil, connectors.Errorf(connectors.EForbidden, "the Panora connection does not belong to this user")
		}
		if !found.Usable() {
			return nil, connectors.Errorf(connectors.EReauthRequired, "Panora reports the connection as %q; the user must connect again", found.Status)
		}
	} else {
		if lu != nil {
			found = newest(conns, a, map[string]bool{lu.ID: true})
		}
		if found == nil && lu != nil {
			// Filed under a duplicate linked user (containers raced to
			// create it, and the magic link took the other one)?
			ids, err := p.duplicates(ctx, lu.OriginID)
			if err != nil {
				return nil, domainError("list linked users", err)
			}
			found = newest(conns, a, ids)
		}
		if found == nil {
			return nil, connectors.Errorf(connectors.ENotFound, "Panora has no %s connection of this user's yet", a)
		}
	}
	p.learnProject(found.ProjectID)
	if found.ConnectionToken == "" {
		return nil, connectors.Errorf(connectors.EUpstream, "Panora's connection %s has no connection token", found.ID)
	}
	return &connectors.Grant{
		ProviderConfigKey: r.ProviderConfigKey,
		ConnectionID:      found.ID,
		Owner:             &connectors.Owner{OrganizationID: r.OrganizationID, UserID: r.UserID, ConnectionID: found.ID},
		CheckAt:           p.now().Add(p.checkEvery),
		Token:             &connectors.Token{AccessToken: found.ConnectionToken},
		Credentials:       credentials(found.ConnectionToken),
	}, nil
}

// newest is the newest usable connection to a of a linked user in users.
func newest(conns []Connection, a App, users map[string]bool) *Connection {
	var found *Connection
	for i := range conns {
		c := &conns[i]
		if users[c.LinkedUserID] && c.Vertical == a.Vertical && c.ProviderSlug == a.Slug && c.Usable() &&
			(found == nil || c.CreatedAt.After(found.CreatedAt)) {
			found = c
		}
	}
	return found
}

// credentials are what an action of a Panora connection gets: no
// credential of the provider's, only the connection token, which the
// connection's passthrough (ProxyWith) sends to Panora.
func credentials(token string) connectors.Credentials {
	return connectors.Credentials{AccessToken: token, ViaProxy: true}
}

// Grant hands out c's credentials from held, the connection token this
// service keeps, without calling Panora. With refresh, or without a held
// token (a webhook's read-back), it reads the connection from Panora first:
// one Panora no longer lists is ENotFound, one whose status is not valid
// EReauthRequired (only the user connecting again helps: Panora refreshes
// the provider's tokens itself).
func (p *Provider) Grant(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
	if held != nil && held.AccessToken != "" && !refresh {
		t := *held
		return &connectors.Grant{ProviderConfigKey: c.ProviderConfigKey, ConnectionID: c.ID, Token: &t, Credentials: credentials(t.AccessToken)}, nil
	}
	conns, err := p.client.ListConnections(ctx)
	if err != nil {
		return nil, domainError("list connections", err)
	}
	var found *Connection
	for i := range conns {
		if conns[i].ID == c.ID {
			found = &conns[i]
		}
	}
	if found == nil {
		return nil, connectors.Errorf(connectors.ENotFound, "Panora has no connection %s", c.ID)
	}
	if a, ok := AppFor(c.Connector); ok && (found.Vertical != a.Vertical || found.ProviderSlug != a.Slug) {
		return nil, connectors.Errorf(connectors.ENotFound, "Panora's connection %s is not a %s connection", c.ID, a)
	}
	p.learnProject(found.ProjectID)
	if !found.Usable() {
		return nil, connectors.Errorf(connectors.EReauthRequired, "Panora reports the connection as %q; the user must connect again", found.Status)
	}
	if found.ConnectionToken == "" {
		return nil, connectors.Errorf(connectors.EUpstream, "Panora's connection %s has no connection token", found.ID)
	}
	owner, err := p.owner(ctx, found)
	if err != nil {
		return nil, domainError("read the connection's linked user", err)
	}
	return &connectors.Grant{
		ProviderConfigKey: c.ProviderConfigKey,
		ConnectionID:      found.ID,
		Owner:             owner,
		CheckAt:           p.now().Add(p.checkEvery),
		Token:             &connectors.Token{AccessToken: found.ConnectionToken},
		Credentials:       credentials(found.ConnectionToken),
	}, nil
}

// RevokeDetail is what Revoke reports for the audit.
const RevokeDetail = "Panora's API has no call to delete a connection: it stays at Panora (delete it in Panora's dashboard); this service forgets its connection token"

// Revoke ends nothing at Panora: Panora's API (its OpenAPI document, and
// packages/api/src/@core/connections/connections.controller.ts) has no
// call that deletes or disables a connection. The record's deletion drops
// the sealed connection token, so this service can no longer use it.
func (p *Provider) Revoke(context.Context, *connectors.Connection, *connectors.Token) (string, error) {
	return RevokeDetail, nil
}

// errNoToken is Proxy's failure: the passthrough needs the connection token.
var errNoToken = connectors.Errorf(connectors.EInternal, "panora: proxy needs the connection token")

// Proxy sends c's requests through Panora's passthrough with the
// connection token the grant's credentials carry (AccessToken, with
// ViaProxy), which the lifecycle opens from the record. Credentials
// without it give a proxy that fails with EInternal, so that a caller that
// lost the token fails loudly.
func (p *Provider) Proxy(_ *connectors.Connection, cr connectors.Credentials) connectors.Proxy {
	return p.ProxyFor(cr)
}

// ProxyFor is ProxyWith the connection token of cr, the credentials a
// Panora grant hands out.
func (p *Provider) ProxyFor(cr connectors.Credentials) connectors.Proxy {
	if !cr.ViaProxy || cr.AccessToken == "" {
		return connectors.ProxyFunc(func(context.Context, connectors.ProxyCall) (int, http.Header, []byte, error) {
			return 0, nil, nil, errNoToken
		})
	}
	return p.ProxyWith(cr.AccessToken)
}

// ProxyWith sends requests through Panora's passthrough for the connection
// whose connection token is token (POST /passthrough, x-connection-token).
// A call's Path is relative to the provider's API base URL, as for Nango's
// proxy ("/crm/v3/objects/contacts" for HubSpot); Panora prefixes the
// connection's account_url. The answer is the provider's status, headers
// and body as Panora reports them (for a provider error, Panora reports
// the status only: PassthroughResponse.StatusOnly). A provider's 429 is
// ERateLimited: Panora queued the request and sends it again itself (see
// QueuedError; GET /passthrough/{retryId} reads the outcome), so a caller
// that retries a write may make it twice.
func (p *Provider) ProxyWith(token string) connectors.Proxy {
	return connectors.ProxyFunc(func(ctx context.Context, call connectors.ProxyCall) (int, http.Header, []byte, error) {
		if token == "" {
			return 0, nil, nil, errNoToken
		}
		req, err := passthroughRequest(call)
		if err != nil {
			return 0, nil, nil, err
		}
		resp, err := p.client.Passthrough(ctx, token, req)
		if err != nil {
			return 0, nil, nil, domainError("passthrough", err)
		}
		return resp.Status, resp.Header, resp.Body, nil
	})
}

// domainError is the one place Panora's failures become domain errors:
//   - a provider's 429 that Panora queued, or Panora's own 429: ERateLimited
//     with the wait;
//   - no such thing (404, a lookup that matched nothing): ENotFound;
//   - an unknown connection token: ENotFound (Panora no longer has it);
//   - an answered 5xx: EUpstream (a bad gateway), temporary;
//   - no answer at all: EUnavailable;
//   - 401/403: ENotConfigured (Panora refused this deployment's API key, or
//     its dashboard token for magic links);
//   - any other refusal: EUpstream.
//
// Messages name the operation, never a secret (the client scrubs Panora's).
func domainError(op string, err error) error {
	var apiErr *APIError
	answered := errors.As(err, &apiErr)
	switch wait, limited := IsRateLimited(err); {
	case limited:
		var q *QueuedError
		if errors.As(err, &q) {
			return &connectors.Error{Code: connectors.ERateLimited, RetryAfter: wait, Err: err,
				Message: op + ": the provider rate limited the request; Panora queued it and will send it again itself"}
		}
		return &connectors.Error{Code: connectors.ERateLimited, Message: "Panora is rate limiting; retry later", RetryAfter: wait, Err: err}
	case IsNotFound(err):
		return connectors.Wrap(err, connectors.ENotFound, op+": Panora has no such thing")
	case IsUnknownConnection(err):
		return connectors.Wrap(err, connectors.ENotFound, op+": Panora has no connection for this connection token")
	case answered && apiErr.Status >= 500:
		return &connectors.Error{Code: connectors.EUpstream, Message: op + ": Panora answered an error", Temporary: true, Err: err}
	case IsUnavailable(err):
		return connectors.Wrap(err, connectors.EUnavailable, op+": Panora is unavailable")
	case answered && apiErr.Op == "POST /magic_links" && IsUnauthorized(err):
		return connectors.Wrap(err, connectors.ENotConfigured, op+": Panora refused to create a magic link: its magic links need a dashboard token besides the API key")
	case IsUnauthorized(err):
		return connectors.Wrap(err, connectors.ENotConfigured, op+": Panora refused this deployment's API key")
	}
	return connectors.Wrap(err, connectors.EUpstream, op+": Panora refused the request")
}
