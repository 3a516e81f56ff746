package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuthProvider names who holds a connection's credentials: the target of a
// routing step, the provider a connection and an OAuth state record, and a
// manifest's default OAuth provider.
type AuthProvider string

// Auth providers, one per step of the routing waterfall. Nango and the
// built-in OAuth hold OAuth connections; api_key, org_shared and none are
// served by this service itself; the others are slots for providers this
// build has no client for.
const (
	ProviderNango     AuthProvider = "nango"      // step 1: Nango's managed OAuth
	ProviderAPIKey    AuthProvider = "api_key"    // step 2: an API key the organization stored
	ProviderOrgShared AuthProvider = "org_shared" // step 3: a connection the organization shares
	ProviderNone      AuthProvider = "none"       // step 4: the connector needs no credentials
	ProviderPanora    AuthProvider = "panora"
	ProviderComposio  AuthProvider = "composio"
	ProviderMerge     AuthProvider = "merge"
	ProviderParagon   AuthProvider = "paragon"
	ProviderPipedream AuthProvider = "pipedream"
	ProviderUnified   AuthProvider = "unified"
	ProviderApideck   AuthProvider = "apideck"
	ProviderLegacy    AuthProvider = "legacy" // step 12: the built-in OAuth kept for Gmail and Outlook
)

// Provider is what the target of a routing step does for a connection: it
// starts and completes connect flows, reads a connection's grant back
// (refreshing its token on demand), revokes it, and says how the
// connection's provider requests are sent. Adapters implement it (Nango,
// the built-in OAuth); the router's decision selects one, so nothing else
// branches on a provider's name.
//
// Errors are *Error values: ENotFound when the provider has no such
// connection, EReauthRequired when it refused the grant (only the user
// reconnecting helps), ERateLimited, EUnavailable and EUpstream for its
// failures, ENotConfigured when this deployment cannot use it.
type Provider interface {
	// Name is the provider's name, as connections record it.
	Name() AuthProvider
	// Connect starts a connect flow: where to send the user.
	Connect(ctx context.Context, r ConnectRequest) (*ConnectFlow, error)
	// Complete finishes a connect flow from its callback and returns the
	// connection's grant.
	Complete(ctx context.Context, r CompleteRequest) (*Grant, error)
	// Grant reads c's grant back: its credentials, expiry and, where the
	// provider records them, its owner. held is the token this service
	// keeps for c (nil when the provider keeps it); refresh asks for a
	// fresh token first.
	Grant(ctx context.Context, c *Connection, held *Token, refresh bool) (*Grant, error)
	// Revoke ends c at the provider before its record is deleted. detail
	// says, for the audit, what a best-effort revocation did; an error
	// stops the delete.
	Revoke(ctx context.Context, c *Connection, held *Token) (detail string, err error)
	// Proxy is how c's provider requests are sent when the provider signs
	// them itself (Nango's proxy for OAuth 1.0a connectors, Composio's and
	// Panora's for every request); nil when they are sent directly. creds
	// are the grant's, for a proxy that needs what this service keeps
	// (Panora's connection token).
	Proxy(c *Connection, creds Credentials) Proxy
}

// ConnectRequest is what a provider needs to start a connect flow.
type ConnectRequest struct {
	Connector         string // registry id
	ProviderConfigKey string // the integration to connect (routing's choice)
	Scopes            []string
	OrganizationID    string
	UserID            string
	// State is the signed state the callback returns; Nonce names the
	// stored half, so that a provider recording it (Nango's tags) lets a
	// webhook find the flow.
	State string
	Nonce string
	// Reconnect is the connection being connected again, if any.
	Reconnect *Connection
}

// ConnectFlow is where to send the user to connect.
type ConnectFlow struct {
	AuthorizationURL string
	SessionToken     string // a connect session for the provider's frontend SDK, if any
	// Verifier is a secret the provider needs back at Complete (a PKCE
	// verifier); the service keeps it sealed in the state.
	Verifier string
}

// CompleteRequest is a callback, as the provider's flow sends it back.
type CompleteRequest struct {
	Connector         string
	ProviderConfigKey string
	// OrganizationID and UserID are whom the flow is for (its state's), so
	// that a provider that files connections under its own user (Panora's
	// linked users) can find this one.
	OrganizationID string
	UserID         string
	ConnectionID   string // the provider's connection id, when the provider made the connection
	Code           string // an authorization code to exchange, when the service does
	Verifier       string // what ConnectFlow.Verifier said
	// Fields are credentials a user submitted (an API key and what goes
	// with it), by the registry's field names, when the provider tests
	// them instead of running a flow.
	Fields map[string]string
}

// GoString never shows the submitted fields' values.
func (r CompleteRequest) GoString() string {
	return fmt.Sprintf("connectors.CompleteRequest{Connector:%q ConnectionID:%q Code:%s Fields:%v}", r.Connector, r.ConnectionID, mark(r.Code), sortedKeys(r.Fields))
}

// String is GoString.
func (r CompleteRequest) String() string { return r.GoString() }

// Grant is what a provider says about a connection.
type Grant struct {
	ProviderConfigKey string
	// ConnectionID is the provider's id of the connection; "" when the
	// service names the connection itself.
	ConnectionID string
	// Owner is whom the provider recorded the connection for (Nango's
	// tags); nil when the provider records nobody. State is the nonce of
	// the connect flow it recorded, if any.
	Owner *Owner
	State string
	// ExpiresAt is the access token's expiry; zero when unknown.
	ExpiresAt time.Time
	// CheckAt is when the credentials should next be tested at the
	// provider (API keys, which do not expire); zero for none.
	CheckAt time.Time
	// Token is set when this service keeps the token (sealed in the
	// connection's record) rather than the provider.
	Token *Token
	// Credentials are what an action sends; zero when the grant was read
	// for something else.
	Credentials Credentials
}

// Token is what this service keeps for a connection, sealed in its record:
// an OAuth token, or the credentials a user submitted (Fields). It never
// prints.
type Token struct {
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Fields are an API-key connection's credentials, by the registry's
	// field names (a Trello API key and token; a Shopify shop and token).
	Fields map[string]string `json:"fields,omitempty"`
}

// String never shows the tokens.
func (Token) String() string { return "connectors.Token{REDACTED}" }

// GoString never shows the tokens.
func (t Token) GoString() string { return t.String() }

// Marshal encodes the token for sealing.
func (t Token) Marshal() ([]byte, error) { return json.Marshal(t) }

// Fresh reports whether t is good for at least another minute at now.
func (t Token) Fresh(now time.Time) bool {
	return (t.AccessToken != "" || len(t.Fields) > 0) && (t.Expiry.IsZero() || t.Expiry.After(now.Add(time.Minute)))
}

// UnmarshalToken decodes an opened token.
func UnmarshalToken(b []byte) (Token, error) {
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return Token{}, fmt.Errorf("decode token cache: %w", err)
	}
	return t, nil
}

// Providers is the set of auth providers a deployment serves, by name.
type Providers map[AuthProvider]Provider

// NewProviders returns the set of ps.
func NewProviders(ps ...Provider) Providers {
	set := make(Providers, len(ps))
	for _, p := range ps {
		set[p.Name()] = p
	}
	return set
}

// Get returns the provider named name, or an ENotConfigured error.
func (ps Providers) Get(name AuthProvider) (Provider, error) {
	if p, ok := ps[name]; ok {
		return p, nil
	}
	return nil, Errorf(ENotConfigured, "auth provider %q is not available in this deployment", name)
}

// Unconfigured is a provider this deployment names but cannot use (a
// missing secret): every call answers ENotConfigured with Reason, so that
// the rest of the service still serves.
type Unconfigured struct {
	Provider AuthProvider
	Reason   string
}

// Name implements Provider.
func (u Unconfigured) Name() AuthProvider { return u.Provider }

func (u Unconfigured) err() error { return Errorf(ENotConfigured, "%s", u.Reason) }

// Connect implements Provider.
func (u Unconfigured) Connect(context.Context, ConnectRequest) (*ConnectFlow, error) {
	return nil, u.err()
}

// Complete implements Provider.
func (u Unconfigured) Complete(context.Context, CompleteRequest) (*Grant, error) {
	return nil, u.err()
}

// Grant implements Provider.
func (u Unconfigured) Grant(context.Context, *Connection, *Token, bool) (*Grant, error) {
	return nil, u.err()
}

// Revoke implements Provider.
func (u Unconfigured) Revoke(context.Context, *Connection, *Token) (string, error) {
	return "", u.err()
}

// Proxy implements Provider.
func (u Unconfigured) Proxy(*Connection, Credentials) Proxy { return nil }

// ConnectionEvent is what a provider's webhook says happened to one of its
// connections, verified and parsed by the provider's adapter.
type ConnectionEvent struct {
	Provider          AuthProvider
	Kind              EventKind
	Operation         string // the provider's name for it, for the audit
	ProviderConfigKey string
	ConnectionID      string
	// Claimed is whom the payload says the connection is for; nil when it
	// says nothing. It is a claim, not proof: the service checks it.
	Claimed *Owner
}

// EventKind is the kind of a ConnectionEvent.
type EventKind int

// Event kinds.
const (
	// EventIgnored: nothing this service acts on.
	EventIgnored EventKind = iota
	// EventConnected: the provider made or replaced the connection.
	EventConnected
	// EventRefreshFailed: the provider's background refresh failed.
	EventRefreshFailed
)
