// Package panorafake is an in-memory fake of Panora's unified API
// (https://panora.dev) for tests and local runs. It answers, for the
// endpoints the panora adapter uses, as Panora does at
// github.com/panoratech/Panora c6741e9e (read, not copied; each behaviour
// names its source file): the API-key check, linked users, magic links and
// a magic-link page, the project's connections, the passthrough (forwarded
// to configured upstream base URLs, with Panora's queued rate-limit answer)
// and the retried request's result, webhook signature verification, and
// webhooks signed as Panora signs them. Every answer has the shape of
// Panora's OpenAPI document, or, for what the document leaves out (magic
// links, errors), of Panora's source.
//
// Test hooks: CompleteMagicLink (the user connects an app on the magic-link
// page), SetStatus, RateLimitNext and RunRetries (the passthrough's retry
// queue), Webhook and SendWebhook, AddForeignLinkedUser (a linked user of
// another Panora project), Inject (faults), Requests (counters).
//
// It imports no testing package, so a local server can link it.
package panorafake

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

// App is a provider of Panora's catalogue the fake offers: its vertical,
// slug and the base URL of its API (the connection's account_url).
type App struct {
	Vertical   string
	Slug       string
	AccountURL string
}

// DefaultApps are the apps of the magic-link page when Options.Apps is
// empty: two Panora serves this service with and one it does not.
var DefaultApps = []App{
	{Vertical: "crm", Slug: "hubspot", AccountURL: "https://api.hubapi.com"},
	{Vertical: "crm", Slug: "salesforce", AccountURL: "https://example.my.salesforce.com"},
	{Vertical: "crm", Slug: "pipedrive", AccountURL: "https://api.pipedrive.com"},
}

// Options configure a Server.
type Options struct {
	// APIKey is the project's API key clients must send in x-api-key.
	APIKey string
	// DashboardToken, when set, is the bearer token POST /magic_links
	// requires, as Panora's JwtAuthGuard does (a dashboard session's JWT,
	// not the API key: magic-link.controller.ts). Empty: the fake accepts
	// the API key there instead, a convenience of the fake's.
	DashboardToken string
	// WebhookSecret is the webhook endpoint's secret that signs Webhook
	// and SendWebhook (Panora makes it a UUID).
	WebhookSecret string
	// ProjectID is the API key's project (a new UUID when empty).
	ProjectID string
	// Apps are the apps the magic-link page offers (DefaultApps when
	// empty); CompleteMagicLink takes any.
	Apps []App
	// Upstreams maps a provider slug to the base URL the passthrough
	// forwards to, in place of the app's AccountURL.
	Upstreams map[string]string
	// UniqueOriginIDs makes POST /linked_users refuse (409) a second linked
	// user with the same origin id in the project. Panora has no such
	// constraint at c6741e9e (prisma/schema.prisma, model linked_users): it
	// creates a duplicate, as the fake does by default.
	UniqueOriginIDs bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the fake Panora. Its zero value is not usable; call New.
type Server struct {
	opts Options

	mu        sync.Mutex
	publicURL string
	users     []*linkedUser // creation order, every project's
	links     map[string]*inviteLink
	conns     []*connection // creation order, every project's
	jobs      map[string]*retryJob
	jobOrder  []string
	limitNext int
	faults    fakefault.Set
	counts    []requestRecord
	upstreams map[string]string

	ts *httptest.Server
}

type linkedUser struct {
	ID, OriginID, Alias, Project string
}

type inviteLink struct {
	ID, Status, Email, LinkedUser string
}

type connection struct {
	ID, Status, Slug, Vertical, AccountURL, TokenType string
	AccessToken, RefreshToken                         string // the provider's, as the upstream sees it
	Expires, Created                                  time.Time
	Token                                             string // connection_token
	Project, LinkedUser                               string
}

type requestRecord struct{ method, path string }

// New returns an unstarted fake. Serve its Handler, or call Start.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ProjectID == "" {
		opts.ProjectID = uuid.NewString()
	}
	if len(opts.Apps) == 0 {
		opts.Apps = DefaultApps
	}
	s := &Server{opts: opts, links: map[string]*inviteLink{}, jobs: map[string]*retryJob{}, upstreams: map[string]string{}}
	for slug, u := range opts.Upstreams {
		s.upstreams[slug] = strings.TrimRight(u, "/")
	}
	return s
}

// ProjectID is the API key's project.
func (s *Server) ProjectID() string { return s.opts.ProjectID }

// SetUpstream sets the base URL the passthrough forwards to for a provider
// slug.
func (s *Server) SetUpstream(slug, baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upstreams[slug] = strings.TrimRight(baseURL, "/")
}

// SetPublicURL sets the base URL clients see the fake at; magic-link pages
// are served under it.
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

// ConnectURL is where the fake serves its magic-link page: the connect host
// of the panora adapter (its Options.ConnectHost), as
// https://connect.panora.dev is Panora's cloud's.
func (s *Server) ConnectURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicURL + ConnectPath
}

// Connection is a connection of the fake's, as a test sees it.
type Connection struct {
	ID              string
	Status          string
	Vertical, Slug  string
	ConnectionToken string
	LinkedUserID    string
	ProjectID       string
}

func (c *connection) public() Connection {
	return Connection{ID: c.ID, Status: c.Status, Vertical: c.Vertical, Slug: c.Slug, ConnectionToken: c.Token, LinkedUserID: c.LinkedUser, ProjectID: c.Project}
}

// LinkedUsers returns the ids of the project's linked users with originID,
// in creation order.
func (s *Server) LinkedUsers(originID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, u := range s.users {
		if u.OriginID == originID && u.Project == s.opts.ProjectID {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// AddLinkedUser adds a linked user with originID to the project, as a
// second container's concurrent POST /linked_users would, and returns its
// id.
func (s *Server) AddLinkedUser(originID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(originID, "", s.opts.ProjectID).ID
}

// AddForeignLinkedUser adds a linked user with originID to another Panora
// project (another customer's), and returns its id. Panora's lookup by
// origin id (GET /linked_users/fromRemoteId) finds it, as Panora's does:
// the lookup is not bound to the API key's project.
func (s *Server) AddForeignLinkedUser(originID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(originID, "", uuid.NewString()).ID
}

func (s *Server) addUserLocked(origin, alias, project string) *linkedUser {
	u := &linkedUser{ID: uuid.NewString(), OriginID: origin, Alias: alias, Project: project}
	s.users = append(s.users, u)
	return u
}

// CompleteMagicLink is the user connecting the app (vertical, slug) on the
// page of magic link linkID: Panora's OAuth callback for the link's linked
// user (packages/api/src/@core/connections/crm/services/hubspot/
// hubspot.service.ts, handleCallback, and its siblings): the linked user's
// existing connection to the app is updated in place (same id and
// connection token, status valid), else a connection is made with a new
// connection token.
func (s *Server) CompleteMagicLink(linkID, vertical, slug string) (Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkID]
	if !ok {
		return Connection{}, errUnknownLink
	}
	var u *linkedUser
	for _, x := range s.users {
		if x.ID == l.LinkedUser {
			u = x
		}
	}
	if u == nil {
		return Connection{}, errUnknownLink
	}
	now := s.opts.Now().UTC()
	for _, c := range s.conns {
		if c.LinkedUser == u.ID && c.Slug == slug && c.Vertical == vertical {
			c.Status, c.AccessToken, c.RefreshToken = "valid", "upstream-"+randomHex(12), "refresh-"+randomHex(12)
			c.Expires, c.Created = now.Add(time.Hour), now
			return c.public(), nil
		}
	}
	account := ""
	for _, a := range s.opts.Apps {
		if a.Vertical == vertical && a.Slug == slug {
			account = a.AccountURL
		}
	}
	c := &connection{
		ID: uuid.NewString(), Status: "valid", Slug: slug, Vertical: vertical, AccountURL: account, TokenType: "oauth2",
		AccessToken: "upstream-" + randomHex(12), RefreshToken: "refresh-" + randomHex(12),
		Expires: now.Add(time.Hour), Created: now, Token: uuid.NewString(), Project: u.Project, LinkedUser: u.ID,
	}
	s.conns = append(s.conns, c)
	return c.public(), nil // the link stays usable, as Panora's (its status is never updated)
}

// MakeConnection makes a connection to (vertical, slug) for the project's
// (first) linked user with originID, creating the linked user when there is
// none, without a magic link.
func (s *Server) MakeConnection(originID, vertical, slug string) (Connection, error) {
	s.mu.Lock()
	var u *linkedUser
	for _, x := range s.users {
		if x.OriginID == originID && x.Project == s.opts.ProjectID && u == nil {
			u = x
		}
	}
	if u == nil {
		u = s.addUserLocked(originID, "", s.opts.ProjectID)
	}
	s.mu.Unlock()
	return s.ConnectLinkedUser(u.ID, vertical, slug)
}

// ConnectLinkedUser makes a connection to (vertical, slug) for the linked
// user with id linkedUserID, as a magic link of theirs would.
func (s *Server) ConnectLinkedUser(linkedUserID, vertical, slug string) (Connection, error) {
	id := uuid.NewString()
	s.mu.Lock()
	s.links[id] = &inviteLink{ID: id, Status: "generated", LinkedUser: linkedUserID}
	s.mu.Unlock()
	return s.CompleteMagicLink(id, vertical, slug)
}

// SetStatus sets a connection's status ("valid" works; anything else, such
// as "invalid", does not).
func (s *Server) SetStatus(connectionID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.ID == connectionID {
			c.Status = status
		}
	}
}

// Connections returns the project's connections.
func (s *Server) Connections() []Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Connection
	for _, c := range s.conns {
		if c.Project == s.opts.ProjectID {
			out = append(out, c.public())
		}
	}
	return out
}

// UpstreamToken is the provider's access token of a connection, as the
// upstream receives it (Authorization: Bearer) from the passthrough.
func (s *Server) UpstreamToken(connectionID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.ID == connectionID {
			return c.AccessToken
		}
	}
	return ""
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
