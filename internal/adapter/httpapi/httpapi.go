// Package httpapi is the /api/v1/nango HTTP API as net/http handlers, one
// per route and Lambda function. It authenticates the caller, decodes the
// request, calls the connection service and encodes the answer; the rules
// live in the service (package connect), not here. Package apigw runs these
// handlers in Lambda; the local API serves the same ones.
package httpapi

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
)

// Authenticator turns an Authorization header into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (connectors.Principal, error)
}

// API serves the routes. Build it once per cold start (see package wiring).
type API struct {
	auth     Authenticator
	svc      *connect.Service
	events   Events
	handlers map[string]http.Handler // by function, middleware included
}

// Events verifies a provider's webhook and says what it reports (the Nango
// adapter's Webhooks).
type Events interface {
	Event(ctx context.Context, body []byte, header http.Header) (*connectors.ConnectionEvent, error)
}

// New returns the API, every route's handler wrapped in mw once.
func New(auth Authenticator, svc *connect.Service, events Events, mw Middleware) *API {
	a := &API{auth: auth, svc: svc, events: events, handlers: map[string]http.Handler{}}
	for _, r := range routes {
		rm := mw
		rm.route = r.Function // the Function of the route's metrics
		a.handlers[r.Function] = rm.Wrap(r.handler(a))
	}
	return a
}

// Handler returns the handler of function (its folder under functions/),
// or nil when no route is served by it.
func (a *API) Handler(function string) http.Handler { return a.handlers[function] }

// Handlers returns every route's handler keyed by its function's folder
// name, as the local API and the tests look them up.
func (a *API) Handlers() map[string]http.Handler {
	out := make(map[string]http.Handler, len(a.handlers))
	for k, h := range a.handlers {
		out[k] = h
	}
	return out
}

// Connection is the JSON form of a connection, as one caller sees it. It
// has no field for any token, API key or other credential, by construction.
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
	Label             *string           `json:"label"`  // null when the connection has none
	Shared            bool              `json:"shared"` // shared with the organization by an admin
	// ReadOnly is set when the caller may see the connection but not
	// change it: a connection another member shared with the organization.
	ReadOnly bool `json:"readOnly"`
}

// ToJSON converts a connection to its JSON form as p, the caller, sees it.
func ToJSON(c *connectors.Connection, p connectors.Principal) Connection {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return Connection{
		ID: c.ID, Connector: c.Connector, AuthProvider: string(c.AuthProvider), ProviderConfigKey: c.ProviderConfigKey,
		UserID: c.UserID, OrganizationID: c.OrganizationID, Status: c.Status, Scopes: scopes,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		LastRefreshedAt: optionalTime(c.LastRefreshedAt), ExpiresAt: optionalTime(c.ExpiresAt),
		Label: optionalString(c.Label), Shared: c.Shared, ReadOnly: !c.OwnedBy(p),
	}
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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

// authed gives h the principal of the request's bearer token.
func (a *API) authed(h func(http.ResponseWriter, *http.Request, connectors.Principal) error) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		return h(w, r, p)
	}
}

// authorizeHandler serves GET /api/v1/nango/oauth/{provider}/authorize.
func (a *API) authorizeHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		q, err := query(r)
		if err != nil {
			return err
		}
		out, err := a.svc.Authorize(r.Context(), p, connect.AuthorizeParams{
			Connector:    r.PathValue("provider"),
			RedirectURI:  q.Get("redirect_uri"),
			ConnectionID: q.Get("connection_id"),
		})
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

// callbackHandler serves GET /api/v1/nango/oauth/{provider}/callback. The
// state authenticates it; a bearer token, when present, must be the state's
// user.
func (a *API) callbackHandler() HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var caller *connectors.Principal
		if h := r.Header.Get("Authorization"); h != "" {
			p, err := a.auth.Authenticate(r.Context(), h)
			if err != nil {
				return err
			}
			caller = &p
		}
		q, err := query(r)
		if err != nil {
			return err
		}
		params := connect.CallbackParams{
			Connector: r.PathValue("provider"),
			State:     q.Get("state"),
			// Nango's connection_id; Composio's link appends the account
			// as connected_account_id, with status=failed when it failed.
			ConnectionID:     cmp.Or(q.Get("connection_id"), q.Get("connected_account_id")),
			Code:             q.Get("code"),
			Error:            q.Get("error"),
			ErrorDescription: q.Get("error_description"),
		}
		if params.Error == "" && q.Get("status") == "failed" {
			params.Error = "connection_failed"
		}
		res, err := a.svc.Callback(r.Context(), caller, params)
		if err != nil {
			return err
		}
		if res.RedirectURI != "" {
			Redirect(w, withQuery(res.RedirectURI, url.Values{"status": {"success"}, "connection_id": {res.Connection.ID}}))
			return nil
		}
		// The state's user is the caller: the connection was just
		// recorded as theirs.
		owner := connectors.Principal{UserID: res.Connection.UserID, OrganizationID: res.Connection.OrganizationID}
		if caller != nil {
			owner = *caller
		}
		WriteJSON(w, http.StatusOK, connectionBody{ToJSON(res.Connection, owner)})
		return nil
	}
}

// refreshHandler serves POST /api/v1/nango/oauth/{provider}/refresh.
func (a *API) refreshHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		var body struct {
			ConnectionID string `json:"connectionId"`
		}
		if err := DecodeJSON(r, &body); err != nil {
			return err
		}
		if body.ConnectionID == "" {
			return connectors.Errorf(connectors.EInvalid, "connectionId is required")
		}
		c, err := a.svc.Refresh(r.Context(), p, r.PathValue("provider"), body.ConnectionID)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, connectionBody{ToJSON(c, p)})
		return nil
	})
}

// listHandler serves GET /api/v1/nango/connections.
func (a *API) listHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		q, err := query(r)
		if err != nil {
			return err
		}
		in := connect.ListParams{Connector: q.Get("connector"), Status: connectors.Status(q.Get("status")), Cursor: q.Get("cursor")}
		if in.Status != "" && !in.Status.Valid() {
			return connectors.Errorf(connectors.EInvalid, "status must be one of active, refresh_failed, reauth_required, revoked")
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return connectors.Errorf(connectors.EInvalid, "limit must be a whole number from 1 to 100")
			}
			in.Limit = n
		}
		switch q.Get("scope") {
		case "", "user":
		case "organization":
			in.Organization = true
		default:
			return connectors.Errorf(connectors.EInvalid, "scope must be user or organization")
		}
		page, err := a.svc.List(r.Context(), p, in)
		if err != nil {
			return err
		}
		out := listBody{Connections: make([]Connection, 0, len(page.Connections))}
		for _, c := range page.Connections {
			out.Connections = append(out.Connections, ToJSON(c, p))
		}
		if page.NextCursor != "" {
			out.NextCursor = &page.NextCursor
		}
		WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

// getHandler serves GET /api/v1/nango/connections/{connectionId}.
func (a *API) getHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		c, err := a.svc.Get(r.Context(), p, r.PathValue("connectionId"))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, connectionBody{ToJSON(c, p)})
		return nil
	})
}

// deleteHandler serves DELETE /api/v1/nango/connections/{connectionId}.
func (a *API) deleteHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		if err := a.svc.Delete(r.Context(), p, r.PathValue("connectionId")); err != nil {
			return err
		}
		NoContent(w)
		return nil
	})
}

// createHandler serves POST /api/v1/nango/connections: a connection made
// with credentials the user pasted (an API key or token), which the
// service tests at the provider before it stores them. The same
// credentials posted again by the same user answer the same connection.
func (a *API) createHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		var body struct {
			Connector   string            `json:"connector"`
			Credentials map[string]string `json:"credentials"`
			Label       string            `json:"label"`
		}
		if err := DecodeJSON(r, &body); err != nil {
			return err
		}
		switch {
		case body.Connector == "":
			return connectors.Errorf(connectors.EInvalid, "connector is required")
		case len(body.Credentials) == 0:
			return connectors.Errorf(connectors.EInvalid, "credentials is required")
		}
		c, err := a.svc.Create(r.Context(), p, connect.CreateParams{Connector: body.Connector, Credentials: body.Credentials, Label: body.Label})
		if err != nil {
			return withoutCredentials(err, body.Credentials)
		}
		w.Header().Set("Location", BasePath+"/connections/"+url.PathEscape(c.ID))
		WriteJSON(w, http.StatusCreated, connectionBody{ToJSON(c, p)})
		return nil
	})
}

// rotateHandler serves PUT /api/v1/nango/connections/{connectionId}/credentials:
// new credentials for an API-key connection, tested like the first ones;
// a refusal keeps the old ones.
func (a *API) rotateHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		var body struct {
			Credentials map[string]string `json:"credentials"`
		}
		if err := DecodeJSON(r, &body); err != nil {
			return err
		}
		if len(body.Credentials) == 0 {
			return connectors.Errorf(connectors.EInvalid, "credentials is required")
		}
		c, err := a.svc.RotateCredentials(r.Context(), p, r.PathValue("connectionId"), body.Credentials)
		if err != nil {
			return withoutCredentials(err, body.Credentials)
		}
		WriteJSON(w, http.StatusOK, connectionBody{ToJSON(c, p)})
		return nil
	})
}

// updateHandler serves PATCH /api/v1/nango/connections/{connectionId}:
// an admin shares a connection with the organization, or stops sharing it.
func (a *API) updateHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		var body struct {
			Shared *bool `json:"shared"`
		}
		if err := DecodeJSON(r, &body); err != nil {
			return err
		}
		if body.Shared == nil {
			return connectors.Errorf(connectors.EInvalid, "shared is required")
		}
		c, err := a.svc.Share(r.Context(), p, r.PathValue("connectionId"), *body.Shared)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, connectionBody{ToJSON(c, p)})
		return nil
	})
}

// minRedacted is the shortest submitted value withoutCredentials looks
// for: no provider issues a shorter secret, and shorter strings would
// match ordinary words of a message.
const minRedacted = 4

// withoutCredentials returns err with every submitted credential value
// (of at least minRedacted bytes) cut out of its message and its cause, so
// that neither the answer nor the log line can carry one, whatever a
// provider's refusal said. The code, retry delay and temporariness stay.
func withoutCredentials(err error, fields map[string]string) error {
	var found []string
	for _, v := range fields {
		if len(v) >= minRedacted && strings.Contains(err.Error(), v) {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		return err
	}
	// Longest first: a value inside another is not left half cut.
	slices.SortFunc(found, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(found))
	for _, v := range found {
		pairs = append(pairs, v, "[redacted]")
	}
	cut := strings.NewReplacer(pairs...)
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return errors.New(cut.Replace(err.Error())) // still internal
	}
	return &connectors.Error{
		Code: ce.Code, Message: cut.Replace(ce.Message),
		RetryAfter: ce.RetryAfter, Temporary: ce.Temporary,
		Err: errors.New(cut.Replace(err.Error())),
	}
}

// webhookHandler serves POST /api/v1/nango/webhooks: Nango-signed, no JWT.
// The signature is checked over the raw body bytes as Nango sent them.
func (a *API) webhookHandler() HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := ReadBody(r)
		if err != nil {
			return err
		}
		ev, err := a.events.Event(r.Context(), body, r.Header)
		if err != nil {
			return err
		}
		if err := a.svc.HandleEvent(r.Context(), ev); err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, map[string]bool{"received": true})
		return nil
	}
}

// query parses the raw query string, refusing a malformed one rather than
// reading part of it.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
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
