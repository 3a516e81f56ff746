// Package connect is the connection service behind the /api/v1/nango
// API: authorize, callback, refresh, list, get, delete and Nango's auth
// webhooks. It owns the rules (tenant isolation, single-use states, redirect
// allow-listing, idempotent upserts, status changes, audit) and speaks to its
// dependencies through small ports; it imports no AWS SDK and no Lambda
// event types.
package connect

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
)

// StateTTL is how long an authorize -> callback round trip may take.
const StateTTL = 10 * time.Minute

// Deps are the service's dependencies.
type Deps struct {
	Store     connectors.Store
	Registry  *registry.Registry
	Router    *router.Router
	Providers connectors.Providers
	// Tokens is the token lifecycle: refreshes, sealing, reauth marking.
	Tokens            *credentials.Lifecycle
	Sealer            credentials.Sealer // seals PKCE verifiers in states
	StateKey          []byte
	RedirectAllowlist []string // origins, scheme://host[:port]
	Now               func() time.Time
}

// Service implements the connection API's rules.
type Service struct {
	store     connectors.Store
	registry  *registry.Registry
	router    *router.Router
	providers connectors.Providers
	tokens    *credentials.Lifecycle
	sealer    credentials.Sealer
	stateKey  []byte
	redirects []string
	now       func() time.Time
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{
		store: d.Store, registry: d.Registry, router: d.Router, providers: d.Providers, tokens: d.Tokens, sealer: d.Sealer,
		stateKey: d.StateKey, redirects: d.RedirectAllowlist, now: d.Now,
	}
}

// Authorization is the answer to authorize.
type Authorization struct {
	Provider            string          `json:"provider"`
	Route               router.Decision `json:"route"`
	AuthorizationURL    string          `json:"authorizationUrl"`
	ConnectSessionToken string          `json:"connectSessionToken,omitempty"`
	State               string          `json:"state"`
	ExpiresAt           time.Time       `json:"expiresAt"`
}

// AuthorizeParams are the inputs of authorize besides the caller.
type AuthorizeParams struct {
	Connector    string
	RedirectURI  string
	ConnectionID string // reconnect an existing connection
}

// Authorize starts connecting an app: it routes the connector, stores a
// single-use state and returns where to send the user.
func (s *Service) Authorize(ctx context.Context, p connectors.Principal, in AuthorizeParams) (_ *Authorization, err error) {
	defer func() { s.audit(ctx, p, "authorize", in.ConnectionID, in.Connector, err) }()
	m, err := s.manifest(in.Connector)
	if err != nil {
		return nil, err
	}
	if err := s.checkRedirect(in.RedirectURI); err != nil {
		return nil, err
	}
	var existing *connectors.Connection
	if in.ConnectionID != "" {
		existing, err = s.owned(ctx, p, in.ConnectionID)
		if err != nil {
			return nil, err
		}
		if existing.Connector != m.ID {
			return nil, connectors.Errorf(connectors.EInvalid, "connection %s is not a %s connection", existing.ID, m.ID)
		}
		if existing.UserID != p.UserID {
			// The grant is the owner's: an admin's reconnect would put the
			// admin's account behind the member's connection.
			return nil, connectors.Errorf(connectors.EForbidden, "only the owner of connection %s can reconnect it; an admin may delete it instead", existing.ID)
		}
	}
	decision, err := s.router.Route(router.Input{Manifest: m, OrganizationID: p.OrganizationID, Existing: existing})
	if err != nil {
		return nil, err
	}
	prov, err := s.providers.Get(decision.Target)
	if err != nil {
		return nil, connectors.Errorf(connectors.ENotConfigured, "%s connects through %s, which has no authorize flow", m.ID, decision.Target)
	}
	now := s.now()
	st := &connectors.OAuthState{
		Nonce:          randomToken(24),
		OrganizationID: p.OrganizationID,
		UserID:         p.UserID,
		Connector:      m.ID,
		AuthProvider:   decision.Target,
		RedirectURI:    in.RedirectURI,
		ConnectionID:   in.ConnectionID,
		CreatedAt:      now,
		ExpiresAt:      now.Add(StateTTL),
	}
	state := signState(s.stateKey, stateClaims{Nonce: st.Nonce, OrgID: st.OrganizationID, UserID: st.UserID, Connector: st.Connector, Expires: st.ExpiresAt.Unix()})
	flow, err := prov.Connect(ctx, connectors.ConnectRequest{
		Connector: m.ID, ProviderConfigKey: m.ProviderConfigKey, Scopes: m.Scopes,
		OrganizationID: p.OrganizationID, UserID: p.UserID, State: state, Nonce: st.Nonce, Reconnect: existing,
	})
	if err != nil {
		return nil, err
	}
	if flow.Verifier != "" {
		st.SealedVerifier, err = s.sealVerifier(ctx, st, flow.Verifier)
		if err != nil {
			return nil, err
		}
	}
	out := &Authorization{
		Provider: m.ID, Route: decision, State: state, ExpiresAt: st.ExpiresAt.UTC(),
		AuthorizationURL: flow.AuthorizationURL, ConnectSessionToken: flow.SessionToken,
	}
	if err := s.store.CreateState(ctx, st); err != nil {
		return nil, fmt.Errorf("store state: %w", err)
	}
	return out, nil
}

// CallbackParams are the query of the callback.
type CallbackParams struct {
	Connector        string
	State            string
	ConnectionID     string // Nango
	Code             string // built-in OAuth
	Error            string // the provider's error, e.g. access_denied
	ErrorDescription string
}

// CallbackResult is the connection the callback stored and where to send
// the user, if the authorize asked for it.
type CallbackResult struct {
	Connection  *connectors.Connection
	RedirectURI string
}

// Callback completes a connection. It is authenticated by the state; caller,
// when the request carried a bearer token, must be the state's user.
func (s *Service) Callback(ctx context.Context, caller *connectors.Principal, in CallbackParams) (_ *CallbackResult, err error) {
	claims, err := verifyState(s.stateKey, in.State, s.now())
	if err != nil {
		return nil, err
	}
	actor := connectors.Principal{UserID: claims.UserID, OrganizationID: claims.OrgID}
	defer func() { s.audit(ctx, actor, "callback", in.ConnectionID, claims.Connector, err) }()
	if claims.Connector != in.Connector {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	}
	if caller != nil && (caller.UserID != claims.UserID || caller.OrganizationID != claims.OrgID) {
		return nil, connectors.Errorf(connectors.EForbidden, "the state belongs to another user")
	}
	m, err := s.manifest(in.Connector)
	if err != nil {
		return nil, err
	}
	if in.Error != "" {
		// The user said no at the provider: burn the state, keep nothing.
		_, _ = s.store.ConsumeState(ctx, claims.Nonce)
		return nil, connectors.Errorf(connectors.EInvalid, "the provider refused the authorization: %s", safeReason(in.Error, in.ErrorDescription))
	}

	if in.ConnectionID == "" && in.Code == "" {
		return nil, connectors.Errorf(connectors.EInvalid, "the callback needs connection_id (Nango) or code (built-in OAuth)")
	}
	// The flow's provider is the one routing chose at authorize (the
	// stored state says so, and consume checks it).
	decision, err := s.router.Route(router.Input{Manifest: m, OrganizationID: claims.OrgID})
	if err != nil {
		return nil, err
	}
	prov, err := s.providers.Get(decision.Target)
	if err != nil {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	}
	req := connectors.CompleteRequest{Connector: m.ID, ProviderConfigKey: m.ProviderConfigKey, ConnectionID: in.ConnectionID, Code: in.Code}
	var g *connectors.Grant
	var st *connectors.OAuthState
	if in.ConnectionID != "" {
		// The provider made the connection: read it back and check it is
		// the state's user's before the state is spent, so that an outage
		// does not burn it, yet before any write, so that a replay never
		// writes twice.
		if g, err = prov.Complete(ctx, req); err != nil {
			if connectors.ErrorCode(err) == connectors.ENotFound {
				return nil, connectors.Errorf(connectors.EInvalid, "%s has no connection %s for %s", prov.Name(), in.ConnectionID, m.ID)
			}
			return nil, err
		}
		if o := g.Owner; o != nil && (o.UserID != claims.UserID || o.OrganizationID != claims.OrgID) {
			return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
		}
		if st, err = s.consume(ctx, claims, prov.Name()); err != nil {
			return nil, err
		}
		if st.ConnectionID != "" && st.ConnectionID != g.ConnectionID {
			return nil, connectors.Errorf(connectors.EInvalidState, "the state was issued to reconnect another connection")
		}
	} else {
		// A code is single use: the state is spent before the code is.
		if st, err = s.consume(ctx, claims, prov.Name()); err != nil {
			return nil, err
		}
		if req.Verifier, err = s.openVerifier(ctx, st); err != nil {
			return nil, err
		}
		if g, err = prov.Complete(ctx, req); err != nil {
			return nil, err
		}
	}
	conn, err := s.record(ctx, st.OrganizationID, st.UserID, st.ConnectionID, m, prov.Name(), g)
	if errors.Is(err, connectors.ErrOwned) {
		s.heldElsewhere(ctx, connectors.ProviderConnection{AuthProvider: prov.Name(), ProviderConfigKey: g.ProviderConfigKey, ConnectionID: g.ConnectionID}, connectors.Owner{OrganizationID: claims.OrgID, UserID: claims.UserID}, m.ID, "callback for a connection held by another record")
		return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
	}
	if err != nil {
		return nil, err
	}
	in.ConnectionID = conn.ID // for the audit event
	return &CallbackResult{Connection: conn, RedirectURI: st.RedirectURI}, nil
}

// consume takes the stored state once and checks it says what the signed
// one says.
func (s *Service) consume(ctx context.Context, c stateClaims, provider connectors.AuthProvider) (*connectors.OAuthState, error) {
	st, err := s.store.ConsumeState(ctx, c.Nonce)
	if err != nil {
		if errors.Is(err, connectors.ErrInvalidState) {
			return nil, err
		}
		return nil, fmt.Errorf("consume state: %w", err)
	}
	if st.OrganizationID != c.OrgID || st.UserID != c.UserID || st.Connector != c.Connector || st.AuthProvider != provider {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	}
	return st, nil
}

// record makes the record of a connection the provider granted exist and
// be active. The callback and the webhook both call it, so whichever comes
// first, the end state is the same; the same connection twice is one
// record. id names a connection being reconnected; a grant that names its
// own connection id is recorded under it.
func (s *Service) record(ctx context.Context, orgID, userID, id string, m registry.Manifest, provider connectors.AuthProvider, g *connectors.Grant) (*connectors.Connection, error) {
	if g.ConnectionID != "" {
		id = g.ConnectionID
	}
	if id == "" {
		id = newID()
	}
	var sealed []byte
	if g.Token != nil {
		var err error
		if sealed, err = s.tokens.SealToken(ctx, orgID, id, *g.Token); err != nil {
			return nil, err
		}
	}
	now := s.now()
	return s.upsert(ctx, orgID, id, userID, func(c *connectors.Connection) {
		c.Connector = m.ID
		c.AuthProvider = provider
		c.ProviderConfigKey = g.ProviderConfigKey
		if c.ProviderConfigKey == "" {
			c.ProviderConfigKey = m.ProviderConfigKey
		}
		c.Scopes = slices.Clone(m.Scopes)
		c.Status = connectors.StatusActive
		switch {
		case g.Token != nil:
			c.SealedToken = sealed
			c.ExpiresAt = g.Token.Expiry
			c.LastRefreshedAt = now
		case !g.ExpiresAt.IsZero():
			// A webhook carries no credentials: keep what is known.
			c.ExpiresAt = g.ExpiresAt
		}
	})
}

// upsert creates or updates one connection with optimistic locking,
// retrying a lost race. A record owned by another user is never taken over,
// and a provider connection another record holds is refused (ErrOwned). An
// update that would change nothing is not written, so that concurrent
// deliveries of one event all agree instead of racing for versions.
func (s *Service) upsert(ctx context.Context, orgID, id, userID string, apply func(*connectors.Connection)) (*connectors.Connection, error) {
	for range 5 {
		now := s.now()
		c, err := s.store.GetConnection(ctx, orgID, id)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			c = &connectors.Connection{ID: id, OrganizationID: orgID, UserID: userID, CreatedAt: now, UpdatedAt: now}
			apply(c)
			err = s.store.CreateConnection(ctx, c)
		case err != nil:
			return nil, fmt.Errorf("load connection %s: %w", id, err)
		case c.UserID != userID:
			return nil, connectors.Errorf(connectors.EForbidden, "the connection belongs to another user")
		default:
			before := *c
			apply(c)
			if sameRecord(&before, c) {
				return c, nil
			}
			c.UpdatedAt = now
			err = s.store.UpdateConnection(ctx, c)
		}
		if errors.Is(err, connectors.ErrConflict) {
			continue
		}
		if errors.Is(err, connectors.ErrOwned) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("save connection %s: %w", id, err)
		}
		return c, nil
	}
	return nil, connectors.Errorf(connectors.EConflict, "connection %s is being changed concurrently; try again", id)
}

// sameRecord reports whether b says what a says, bookkeeping aside.
func sameRecord(a, b *connectors.Connection) bool {
	return a.Connector == b.Connector && a.AuthProvider == b.AuthProvider &&
		a.ProviderConfigKey == b.ProviderConfigKey && a.Status == b.Status &&
		slices.Equal(a.Scopes, b.Scopes) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.LastRefreshedAt.Equal(b.LastRefreshedAt) && bytes.Equal(a.SealedToken, b.SealedToken)
}

// ListParams are the filters of list.
type ListParams struct {
	Connector    string
	Status       connectors.Status
	Limit        int
	Cursor       string
	Organization bool // an admin lists the whole organization
}

// List returns the caller's connections, or an admin's organization's.
func (s *Service) List(ctx context.Context, p connectors.Principal, in ListParams) (connectors.ConnectionPage, error) {
	f := connectors.ConnectionFilter{OrganizationID: p.OrganizationID, UserID: p.UserID, Connector: in.Connector, Status: in.Status, Limit: in.Limit, Cursor: in.Cursor}
	if in.Organization {
		if !p.IsAdmin() {
			return connectors.ConnectionPage{}, connectors.Errorf(connectors.EForbidden, "only an organization admin may list the whole organization")
		}
		f.UserID = ""
	}
	page, err := s.store.ListConnections(ctx, f)
	if err != nil {
		if connectors.ErrorCode(err) == connectors.EInvalid {
			return page, err
		}
		return page, fmt.Errorf("list connections: %w", err)
	}
	return page, nil
}

// Get returns one of the caller's connections.
func (s *Service) Get(ctx context.Context, p connectors.Principal, id string) (*connectors.Connection, error) {
	return s.owned(ctx, p, id)
}

// owned loads a connection the caller may see; any other answers not found,
// exactly like a connection that does not exist.
func (s *Service) owned(ctx context.Context, p connectors.Principal, id string) (*connectors.Connection, error) {
	notFound := connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	if id == "" || len(id) > 256 {
		return nil, notFound
	}
	c, err := s.store.GetConnection(ctx, p.OrganizationID, id)
	if errors.Is(err, connectors.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("load connection %s: %w", id, err)
	}
	if !c.OwnedBy(p) {
		return nil, notFound
	}
	return c, nil
}

// Delete removes a connection at its provider and in the store.
func (s *Service) Delete(ctx context.Context, p connectors.Principal, id string) (err error) {
	c, err := s.owned(ctx, p, id)
	if err != nil {
		return err
	}
	detail := ""
	defer func() { s.auditDetail(ctx, p, "delete", c.ID, c.Connector, detail, err) }()
	prov, err := s.tokens.Provider(c)
	if err != nil {
		return err
	}
	var held *connectors.Token
	if len(c.SealedToken) > 0 {
		if t, err := s.tokens.OpenToken(ctx, c); err == nil {
			held = &t
		}
	}
	if detail, err = prov.Revoke(ctx, c, held); err != nil {
		return err
	}
	if err := s.store.DeleteConnection(ctx, c.OrganizationID, c.ID); err != nil {
		return fmt.Errorf("delete connection %s: %w", c.ID, err)
	}
	return nil
}

func (s *Service) manifest(id string) (registry.Manifest, error) {
	m, ok := s.registry.Lookup(id)
	if !ok {
		return registry.Manifest{}, connectors.Errorf(connectors.EUnknownConnector, "unknown connector %q", truncate(id, 64))
	}
	return m, nil
}

// checkRedirect allows a redirect_uri only to an allow-listed origin.
func (s *Service) checkRedirect(raw string) error {
	if raw == "" {
		return nil
	}
	bad := connectors.Errorf(connectors.EInvalid, "redirect_uri is not allowed")
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return bad
	}
	// The allow-list holds lower-case origins (config.ParseOrigin); hosts
	// compare case-insensitively, as browsers do.
	if !slices.Contains(s.redirects, u.Scheme+"://"+strings.ToLower(u.Host)) {
		return bad
	}
	return nil
}

// audit records an event, best effort: a failed audit write is logged,
// never turned into a failed request after the work is done.
func (s *Service) audit(ctx context.Context, p connectors.Principal, action, connID, connector string, err error) {
	s.auditDetail(ctx, p, action, connID, connector, "", err)
}

func (s *Service) auditDetail(ctx context.Context, p connectors.Principal, action, connID, connector, detail string, err error) {
	if p.OrganizationID == "" {
		return
	}
	outcome := "success"
	if err != nil {
		outcome = connectors.ErrorCode(err)
	}
	e := connectors.AuditEvent{
		OrganizationID: p.OrganizationID, ActorUserID: p.UserID, Actor: "user",
		Action: action, ConnectionID: connID, Connector: connector, Outcome: outcome, Detail: detail,
		Time: s.now(),
	}
	if p.UserID == "" {
		e.Actor = "nango-webhook"
	}
	s.appendAudit(ctx, e)
}

// appendAudit writes e, best effort. Its ids were validated on the way in
// (tokens, callbacks and webhooks are checked before any work), so a failed
// write is the store's fault and worth an ERROR line.
func (s *Service) appendAudit(ctx context.Context, e connectors.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if aerr := s.store.AppendAudit(ctx, e); aerr != nil {
		logging.FromContext(ctx).Error("audit write failed", "action", e.Action, "err", aerr)
	}
}

// sealVerifier seals a flow's verifier into its state.
func (s *Service) sealVerifier(ctx context.Context, st *connectors.OAuthState, verifier string) ([]byte, error) {
	sealed, err := s.sealer.SealFor(ctx, st.OrganizationID, seal.PurposeVerifier, stateAAD(st.Nonce), []byte(verifier))
	if err != nil {
		return nil, fmt.Errorf("seal verifier: %w", err)
	}
	return sealed, nil
}

// openVerifier opens the verifier a state keeps ("" when it keeps none).
func (s *Service) openVerifier(ctx context.Context, st *connectors.OAuthState) (string, error) {
	if len(st.SealedVerifier) == 0 {
		return "", nil
	}
	v, err := s.sealer.OpenFor(ctx, st.OrganizationID, seal.PurposeVerifier, stateAAD(st.Nonce), st.SealedVerifier)
	if err != nil {
		return "", fmt.Errorf("open verifier: %w", err)
	}
	return string(v), nil
}

func stateAAD(nonce string) []byte { return []byte("state\x00" + nonce) }

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newID() string { return uuid.NewString() }

// safeReason keeps a provider's error short and printable.
func safeReason(code, desc string) string {
	r := truncate(code, 64)
	if desc != "" {
		r += " (" + truncate(desc, 200) + ")"
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
