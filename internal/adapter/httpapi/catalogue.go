package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// CatalogueCacheControl is the catalogue's Cache-Control. The answer is
// the caller's (their connections' status), so private: no shared cache
// may keep it. no-cache, not a max-age: the status changes the moment the
// user connects in another tab or finishes a callback, and a fresh answer
// is cheap to confirm: the client revalidates with If-None-Match and a 304
// saves the body (the schemas, most of it).
const CatalogueCacheControl = "private, no-cache"

// ConnectorJSON is one connector of the catalogue as the caller sees it.
type ConnectorJSON struct {
	ID          string          `json:"id"`
	DisplayName string          `json:"displayName"`
	Category    string          `json:"category"`
	AuthType    string          `json:"authType"`
	AuthModes   []registry.Mode `json:"authModes"`
	Scopes      []string        `json:"scopes"`
	Routing     RoutingJSON     `json:"routing"`
	Connection  StatusJSON      `json:"connection"`
	Actions     []ActionJSON    `json:"actions"`
}

// RoutingJSON is where a new connection of the connector would go in the
// caller's organization. Step, name and target are null, and error says
// why, when no step can serve it; the trace is there either way.
type RoutingJSON struct {
	Step   *int                     `json:"step"`
	Name   *string                  `json:"name"`
	Target *connectors.AuthProvider `json:"target"`
	Trace  []router.TraceEntry      `json:"trace"`
	Error  *RoutingError            `json:"error"`
}

// RoutingError is why a connector cannot be routed (its error code and
// caller-safe message).
type RoutingError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StatusJSON is the caller's connection status for a connector.
type StatusJSON struct {
	// Status is the default connection's status, or "not_connected".
	Status connectors.Status `json:"status"`
	// DefaultConnectionID is the connection a node runs with when it names
	// none, the one missingScopes are computed against.
	DefaultConnectionID *string             `json:"defaultConnectionId"`
	Connections         []ConnectionSummary `json:"connections"`
}

// ConnectionSummary is one connection of a connector's status.
type ConnectionSummary struct {
	ID           string            `json:"id"`
	Status       connectors.Status `json:"status"`
	AuthProvider string            `json:"authProvider"`
	Shared       bool              `json:"shared"`
	ReadOnly     bool              `json:"readOnly"`
}

// ActionJSON is one action. The list route leaves the schemas out.
type ActionJSON struct {
	Name          string          `json:"name"`
	Write         bool            `json:"write"`
	Operation     string          `json:"operation"`
	Scopes        []string        `json:"scopes"`
	MissingScopes []string        `json:"missingScopes"`
	InputSchema   json.RawMessage `json:"inputSchema,omitempty"`
	OutputSchema  json.RawMessage `json:"outputSchema,omitempty"`
}

// ConnectorToJSON converts a catalogue entry for p, with the actions'
// schemas when schemas is set.
func ConnectorToJSON(v *connect.ConnectorView, p connectors.Principal, schemas bool) ConnectorJSON {
	m := v.Manifest
	out := ConnectorJSON{
		ID: m.ID, DisplayName: m.DisplayName, Category: m.Category, AuthType: string(m.AuthType),
		AuthModes: nonNil(m.Modes()), Scopes: nonNil(m.Scopes),
		Routing:    RoutingJSON{Trace: nonNil(v.Route.Trace)},
		Connection: StatusJSON{Status: v.Status, Connections: make([]ConnectionSummary, 0, len(v.Connections))},
		Actions:    make([]ActionJSON, 0, len(v.Actions)),
	}
	if v.RouteErr != nil {
		out.Routing.Error = &RoutingError{Code: connectors.ErrorCode(v.RouteErr), Message: connectors.ErrorMessage(v.RouteErr)}
	} else {
		d := v.Route
		out.Routing.Step, out.Routing.Name, out.Routing.Target = &d.Step, &d.Name, &d.Target
	}
	if v.Default != nil {
		out.Connection.DefaultConnectionID = &v.Default.ID
	}
	for _, c := range v.Connections {
		out.Connection.Connections = append(out.Connection.Connections, ConnectionSummary{
			ID: c.ID, Status: c.Status, AuthProvider: string(c.AuthProvider), Shared: c.Shared, ReadOnly: !c.OwnedBy(p),
		})
	}
	for _, a := range v.Actions {
		j := ActionJSON{Name: a.Name, Write: a.Write, Operation: a.Operation, Scopes: nonNil(a.Scopes), MissingScopes: nonNil(a.MissingScopes)}
		if schemas {
			j.InputSchema, j.OutputSchema = a.InputSchema, a.OutputSchema
		}
		out.Actions = append(out.Actions, j)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// listConnectorsHandler serves GET /api/v1/nango/connectors: every
// connector, its actions without their schemas.
func (a *API) listConnectorsHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		if _, err := query(r); err != nil {
			return err
		}
		views, err := a.svc.Connectors(r.Context(), p)
		if err != nil {
			return err
		}
		out := struct {
			Connectors []ConnectorJSON `json:"connectors"`
		}{make([]ConnectorJSON, 0, len(views))}
		for _, v := range views {
			out.Connectors = append(out.Connectors, ConnectorToJSON(v, p, false))
		}
		return writeCached(w, r, p, out)
	})
}

// getConnectorHandler serves GET /api/v1/nango/connectors/{connector}:
// one connector, its actions with their JSON Schemas.
func (a *API) getConnectorHandler() HandlerFunc {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p connectors.Principal) error {
		v, err := a.svc.Connector(r.Context(), p, r.PathValue("connector"))
		if err != nil {
			return err
		}
		out := struct {
			Connector ConnectorJSON `json:"connector"`
		}{ConnectorToJSON(v, p, true)}
		return writeCached(w, r, p, out)
	})
}

// writeCached answers v with a strong ETag and CatalogueCacheControl, or
// 304 without a body when the request's If-None-Match already holds that
// tag. The tag hashes the caller (organization and user) with the body:
// equal tags mean the same caller and the same bytes.
func writeCached(w http.ResponseWriter, r *http.Request, p connectors.Principal, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	tag := ETag(p, body)
	h := w.Header()
	// Set as RFC 9110 spells it; Header.Set would write "Etag", and the
	// response event keeps names as set.
	h["ETag"] = []string{tag}
	h.Set("Cache-Control", CatalogueCacheControl)
	// A browser shared by two users keeps one answer per token.
	h.Add("Vary", "Authorization")
	if ifNoneMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body) // an error here is a client gone away: nothing to tell it
	return nil
}

// ETag is the strong entity tag of a catalogue answer body for p.
func ETag(p connectors.Principal, body []byte) string {
	sum := sha256.New()
	fmt.Fprintf(sum, "%d:%s\x00%d:%s\x00", len(p.OrganizationID), p.OrganizationID, len(p.UserID), p.UserID)
	sum.Write(body)
	return `"` + hex.EncodeToString(sum.Sum(nil)[:16]) + `"`
}

// ifNoneMatch reports whether an If-None-Match header matches tag: "*",
// or one of its listed tags by the weak comparison RFC 9110 13.1.2 gives
// this header (a W/ prefix is ignored).
func ifNoneMatch(header, tag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}
