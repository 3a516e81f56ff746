package panora_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/panorafake"
)

const (
	org  = "org_456"
	user = "user_123"
)

func origin(orgID, userID string) string {
	return panora.OriginID(panora.DefaultOriginPrefix, orgID, userID)
}

// connect runs Connect for (orgID, userID) and the user's visit of the
// magic link, connecting (vertical, slug) there; it returns the link's id
// and Panora's connection.
func (e *env) connect(t testing.TB, orgID, userID, vertical, slug string) (string, panorafake.Connection) {
	t.Helper()
	flow, err := e.provider.Connect(context.Background(), connectors.ConnectRequest{Connector: "hubspot", OrganizationID: orgID, UserID: userID, State: "s", Nonce: "n"})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	u, err := url.Parse(flow.AuthorizationURL)
	if err != nil || !strings.HasPrefix(flow.AuthorizationURL, e.fake.ConnectURL()+"/?uniqueLink=") {
		t.Fatalf("authorization URL %q", flow.AuthorizationURL)
	}
	id := u.Query().Get("uniqueLink")
	c, err := e.fake.CompleteMagicLink(id, vertical, slug)
	if err != nil {
		t.Fatalf("CompleteMagicLink: %v", err)
	}
	return id, c
}

func complete(p *panora.Provider, orgID, userID, connectionID string) (*connectors.Grant, error) {
	return p.Complete(context.Background(), connectors.CompleteRequest{
		Connector: "hubspot", ProviderConfigKey: "hubspot", OrganizationID: orgID, UserID: userID, ConnectionID: connectionID,
	})
}

// TestConnectCompleteGrantProxy is the whole path: a linked user, a magic
// link, the user connecting HubSpot on Panora's page, the callback's
// Complete, the executor's Grant, and a request through the passthrough.
func TestConnectCompleteGrantProxy(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	linkID, pc := e.connect(t, org, user, "crm", "hubspot")

	ids := e.fake.LinkedUsers(origin(org, user))
	if len(ids) != 1 || pc.LinkedUserID != ids[0] || pc.ProjectID != e.fake.ProjectID() {
		t.Fatalf("linked users %v, connection %+v", ids, pc)
	}
	if linkID == "" {
		t.Fatal("no magic link id")
	}

	for _, id := range []string{pc.ID, ""} { // named by the callback, or found
		g, err := complete(e.provider, org, user, id)
		if err != nil {
			t.Fatalf("Complete(%q): %v", id, err)
		}
		if g.ConnectionID != pc.ID || g.Owner == nil || g.Owner.OrganizationID != org || g.Owner.UserID != user ||
			g.Token == nil || g.Token.AccessToken != pc.ConnectionToken || !g.Credentials.ViaProxy ||
			g.Credentials.AccessToken != pc.ConnectionToken || g.ProviderConfigKey != "hubspot" || g.CheckAt.IsZero() {
			t.Fatalf("Complete(%q) = %+v", id, g)
		}
		if s := fmt.Sprintf("%v %+v %#v", g, g, g.Credentials); strings.Contains(s, pc.ConnectionToken) {
			t.Errorf("the grant prints the connection token: %s", s)
		}
	}

	// The executor's read: the held token, no call to Panora.
	c := &connectors.Connection{ID: pc.ID, OrganizationID: org, UserID: user, Connector: "hubspot", AuthProvider: connectors.ProviderPanora, ProviderConfigKey: "hubspot"}
	before := e.fake.Requests("", "/")
	held := &connectors.Token{AccessToken: pc.ConnectionToken}
	g, err := e.provider.Grant(ctx, c, held, false)
	if err != nil || g.Credentials.AccessToken != pc.ConnectionToken || !g.Credentials.ViaProxy || g.Token.AccessToken != pc.ConnectionToken {
		t.Fatalf("Grant(held) = %+v, %v", g, err)
	}
	if n := e.fake.Requests("", "/") - before; n != 0 {
		t.Errorf("Grant with a held token called Panora %d times", n)
	}
	// A refresh reads the status back, and the owner.
	g, err = e.provider.Grant(ctx, c, held, true)
	if err != nil || g.Token == nil || g.Token.AccessToken != pc.ConnectionToken || g.Owner == nil || g.Owner.UserID != user || g.Owner.OrganizationID != org {
		t.Fatalf("Grant(refresh) = %+v, %v", g, err)
	}
	// The webhook's read-back: no held token.
	if g, err := e.provider.Grant(ctx, &connectors.Connection{ID: pc.ID, Connector: "hubspot"}, nil, false); err != nil || g.Owner.OrganizationID != org || g.State != "" {
		t.Fatalf("Grant(nil) = %+v, %v", g, err)
	}

	// The passthrough, with the grant's credentials.
	px := e.provider.ProxyFor(g.Credentials)
	status, h, body, err := px.Proxy(ctx, connectors.ProxyCall{
		Method: "POST", Path: "/crm/v3/objects/contacts", Query: url.Values{"archived": {"false"}},
		Header: http.Header{"X-Trace": {"t1"}, "Authorization": {"Bearer stolen"}},
		Body:   []byte(`{"properties":{"email":"ada@example.com"}}`),
	})
	if err != nil || status != 200 {
		t.Fatalf("Proxy = %d, %v", status, err)
	}
	var echo map[string]string
	if err := json.Unmarshal(body, &echo); err != nil || echo["path"] != "/crm/v3/objects/contacts" || echo["query"] != "archived=false" {
		t.Errorf("body %s (%v)", body, err)
	}
	if h.Get("X-Hubspot-Request") != "r1" || h.Get("Content-Type") != "application/json" || h.Get("Content-Length") != "" {
		t.Errorf("headers %v", h)
	}
	r, sent := e.up.last()
	if r.Method != "POST" || r.Header.Get("Authorization") != "Bearer "+e.fake.UpstreamToken(pc.ID) || r.Header.Get("X-Trace") != "t1" ||
		sent != `{"properties":{"email":"ada@example.com"}}` {
		t.Errorf("HubSpot got %s %v %q", r.Method, r.Header, sent)
	}
	// The provider's error: its status, as Panora reports it.
	e.up.setStatus(404)
	if status, _, _, err := px.Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/crm/v3/objects/contacts/9"}); err != nil || status != 404 {
		t.Errorf("upstream 404: %d, %v", status, err)
	}
	e.up.setStatus(0)

	// Revoke: nothing to delete at Panora; said so.
	detail, err := e.provider.Revoke(ctx, c, held)
	if err != nil || !strings.Contains(detail, "stays at Panora") {
		t.Errorf("Revoke = %q, %v", detail, err)
	}
	if len(e.fake.Connections()) != 1 {
		t.Errorf("Revoke changed Panora's connections")
	}
}

// TestLinkedUserCreatedOnce: connects of one user (again, and at once) make
// one linked user; another user gets their own.
func TestLinkedUserCreatedOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	req := connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := e.provider.Connect(ctx, req)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.provider.Connect(ctx, req); err != nil {
		t.Fatal(err)
	}
	if ids := e.fake.LinkedUsers(origin(org, user)); len(ids) != 1 {
		t.Errorf("%d linked users for one user", len(ids))
	}
	if n := e.fake.Requests("POST", "/linked_users"); n != 1 {
		t.Errorf("%d POST /linked_users", n)
	}
	// A new container (no cache) finds it again.
	p2 := panora.NewProvider(e.client, panora.Options{ConnectHost: e.fake.ConnectURL()})
	if _, err := p2.Connect(ctx, req); err != nil {
		t.Fatal(err)
	}
	if ids := e.fake.LinkedUsers(origin(org, user)); len(ids) != 1 {
		t.Errorf("a second container made another linked user: %v", ids)
	}
	// Ids that would collide if joined naively do not.
	if _, err := e.provider.Connect(ctx, connectors.ConnectRequest{Connector: "hubspot", OrganizationID: "org_456/user", UserID: "123"}); err != nil {
		t.Fatal(err)
	}
	if ids := e.fake.LinkedUsers(origin("org_456/user", "123")); len(ids) != 1 {
		t.Errorf("linked users of the look-alike: %v", ids)
	}
	if n := e.fake.Requests("POST", "/linked_users"); n != 2 {
		t.Errorf("%d POST /linked_users, want 2", n)
	}
}

// conflictOnce is a Panora whose first lookup misses a linked user that
// another container has just created: the create then conflicts.
type conflictOnce struct {
	*panora.Client
	mu     sync.Mutex
	missed bool
}

func (c *conflictOnce) LinkedUserByOrigin(ctx context.Context, o string) (*panora.LinkedUser, error) {
	c.mu.Lock()
	first := !c.missed
	c.missed = true
	c.mu.Unlock()
	if first {
		return nil, &panora.APIError{Op: "GET /linked_users/fromRemoteId", Status: 404}
	}
	return c.Client.LinkedUserByOrigin(ctx, o)
}

func TestLinkedUserConflictReReads(t *testing.T) {
	e := newEnv(t, envOptions{fake: panorafake.Options{UniqueOriginIDs: true}})
	existing := e.fake.AddLinkedUser(origin(org, user))
	p := panora.NewProvider(&conflictOnce{Client: e.client}, panora.Options{ConnectHost: e.fake.ConnectURL()})
	if _, err := p.Connect(context.Background(), connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user}); err != nil {
		t.Fatalf("Connect after a conflict: %v", err)
	}
	if ids := e.fake.LinkedUsers(origin(org, user)); len(ids) != 1 || ids[0] != existing {
		t.Errorf("linked users %v, want only %s", ids, existing)
	}
	if n := e.fake.Requests("POST", "/linked_users"); n != 1 {
		t.Errorf("%d creates, want the one that conflicted", n)
	}
}

// TestForeignLinkedUserIgnored: Panora's lookup by origin id searches every
// project; another project's linked user with our origin id is never used
// (its project would receive the user's connection).
func TestForeignLinkedUserIgnored(t *testing.T) {
	for _, known := range []bool{false, true} {
		t.Run(fmt.Sprintf("project known %v", known), func(t *testing.T) {
			var o envOptions
			e := newEnv(t, o)
			if known {
				e.provider = panora.NewProvider(e.client, panora.Options{ConnectHost: e.fake.ConnectURL(), ProjectID: e.fake.ProjectID()})
			}
			e.fake.AddForeignLinkedUser(origin(org, user))
			_, pc := e.connect(t, org, user, "crm", "hubspot")
			if pc.ProjectID != e.fake.ProjectID() {
				t.Fatalf("the connection went to project %s", pc.ProjectID)
			}
			ids := e.fake.LinkedUsers(origin(org, user))
			if len(ids) != 1 || ids[0] != pc.LinkedUserID {
				t.Errorf("our project's linked users %v, connection's %s", ids, pc.LinkedUserID)
			}
			if _, err := complete(e.provider, org, user, pc.ID); err != nil {
				t.Errorf("Complete: %v", err)
			}
			// A second connect, from a fresh container, still uses ours.
			p2 := panora.NewProvider(e.client, panora.Options{ConnectHost: e.fake.ConnectURL()})
			if _, err := p2.Connect(context.Background(), connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user}); err != nil {
				t.Fatal(err)
			}
			if ids := e.fake.LinkedUsers(origin(org, user)); len(ids) != 1 {
				t.Errorf("linked users %v", ids)
			}
		})
	}
}

// TestDuplicateLinkedUserAccepted: two containers created a linked user
// each; a connection filed under the other one is still the user's.
func TestDuplicateLinkedUserAccepted(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.provider.Connect(ctx, connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user}); err != nil {
		t.Fatal(err)
	}
	dup := e.fake.AddLinkedUser(origin(org, user))
	// The duplicate makes the connection (its magic link took it).
	pc, err := e.fake.ConnectLinkedUser(dup, "crm", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{pc.ID, ""} {
		g, err := complete(e.provider, org, user, id)
		if err != nil || g.ConnectionID != pc.ID {
			t.Fatalf("Complete(%q) = %+v, %v", id, g, err)
		}
	}
	// Another user's duplicate-looking linked user is not ours.
	other := e.fake.AddLinkedUser(origin(org, "user_999"))
	theirs, err := e.fake.ConnectLinkedUser(other, "crm", "salesforce")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider.Complete(ctx, connectors.CompleteRequest{Connector: "salesforce", OrganizationID: org, UserID: user, ConnectionID: theirs.ID}); code(err) != connectors.EForbidden {
		t.Errorf("another user's: %v", err)
	}
}

// TestAnotherUsersConnection: a callback that names another user's
// connection gets nothing.
func TestAnotherUsersConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, mine := e.connect(t, org, user, "crm", "hubspot")
	_, theirs := e.connect(t, org, "user_999", "crm", "hubspot")

	for _, tt := range []struct {
		name, org, user, id, want string
	}{
		{"another user's, named", org, user, theirs.ID, connectors.EForbidden},
		{"another organization's user", "org_other", user, mine.ID, connectors.EForbidden},
		{"a user with no linked user names one", org, "user_new", mine.ID, connectors.EForbidden},
		{"missing", org, user, "5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0", connectors.ENotFound},
		{"none yet", org, "user_new", "", connectors.ENotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := complete(e.provider, tt.org, tt.user, tt.id)
			if g != nil || code(err) != tt.want {
				t.Errorf("Complete = %+v, %v; want %s", g, err, tt.want)
			}
			noSecrets(t, err, mine.ConnectionToken, theirs.ConnectionToken)
		})
	}
	// Not found by search either: user_999's is not user_123's.
	if g, err := complete(e.provider, org, user, ""); err != nil || g.ConnectionID != mine.ID {
		t.Errorf("search found %+v, %v", g, err)
	}
}

// TestUserPicksAnotherApp: the magic link's page offers every app; a
// connection of another app is not the connector's.
func TestUserPicksAnotherApp(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "pipedrive")
	for _, id := range []string{"", pc.ID} {
		if g, err := complete(e.provider, org, user, id); g != nil || code(err) != connectors.ENotFound {
			t.Errorf("Complete(%q) = %+v, %v", id, g, err)
		}
	}
}

func TestStatusNotValid(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "hubspot")
	e.fake.SetStatus(pc.ID, "invalid")
	c := &connectors.Connection{ID: pc.ID, Connector: "hubspot", OrganizationID: org, UserID: user}
	if _, err := e.provider.Grant(context.Background(), c, &connectors.Token{AccessToken: pc.ConnectionToken}, true); code(err) != connectors.EReauthRequired {
		t.Errorf("Grant(refresh) of an invalid connection: %v", err)
	}
	if _, err := complete(e.provider, org, user, pc.ID); code(err) != connectors.EReauthRequired {
		t.Errorf("Complete of an invalid connection: %v", err)
	}
	if _, err := complete(e.provider, org, user, ""); code(err) != connectors.ENotFound {
		t.Errorf("search for a valid connection: %v", err)
	}
	if _, err := e.provider.Grant(context.Background(), &connectors.Connection{ID: "5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0", Connector: "hubspot"}, nil, true); code(err) != connectors.ENotFound {
		t.Errorf("Grant of a connection Panora does not have: %v", err)
	}
}

func TestProxyNeedsTheToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, _, _, err := e.provider.Proxy(&connectors.Connection{ID: "c"}, connectors.Credentials{}).Proxy(context.Background(), connectors.ProxyCall{Method: "GET", Path: "/x"})
	if code(err) != connectors.EInternal || !strings.Contains(err.Error(), "panora: proxy needs the connection token") {
		t.Errorf("Proxy(c) = %v", err)
	}
	if _, _, _, err := e.provider.ProxyFor(connectors.Credentials{AccessToken: "t"}).Proxy(context.Background(), connectors.ProxyCall{}); code(err) != connectors.EInternal {
		t.Errorf("ProxyFor credentials that are not Panora's: %v", err)
	}
}

func TestProxyRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "hubspot")
	px := e.provider.ProxyWith(pc.ConnectionToken)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		call connectors.ProxyCall
		want string
	}{
		{"PATCH", connectors.ProxyCall{Method: "PATCH", Path: "/crm/v3/objects/contacts/1", Body: []byte(`{}`)}, connectors.ENotImplemented},
		{"DELETE", connectors.ProxyCall{Method: "DELETE", Path: "/crm/v3/objects/contacts/1"}, connectors.ENotImplemented},
		{"array body", connectors.ProxyCall{Method: "POST", Path: "/x", Body: []byte(`[1]`)}, connectors.EInvalid},
		{"form body", connectors.ProxyCall{Method: "POST", Path: "/x", Body: []byte(`a=1`)}, connectors.EInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := e.fake.Requests("POST", "/passthrough")
			if _, _, _, err := px.Proxy(ctx, tt.call); code(err) != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
			if e.fake.Requests("POST", "/passthrough") != n {
				t.Errorf("a refused call reached Panora")
			}
		})
	}
	// An unknown connection token: Panora's 500 names it; the error does not.
	unknown := "5e2b6d57-6c1a-4c3f-9f57-1b7ad2b1f6a0"
	_, _, _, err := e.provider.ProxyWith(unknown).Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/x"})
	if code(err) != connectors.ENotFound {
		t.Errorf("unknown token: %v", err)
	}
	noSecrets(t, err, unknown)
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("unknown token error %q: want Panora's message, scrubbed", err)
	}
}

// TestRateLimited: a provider's 429 is queued by Panora; the adapter says
// rate limited, with a retry time, and the queued request's outcome can be
// read back.
func TestRateLimited(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "hubspot")
	px := e.provider.ProxyWith(pc.ConnectionToken)
	ctx := context.Background()
	call := connectors.ProxyCall{Method: "POST", Path: "/crm/v3/objects/contacts", Body: []byte(`{"properties":{}}`)}

	check := func(err error) string {
		t.Helper()
		var de *connectors.Error
		if !errors.As(err, &de) || de.Code != connectors.ERateLimited || de.RetryAfter != panora.QueuedRetryAfter {
			t.Fatalf("got %v, want rate_limited after %v", err, panora.QueuedRetryAfter)
		}
		noSecrets(t, err, pc.ConnectionToken)
		var q *panora.QueuedError
		if !errors.As(err, &q) || q.RetryID == "" {
			t.Fatalf("no retry id in %v", err)
		}
		return q.RetryID
	}
	// The hook: the next passthrough answers the queued form.
	e.fake.RateLimitNext(1)
	_, _, _, err := px.Proxy(ctx, call)
	check(err)
	// The provider itself answering 429: the same.
	e.up.setStatus(429)
	_, _, _, err = px.Proxy(ctx, call)
	retry := check(err)
	if _, done, err := e.client.RetriedResponse(ctx, retry); done || err != nil {
		t.Errorf("RetriedResponse before the retry: done=%v %v", done, err)
	}
	e.up.setStatus(0)
	e.fake.RunRetries(ctx) // Panora sends it again itself
	resp, done, err := e.client.RetriedResponse(ctx, retry)
	if err != nil || !done || resp.Status != 200 || !strings.Contains(string(resp.Body), `"id":"101"`) {
		t.Errorf("RetriedResponse = %+v, %v, %v", resp, done, err)
	}

	// Panora's own 429, with a Retry-After that outlives the caller: no
	// wait, rate limited with Panora's wait.
	e.fake.Inject(panorafake.Fault{Path: "/connections", Status: 429, RetryAfter: "7"})
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	before := e.fake.Requests("GET", "/connections")
	_, err = e.provider.Grant(dctx, &connectors.Connection{ID: pc.ID, Connector: "hubspot"}, nil, true)
	var de *connectors.Error
	if !errors.As(err, &de) || de.Code != connectors.ERateLimited || de.RetryAfter != 7*time.Second {
		t.Fatalf("Panora's 429: %v", err)
	}
	if n := e.fake.Requests("GET", "/connections") - before; n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestPanoraDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "hubspot")
	ctx := context.Background()
	c := &connectors.Connection{ID: pc.ID, Connector: "hubspot", OrganizationID: org, UserID: user}

	// 500 on reads: retried, then a temporary upstream error.
	e.fake.Inject(panorafake.Fault{Path: "/connections", Status: 500, Message: "Internal server error"})
	before := e.fake.Requests("GET", "/connections")
	_, err := e.provider.Grant(ctx, c, nil, true)
	if code(err) != connectors.EUpstream || !connectors.IsTemporary(err) {
		t.Errorf("500: %v", err)
	}
	if n := e.fake.Requests("GET", "/connections") - before; n != 1+panora.DefaultMaxRetries {
		t.Errorf("%d attempts of GET /connections, want %d", n, 1+panora.DefaultMaxRetries)
	}
	// 500 on the passthrough: not retried (its upstream effects are unknown).
	e.fake.Inject(panorafake.Fault{Path: "/passthrough", Status: 500, Message: "Internal server error"})
	before = e.fake.Requests("POST", "/passthrough")
	_, _, _, err = e.provider.ProxyWith(pc.ConnectionToken).Proxy(ctx, connectors.ProxyCall{Method: "POST", Path: "/x", Body: []byte(`{}`)})
	if code(err) != connectors.EUpstream || e.fake.Requests("POST", "/passthrough")-before != 1 {
		t.Errorf("passthrough 500: %v, %d attempts", err, e.fake.Requests("POST", "/passthrough")-before)
	}
	e.fake.ClearFaults()

	// A wrong API key: not configured, no key in the error.
	bad := panora.NewProvider(panora.New(e.url, "sk_wrong_key_0000", panora.WithHTTPClient(&http.Client{Transport: e.v})), panora.Options{})
	_, err = bad.Connect(ctx, connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user})
	if code(err) != connectors.ENotConfigured {
		t.Errorf("wrong key: %v", err)
	}
	noSecrets(t, err, "sk_wrong_key_0000")

	// Magic links without the dashboard token: Panora refuses the API key.
	noDash := panora.NewProvider(panora.New(e.url, apiKey, panora.WithHTTPClient(&http.Client{Transport: e.v})), panora.Options{})
	_, err = noDash.Connect(ctx, connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user})
	if code(err) != connectors.ENotConfigured || !strings.Contains(err.Error(), "dashboard token") {
		t.Errorf("magic link without the dashboard token: %v", err)
	}
	noSecrets(t, err)

	// Panora gone: unavailable, for every call.
	e.fake.Close()
	down := panora.NewProvider(panora.New(e.url, apiKey, panora.WithBackoff(time.Millisecond, time.Millisecond)), panora.Options{})
	if _, err := down.Connect(ctx, connectors.ConnectRequest{Connector: "hubspot", OrganizationID: org, UserID: user}); code(err) != connectors.EUnavailable {
		t.Errorf("Connect, Panora down: %v", err)
	}
	if _, err := down.Grant(ctx, c, nil, true); code(err) != connectors.EUnavailable {
		t.Errorf("Grant, Panora down: %v", err)
	}
	_, _, _, err = down.ProxyWith(pc.ConnectionToken).Proxy(ctx, connectors.ProxyCall{Method: "GET", Path: "/x"})
	if code(err) != connectors.EUnavailable {
		t.Errorf("Proxy, Panora down: %v", err)
	}
	noSecrets(t, err, pc.ConnectionToken)
	if _, err := complete(down, org, user, pc.ID); code(err) != connectors.EUnavailable {
		t.Errorf("Complete, Panora down: %v", err)
	}
}

func TestNotServed(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, id := range []string{"slack", "asana", "gmail", "trello"} {
		if panora.Serves(id) || e.provider.Serves(id) {
			t.Errorf("Serves(%q)", id)
		}
		if _, err := e.provider.Connect(context.Background(), connectors.ConnectRequest{Connector: id, OrganizationID: org, UserID: user}); code(err) != connectors.ENotImplemented {
			t.Errorf("Connect(%s): %v", id, err)
		}
	}
	for _, id := range []string{"hubspot", "salesforce"} {
		if !panora.Serves(id) {
			t.Errorf("Serves(%q) = false", id)
		}
	}
	if got := panora.Connectors(); strings.Join(got, ",") != "hubspot,salesforce" {
		t.Errorf("Connectors() = %v", got)
	}
}

func TestNotConfigured(t *testing.T) {
	p := panora.NotConfigured
	if p.Name() != connectors.ProviderPanora {
		t.Errorf("name %q", p.Name())
	}
	_, err := p.Connect(context.Background(), connectors.ConnectRequest{})
	if code(err) != connectors.ENotConfigured || connectors.ErrorMessage(err) != "Panora is not configured: panora_api_key is not set" {
		t.Errorf("NotConfigured: %v", err)
	}
}
