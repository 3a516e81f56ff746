// Package httpapi is the /api/v1/nango HTTP API: one method per route, each
// an API Gateway HTTP API Lambda handler. It authenticates the caller,
// decodes the request, calls the connection service and encodes the answer;
// the rules live in the service (package connections), not here.
package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
)

// Authenticator turns an Authorization header into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (connectors.Principal, error)
}

// Events verifies a provider's webhook and says what it reports (the Nango
// adapter's Webhooks).
type Events interface {
	Event(ctx context.Context, body []byte, header http.Header) (*connectors.ConnectionEvent, error)
}

// API serves the routes. Build it once per cold start (see package wiring).
type API struct {
	auth   Authenticator
	svc    *connect.Service
	events Events
	mw     apigw.Middleware
}

// New returns the API.
func New(auth Authenticator, svc *connect.Service, events Events, mw apigw.Middleware) *API {
	return &API{auth: auth, svc: svc, events: events, mw: mw}
}

// Handlers returns every route's handler keyed by its function's folder name
// (functions/<name>), as the local API and the tests look them up.
func (a *API) Handlers() map[string]apigw.Handler {
	return map[string]apigw.Handler{
		"nango-authorize":         a.Authorize,
		"nango-callback":          a.Callback,
		"nango-refresh":           a.Refresh,
		"nango-list-connections":  a.ListConnections,
		"nango-get-connection":    a.GetConnection,
		"nango-delete-connection": a.DeleteConnection,
		"nango-webhook":           a.Webhook,
	}
}

// Connection is the JSON form of a connection. It has no field
// for any token, by construction.
type Connection struct {
	ID                string            `json:"id"`
	Connector         string            `json:"connector"`
	AuthProvider      string            `json:"authProvider"`
	ProviderConfigKey string            `json:"providerConfigKey"`
	UserID            string            `json:"userId"`
	OrganizationID    string            `json:"organizationId"`
	Status            connectors.Status `json:"status"`
	Scopes            []string          `json:"scopes"`
	CreatedAt         time.Time         `json:"createdAt"`
	UpdatedAt         time.Time         `json:"updatedAt"`
	LastRefreshedAt   *time.Time        `json:"lastRefreshedAt"`
	ExpiresAt         *time.Time        `json:"expiresAt"`
}

// ToJSON converts a connection to its JSON form.
func ToJSON(c *connectors.Connection) Connection {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return Connection{
		ID: c.ID, Connector: c.Connector, AuthProvider: string(c.AuthProvider), ProviderConfigKey: c.ProviderConfigKey,
		UserID: c.UserID, OrganizationID: c.OrganizationID, Status: c.Status, Scopes: scopes,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		LastRefreshedAt: optionalTime(c.LastRefreshedAt), ExpiresAt: optionalTime(c.ExpiresAt),
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

type connectionBody struct {
	Connection Connection `json:"connection"`
}

type listBody struct {
	Connections []Connection `json:"connections"`
	NextCursor  *string      `json:"nextCursor"`
}

// authed wraps a handler that needs a bearer token.
func (a *API) authed(h func(context.Context, connectors.Principal, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)) apigw.Handler {
	return a.mw.Wrap(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		p, err := a.auth.Authenticate(ctx, apigw.Header(req, "Authorization"))
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return h(ctx, p, req)
	})
}

// Authorize serves GET /api/v1/nango/oauth/{provider}/authorize.
func (a *API) Authorize(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.authed(func(ctx context.Context, p connectors.Principal, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		q, err := query(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		out, err := a.svc.Authorize(ctx, p, connect.AuthorizeParams{
			Connector:    req.PathParameters["provider"],
			RedirectURI:  q.Get("redirect_uri"),
			ConnectionID: q.Get("connection_id"),
		})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.JSON(http.StatusOK, out), nil
	})(ctx, req)
}

// Callback serves GET /api/v1/nango/oauth/{provider}/callback. The state
// authenticates it; a bearer token, when present, must be the state's user.
func (a *API) Callback(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.mw.Wrap(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		var caller *connectors.Principal
		if h := apigw.Header(req, "Authorization"); h != "" {
			p, err := a.auth.Authenticate(ctx, h)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			caller = &p
		}
		q, err := query(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		res, err := a.svc.Callback(ctx, caller, connect.CallbackParams{
			Connector:        req.PathParameters["provider"],
			State:            q.Get("state"),
			ConnectionID:     q.Get("connection_id"),
			Code:             q.Get("code"),
			Error:            q.Get("error"),
			ErrorDescription: q.Get("error_description"),
		})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if res.RedirectURI != "" {
			return apigw.Redirect(withQuery(res.RedirectURI, url.Values{"status": {"success"}, "connection_id": {res.Connection.ID}})), nil
		}
		return apigw.JSON(http.StatusOK, connectionBody{ToJSON(res.Connection)}), nil
	})(ctx, req)
}

// Refresh serves POST /api/v1/nango/oauth/{provider}/refresh.
func (a *API) Refresh(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.authed(func(ctx context.Context, p connectors.Principal, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		var body struct {
			ConnectionID string `json:"connectionId"`
		}
		if err := apigw.DecodeJSON(req, &body); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if body.ConnectionID == "" {
			return events.APIGatewayV2HTTPResponse{}, connectors.Errorf(connectors.EInvalid, "connectionId is required")
		}
		c, err := a.svc.Refresh(ctx, p, req.PathParameters["provider"], body.ConnectionID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.JSON(http.StatusOK, connectionBody{ToJSON(c)}), nil
	})(ctx, req)
}

// ListConnections serves GET /api/v1/nango/connections.
func (a *API) ListConnections(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.authed(func(ctx context.Context, p connectors.Principal, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		q, err := query(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		in := connect.ListParams{Connector: q.Get("connector"), Status: connectors.Status(q.Get("status")), Cursor: q.Get("cursor")}
		if in.Status != "" && !in.Status.Valid() {
			return events.APIGatewayV2HTTPResponse{}, connectors.Errorf(connectors.EInvalid, "status must be one of active, refresh_failed, reauth_required, revoked")
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return events.APIGatewayV2HTTPResponse{}, connectors.Errorf(connectors.EInvalid, "limit must be a whole number from 1 to 100")
			}
			in.Limit = n
		}
		switch q.Get("scope") {
		case "", "user":
		case "organization":
			in.Organization = true
		default:
			return events.APIGatewayV2HTTPResponse{}, connectors.Errorf(connectors.EInvalid, "scope must be user or organization")
		}
		page, err := a.svc.List(ctx, p, in)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		out := listBody{Connections: make([]Connection, 0, len(page.Connections))}
		for _, c := range page.Connections {
			out.Connections = append(out.Connections, ToJSON(c))
		}
		if page.NextCursor != "" {
			out.NextCursor = &page.NextCursor
		}
		return apigw.JSON(http.StatusOK, out), nil
	})(ctx, req)
}

// GetConnection serves GET /api/v1/nango/connections/{connectionId}.
func (a *API) GetConnection(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.authed(func(ctx context.Context, p connectors.Principal, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		c, err := a.svc.Get(ctx, p, req.PathParameters["connectionId"])
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.JSON(http.StatusOK, connectionBody{ToJSON(c)}), nil
	})(ctx, req)
}

// DeleteConnection serves DELETE /api/v1/nango/connections/{connectionId}.
func (a *API) DeleteConnection(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.authed(func(ctx context.Context, p connectors.Principal, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if err := a.svc.Delete(ctx, p, req.PathParameters["connectionId"]); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.NoContent(), nil
	})(ctx, req)
}

// Webhook serves POST /api/v1/nango/webhooks: Nango-signed, no JWT. The
// signature is checked over the raw body bytes as Nango sent them.
func (a *API) Webhook(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.mw.Wrap(func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		body, err := apigw.Body(req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		header := http.Header{}
		for k, v := range req.Headers {
			header.Set(k, v)
		}
		ev, err := a.events.Event(ctx, body, header)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if err := a.svc.HandleEvent(ctx, ev); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return apigw.JSON(http.StatusOK, map[string]bool{"received": true}), nil
	})(ctx, req)
}

// query parses the raw query string; API Gateway's map joins repeated keys
// with commas, which would corrupt a redirect_uri.
func query(req events.APIGatewayV2HTTPRequest) (url.Values, error) {
	if req.RawQueryString == "" {
		q := url.Values{}
		for k, v := range req.QueryStringParameters {
			q.Set(k, v)
		}
		return q, nil
	}
	q, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		return nil, connectors.Errorf(connectors.EInvalid, "the query string is malformed")
	}
	return q, nil
}

// withQuery adds params to a URL that already passed the allow-list.
func withQuery(raw string, params url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}
