// Package composiofake is an in-memory fake of Composio's v3 platform API,
// for tests (and a sandbox): for the operations the composio adapter uses,
// it answers as Composio does, in the shapes of Composio's OpenAPI document:
// API-key check, Connect Links, connected accounts with a status, the
// re-authorization of an account, the proxy (forwarding to configured
// upstream base URLs with the account's token), and webhooks signed as
// Standard Webhooks. It adds a hosted link page that completes (or fails) a
// link when opened, hooks to change accounts, failure injection and
// request counters.
//
// It imports no testing package and no adapter, so it holds the adapter to
// Composio's behaviour rather than to its own code.
package composiofake

import (
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/automators/connectors/internal/local/fakefault"
)

// Toolkit is a toolkit the fake proxies for.
type Toolkit struct {
	Slug string // e.g. "slack"
	// BaseURL is the toolkit's API base as Composio knows it, e.g.
	// "https://slack.com/api": a relative proxy endpoint is appended to it,
	// and an absolute one must be on the same registrable domain.
	BaseURL string
}

// DefaultToolkits are the toolkits the fake knows without Options.Toolkits.
var DefaultToolkits = []Toolkit{
	{"slack", "https://slack.com/api"},
	{"googlesheets", "https://sheets.googleapis.com/v4"},
	{"gmail", "https://gmail.googleapis.com/gmail/v1"},
	{"hubspot", "https://api.hubapi.com"},
	{"asana", "https://app.asana.com/api/1.0"},
	{"trello", "https://api.trello.com/1"},
	{"stripe", "https://api.stripe.com/v1"},
	{"discord", "https://discord.com/api/v10"},
	{"microsoft_teams", "https://graph.microsoft.com/v1.0"},
	{"outlook", "https://graph.microsoft.com/v1.0"},
}

// AuthConfig is an auth config the fake knows.
type AuthConfig struct {
	ID      string // ac_...
	Toolkit string // toolkit slug
	// AuthScheme is the accounts' scheme: OAUTH2 (default), API_KEY or
	// NO_AUTH. OAUTH2 accounts need the user at the link page.
	AuthScheme string
	Disabled   bool
}

// Options configure a Server.
type Options struct {
	APIKey string // the project API key clients must send (x-api-key)
	// WebhookSecrets sign the webhooks: each signature is the HMAC keyed
	// with the secret's bytes, as Composio keys it; several secrets (a
	// rotation) give several space-separated signatures.
	WebhookSecrets []string
	AuthConfigs    []AuthConfig
	Toolkits       []Toolkit // default DefaultToolkits
	// Upstreams maps a toolkit slug to the base URL the proxy forwards to
	// in place of the toolkit's API origin (a loopback test server).
	Upstreams map[string]string
	Now       func() time.Time // default time.Now
	LinkTTL   time.Duration    // default 10 minutes, as Composio's
}

// Statuses of a connected account.
const (
	StatusInitializing = "INITIALIZING"
	StatusInitiated    = "INITIATED"
	StatusActive       = "ACTIVE"
	StatusFailed       = "FAILED"
	StatusExpired      = "EXPIRED"
	StatusInactive     = "INACTIVE"
)

// DefaultLinkTTL is how long a Connect Link is valid.
const DefaultLinkTTL = 10 * time.Minute

// Server is the fake Composio. Its zero value is not usable; call New.
type Server struct {
	opts Options

	mu          sync.Mutex
	publicURL   string
	authConfigs map[string]*AuthConfig
	toolkits    map[string]Toolkit
	upstreams   map[string]string
	accounts    map[string]*account
	links       map[string]*link // by link token
	faults      fakefault.Set
	counts      []requestRecord

	ts *httptest.Server
}

type account struct {
	id           string
	userID       string
	authConfig   string
	toolkit      string
	scheme       string
	status       string
	statusReason *string
	disabled     bool
	deleted      bool
	accessToken  string
	created      time.Time
	updated      time.Time
}

type link struct {
	token     string
	accountID string
	callback  string
	expires   time.Time
	used      bool
}

type requestRecord struct{ method, path string }

// Errors of the hooks.
var (
	ErrUnknownLink    = errors.New("composiofake: no such link")
	ErrLinkUsed       = errors.New("composiofake: link already used")
	ErrLinkExpired    = errors.New("composiofake: link expired")
	ErrUnknownAccount = errors.New("composiofake: no such connected account")
)

// New returns an unstarted fake. Serve its Handler, or call Start.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LinkTTL <= 0 {
		opts.LinkTTL = DefaultLinkTTL
	}
	if opts.Toolkits == nil {
		opts.Toolkits = DefaultToolkits
	}
	s := &Server{
		opts:        opts,
		authConfigs: map[string]*AuthConfig{},
		toolkits:    map[string]Toolkit{},
		upstreams:   map[string]string{},
		accounts:    map[string]*account{},
		links:       map[string]*link{},
	}
	for _, tk := range opts.Toolkits {
		s.toolkits[tk.Slug] = tk
	}
	for slug, u := range opts.Upstreams {
		s.upstreams[slug] = strings.TrimRight(u, "/")
	}
	for _, ac := range opts.AuthConfigs {
		s.AddAuthConfig(ac)
	}
	return s
}

// AddAuthConfig adds (or replaces) an auth config.
func (s *Server) AddAuthConfig(ac AuthConfig) {
	if ac.AuthScheme == "" {
		ac.AuthScheme = "OAUTH2"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authConfigs[ac.ID] = &ac
}

// SetUpstream sets the base URL the proxy forwards toolkit's requests to.
func (s *Server) SetUpstream(toolkit, baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upstreams[toolkit] = strings.TrimRight(baseURL, "/")
}

// SetWebhookSecrets replaces the secrets webhooks are signed with.
func (s *Server) SetWebhookSecrets(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.WebhookSecrets = secrets
}

// SetPublicURL sets the base URL clients see the fake at; link pages are
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

// AccountSpec makes a connected account directly (CreateAccount), as if a
// user had connected it.
type AccountSpec struct {
	AuthConfigID string
	UserID       string
	Status       string // default ACTIVE
}

// CreateAccount makes a connected account and returns its id.
func (s *Server) CreateAccount(spec AccountSpec) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.authConfigs[spec.AuthConfigID]
	if ac == nil {
		return "", errors.New("composiofake: no such auth config")
	}
	a := s.newAccountLocked(ac, spec.UserID)
	a.status = StatusActive
	if spec.Status != "" {
		a.status = spec.Status
	}
	return a.id, nil
}

func (s *Server) newAccountLocked(ac *AuthConfig, userID string) *account {
	now := s.opts.Now()
	a := &account{
		id: "ca_" + randomID(12), userID: userID, authConfig: ac.ID, toolkit: ac.Toolkit, scheme: ac.AuthScheme,
		status: StatusInitiated, accessToken: "fake-" + ac.Toolkit + "-token-" + randomID(16), created: now, updated: now,
	}
	if ac.AuthScheme != "OAUTH2" {
		a.status = StatusActive
	}
	s.accounts[a.id] = a
	return a
}

// AccountInfo is what a test may see of a connected account.
type AccountInfo struct {
	ID, UserID, AuthConfigID, Toolkit, Status string
	Disabled, Deleted                         bool
	// AccessToken is the token the proxy sends upstream for the account
	// (Authorization: Bearer), so that a test can check which was used.
	AccessToken string
}

// Account returns a connected account's info.
func (s *Server) Account(id string) (AccountInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[id]
	if a == nil {
		return AccountInfo{}, false
	}
	return AccountInfo{ID: a.id, UserID: a.userID, AuthConfigID: a.authConfig, Toolkit: a.toolkit, Status: a.status,
		Disabled: a.disabled, Deleted: a.deleted, AccessToken: a.accessToken}, true
}

// SetStatus sets a connected account's status (EXPIRED, FAILED, INACTIVE,
// ...), with an optional reason, as when Composio could not refresh it.
func (s *Server) SetStatus(id, status, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[id]
	if a == nil {
		return ErrUnknownAccount
	}
	a.status = status
	a.statusReason = nil
	if reason != "" {
		a.statusReason = &reason
	}
	a.updated = s.opts.Now()
	return nil
}

// Expire marks a connected account EXPIRED, as when its refresh token was
// revoked at the provider.
func (s *Server) Expire(id string) error {
	return s.SetStatus(id, StatusExpired, "OAuth refresh token expired")
}

// Disable disables a connected account (it stays, unusable), as when it is
// revoked in Composio's dashboard.
func (s *Server) Disable(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[id]
	if a == nil {
		return ErrUnknownAccount
	}
	a.disabled = true
	a.status = StatusInactive
	a.updated = s.opts.Now()
	return nil
}

// Delete soft-deletes a connected account, as its DELETE does.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[id]
	if a == nil || a.deleted {
		return ErrUnknownAccount
	}
	a.deleted = true
	return nil
}

// CompleteLink completes a Connect Link as the user would at Composio's
// hosted page: the account becomes ACTIVE. token is the link token or the
// link's redirect URL. It returns the URL Composio sends the user to: the
// link's callback URL with status=success and connected_account_id
// appended ("" when the link has no callback).
func (s *Server) CompleteLink(token string) (string, error) {
	return s.finishLink(token, true)
}

// FailLink ends a Connect Link as when the user refused at the provider:
// the account becomes FAILED, and the callback gets status=failed.
func (s *Server) FailLink(token string) (string, error) {
	return s.finishLink(token, false)
}

func (s *Server) finishLink(token string, ok bool) (string, error) {
	token = linkToken(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.links[token]
	switch {
	case l == nil:
		return "", ErrUnknownLink
	case l.used:
		return "", ErrLinkUsed
	case !s.opts.Now().Before(l.expires):
		return "", ErrLinkExpired
	}
	a := s.accounts[l.accountID]
	if a == nil || a.deleted {
		return "", ErrUnknownAccount
	}
	l.used = true
	a.updated = s.opts.Now()
	a.statusReason = nil
	status := "success"
	if ok {
		a.status = StatusActive
	} else {
		a.status = StatusFailed
		reason := "access_denied"
		a.statusReason = &reason
		status = "failed"
	}
	if l.callback == "" {
		return "", nil
	}
	u, err := url.Parse(l.callback)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("status", status)
	q.Set("connected_account_id", a.id)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// linkToken accepts a token or a link page URL.
func linkToken(s string) string {
	if u, err := url.Parse(s); err == nil && strings.HasPrefix(u.Path, "/link/") {
		return strings.TrimPrefix(u.Path, "/link/")
	}
	return s
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

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"

// randomID is a nanoid of n characters.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
