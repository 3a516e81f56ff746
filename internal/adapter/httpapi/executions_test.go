package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/storetest"
)

// executionsPage is an answer of GET .../executions, decoded.
type executionsPage struct {
	ConnectionID string `json:"connectionId"`
	Executions   []struct {
		ID        string `json:"id"`
		Connector string `json:"connector"`
		Action    string `json:"action"`
		Route     struct {
			Step   int
			Target string
		}
		Outcome    string    `json:"outcome"`
		Attempts   int       `json:"attempts"`
		DurationMs int64     `json:"durationMs"`
		Time       time.Time `json:"time"`
	} `json:"executions"`
	NextCursor *string `json:"nextCursor"`
}

func executionsReq(tok, id, query string) request {
	return request{Fn: "nango-list-executions", Token: tok, Params: map[string]string{"connectionId": id}, Query: query}
}

// executions asks for one page as tok and wants it answered.
func (e *env) executions(t *testing.T, tok, id, query string) executionsPage {
	t.Helper()
	resp := e.Do(t, executionsReq(tok, id, query))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("executions of %s: status %d: %s", id, resp.StatusCode, resp.Body)
	}
	var page executionsPage
	resp.JSON(t, &page)
	return page
}

// allExecutions follows the cursors at limit a page and returns the ids.
func (e *env) allExecutions(t *testing.T, tok, id string, limit int) []string {
	t.Helper()
	var ids []string
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	for range 50 {
		page := e.executions(t, tok, id, q.Encode())
		if len(page.Executions) > limit {
			t.Fatalf("page of %d with limit %d", len(page.Executions), limit)
		}
		for _, x := range page.Executions {
			ids = append(ids, x.ID)
		}
		if page.NextCursor == nil {
			return ids
		}
		q.Set("cursor", *page.NextCursor)
	}
	t.Fatal("pagination does not end")
	return nil
}

// seedHistory records n executions of c, a minute apart, and returns their
// ids newest first.
func (e *env) seedHistory(t *testing.T, c connectionJSON, n int) []string {
	t.Helper()
	base := time.Now().UTC().Truncate(time.Millisecond)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-x%02d", c.ID, i)
		x := storetest.Execution(c.OrganizationID, c.ID, ids[i], base.Add(-time.Duration(i)*time.Minute))
		x.Connector = c.Connector
		if i%3 == 2 { // a failure before routing: the answer holds it too
			x.Outcome, x.RouteStep, x.RouteTarget, x.Attempts = "Connectors.ReauthRequired", 0, "", 0
		}
		if err := e.Store.RecordExecution(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestExecutionsAccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		mine := e.seedHistory(t, s.a1, 7)
		e.seedHistory(t, s.a2, 3)
		e.seedHistory(t, s.b1, 2)
		// userA2's hubspot connection, shared with the organization.
		if resp := e.Do(t, request{Fn: "nango-update-connection", Token: e.token(t, adminA, orgA, "admin"),
			Params: map[string]string{"connectionId": s.a2.ID}, Body: `{"shared":true}`}); resp.StatusCode != http.StatusOK {
			t.Fatalf("share: %d %s", resp.StatusCode, resp.Body)
		}

		t.Run("owner", func(t *testing.T) {
			page := e.executions(t, e.token(t, userA1, orgA), s.a1.ID, "")
			var ids []string
			for _, x := range page.Executions {
				ids = append(ids, x.ID)
			}
			if !slices.Equal(ids, mine) || page.NextCursor != nil || page.ConnectionID != s.a1.ID {
				t.Fatalf("page = %+v, want %v newest first and no cursor", page, mine)
			}
			x := page.Executions[0]
			if x.Connector != "slack" || x.Action != "send_message" || x.Route.Step != 1 || x.Route.Target != "nango" ||
				x.Outcome != "ok" || x.Attempts != 1 || x.DurationMs != 42 || x.Time.IsZero() {
				t.Errorf("entry = %+v", x)
			}
		})
		t.Run("admin", func(t *testing.T) {
			if got := e.allExecutions(t, e.token(t, adminA, orgA, "admin"), s.a1.ID, 100); !slices.Equal(got, mine) {
				t.Fatalf("admin sees %v, want %v", got, mine)
			}
		})
		for _, tc := range []struct {
			name   string
			tok    func() string
			id     string
			status int
			code   string
		}{
			{"another member's connection", func() string { return e.token(t, userA2, orgA) }, s.a1.ID, 404, connectors.ENotFound},
			{"a shared connection, to a member", func() string { return e.token(t, userA1, orgA) }, s.a2.ID, 403, connectors.EForbidden},
			{"another organization's", func() string { return e.token(t, userB1, orgB) }, s.a1.ID, 404, connectors.ENotFound},
			{"another organization's, to its admin", func() string { return e.token(t, userB1, orgB, "admin") }, s.a1.ID, 404, connectors.ENotFound},
			{"no such connection", func() string { return e.token(t, userA1, orgA) }, "conn-nope", 404, connectors.ENotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.expectError(t, executionsReq(tc.tok(), tc.id, ""), tc.status, tc.code)
			})
		}
		t.Run("no token", func(t *testing.T) {
			e.expectError(t, executionsReq("", s.a1.ID, ""), 401, connectors.EUnauthorized)
		})
	})
}

func TestExecutionsPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		c := e.connect(t, userA1, orgA, "slack")
		want := e.seedHistory(t, c, 11)
		tok := e.token(t, userA1, orgA)
		for _, limit := range []int{1, 3, 10, 11, 100} {
			if got := e.allExecutions(t, tok, c.ID, limit); !slices.Equal(got, want) {
				t.Fatalf("limit %d: %v, want %v", limit, got, want)
			}
		}
		if page := e.executions(t, tok, c.ID, ""); len(page.Executions) != 11 {
			t.Fatalf("default page: %d entries", len(page.Executions))
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=-1", "limit=x", "limit=1.5", "cursor=not-a-cursor", "cursor=" + url.QueryEscape("AAAA")} {
			t.Run(q, func(t *testing.T) {
				resp := e.expectError(t, executionsReq(tok, c.ID, q), 400, connectors.EInvalid)
				if ct := resp.Headers["Content-Type"]; ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			})
		}
	})
}

// TestAttacksOnExecutionsCursor: a cursor works only for the connection
// and the caller it came from.
func TestAttacksOnExecutionsCursor(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := newSeeded(t, e)
		a3 := e.connect(t, userA1, orgA, "hubspot")
		e.seedHistory(t, s.a1, 5)
		e.seedHistory(t, a3, 5)
		owner, admin := e.token(t, userA1, orgA), e.token(t, adminA, orgA, "admin")
		first := e.executions(t, owner, s.a1.ID, "limit=2")
		if first.NextCursor == nil {
			t.Fatal("no cursor")
		}
		cur := url.Values{"cursor": {*first.NextCursor}}.Encode()
		before := e.snapshot(t)
		e.expectError(t, executionsReq(owner, a3.ID, cur), 400, connectors.EInvalid)   // the caller's other connection
		e.expectError(t, executionsReq(admin, s.a1.ID, cur), 400, connectors.EInvalid) // another caller, same connection
		e.expectError(t, executionsReq(e.token(t, userB1, orgB), s.b1.ID, cur), 400, connectors.EInvalid)
		e.unchanged(t, before)
		if page := e.executions(t, owner, s.a1.ID, cur+"&limit=2"); len(page.Executions) != 2 || page.Executions[0].ID != s.a1.ID+"-x02" {
			t.Fatalf("the cursor under its own listing: %+v", page)
		}
	})
}
