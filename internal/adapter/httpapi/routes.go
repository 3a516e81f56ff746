package httpapi

import "net/http"

// BasePath is the prefix of every route.
const BasePath = "/api/v1/nango"

// Route is one route of the API and the Lambda function serving it.
type Route struct {
	Method string // upper case
	// Path is the path with its {parameters}, in the syntax that both
	// API Gateway routes and net/http patterns read.
	Path      string
	Function  string // folder under functions/, e.g. "nango-authorize"
	LogicalID string // the function's resource in template.yaml
	// Signed is set on a route the provider signs instead of a user's bearer
	// token (Nango's webhooks): its function needs no JWT verifier.
	Signed bool

	handler func(*API) HandlerFunc
}

// Pattern returns the route as a net/http pattern, which is also its API
// Gateway route key, e.g. "GET /api/v1/nango/connections".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// routes is the one list of the API's routes; the template's HttpApi events
// are held to it by a test.
var routes = []Route{
	{http.MethodGet, BasePath + "/oauth/{provider}/authorize", "nango-authorize", "NangoAuthorizeFunction", false, (*API).authorizeHandler},
	{http.MethodGet, BasePath + "/oauth/{provider}/callback", "nango-callback", "NangoCallbackFunction", false, (*API).callbackHandler},
	{http.MethodPost, BasePath + "/oauth/{provider}/refresh", "nango-refresh", "NangoRefreshFunction", false, (*API).refreshHandler},
	{http.MethodGet, BasePath + "/connections", "nango-list-connections", "NangoListConnectionsFunction", false, (*API).listHandler},
	{http.MethodGet, BasePath + "/connections/{connectionId}", "nango-get-connection", "NangoGetConnectionFunction", false, (*API).getHandler},
	{http.MethodDelete, BasePath + "/connections/{connectionId}", "nango-delete-connection", "NangoDeleteConnectionFunction", false, (*API).deleteHandler},
	{http.MethodPost, BasePath + "/connections", "nango-create-connection", "NangoCreateConnectionFunction", false, (*API).createHandler},
	{http.MethodPut, BasePath + "/connections/{connectionId}/credentials", "nango-rotate-credentials", "NangoRotateCredentialsFunction", false, (*API).rotateHandler},
	{http.MethodPatch, BasePath + "/connections/{connectionId}", "nango-update-connection", "NangoUpdateConnectionFunction", false, (*API).updateHandler},
	{http.MethodGet, BasePath + "/connectors", "nango-list-connectors", "NangoListConnectorsFunction", false, (*API).listConnectorsHandler},
	{http.MethodGet, BasePath + "/connectors/{connector}", "nango-get-connector", "NangoGetConnectorFunction", false, (*API).getConnectorHandler},
	{http.MethodGet, BasePath + "/connections/{connectionId}/executions", "nango-list-executions", "NangoListExecutionsFunction", false, (*API).executionsHandler},
	{http.MethodPost, BasePath + "/webhooks", "nango-webhook", "NangoWebhookFunction", true, (*API).webhookHandler},
}

// Routes returns every route, in a new slice the caller may change.
func Routes() []Route {
	out := make([]Route, len(routes))
	copy(out, routes)
	return out
}

// RouteOf returns the route served by function (its folder name).
func RouteOf(function string) (Route, bool) {
	for _, r := range routes {
		if r.Function == function {
			return r, true
		}
	}
	return Route{}, false
}
