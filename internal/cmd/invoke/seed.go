package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/automators/connectors/internal/adapter/awskms"
	"github.com/automators/connectors/internal/adapter/awssecrets"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/wiring"
)

// defaultConnector is the connector of a seeded connection when the event
// names none (get and delete name only the connection's id): the sample
// events are Slack's.
const defaultConnector = "slack"

// apiKeyConnector and apiKeyField are those of a seeded API-key connection
// (the credentials event names only the connection's id): the sample API-key
// events are Stripe's.
const (
	apiKeyConnector = "stripe"
	apiKeyField     = "secret_key"
)

// Routes whose sample event needs more than its path's connection.
const (
	credentialsRoute = "PUT /api/v1/nango/connections/{connectionId}/credentials"
	// shareRoute is an admin's: its development token has the admin role
	// unless -roles says otherwise (adminOnly).
	shareRoute = "PATCH /api/v1/nango/connections/{connectionId}"
)

// adminOnly reports whether the event's route serves organization admins
// only, so that its development token needs the admin role.
func adminOnly(raw []byte) bool {
	var ev sampleEvent
	return json.Unmarshal(raw, &ev) == nil && ev.RouteKey == shareRoute
}

// sampleEvent is what seeding reads of an event: an API Gateway HTTP API
// request, or the executor's workflow-node input.
type sampleEvent struct {
	RouteKey        string            `json:"routeKey"`
	PathParameters  map[string]string `json:"pathParameters"`
	Query           map[string]string `json:"queryStringParameters"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`

	NodeType       string `json:"nodeType"`
	UserID         string `json:"userId"`
	OrganizationID string `json:"organizationId"`
	ConnectionID   string `json:"connectionId"`
}

// principalOf is the development token's principal: what HTTP events act as.
func principalOf(req request) connectors.Principal {
	return connectors.Principal{UserID: req.User, OrganizationID: req.Org, Roles: req.Roles}
}

// seed makes exist, in the backend, what the event names, and returns the
// event to invoke (the callback's, with a fresh state):
//   - a connection an HTTP event names (path connectionId, or the body's
//     connectionId for refresh) becomes the token principal's;
//   - a callback gets a fresh state from a real authorize and the connection
//     its connect session completes at the fake Nango;
//   - a workflow node gets a connection of its connector for its user and
//     organization (its provider's API is a local fake, see providers.go);
//   - new credentials for an API-key connection get one, made by the
//     service's Create for the token's principal, whose id replaces the
//     event's (an API-key connection's id is derived from its key).
//
// Everything goes through the production code: the connection service
// (wired by internal/wiring from the function's own environment, on the
// same moto table, secret and fake Nango) authorizes, and its callback
// writes the record and its owner item with the DynamoDB store. Nothing
// re-implements the state format or the record's layout.
//
// Left as they are: the webhook (Nango's own message; it answers 200
// whether or not the connection is known), list, authorize and the sweep,
// which name nothing that must exist.
func seed(ctx context.Context, b *backend, p connectors.Principal, raw []byte) ([]byte, error) {
	var ev sampleEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return raw, nil // not an object: nothing named; the function will say
	}
	s := &seeder{b: b}
	switch {
	case strings.HasPrefix(ev.NodeType, "integration."):
		return raw, s.workflowNode(ctx, ev)
	case ev.RouteKey == "" || strings.HasSuffix(ev.RouteKey, "/webhooks"):
		return raw, nil
	case strings.HasSuffix(ev.RouteKey, "/callback") && ev.Query["state"] != "":
		return s.callback(ctx, p, ev, raw)
	case ev.RouteKey == credentialsRoute:
		return s.apiKeyConnection(ctx, p, raw)
	}
	id, err := namedConnection(ev)
	if err != nil || id == "" {
		return raw, err
	}
	connector := ev.PathParameters["provider"]
	if connector == "" {
		connector = defaultConnector
	}
	return raw, s.connection(ctx, p, connector, id)
}

// namedConnection is the connection id an HTTP event names: its path's, or
// its JSON body's connectionId.
func namedConnection(ev sampleEvent) (string, error) {
	if id := ev.PathParameters["connectionId"]; id != "" {
		return id, nil
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return "", fmt.Errorf("event body: %w", err)
		}
	}
	var in struct {
		ConnectionID string `json:"connectionId"`
	}
	if len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &in) != nil {
		return "", nil
	}
	return in.ConnectionID, nil
}

// seeder wires the connection service once, on first use.
type seeder struct {
	b   *backend
	app *wiring.App
}

func (s *seeder) service(ctx context.Context) (*wiring.App, error) {
	if s.app != nil {
		return s.app, nil
	}
	app, err := wiring.New(ctx, "invoke-seed", wiring.Options{
		// The seeder makes API-key connections with keys it makes up:
		// its test call accepts them without asking the provider (the
		// seeding is not what is invoked, and no provider is reachable
		// offline). The function keeps its own wiring.
		APIKeyVerifier: acceptKey,
		Getenv:         s.b.getenv,
		// The function logs its own view of the same configuration; a
		// seeding failure comes back as an error with its context.
		LogOutput: io.Discard,
		Store:     dynamostore.New(s.b.ddb, tableName, seal.DeriveKey([]byte(s.b.sec.StateSigningKey), "cursor")),
		Secrets:   awssecrets.New(s.b.sm, s.b.secretARN),
		// The SDK's own configuration would look for KMS in AWS: the
		// seeder wraps data keys with moto's key, as the function does.
		KeyWrapper: awskms.New(s.b.kms, s.b.kmsKeyID),
	})
	if err != nil {
		return nil, fmt.Errorf("wire the connection service: %w", err)
	}
	s.app = app
	return app, nil
}

// authorize runs the real authorize for p and connector, which must route
// to Nango (the fake is the only offline provider of connections here).
func (s *seeder) authorize(ctx context.Context, p connectors.Principal, connector string) (*wiring.App, *connect.Authorization, error) {
	app, err := s.service(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, err := app.Connections.Authorize(ctx, p, connect.AuthorizeParams{Connector: connector})
	if err != nil {
		return nil, nil, fmt.Errorf("authorize %s for %s/%s: %w", connector, p.OrganizationID, p.UserID, err)
	}
	if a.Route.Target != connectors.ProviderNango {
		return nil, nil, fmt.Errorf("%s routes to %s, not Nango: make invoke seeds only Nango connections", connector, a.Route.Target)
	}
	return app, a, nil
}

// connection makes connection id of connector exist for p: at the fake
// Nango, tagged with p (as a connect session tags it), and in the table,
// through authorize and the callback, as a user's browser would.
func (s *seeder) connection(ctx context.Context, p connectors.Principal, connector, id string) error {
	app, a, err := s.authorize(ctx, p, connector)
	if err != nil {
		return err
	}
	m, _ := app.Registry.Lookup(connector) // authorize found it
	tags := map[string]string{nango.TagUser: p.UserID, nango.TagOrg: p.OrganizationID}
	if err := s.b.nango.AddConnection(m.ProviderConfigKey, id, tags); err != nil {
		return err
	}
	if _, err := app.Connections.Callback(ctx, &p, connect.CallbackParams{Connector: connector, State: a.State, ConnectionID: id}); err != nil {
		return fmt.Errorf("store connection %s: %w", id, err)
	}
	fmt.Fprintf(s.b.log, "invoke: seeded %s connection %s for %s/%s (fake Nango and table)\n", connector, id, p.OrganizationID, p.UserID)
	return nil
}

// callback replaces the event's state, which no key of this run signed and
// whose time has passed, with a fresh one from a real authorize, and its
// connection_id with the connection that authorize's connect session
// completes at the fake Nango, as the user's visit to the connect URL would.
func (s *seeder) callback(ctx context.Context, p connectors.Principal, ev sampleEvent, raw []byte) ([]byte, error) {
	connector := ev.PathParameters["provider"]
	_, a, err := s.authorize(ctx, p, connector)
	if err != nil {
		return nil, err
	}
	id, err := s.b.nango.CompleteSession(a.ConnectSessionToken)
	if err != nil {
		return nil, fmt.Errorf("complete the connect session: %w", err)
	}
	out, err := withQuery(raw, map[string]string{"state": a.State, "connection_id": id})
	if err != nil {
		return nil, err
	}
	// The state is a single-use credential: named, never printed.
	fmt.Fprintf(s.b.log, "invoke: seeded a fresh state for %s/%s and completed its connect session (connection %s); the event's state and connection_id are replaced\n",
		p.OrganizationID, p.UserID, id)
	return out, nil
}

// workflowNode makes the node's connection exist for its user and
// organization: the one it names, or one of its connector (the executor
// then picks the user's active one).
func (s *seeder) workflowNode(ctx context.Context, ev sampleEvent) error {
	parts := strings.Split(ev.NodeType, ".")
	if len(parts) != 3 {
		return nil // the executor answers InvalidInput, as it should
	}
	connector := parts[1]
	if !s.b.providers.Has(connector) {
		return fmt.Errorf("no local fake of %s's API (there is one for %s): the executor would call the real API",
			connector, strings.Join(s.b.providers.Names(), ", "))
	}
	id := ev.ConnectionID
	if id == "" {
		id = uuid.NewString() // Nango's ids are UUIDs
	}
	p := connectors.Principal{UserID: ev.UserID, OrganizationID: ev.OrganizationID}
	return s.connection(ctx, p, connector, id)
}

// acceptKey is the seeder's API-key test call: every key passes.
func acceptKey(context.Context, registry.Manifest, connectors.Credentials) error { return nil }

// apiKeyConnection makes an API-key connection for p through the service's
// Create, and returns the event with its id in place of the event's.
func (s *seeder) apiKeyConnection(ctx context.Context, p connectors.Principal, raw []byte) ([]byte, error) {
	app, err := s.service(ctx)
	if err != nil {
		return nil, err
	}
	key := "sk_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	c, err := app.Connections.Create(ctx, p, connect.CreateParams{Connector: apiKeyConnector, Credentials: map[string]string{apiKeyField: key}, Label: "make invoke"})
	if err != nil {
		return nil, fmt.Errorf("create an API-key connection for %s/%s: %w", p.OrganizationID, p.UserID, err)
	}
	out, err := withConnectionID(raw, c.ID)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.b.log, "invoke: seeded %s API-key connection %s for %s/%s (table); the event's connectionId is replaced\n",
		apiKeyConnector, c.ID, p.OrganizationID, p.UserID)
	return out, nil
}

// withConnectionID puts id in place of the connection id of an API Gateway
// event's path: pathParameters, rawPath and requestContext.http.path.
func withConnectionID(raw []byte, id string) ([]byte, error) {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // timeEpoch stays as written
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	params, _ := ev["pathParameters"].(map[string]any)
	old, _ := params["connectionId"].(string)
	if old == "" {
		return nil, fmt.Errorf("event: no connectionId path parameter")
	}
	params["connectionId"] = id
	swap := func(path any) any {
		p, ok := path.(string)
		if !ok {
			return path
		}
		return strings.Replace(p, "/connections/"+url.PathEscape(old), "/connections/"+url.PathEscape(id), 1)
	}
	ev["rawPath"] = swap(ev["rawPath"])
	if rc, ok := ev["requestContext"].(map[string]any); ok {
		if h, ok := rc["http"].(map[string]any); ok {
			h["path"] = swap(h["path"])
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return out.Bytes(), nil
}

// withQuery sets query parameters of an API Gateway event, in both
// queryStringParameters and rawQueryString, keeping the others.
func withQuery(raw []byte, set map[string]string) ([]byte, error) {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // timeEpoch stays as written
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	q := url.Values{}
	if params, ok := ev["queryStringParameters"].(map[string]any); ok {
		for k, v := range params {
			if s, ok := v.(string); ok {
				q.Set(k, s)
			}
		}
	}
	for k, v := range set {
		q.Set(k, v)
	}
	params := map[string]any{}
	for k := range q {
		params[k] = q.Get(k)
	}
	ev["queryStringParameters"] = params
	ev["rawQueryString"] = q.Encode()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // the query's & stays readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return out.Bytes(), nil
}
