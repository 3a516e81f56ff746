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
	"golang.org/x/sync/singleflight"

	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
)

// StateTTL is how long an authorize -> callback round trip may take.
const StateTTL = 10 * time.Minute

// Tag names Nango's connect sessions carry, binding a Nango connection to
// our user and organization, and to the state of the flow that made it (a
// webhook that arrives before the callback is applied only while that state
// is live).
const (
	TagUser  = "end_user_id"
	TagOrg   = "organization_id"
	TagState = "connect_state"
)

// Nango is what the service needs of Nango's API.
type Nango interface {
	CreateConnectSession(ctx context.Context, req nango.ConnectSessionRequest) (*nango.ConnectSession, error)
	CreateReconnectSession(ctx context.Context, req nango.ReconnectSessionRequest) (*nango.ConnectSession, error)
	GetConnection(ctx context.Context, providerConfigKey, connectionID string, opt nango.GetConnectionOptions) (*nango.Connection, error)
	DeleteConnection(ctx context.Context, providerConfigKey, connectionID string) error
}

// LegacyOAuth is the built-in OAuth of Gmail and Outlook.
type LegacyOAuth interface {
	AuthCodeURL(connector, state, verifier string, scopes []string) (string, error)
	Exchange(ctx context.Context, connector, code, verifier string) (legacyoauth.Token, error)
	Refresh(ctx context.Context, connector string, t legacyoauth.Token) (legacyoauth.Token, error)
	Revoke(ctx context.Context, connector string, t legacyoauth.Token) (bool, error)
}

// Sealer seals and opens secrets for one organization: under its data key
// (seal.Keyring), or with the deployment's token_encryption_keys
// (*seal.Sealer). purpose and aad bind a value to what it is and where it is
// stored.
type Sealer interface {
	SealFor(ctx context.Context, orgID, purpose string, aad, plaintext []byte) ([]byte, error)
	OpenFor(ctx context.Context, orgID, purpose string, aad, sealed []byte) ([]byte, error)
}

// Deps are the service's dependencies.
type Deps struct {
	Store             connectors.Store
	Registry          *registry.Registry
	Router            *router.Router
	Nango             Nango // nil when Nango is not configured
	NangoHost         string
	Legacy            LegacyOAuth
	Sealer            Sealer
	StateKey          []byte
	RedirectAllowlist []string // origins, scheme://host[:port]
	Now               func() time.Time
}

// Service implements the connection API's rules.
type Service struct {
	Deps
	// refreshes lets one built-in OAuth refresh per connection run in this
	// container at a time; the store's lease does the same across containers.
	refreshes singleflight.Group
	owner     string // this container's lease owner id
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{Deps: d, owner: uuid.NewString()}
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
	decision, err := s.Router.Route(router.Input{Manifest: m, OrganizationID: p.OrganizationID, Existing: existing})
	if err != nil {
		return nil, err
	}
	now := s.Now()
	st := &connectors.OAuthState{
		Nonce:          randomToken(24),
		OrganizationID: p.OrganizationID,
		UserID:         p.UserID,
		Connector:      m.ID,
		AuthProvider:   string(decision.Target),
		RedirectURI:    in.RedirectURI,
		ConnectionID:   in.ConnectionID,
		CreatedAt:      now,
		ExpiresAt:      now.Add(StateTTL),
	}
	state := signState(s.StateKey, stateClaims{Nonce: st.Nonce, OrgID: st.OrganizationID, UserID: st.UserID, Connector: st.Connector, Expires: st.ExpiresAt.Unix()})
	out := &Authorization{Provider: m.ID, Route: decision, State: state, ExpiresAt: st.ExpiresAt.UTC()}

	switch st.AuthProvider {
	case connectors.ProviderNango:
		if s.Nango == nil {
			return nil, connectors.Errorf(connectors.ENotConfigured, "Nango is not configured: nango_secret_key is not set")
		}
		tags := map[string]string{TagUser: p.UserID, TagOrg: p.OrganizationID, TagState: st.Nonce}
		var sess *nango.ConnectSession
		if existing != nil {
			sess, err = s.Nango.CreateReconnectSession(ctx, nango.ReconnectSessionRequest{ConnectionID: existing.ID, IntegrationID: existing.ProviderConfigKey, Tags: tags})
		} else {
			sess, err = s.Nango.CreateConnectSession(ctx, nango.ConnectSessionRequest{Tags: tags, AllowedIntegrations: []string{m.ProviderConfigKey}})
		}
		if err != nil {
			return nil, nangoError("create connect session", err)
		}
		out.ConnectSessionToken = sess.Token
		out.AuthorizationURL = s.NangoHost + "/oauth/connect/" + url.PathEscape(m.ProviderConfigKey) + "?" +
			url.Values{"connect_session_token": {sess.Token}}.Encode()
	case connectors.ProviderLegacy:
		verifier := randomToken(48)
		st.SealedVerifier, err = s.Sealer.SealFor(ctx, st.OrganizationID, seal.PurposeVerifier, stateAAD(st.Nonce), []byte(verifier))
		if err != nil {
			return nil, fmt.Errorf("seal verifier: %w", err)
		}
		out.AuthorizationURL, err = s.Legacy.AuthCodeURL(m.ID, state, verifier, m.Scopes)
		if err != nil {
			return nil, err
		}
	default:
		return nil, connectors.Errorf(connectors.ENotConfigured, "%s connects through %s, which has no authorize flow", m.ID, decision.Target)
	}
	if err := s.Store.CreateState(ctx, st); err != nil {
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
	claims, err := verifyState(s.StateKey, in.State, s.Now())
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
		_, _ = s.Store.ConsumeState(ctx, claims.Nonce)
		return nil, connectors.Errorf(connectors.EInvalid, "the provider refused the authorization: %s", safeReason(in.Error, in.ErrorDescription))
	}

	// The state is consumed only after the external checks pass, so that a
	// Nango outage does not burn it, yet before any write, so that a replay
	// never writes twice.
	var conn *connectors.Connection
	var st *connectors.OAuthState
	switch {
	case in.ConnectionID != "":
		if s.Nango == nil {
			return nil, connectors.Errorf(connectors.ENotConfigured, "Nango is not configured: nango_secret_key is not set")
		}
		nc, err := s.Nango.GetConnection(ctx, m.ProviderConfigKey, in.ConnectionID, nango.GetConnectionOptions{})
		if err != nil {
			if nango.IsNotFound(err) {
				return nil, connectors.Errorf(connectors.EInvalid, "Nango has no connection %s for %s", in.ConnectionID, m.ID)
			}
			return nil, nangoError("fetch connection", err)
		}
		if nc.Tags[TagUser] != claims.UserID || nc.Tags[TagOrg] != claims.OrgID {
			return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
		}
		if st, err = s.consume(ctx, claims, connectors.ProviderNango); err != nil {
			return nil, err
		}
		if st.ConnectionID != "" && st.ConnectionID != nc.ConnectionID {
			return nil, connectors.Errorf(connectors.EInvalidState, "the state was issued to reconnect another connection")
		}
		conn, err = s.upsertNango(ctx, claims.OrgID, claims.UserID, m, nc)
		if errors.Is(err, connectors.ErrOwned) {
			s.heldElsewhere(ctx, nangoConnection(nc.ProviderConfigKey, nc.ConnectionID), connectors.Owner{OrganizationID: claims.OrgID, UserID: claims.UserID}, m.ID, "callback for a connection held by another record")
			return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
		}
		if err != nil {
			return nil, err
		}
	case in.Code != "":
		if st, err = s.consume(ctx, claims, connectors.ProviderLegacy); err != nil {
			return nil, err
		}
		verifier, err := s.Sealer.OpenFor(ctx, st.OrganizationID, seal.PurposeVerifier, stateAAD(st.Nonce), st.SealedVerifier)
		if err != nil {
			return nil, fmt.Errorf("open verifier: %w", err)
		}
		t, err := s.Legacy.Exchange(ctx, m.ID, in.Code, string(verifier))
		if err != nil {
			return nil, err
		}
		conn, err = s.upsertLegacy(ctx, st, m, t)
		if err != nil {
			return nil, err
		}
	default:
		return nil, connectors.Errorf(connectors.EInvalid, "the callback needs connection_id (Nango) or code (built-in OAuth)")
	}
	in.ConnectionID = conn.ID // for the audit event
	return &CallbackResult{Connection: conn, RedirectURI: st.RedirectURI}, nil
}

// consume takes the stored state once and checks it says what the signed
// one says.
func (s *Service) consume(ctx context.Context, c stateClaims, provider string) (*connectors.OAuthState, error) {
	st, err := s.Store.ConsumeState(ctx, c.Nonce)
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

// upsertNango makes the record of a Nango connection exist and be active.
// The callback and the webhook both call it, so whichever comes first, the
// end state is the same; the same connection twice is one record.
func (s *Service) upsertNango(ctx context.Context, orgID, userID string, m registry.Manifest, nc *nango.Connection) (*connectors.Connection, error) {
	return s.upsert(ctx, orgID, nc.ConnectionID, userID, func(c *connectors.Connection) {
		c.Connector = m.ID
		c.AuthProvider = connectors.ProviderNango
		c.ProviderConfigKey = nc.ProviderConfigKey
		if c.ProviderConfigKey == "" {
			c.ProviderConfigKey = m.ProviderConfigKey
		}
		c.Scopes = slices.Clone(m.Scopes)
		c.Status = connectors.StatusActive
		if !nc.Credentials.ExpiresAt.IsZero() {
			// A webhook carries no credentials: keep what is known.
			c.ExpiresAt = nc.Credentials.ExpiresAt
		}
	})
}

func (s *Service) upsertLegacy(ctx context.Context, st *connectors.OAuthState, m registry.Manifest, t legacyoauth.Token) (*connectors.Connection, error) {
	id := st.ConnectionID
	if id == "" {
		id = newID()
	}
	plain, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	sealed, err := s.Sealer.SealFor(ctx, st.OrganizationID, seal.PurposeToken, tokenAAD(st.OrganizationID, id), plain)
	if err != nil {
		return nil, fmt.Errorf("seal token: %w", err)
	}
	now := s.Now()
	return s.upsert(ctx, st.OrganizationID, id, st.UserID, func(c *connectors.Connection) {
		c.Connector = m.ID
		c.AuthProvider = connectors.ProviderLegacy
		c.ProviderConfigKey = m.ID
		c.Scopes = slices.Clone(m.Scopes)
		c.Status = connectors.StatusActive
		c.SealedToken = sealed
		c.ExpiresAt = t.Expiry
		c.LastRefreshedAt = now
	})
}

// upsert creates or updates one connection with optimistic locking,
// retrying a lost race. A record owned by another user is never taken over,
// and a provider connection another record holds is refused (ErrOwned). An
// update that would change nothing is not written, so that concurrent
// deliveries of one event all agree instead of racing for versions.
func (s *Service) upsert(ctx context.Context, orgID, id, userID string, apply func(*connectors.Connection)) (*connectors.Connection, error) {
	for range 5 {
		now := s.Now()
		c, err := s.Store.GetConnection(ctx, orgID, id)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			c = &connectors.Connection{ID: id, OrganizationID: orgID, UserID: userID, CreatedAt: now, UpdatedAt: now}
			apply(c)
			err = s.Store.CreateConnection(ctx, c)
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
			err = s.Store.UpdateConnection(ctx, c)
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
	page, err := s.Store.ListConnections(ctx, f)
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
	c, err := s.Store.GetConnection(ctx, p.OrganizationID, id)
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
	switch c.AuthProvider {
	case connectors.ProviderNango:
		if s.Nango == nil {
			return connectors.Errorf(connectors.ENotConfigured, "Nango is not configured: nango_secret_key is not set")
		}
		if err := s.Nango.DeleteConnection(ctx, c.ProviderConfigKey, c.ID); err != nil && !nango.IsNotFound(err) {
			return nangoError("delete connection", err)
		}
	case connectors.ProviderLegacy:
		// Revocation is best effort: the user asked to forget the
		// connection, and a provider outage must not keep it alive here.
		detail = s.revokeLegacy(ctx, c)
	}
	if err := s.Store.DeleteConnection(ctx, c.OrganizationID, c.ID); err != nil {
		return fmt.Errorf("delete connection %s: %w", c.ID, err)
	}
	return nil
}

func (s *Service) revokeLegacy(ctx context.Context, c *connectors.Connection) string {
	t, err := s.OpenToken(ctx, c)
	if err != nil {
		return "revocation skipped: token unreadable"
	}
	supported, err := s.Legacy.Revoke(ctx, c.Connector, t)
	switch {
	case !supported:
		return "revocation not supported by the provider"
	case err != nil:
		logging.FromContext(ctx).Warn("revoke failed", "connection", c.ID, "errorCode", connectors.ErrorCode(err))
		return "revocation failed: " + connectors.ErrorCode(err)
	}
	return "revoked at the provider"
}

// OpenToken opens the sealed token cache of a built-in OAuth connection.
func (s *Service) OpenToken(ctx context.Context, c *connectors.Connection) (legacyoauth.Token, error) {
	if len(c.SealedToken) == 0 {
		return legacyoauth.Token{}, connectors.Errorf(connectors.EReauthRequired, "connection %s holds no token", c.ID)
	}
	plain, err := s.Sealer.OpenFor(ctx, c.OrganizationID, seal.PurposeToken, tokenAAD(c.OrganizationID, c.ID), c.SealedToken)
	if err != nil {
		return legacyoauth.Token{}, fmt.Errorf("open token of %s: %w", c.ID, err)
	}
	return legacyoauth.UnmarshalToken(plain)
}

func (s *Service) manifest(id string) (registry.Manifest, error) {
	m, ok := s.Registry.Lookup(id)
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
	if !slices.Contains(s.RedirectAllowlist, u.Scheme+"://"+strings.ToLower(u.Host)) {
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
		Time: s.Now(),
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
		e.Time = s.Now()
	}
	if aerr := s.Store.AppendAudit(ctx, e); aerr != nil {
		logging.FromContext(ctx).Error("audit write failed", "action", e.Action, "err", aerr)
	}
}

// nangoError maps a Nango client error to the API's errors: 429 keeps its
// wait, an answered 5xx is a bad gateway, no answer at all is unavailable.
func nangoError(op string, err error) error {
	if wait, ok := nango.IsRateLimited(err); ok {
		return &connectors.Error{Code: connectors.ERateLimited, Message: "Nango is rate limiting; retry later", RetryAfter: wait, Err: err}
	}
	var apiErr *nango.APIError
	if errors.As(err, &apiErr) && apiErr.Status >= 500 {
		return connectors.Wrap(err, connectors.EUpstream, op+": Nango answered an error")
	}
	if nango.IsUnavailable(err) {
		return connectors.Wrap(err, connectors.EUnavailable, op+": Nango is unavailable")
	}
	if errors.As(err, &apiErr) && apiErr.Status == 401 {
		return connectors.Wrap(err, connectors.ENotConfigured, op+": Nango refused this deployment's secret key")
	}
	return connectors.Wrap(err, connectors.EUpstream, op+": Nango refused the request")
}

func stateAAD(nonce string) []byte { return []byte("state\x00" + nonce) }

func tokenAAD(orgID, connID string) []byte { return seal.AAD(orgID, connID) }

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
