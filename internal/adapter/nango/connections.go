package nango

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// EndUser is the deprecated end_user of a connect session; tags replace it.
type EndUser struct {
	ID          string            `json:"id"`
	Email       string            `json:"email,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ConnectSessionRequest asks for a connect session.
type ConnectSessionRequest struct {
	// Tags are copied to the connection the session creates, e.g.
	// end_user_id and organization_id. Nango lower-cases their keys.
	Tags map[string]string
	// AllowedIntegrations limits the integrations (providerConfigKeys) the
	// end user may connect.
	AllowedIntegrations []string
	// EndUser is deprecated upstream; prefer Tags.
	EndUser *EndUser
}

// ConnectSession is a short-lived token with which the end user connects.
type ConnectSession struct {
	Token       string
	ConnectLink string // a link that opens the connect flow; may be empty
	ExpiresAt   time.Time
}

type connectSessionWire struct {
	Data struct {
		Token       string `json:"token"`
		ConnectLink string `json:"connect_link"`
		ExpiresAt   string `json:"expires_at"`
	} `json:"data"`
}

func (w *connectSessionWire) session() *ConnectSession {
	return &ConnectSession{Token: w.Data.Token, ConnectLink: w.Data.ConnectLink, ExpiresAt: parseTime(w.Data.ExpiresAt)}
}

// CreateConnectSession creates a connect session (POST /connect/sessions).
// It is not retried: each attempt would create another session.
func (c *Client) CreateConnectSession(ctx context.Context, in ConnectSessionRequest) (*ConnectSession, error) {
	body := struct {
		Tags                map[string]string `json:"tags,omitempty"`
		AllowedIntegrations []string          `json:"allowed_integrations,omitempty"`
		EndUser             *EndUser          `json:"end_user,omitempty"`
	}{in.Tags, in.AllowedIntegrations, in.EndUser}
	var out connectSessionWire
	r := &request{method: http.MethodPost, path: "/connect/sessions", op: "POST /connect/sessions"}
	if err := c.doJSON(ctx, r, body, &out); err != nil {
		return nil, err
	}
	return out.session(), nil
}

// ReconnectSessionRequest asks for a session that re-authorizes an existing
// connection.
type ReconnectSessionRequest struct {
	ConnectionID  string
	IntegrationID string // the connection's providerConfigKey
	Tags          map[string]string
}

// CreateReconnectSession creates a reconnect session
// (POST /connect/sessions/reconnect). It is not retried.
func (c *Client) CreateReconnectSession(ctx context.Context, in ReconnectSessionRequest) (*ConnectSession, error) {
	body := struct {
		ConnectionID  string            `json:"connection_id"`
		IntegrationID string            `json:"integration_id"`
		Tags          map[string]string `json:"tags,omitempty"`
	}{in.ConnectionID, in.IntegrationID, in.Tags}
	var out connectSessionWire
	r := &request{method: http.MethodPost, path: "/connect/sessions/reconnect", op: "POST /connect/sessions/reconnect"}
	if err := c.doJSON(ctx, r, body, &out); err != nil {
		return nil, err
	}
	return out.session(), nil
}

// ConnectionError is an error Nango records on a connection.
type ConnectionError struct {
	Type  string `json:"type"` // "auth" or "sync"
	LogID string `json:"log_id"`
}

// ConnectionSummary is a connection as listed, without credentials.
type ConnectionSummary struct {
	ID                int64
	ConnectionID      string
	Provider          string
	ProviderConfigKey string
	Created           time.Time
	Tags              map[string]string
	Metadata          map[string]any
	Errors            []ConnectionError
}

// ListConnectionsParams filters ListConnections. Zero values do not filter.
type ListConnectionsParams struct {
	// Tags must all match (sent as tags[key]=value). Keys are sent lower
	// case: Nango stores tag keys lower-cased, so a mixed-case filter key
	// would match nothing.
	Tags map[string]string
	// EndUserID filters on the deprecated end user; prefer Tags.
	EndUserID string
	// EndUserOrganizationID filters on the deprecated end user's
	// organization; prefer Tags.
	EndUserOrganizationID string
	// Integration keeps the connections of one providerConfigKey (sent as
	// integrationId, as Nango's Node SDK does), so Limit and Page count
	// only those.
	Integration string
	// Search partially matches connection ids and end user profiles.
	Search string
	Limit  int
	Page   int
}

// ListConnections lists connections without credentials (GET /connections).
func (c *Client) ListConnections(ctx context.Context, p ListConnectionsParams) ([]ConnectionSummary, error) {
	q := url.Values{}
	for k, v := range p.Tags {
		q.Set("tags["+strings.ToLower(k)+"]", v)
	}
	for k, v := range map[string]string{
		"endUserId": p.EndUserID, "endUserOrganizationId": p.EndUserOrganizationID,
		"integrationId": p.Integration, "search": p.Search,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	var out struct {
		Connections []struct {
			ID                int64             `json:"id"`
			ConnectionID      string            `json:"connection_id"`
			Provider          string            `json:"provider"`
			ProviderConfigKey string            `json:"provider_config_key"`
			Created           string            `json:"created"`
			Tags              map[string]string `json:"tags"`
			Metadata          map[string]any    `json:"metadata"`
			Errors            []ConnectionError `json:"errors"`
		} `json:"connections"`
	}
	r := &request{method: http.MethodGet, path: "/connections", op: "GET /connections", query: q, retry: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	list := make([]ConnectionSummary, 0, len(out.Connections))
	for _, w := range out.Connections {
		// Nango filters by integrationId; this keeps a Nango that would not
		// from handing back another integration's connections.
		if p.Integration != "" && w.ProviderConfigKey != p.Integration {
			continue
		}
		list = append(list, ConnectionSummary{
			ID: w.ID, ConnectionID: w.ConnectionID, Provider: w.Provider, ProviderConfigKey: w.ProviderConfigKey,
			Created: parseTime(w.Created), Tags: w.Tags, Metadata: w.Metadata, Errors: w.Errors,
		})
	}
	return list, nil
}

// Connection is a connection with its credentials.
type Connection struct {
	ID                int64
	ConnectionID      string
	ProviderConfigKey string
	Provider          string
	Tags              map[string]string
	Credentials       Credentials
	ConnectionConfig  map[string]any
	Metadata          map[string]any
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastFetchedAt     time.Time
	Errors            []ConnectionError
}

// UnmarshalJSON reads Nango's ConnectionFull object.
func (c *Connection) UnmarshalJSON(b []byte) error {
	var w struct {
		ID                int64             `json:"id"`
		ConnectionID      string            `json:"connection_id"`
		ProviderConfigKey string            `json:"provider_config_key"`
		Provider          string            `json:"provider"`
		Tags              map[string]string `json:"tags"`
		Credentials       Credentials       `json:"credentials"`
		ConnectionConfig  map[string]any    `json:"connection_config"`
		Metadata          map[string]any    `json:"metadata"`
		CreatedAt         string            `json:"created_at"`
		UpdatedAt         string            `json:"updated_at"`
		LastFetchedAt     string            `json:"last_fetched_at"`
		Errors            []ConnectionError `json:"errors"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Connection{
		ID: w.ID, ConnectionID: w.ConnectionID, ProviderConfigKey: w.ProviderConfigKey, Provider: w.Provider,
		Tags: w.Tags, Credentials: w.Credentials, ConnectionConfig: w.ConnectionConfig, Metadata: w.Metadata,
		CreatedAt: parseTime(w.CreatedAt), UpdatedAt: parseTime(w.UpdatedAt), LastFetchedAt: parseTime(w.LastFetchedAt),
		Errors: w.Errors,
	}
	return nil
}

// GetConnectionOptions tunes GetConnection.
type GetConnectionOptions struct {
	ForceRefresh bool // refresh the access token even if it has not expired
	RefreshToken bool // include the refresh token in the answer
}

// connectionPath is the escaped path of one connection.
func connectionPath(connectionID string) string {
	return "/connections/" + url.PathEscape(connectionID)
}

// GetConnection returns a connection with its credentials
// (GET /connections/{connectionId}). Nango refreshes an expired access token
// before answering; a failed refresh is an error that IsRefreshFailure matches.
func (c *Client) GetConnection(ctx context.Context, providerConfigKey, connectionID string, opt GetConnectionOptions) (*Connection, error) {
	q := url.Values{"provider_config_key": {providerConfigKey}}
	if opt.ForceRefresh {
		q.Set("force_refresh", "true")
	}
	if opt.RefreshToken {
		q.Set("refresh_token", "true")
	}
	var out Connection
	r := &request{method: http.MethodGet, path: connectionPath(connectionID), op: "GET /connections/{connectionId}", query: q, retry: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Token returns a connection's credentials, refreshed first when
// forceRefresh is set: the access token for OAuth2, token and secret for
// OAuth1, the key for API_KEY, username and password for BASIC.
func (c *Client) Token(ctx context.Context, providerConfigKey, connectionID string, forceRefresh bool) (*Credentials, error) {
	conn, err := c.GetConnection(ctx, providerConfigKey, connectionID, GetConnectionOptions{ForceRefresh: forceRefresh})
	if err != nil {
		return nil, err
	}
	return &conn.Credentials, nil
}

// PatchConnection replaces a connection's tags
// (PATCH /connections/{connectionId}).
func (c *Client) PatchConnection(ctx context.Context, providerConfigKey, connectionID string, tags map[string]string) error {
	if tags == nil {
		tags = map[string]string{}
	}
	body := struct {
		Tags map[string]string `json:"tags"`
	}{tags}
	r := &request{
		method: http.MethodPatch, path: connectionPath(connectionID), op: "PATCH /connections/{connectionId}",
		query: url.Values{"provider_config_key": {providerConfigKey}}, retry: true,
	}
	return c.doJSON(ctx, r, body, nil)
}

type metadataBody struct {
	ConnectionID      string         `json:"connection_id"`
	ProviderConfigKey string         `json:"provider_config_key"`
	Metadata          map[string]any `json:"metadata"`
}

// SetMetadata replaces a connection's metadata (POST /connections/metadata).
func (c *Client) SetMetadata(ctx context.Context, providerConfigKey, connectionID string, metadata map[string]any) error {
	if metadata == nil {
		metadata = map[string]any{}
	}
	r := &request{method: http.MethodPost, path: "/connections/metadata", op: "POST /connections/metadata", retry: true}
	return c.doJSON(ctx, r, metadataBody{connectionID, providerConfigKey, metadata}, nil)
}

// UpdateMetadata merges metadata into a connection's metadata: the given
// top-level keys are overwritten, the others kept
// (PATCH /connections/metadata).
func (c *Client) UpdateMetadata(ctx context.Context, providerConfigKey, connectionID string, metadata map[string]any) error {
	if metadata == nil {
		metadata = map[string]any{}
	}
	r := &request{method: http.MethodPatch, path: "/connections/metadata", op: "PATCH /connections/metadata", retry: true}
	return c.doJSON(ctx, r, metadataBody{connectionID, providerConfigKey, metadata}, nil)
}

// DeleteConnection deletes a connection (DELETE /connections/{connectionId}).
// Deleting an unknown connection is an error that IsNotFound matches (Nango
// answers 400 unknown_connection); callers that treat delete as idempotent
// ignore it.
func (c *Client) DeleteConnection(ctx context.Context, providerConfigKey, connectionID string) error {
	r := &request{
		method: http.MethodDelete, path: connectionPath(connectionID), op: "DELETE /connections/{connectionId}",
		query: url.Values{"provider_config_key": {providerConfigKey}}, retry: true,
	}
	return c.do(ctx, r, nil)
}

// Integration is an integration configured in Nango (a providerConfigKey).
type Integration struct {
	UniqueKey   string
	DisplayName string
	Provider    string
	Logo        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// ForwardWebhooks says whether Nango forwards the provider's webhooks
	// for this integration.
	ForwardWebhooks bool
}

// integrationWire is Nango's Integration object.
type integrationWire struct {
	UniqueKey       string `json:"unique_key"`
	DisplayName     string `json:"display_name"`
	Provider        string `json:"provider"`
	Logo            string `json:"logo"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
	ForwardWebhooks bool   `json:"forward_webhooks"`
}

func (w integrationWire) integration() Integration {
	return Integration{
		UniqueKey: w.UniqueKey, DisplayName: w.DisplayName, Provider: w.Provider, Logo: w.Logo,
		CreatedAt: parseTime(w.CreatedAt), UpdatedAt: parseTime(w.UpdatedAt), ForwardWebhooks: w.ForwardWebhooks,
	}
}

// GetIntegration returns one integration (GET /integrations/{uniqueKey}),
// cheaper than listing them all to check that one is configured. An
// unknown key is an error that IsNotFound matches.
func (c *Client) GetIntegration(ctx context.Context, uniqueKey string) (*Integration, error) {
	var out struct {
		Data integrationWire `json:"data"`
	}
	r := &request{method: http.MethodGet, path: "/integrations/" + url.PathEscape(uniqueKey), op: "GET /integrations/{uniqueKey}", retry: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	in := out.Data.integration()
	return &in, nil
}

// ListIntegrations lists the environment's integrations (GET /integrations).
func (c *Client) ListIntegrations(ctx context.Context) ([]Integration, error) {
	var out struct {
		Data []integrationWire `json:"data"`
	}
	r := &request{method: http.MethodGet, path: "/integrations", op: "GET /integrations", retry: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	list := make([]Integration, 0, len(out.Data))
	for _, w := range out.Data {
		list = append(list, w.integration())
	}
	return list, nil
}
