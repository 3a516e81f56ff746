// Package nangofake is an in-memory fake of Nango's API for tests and for the
// offline sandbox of `make run`. It answers, for the endpoints the nango
// client uses, as Nango does: secret-key check, connect sessions, connections
// with expiring OAuth2 tokens, integrations, the proxy, and signed auth
// webhooks. It adds a sandbox connect URL that completes a connection at once,
// failure injection, and request counters.
//
// It imports no testing package, so the local API server can link it.
package nangofake

import (
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/automators/connectors/internal/local/fakefault"
)

// Integration is an integration (providerConfigKey) the fake knows.
type Integration struct {
	UniqueKey string // the providerConfigKey, e.g. "slack"
	Provider  string // Nango's provider name, e.g. "slack"
	// AuthMode is the credentials' type. Empty means OAUTH1 for "trello"
	// and OAUTH2 for anything else.
	AuthMode string
}

// Options configure a Server.
type Options struct {
	SecretKey         string // the secret key clients must send (Authorization: Bearer)
	WebhookSigningKey string // signs SendAuthWebhook
	Integrations      []Integration
	Now               func() time.Time // default time.Now
	TokenTTL          time.Duration    // OAuth2 access token lifetime, default 1h
	// ReturnURLPrefixes allow a connect URL's return_to: opened in a
	// browser (not in a popup), the connect URL redirects there after
	// completing, with connection_id and provider_config_key added. The
	// local API points return_to at its callback. Empty: return_to is
	// ignored, so the fake is no open redirect.
	ReturnURLPrefixes []string
	// StateFile, when set, keeps the connections across restarts: Open
	// loads it and every change rewrites it (the sandbox of make run keeps
	// it in .local). The file holds the fake's tokens: development values.
	StateFile string
	// Upstreams maps a provider name to the base URL the proxy forwards to
	// (a Base-Url-Override header takes precedence).
	Upstreams map[string]string
}

// Session and token lifetimes, as Nango's.
const (
	SessionTTL      = 30 * time.Minute
	DefaultTokenTTL = time.Hour
)

// Server is the fake Nango. Its zero value is not usable; call New.
type Server struct {
	opts Options

	mu           sync.Mutex
	publicURL    string
	integrations map[string]*integration
	order        []string // integration keys in creation order
	sessions     map[string]*session
	conns        map[connKey]*connection
	nextID       int64
	faults       fakefault.Set
	counts       []requestRecord
	failRefresh  map[string]bool
	upstreams    map[string]string
	// checkKeyFormat refuses keys that are not UUIDs, as Nango does. Off
	// when the fake's own key is not a UUID, for tests written before the
	// check (no real Nango key has that form).
	checkKeyFormat bool
	wsClients      map[string]*wsClient // SDK auth() WebSockets by ws_client_id
	saveErr        error                // last StateFile write failure

	ts *httptest.Server
}

type integration struct {
	Integration
	created time.Time
}

type session struct {
	token        string
	tags         map[string]string
	endUser      map[string]any
	allowed      []string
	expires      time.Time
	reconnectID  string // set for a reconnect session
	reconnectKey string
	used         bool
	webhook      *string // webhook_url_override of the connection it creates
}

type connKey struct{ key, id string }

type connection struct {
	id           int64
	connectionID string
	key          string
	provider     string
	authMode     string
	tags         map[string]string
	endUser      map[string]any
	metadata     map[string]any
	created      time.Time
	updated      time.Time
	lastFetched  time.Time

	accessToken  string
	refreshToken string
	expiresAt    time.Time
	tokenSecret  string // OAUTH1
	refreshFails int    // consecutive failed refreshes

	webhookURLOverride *string
}

type requestRecord struct{ method, path string }

// New returns an unstarted fake. Serve its Handler, or call Start.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	s := &Server{
		opts:         opts,
		integrations: map[string]*integration{},
		sessions:     map[string]*session{},
		conns:        map[connKey]*connection{},
		failRefresh:  map[string]bool{},
		upstreams:    map[string]string{},
	}
	s.checkKeyFormat = uuid.Validate(opts.SecretKey) == nil
	for p, u := range opts.Upstreams {
		s.upstreams[p] = strings.TrimRight(u, "/")
	}
	now := opts.Now()
	for _, in := range opts.Integrations {
		s.addIntegrationLocked(in, now)
	}
	return s
}

// AddIntegration adds (or replaces) an integration.
func (s *Server) AddIntegration(in Integration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addIntegrationLocked(in, s.opts.Now())
}

func (s *Server) addIntegrationLocked(in Integration, now time.Time) {
	if in.AuthMode == "" {
		in.AuthMode = "OAUTH2"
		if in.Provider == "trello" {
			in.AuthMode = "OAUTH1"
		}
	}
	if _, ok := s.integrations[in.UniqueKey]; !ok {
		s.order = append(s.order, in.UniqueKey)
	}
	s.integrations[in.UniqueKey] = &integration{Integration: in, created: now}
}

// SetUpstream sets the base URL the proxy forwards to for provider.
func (s *Server) SetUpstream(provider, baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upstreams[provider] = strings.TrimRight(baseURL, "/")
}

// SetPublicURL sets the base URL clients see the fake at; connect links are
// built on it.
func (s *Server) SetPublicURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicURL = strings.TrimRight(u, "/")
}

// Start serves the fake on a loopback port and returns its URL. The public
// URL defaults to it.
func (s *Server) Start() string {
	s.ts = httptest.NewServer(s.Handler())
	s.mu.Lock()
	if s.publicURL == "" {
		s.publicURL = s.ts.URL
	}
	s.mu.Unlock()
	return s.ts.URL
}

// Close stops a server started with Start.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// FailRefresh makes every refresh of connectionID fail from now on, as when
// the provider revoked the grant: the first failure answers 400
// invalid_credentials, the next ones 424 invalid_credentials (Nango's
// back-off), each with the connection, without credentials, as payload.
func (s *Server) FailRefresh(connectionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRefresh[connectionID] = true
}

// ExpireToken makes a connection's OAuth2 access token expired now, so the
// next GET refreshes it.
func (s *Server) ExpireToken(connectionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.connectionID == connectionID {
			c.expiresAt = s.opts.Now().Add(-time.Second)
		}
	}
}

// Requests counts the requests received with method (empty: any) whose path
// starts with pathPrefix, faulted ones included.
func (s *Server) Requests(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.counts {
		if (method == "" || r.method == method) && strings.HasPrefix(r.path, pathPrefix) {
			n++
		}
	}
	return n
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
