package composio

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// DefaultToolkits is Composio's toolkit slug of each registry connector.
// Config.Toolkits overrides or extends it.
var DefaultToolkits = map[string]string{
	"slack":           "slack",
	"google-sheets":   "googlesheets",
	"salesforce":      "salesforce",
	"hubspot":         "hubspot",
	"microsoft-teams": "microsoft_teams",
	"discord":         "discord",
	"trello":          "trello",
	"asana":           "asana",
	"shopify":         "shopify",
	"stripe":          "stripe",
	"gmail":           "gmail",
	"outlook":         "outlook",
}

// The query parameters Composio appends to the callback URL when the user
// is done with a Connect Link (or a re-authorization): status is "success"
// or "failed", connected_account_id is the account's id (ca_...). Composio's
// older flows sent connectedAccountId instead; CallbackAccount reads both.
// The callback URL this provider gives Composio carries the flow's signed
// state in its own `state` parameter, which Composio keeps.
const (
	CallbackStatus             = "status"
	CallbackConnectedAccountID = "connected_account_id"
	CallbackLegacyAccountID    = "connectedAccountId"
	CallbackState              = "state"
)

// Callback statuses.
const (
	CallbackSuccess = "success"
	CallbackFailed  = "failed"
)

// CallbackAccount reads a callback's query: the connected account's id and
// Composio's status for the flow ("success", "failed", or "" when absent).
func CallbackAccount(q url.Values) (connectedAccountID, status string) {
	id := q.Get(CallbackConnectedAccountID)
	if id == "" {
		id = q.Get(CallbackLegacyAccountID)
	}
	return id, q.Get(CallbackStatus)
}

// Config is what the Composio provider serves.
type Config struct {
	// AuthConfigs maps a registry connector id to the Composio auth config
	// (ac_...) its accounts are connected with: Composio's auth config of
	// the connector's toolkit. Only these connectors are served.
	AuthConfigs map[string]string
	// CallbackURL is where Composio sends the user back after a Connect
	// Link, e.g. "https://api.example.com/api/v1/nango/oauth/{connector}/callback":
	// "{connector}" is replaced by the connector id, and the flow's state is
	// added as the query parameter `state`; Composio then appends status
	// and connected_account_id (see CallbackAccount).
	CallbackURL string
	// Toolkits overrides or extends DefaultToolkits (connector -> slug).
	Toolkits map[string]string
	// APIOrigins maps a connector id to its API's origin (scheme and host,
	// e.g. "https://slack.com"). A connector's proxied requests are sent
	// as absolute URLs, origin + path: connectors.ProxyCall paths are
	// relative to the API's origin (they carry the version prefix, e.g.
	// "/api/chat.postMessage"), while Composio resolves a relative
	// endpoint against the toolkit's own base URL, which may end in a
	// version path of its own. Without an origin the path is sent relative.
	APIOrigins map[string]string
}

// API is what the provider calls of Composio's API; *Client is one.
type API interface {
	CreateLink(ctx context.Context, in LinkRequest) (*Link, error)
	GetConnectedAccount(ctx context.Context, id string) (*ConnectedAccount, error)
	DeleteConnectedAccount(ctx context.Context, id string) error
	Reauthorize(ctx context.Context, id, redirectURL string) (*Reauthorization, error)
	Proxy(ctx context.Context, req ProxyRequest) (*ProxyResponse, error)
}

// Provider is Composio as an auth provider: Composio holds the tokens and
// sends every request (its proxy); this service keeps only the connected
// account's id, as the connection's id.
type Provider struct {
	api         API
	authConfigs map[string]string // connector -> ac_...
	toolkits    map[string]string // connector -> slug
	origins     map[string]string // connector -> origin
	callback    string
}

var _ connectors.Provider = (*Provider)(nil)

// NotConfigured stands in for Composio in a deployment without its API key:
// every call answers not_configured, naming the missing key.
var NotConfigured connectors.Provider = connectors.Unconfigured{Provider: connectors.ProviderComposio, Reason: "Composio is not configured: composio_api_key is not set"}

// NewProvider returns Composio as an auth provider, calling api. It refuses
// a configuration it could not serve: a callback URL that is not absolute,
// an auth config of a connector without a toolkit, an origin with a path.
func NewProvider(api API, cfg Config) (*Provider, error) {
	p := &Provider{
		api: api, authConfigs: map[string]string{}, toolkits: maps.Clone(DefaultToolkits),
		origins: map[string]string{}, callback: cfg.CallbackURL,
	}
	maps.Copy(p.toolkits, cfg.Toolkits)
	u, err := url.Parse(strings.ReplaceAll(cfg.CallbackURL, "{connector}", "x"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("composio: the callback URL %q is not an absolute http(s) URL", cfg.CallbackURL)
	}
	for _, connector := range slices.Sorted(maps.Keys(cfg.AuthConfigs)) {
		id := strings.TrimSpace(cfg.AuthConfigs[connector])
		if id == "" {
			continue
		}
		if p.toolkits[connector] == "" {
			return nil, fmt.Errorf("composio: connector %q has an auth config but no Composio toolkit", connector)
		}
		p.authConfigs[connector] = id
	}
	for connector, origin := range cfg.APIOrigins {
		o, err := url.Parse(origin)
		if err != nil || (o.Scheme != "https" && o.Scheme != "http") || o.Host == "" || strings.Trim(o.Path, "/") != "" || o.RawQuery != "" || o.User != nil {
			return nil, fmt.Errorf("composio: the API origin %q of %q is not scheme://host", origin, connector)
		}
		p.origins[connector] = o.Scheme + "://" + o.Host
	}
	return p, nil
}

// Name implements connectors.Provider.
func (p *Provider) Name() connectors.AuthProvider { return connectors.ProviderComposio }

// Serves reports whether this deployment has an auth config for connector.
func (p *Provider) Serves(connector string) bool { return p.authConfigs[connector] != "" }

// AuthConfig returns the auth config connector's accounts are connected
// with, if it is served.
func (p *Provider) AuthConfig(connector string) (string, bool) {
	id, ok := p.authConfigs[connector]
	return id, ok
}

// Toolkit returns Composio's toolkit slug for connector ("" when unknown).
func (p *Provider) Toolkit(connector string) string { return p.toolkits[connector] }

func (p *Provider) authConfig(connector string) (string, error) {
	id, ok := p.authConfigs[connector]
	if !ok {
		return "", connectors.Errorf(connectors.ENotConfigured, "Composio has no auth config for %s in this deployment", connector)
	}
	return id, nil
}

// CallbackURL is the URL Composio sends the user back to for a flow of
// connector with state.
func (p *Provider) CallbackURL(connector, state string) string {
	raw := strings.ReplaceAll(p.callback, "{connector}", url.PathEscape(connector))
	u, err := url.Parse(raw)
	if err != nil {
		return raw // NewProvider checked the template; not reached
	}
	q := u.Query()
	q.Set(CallbackState, state)
	u.RawQuery = q.Encode()
	return u.String()
}

// Connect opens a Connect Link for the connector's auth config, filed under
// the user's Composio user id (UserID), that returns to the callback with
// the state. A reconnect re-runs the existing account's authentication
// instead, so that the account, and the connection's id, stay the same.
// r.ProviderConfigKey (the registry's Nango integration key) is not used:
// the auth config is Config.AuthConfigs', and grants name it as their
// ProviderConfigKey.
func (p *Provider) Connect(ctx context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	ac, err := p.authConfig(r.Connector)
	if err != nil {
		return nil, err
	}
	if !connectors.ValidID(r.OrganizationID) || !connectors.ValidID(r.UserID) {
		return nil, connectors.Errorf(connectors.EInvalid, "the flow names no valid organization and user")
	}
	callback := p.CallbackURL(r.Connector, r.State)
	if c := r.Reconnect; c != nil {
		ra, err := p.api.Reauthorize(ctx, c.ID, callback)
		if IsNotFound(err) {
			return nil, connectors.Wrap(err, connectors.ENotFound, "Composio no longer has this connection's account; delete the connection and connect again")
		}
		if err != nil {
			return nil, domainError("reauthorize connected account", err)
		}
		if ra.RedirectURL == "" {
			// Re-authenticated without the user: straight to the callback,
			// as Composio would send the user.
			return &connectors.ConnectFlow{AuthorizationURL: withCallbackResult(callback, c.ID)}, nil
		}
		return &connectors.ConnectFlow{AuthorizationURL: ra.RedirectURL}, nil
	}
	link, err := p.api.CreateLink(ctx, LinkRequest{AuthConfigID: ac, UserID: UserID(r.OrganizationID, r.UserID), CallbackURL: callback})
	if err != nil {
		return nil, domainError("create connect link", err)
	}
	return &connectors.ConnectFlow{AuthorizationURL: link.RedirectURL}, nil
}

func withCallbackResult(callback, accountID string) string {
	u, err := url.Parse(callback)
	if err != nil {
		return callback
	}
	q := u.Query()
	q.Set(CallbackStatus, CallbackSuccess)
	q.Set(CallbackConnectedAccountID, accountID)
	u.RawQuery = q.Encode()
	return u.String()
}

// Complete reads back the connected account the callback names
// (CompleteRequest.ConnectionID: the connected_account_id Composio appended
// to the callback URL). It must be the flow's user's (its user id is
// UserID of the request's organization and user: otherwise EForbidden, and
// nothing is stored), of the connector's auth config, and ACTIVE
// (otherwise EInvalid). The grant carries no token: Composio keeps it.
func (p *Provider) Complete(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	if r.ConnectionID == "" {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state was issued to another kind of flow")
	}
	ac, err := p.authConfig(r.Connector)
	if err != nil {
		return nil, err
	}
	a, err := p.api.GetConnectedAccount(ctx, r.ConnectionID)
	if err != nil {
		return nil, domainError("fetch connected account", err)
	}
	org, user, ok := ParseUserID(a.UserID)
	if !ok || r.OrganizationID == "" || r.UserID == "" || org != r.OrganizationID || user != r.UserID || a.ID != r.ConnectionID {
		return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
	}
	if a.AuthConfig.ID != ac || (a.Toolkit.Slug != "" && a.Toolkit.Slug != p.toolkits[r.Connector]) {
		return nil, connectors.Errorf(connectors.EInvalid, "the Composio connected account is not a %s account of this deployment", r.Connector)
	}
	if !a.Usable() {
		return nil, connectors.Errorf(connectors.EInvalid, "the Composio connection was not completed: the account is %s", describe(a))
	}
	return &connectors.Grant{
		ProviderConfigKey: a.AuthConfig.ID,
		ConnectionID:      a.ID,
		Owner:             &connectors.Owner{OrganizationID: org, UserID: user, ConnectionID: a.ID},
		Credentials:       connectors.Credentials{ViaProxy: true},
	}, nil
}

// Grant reads c's connected account back: an ACTIVE one is usable through
// the proxy (Credentials.ViaProxy); any other status (EXPIRED, FAILED,
// INACTIVE, disabled, or a re-authorization not completed) needs the user
// to reconnect (EReauthRequired); a deleted one is ENotFound.
//
// refresh reads too: Composio refreshes OAuth tokens itself, and its only
// "refresh" operation (POST .../refresh) re-runs the user's authorization,
// which would take a working account out of service until the user
// completes it (Connect uses it to reconnect).
func (p *Provider) Grant(ctx context.Context, c *connectors.Connection, _ *connectors.Token, _ bool) (*connectors.Grant, error) {
	a, err := p.api.GetConnectedAccount(ctx, c.ID)
	if err != nil {
		return nil, domainError("fetch connected account", err)
	}
	if !a.Usable() {
		return nil, connectors.Errorf(connectors.EReauthRequired, "the Composio connected account is %s; the user must reconnect", describe(a))
	}
	owner := &connectors.Owner{ConnectionID: a.ID} // nobody we know, unless the user id is ours
	if org, user, ok := ParseUserID(a.UserID); ok {
		owner.OrganizationID, owner.UserID = org, user
	}
	return &connectors.Grant{
		ProviderConfigKey: a.AuthConfig.ID,
		ConnectionID:      a.ID,
		Owner:             owner,
		Credentials:       connectors.Credentials{ViaProxy: true},
	}, nil
}

// describe is a connected account's state for messages.
func describe(a *ConnectedAccount) string {
	switch {
	case a.IsDisabled:
		return "disabled"
	case a.AuthConfig.IsDisabled:
		return "of a disabled auth config"
	}
	return strings.ToLower(a.Status)
}

// Revoke deletes c's connected account at Composio; one Composio no longer
// has is gone already.
func (p *Provider) Revoke(ctx context.Context, c *connectors.Connection, _ *connectors.Token) (string, error) {
	err := p.api.DeleteConnectedAccount(ctx, c.ID)
	switch {
	case IsNotFound(err):
		return "Composio had no such connected account any more", nil
	case err != nil:
		return "", domainError("delete connected account", err)
	}
	return "connected account deleted at Composio", nil
}

// Proxy sends c's provider requests through Composio's proxy, which adds
// the connected account's credentials. A call's path and query make the
// endpoint (absolute, on the connector's API origin, when Config.APIOrigins
// has one); its JSON body goes as JSON, any other body as bytes with its
// Content-Type. The API's answer, any status, is returned as it is;
// Composio's own refusal is a domain error: an account Composio no longer
// has is ENotFound, one it will not use EReauthRequired.
func (p *Provider) Proxy(c *connectors.Connection, _ connectors.Credentials) connectors.Proxy {
	id, connector := c.ID, c.Connector
	return connectors.ProxyFunc(func(ctx context.Context, call connectors.ProxyCall) (int, http.Header, []byte, error) {
		method := strings.ToUpper(call.Method)
		if method == "" {
			method = http.MethodGet
		}
		if !proxyMethods[method] {
			return 0, nil, nil, connectors.Errorf(connectors.EInvalid, "Composio's proxy does not send %s requests", method)
		}
		resp, err := p.api.Proxy(ctx, ProxyRequest{
			ConnectedAccountID: id, Method: method, Endpoint: p.endpoint(connector, call),
			Header: call.Header, Body: call.Body,
		})
		if err != nil {
			return 0, nil, nil, p.proxyError(ctx, id, err)
		}
		return resp.Status, resp.Header, resp.Body, nil
	})
}

// endpoint is a call's URL as the proxy's endpoint.
func (p *Provider) endpoint(connector string, call connectors.ProxyCall) string {
	e := call.Path
	if !strings.HasPrefix(e, "https://") && !strings.HasPrefix(e, "http://") {
		if !strings.HasPrefix(e, "/") {
			e = "/" + e
		}
		e = p.origins[connector] + e
	}
	if q := call.Query.Encode(); q != "" {
		sep := "?"
		if strings.Contains(e, "?") {
			sep = "&"
		}
		e += sep + q
	}
	return e
}

// proxyError classifies Composio's refusal of a proxied call. A refusal
// that could be about the account (400, 403, 404, 410, 422: Composio names
// no stable codes for them) is checked against the account itself: gone is
// ENotFound, unusable EReauthRequired; anything else is domainError's.
func (p *Provider) proxyError(ctx context.Context, id string, err error) error {
	if errors.Is(err, ErrBinaryAnswer) {
		return connectors.Wrap(err, connectors.EUpstream, "the API answered a binary body through Composio, which this service does not download")
	}
	apiErr, ok := apiError(err)
	if ok {
		switch apiErr.Status {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusGone, http.StatusUnprocessableEntity:
			a, gerr := p.api.GetConnectedAccount(ctx, id)
			switch {
			case IsNotFound(gerr):
				return connectors.Wrap(err, connectors.ENotFound, "proxy: Composio has no such connected account")
			case gerr == nil && !a.Usable():
				return connectors.Wrap(err, connectors.EReauthRequired, "Composio will not use the connected account ("+describe(a)+"); the user must reconnect")
			}
		}
	}
	return domainError("proxy", err)
}
