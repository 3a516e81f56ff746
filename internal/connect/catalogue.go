package connect

import (
	"cmp"
	"context"
	"slices"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// ActionDescriber describes a connector's actions: name, scopes, schemas
// (actions.Catalogue). A port, so that tests can give actions the
// built-in catalogue does not have.
type ActionDescriber interface {
	Describe(connector string) ([]actions.ActionInfo, error)
}

// NotConnected is ConnectorView.Status when the caller can use no
// connection of the connector.
const NotConnected connectors.Status = "not_connected"

// ConnectorView is one connector of the catalogue as one caller sees it:
// the manifest, where a new connection would be routed, the connections
// the caller's workflows may use, and its actions with the scopes that
// connection lacks.
type ConnectorView struct {
	Manifest registry.Manifest
	// Route is the router's decision for a new connection of the
	// connector in the caller's organization, as authorize makes it
	// (the organization's and deployment's overrides applied). When no
	// step can serve it, RouteErr says why and Route still holds the trace.
	Route    router.Decision
	RouteErr error
	// Connections are the caller's own connections of the connector, then
	// those shared with the organization by others, each group best first
	// (see Default).
	Connections []*connectors.Connection
	// Default is the connection a workflow node of the caller runs with
	// when it names none: their own, else a shared one, active before any
	// other status, newest first. nil when Connections is empty.
	Default *connectors.Connection
	// Status is Default's status, or NotConnected.
	Status  connectors.Status
	Actions []ActionView
}

// ActionView is one action with the scopes Default lacks.
type ActionView struct {
	actions.ActionInfo
	// MissingScopes are the entries of Scopes that Default was not
	// granted (actions.MissingScopes): empty when there is no Default (a
	// new connection requests the manifest's scopes, which cover every
	// action) or when it records no scopes (an API key).
	MissingScopes []string
}

// maxCatalogueConnections bounds the connections read for one catalogue
// answer; a caller above it gets an error rather than a status computed
// from part of their connections.
const maxCatalogueConnections = 2000

// Connector returns the catalogue entry of connector id for p, or an
// EUnknownConnector error.
func (s *Service) Connector(ctx context.Context, p connectors.Principal, id string) (*ConnectorView, error) {
	m, err := s.manifest(id)
	if err != nil {
		return nil, err
	}
	conns, err := s.usable(ctx, p, m.ID)
	if err != nil {
		return nil, err
	}
	return s.view(p, m, conns[m.ID])
}

// Connectors returns the catalogue entry of every connector for p, sorted
// by id, from one listing of p's connections.
func (s *Service) Connectors(ctx context.Context, p connectors.Principal) ([]*ConnectorView, error) {
	conns, err := s.usable(ctx, p, "")
	if err != nil {
		return nil, err
	}
	ms := s.registry.All()
	out := make([]*ConnectorView, 0, len(ms))
	for _, m := range ms {
		v, err := s.view(p, m, conns[m.ID])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// view builds one connector's entry from the connections p may use.
func (s *Service) view(p connectors.Principal, m registry.Manifest, conns []*connectors.Connection) (*ConnectorView, error) {
	v := &ConnectorView{Manifest: m, Status: NotConnected}
	v.Route, v.RouteErr = s.router.Route(router.Input{Manifest: m, OrganizationID: p.OrganizationID})
	slices.SortFunc(conns, func(a, b *connectors.Connection) int { return better(p, a, b) })
	v.Connections = conns
	if len(conns) > 0 {
		v.Default = conns[0]
		v.Status = v.Default.Status
	}
	var infos []actions.ActionInfo
	if s.actions != nil {
		var err error
		if infos, err = s.actions.Describe(m.ID); err != nil {
			return nil, err
		}
	}
	v.Actions = make([]ActionView, 0, len(infos))
	for _, a := range infos {
		av := ActionView{ActionInfo: a}
		if v.Default != nil {
			av.MissingScopes = actions.MissingScopes(a.Scopes, v.Default.Scopes)
		}
		v.Actions = append(v.Actions, av)
	}
	return v, nil
}

// better orders connections best first for p: their own before shared
// ones (the executor runs with an own connection whenever there is one),
// active before any other status, newest first, then by id so that the
// order, and so the answer's ETag, is stable.
func better(p connectors.Principal, a, b *connectors.Connection) int {
	rank := func(c *connectors.Connection) int {
		r := 0
		if c.UserID != p.UserID {
			r += 2
		}
		if c.Status != connectors.StatusActive {
			r++
		}
		return r
	}
	return cmp.Or(
		cmp.Compare(rank(a), rank(b)),
		b.CreatedAt.Compare(a.CreatedAt),
		cmp.Compare(a.ID, b.ID),
	)
}

// usable returns, by connector, the connections p's workflows may use
// (their own and those shared with the organization), through the
// listing's own rules (List); connector "" reads every connector's.
func (s *Service) usable(ctx context.Context, p connectors.Principal, connector string) (map[string][]*connectors.Connection, error) {
	out := map[string][]*connectors.Connection{}
	n := 0
	in := ListParams{Connector: connector, Limit: 100}
	for {
		page, err := s.List(ctx, p, in)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Connections {
			// Never trust a listing with another user's unshared record or
			// another organization's: a store bug must not show one.
			if !c.UsableBy(p) || (connector != "" && c.Connector != connector) {
				continue
			}
			out[c.Connector] = append(out[c.Connector], c)
		}
		n += len(page.Connections)
		if n > maxCatalogueConnections {
			return nil, connectors.Errorf(connectors.EInternal, "the caller has more than %d connections: too many for the catalogue", maxCatalogueConnections)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		in.Cursor = page.NextCursor
	}
}
