package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/nangofake"
)

// The attacks of the 2026-12 review, each through the running API: one
// provider connection has one owner whatever is sent, by whom and how often.

// TestCrossTenantWebhookCannotClaimAConnection: a Nango-signed creation or
// override webhook for userA1's connection whose tags (or end user) name a
// user of another organization answers 200, creates nothing in that
// organization, leaves userA1's connection working at Nango, and is audited
// in both organizations.
func TestCrossTenantWebhookCannotClaimAConnection(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		attacker := e.token(t, userB1, orgB)
		before := e.snapshot(t)
		for _, op := range []string{"creation", "override"} {
			if resp := e.webhook(t, webhookBody(t, op, true, s.a1.ID, userB1, orgB), webhookKey, nil); resp.StatusCode != 200 {
				t.Fatalf("%s webhook: %d %s", op, resp.StatusCode, resp.Body)
			}
		}
		e.unchanged(t, before)
		if resp := e.get(t, attacker, s.a1.ID); resp.StatusCode != 404 {
			t.Errorf("the other tenant GETs the connection: %d", resp.StatusCode)
		}
		refresh := request{Fn: "nango-refresh", Token: attacker, Params: map[string]string{"provider": "slack"}, Body: `{"connectionId":"` + s.a1.ID + `"}`}
		if resp := e.Do(t, refresh); resp.StatusCode != 404 {
			t.Errorf("the other tenant refreshes the connection: %d", resp.StatusCode)
		}
		del := request{Fn: "nango-delete-connection", Token: attacker, Params: map[string]string{"connectionId": s.a1.ID}}
		if resp := e.Do(t, del); resp.StatusCode != 404 {
			t.Errorf("the other tenant deletes the connection: %d", resp.StatusCode)
		}
		own := request{Fn: "nango-refresh", Token: e.token(t, userA1, orgA), Params: map[string]string{"provider": "slack"}, Body: `{"connectionId":"` + s.a1.ID + `"}`}
		if resp := e.Do(t, own); resp.StatusCode != 200 {
			t.Errorf("the owner's refresh after the attack: %d %s", resp.StatusCode, resp.Body)
		}
		for _, org := range []string{orgA, orgB} {
			if n := securityEvents(t, e, org); n != 2 {
				t.Errorf("%s: %d security events in the audit log, want 2", org, n)
			}
		}
	})
}

// TestCallbackCannotClaimAnotherTenantsConnection: a user of another
// organization who completes a flow of their own and sends its state with
// userA1's Nango connection id is refused, and nothing is stored.
func TestCallbackCannotClaimAnotherTenantsConnection(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		a := e.authorize(t, e.token(t, userB1, orgB), "slack", "")
		before := e.snapshot(t)
		resp := e.callback(t, "slack", a.State, s.a1.ID)
		if resp.StatusCode != 403 {
			t.Fatalf("callback with another tenant's connection: %d %s", resp.StatusCode, resp.Body)
		}
		e.unchanged(t, before)
	})
}

// TestAdminCannotReconnectAMembersConnection: reconnect is the owner's. An
// admin's authorize for a member's connection is 403 and asks Nango for
// nothing; the owner's reconnect still works afterwards.
func TestAdminCannotReconnectAMembersConnection(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		sessions := e.Nango.Requests(http.MethodPost, "/connect/sessions")
		admin := e.token(t, userA2, orgA, "admin")
		resp := e.expectError(t, request{Fn: "nango-authorize", Token: admin, Params: map[string]string{"provider": "slack"}, Query: "connection_id=" + s.a1.ID}, 403, connectors.EForbidden)
		if !strings.Contains(resp.Body, "owner") {
			t.Errorf("the refusal does not say why: %s", resp.Body)
		}
		if n := e.Nango.Requests(http.MethodPost, "/connect/sessions"); n != sessions {
			t.Errorf("Nango got %d session requests for a refused reconnect", n-sessions)
		}
		a := e.authorize(t, e.token(t, userA1, orgA), "slack", "connection_id="+s.a1.ID)
		id := e.ConnectAtFake(t, a)
		if resp := e.callback(t, "slack", a.State, id); resp.StatusCode != 200 {
			t.Fatalf("the owner's reconnect: %d %s", resp.StatusCode, resp.Body)
		}
	})
}

// TestConcurrentIdenticalWebhooksAllAnswer2xx: every delivery of one
// signed event answers 200 (a non-2xx makes Nango send it again), and there
// is one record.
func TestConcurrentIdenticalWebhooksAllAnswer2xx(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		id := e.ConnectAtFake(t, e.authorize(t, e.token(t, userA1, orgA), "slack", ""))
		body := webhookBody(t, "creation", true, id, userA1, orgA)
		const deliveries = 20
		statuses := make([]int, deliveries)
		var wg sync.WaitGroup
		for i := range deliveries {
			wg.Go(func() { statuses[i] = e.webhook(t, body, webhookKey, nil).StatusCode })
		}
		wg.Wait()
		for i, st := range statuses {
			if st != 200 {
				t.Errorf("delivery %d: %d", i, st)
			}
		}
		ids, _ := e.list(t, e.token(t, userA1, orgA), "")
		if len(ids) != 1 || ids[0] != id {
			t.Errorf("records after %d deliveries: %v", deliveries, ids)
		}
	})
}

// TestConcurrentRefreshesCoalesce: 50 concurrent refreshes of one
// connection all answer 200 with the same refresh, and Nango is asked once.
func TestConcurrentRefreshesCoalesce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		c := e.connect(t, userA1, orgA, "slack")
		tok := e.token(t, userA1, orgA)
		// A slow Nango keeps the first refresh in flight while the others
		// arrive.
		e.Nango.Inject(nangofake.Fault{Method: http.MethodGet, Path: "/connections/", Latency: 500 * time.Millisecond})
		gets := e.Nango.Requests(http.MethodGet, "/connections/")
		const callers = 50
		statuses := make([]int, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				statuses[i] = e.Do(t, request{Fn: "nango-refresh", Token: tok, Params: map[string]string{"provider": "slack"}, Body: `{"connectionId":"` + c.ID + `"}`}).StatusCode
			})
		}
		wg.Wait()
		e.Nango.ClearFaults()
		for i, st := range statuses {
			if st != 200 {
				t.Errorf("caller %d: %d", i, st)
			}
		}
		if n := e.Nango.Requests(http.MethodGet, "/connections/") - gets; n != 1 {
			t.Errorf("Nango was asked %d times for %d concurrent refreshes, want 1", n, callers)
		}
	})
}

// TestPrincipalIDsAreValidatedFirst: a valid token whose user or
// organization id no connection could carry (over Nango's 255-character tag
// limit, control characters) is 403 naming the claim, before any work.
func TestPrincipalIDsAreValidatedFirst(t *testing.T) {
	e := newEnv(t, "bolt")
	sessions := e.Nango.Requests("", "/")
	for _, tc := range []struct{ name, user, org, claim string }{
		{"sub of 256 characters", strings.Repeat("u", 256), orgA, "sub"},
		{"organization of 256 characters", userA1, strings.Repeat("o", 256), "org_id"},
		{"sub with NUL", "user\x00a1", orgA, "sub"},
		{"organization with a newline", userA1, "org-a\nadmin", "org_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.expectError(t, request{Fn: "nango-authorize", Token: e.token(t, tc.user, tc.org), Params: map[string]string{"provider": "slack"}}, 403, connectors.EForbidden)
			if !strings.Contains(resp.Body, tc.claim+" claim") {
				t.Errorf("the refusal does not name the %s claim: %s", tc.claim, resp.Body)
			}
		})
	}
	if n := e.Nango.Requests("", "/") - sessions; n != 0 {
		t.Errorf("Nango got %d requests for refused tokens", n)
	}
}

// TestBadWebhookIDsAreNotErrors: a signed webhook whose ids hold NUL or
// are too long is 400, and no ERROR line is logged for it.
func TestBadWebhookIDsAreNotErrors(t *testing.T) {
	e := newEnv(t, "bolt")
	for i, tc := range []struct{ conn, user, org string }{
		{"c1", userA1, "org\x00a"},
		{"c1", "user\x00", orgA},
		{"c\x001", userA1, orgA},
		{"c1", userA1, strings.Repeat("o", 300)},
	} {
		before := e.Logs.String()
		resp := e.webhook(t, webhookBody(t, "creation", true, tc.conn, tc.user, tc.org), webhookKey, nil)
		if resp.StatusCode != 400 {
			t.Errorf("case %d: %d %s, want 400", i, resp.StatusCode, resp.Body)
		}
		if added := strings.TrimPrefix(e.Logs.String(), before); strings.Contains(added, `"level":"ERROR"`) {
			t.Errorf("case %d: bad input logged at ERROR:\n%s", i, added)
		}
	}
}

// securityEvents counts the security events of org's audit log.
func securityEvents(t *testing.T, e *env, org string) int {
	t.Helper()
	events, err := e.Store.ListAudit(t.Context(), org, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Action == "security" {
			n++
			if strings.Contains(fmt.Sprint(ev), "token") {
				t.Errorf("a security event mentions a token: %+v", ev)
			}
		}
	}
	return n
}
