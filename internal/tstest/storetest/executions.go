package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// RunExecutions runs the conformance suite of connectors.ExecutionLog
// against logs made by newLog; each subtest gets an empty one.
func RunExecutions(t *testing.T, newLog func(t *testing.T) connectors.ExecutionLog) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l connectors.ExecutionLog)
	}{
		{"RecordList", testExecRecordList},
		{"NewestFirstAcrossShards", testExecNewestFirst},
		{"Pagination", testExecPagination},
		{"PageSize", testExecPageSize},
		{"Idempotent", testExecIdempotent},
		{"Isolation", testExecIsolation},
		{"Expired", testExecExpired},
		{"CursorBound", testExecCursorBound},
		{"Invalid", testExecInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newLog(t)) })
	}
}

// Execution returns a valid execution of connection connID in orgID at t,
// kept 30 days.
func Execution(orgID, connID, id string, t time.Time) connectors.Execution {
	return connectors.Execution{
		ID: id, OrganizationID: orgID, ConnectionID: connID, Connector: "slack", Action: "send_message",
		RouteStep: 1, RouteTarget: connectors.ProviderNango, Outcome: connectors.OutcomeOK,
		Attempts: 1, DurationMs: 42, Time: t.UTC(), ExpiresAt: t.UTC().Add(connectors.DefaultExecutionRetention),
	}
}

func mustRecord(t *testing.T, l connectors.ExecutionLog, e connectors.Execution) {
	t.Helper()
	if err := l.RecordExecution(ctx(t), e); err != nil {
		t.Fatalf("record %s: %v", e.ID, err)
	}
}

// seedExecs records n executions of o1/c1 a second apart, the newest at
// base, and returns their ids newest first.
func seedExecs(t *testing.T, l connectors.ExecutionLog, n int, base time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("x%03d", i)
		mustRecord(t, l, Execution("o1", "c1", ids[i], base.Add(-time.Duration(i)*time.Second)))
	}
	return ids
}

// listAllExecs walks every page of f and returns the ids in order and
// how many pages it took.
func listAllExecs(t *testing.T, l connectors.ExecutionLog, f connectors.ExecutionFilter) (ids []string, pages int) {
	t.Helper()
	for {
		page, err := l.ListExecutions(ctx(t), f)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if f.Limit > 0 && len(page.Executions) > f.Limit {
			t.Fatalf("page %d has %d entries, over the limit %d", pages, len(page.Executions), f.Limit)
		}
		for _, e := range page.Executions {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == "" {
			return ids, pages
		}
		if pages > 1000 {
			t.Fatal("the listing never ends")
		}
		f.Cursor = page.NextCursor
	}
}

func testExecRecordList(t *testing.T, l connectors.ExecutionLog) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	want := Execution("o1", "c1", "e1", now)
	want.Outcome, want.Attempts, want.DurationMs, want.RouteStep, want.RouteTarget = "Connectors.RateLimited", 2, 1234, 3, connectors.ProviderComposio
	mustRecord(t, l, want)
	page, err := l.ListExecutions(ctx(t), connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1", Viewer: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Executions) != 1 || page.NextCursor != "" {
		t.Fatalf("page = %+v, want the one entry and no cursor", page)
	}
	got := page.Executions[0]
	if !got.Time.Equal(want.Time) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times = %v, %v, want %v, %v", got.Time, got.ExpiresAt, want.Time, want.ExpiresAt)
	}
	got.Time, got.ExpiresAt = want.Time, want.ExpiresAt
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func testExecNewestFirst(t *testing.T, l connectors.ExecutionLog) {
	// Recorded out of order, over ids that fall on every shard.
	base := time.Now().UTC().Truncate(time.Second)
	ids := seedExecs(t, l, 3*connectors.ExecutionShards, base)
	shards := map[int]bool{}
	for _, id := range ids {
		shards[connectors.ExecutionShard(id)] = true
	}
	if len(shards) < 2 {
		t.Fatalf("the fixture's ids fall on %d shard(s); the merge would not be tested", len(shards))
	}
	mustRecord(t, l, Execution("o1", "c1", "late", base.Add(-time.Hour))) // oldest, recorded last
	mustRecord(t, l, Execution("o1", "c1", "tie-b", base.Add(time.Second)))
	mustRecord(t, l, Execution("o1", "c1", "tie-a", base.Add(time.Second))) // same time: the id orders
	got, _ := listAllExecs(t, l, connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1"})
	want := append(append([]string{"tie-b", "tie-a"}, ids...), "late")
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v\nwant %v", got, want)
	}
}

func testExecPagination(t *testing.T, l connectors.ExecutionLog) {
	want := seedExecs(t, l, 23, time.Now().UTC())
	for _, limit := range []int{1, 4, 5, 22, 23, 24} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			got, pages := listAllExecs(t, l, connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1", Viewer: "u1", Limit: limit})
			if !slices.Equal(got, want) {
				t.Fatalf("ids = %v\nwant %v", got, want)
			}
			// Full pages until the last; a last page may come back empty
			// only when the listing cannot know it ended.
			if lo, hi := (len(want)+limit-1)/limit, len(want)/limit+1; pages < lo || pages > hi {
				t.Fatalf("%d pages for %d entries at %d a page", pages, len(want), limit)
			}
		})
	}
}

func testExecPageSize(t *testing.T, l connectors.ExecutionLog) {
	seedExecs(t, l, connectors.MaxPageSize+1, time.Now().UTC())
	for _, tc := range []struct{ limit, want int }{
		{0, connectors.DefaultPageSize}, {-1, connectors.DefaultPageSize}, {1000, connectors.MaxPageSize},
	} {
		page, err := l.ListExecutions(ctx(t), connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1", Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Executions) != tc.want || page.NextCursor == "" {
			t.Errorf("limit %d: %d entries (cursor %q), want %d and a cursor", tc.limit, len(page.Executions), page.NextCursor, tc.want)
		}
	}
}

func testExecIdempotent(t *testing.T, l connectors.ExecutionLog) {
	e := Execution("o1", "c1", "e1", time.Now())
	mustRecord(t, l, e)
	mustRecord(t, l, e) // a retried record
	changed := e
	changed.Outcome = "Connectors.Internal"
	mustRecord(t, l, changed) // the first record stands
	got, _ := listAllExecs(t, l, connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1"})
	if !slices.Equal(got, []string{"e1"}) {
		t.Fatalf("ids = %v, want one e1", got)
	}
	page, _ := l.ListExecutions(ctx(t), connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1"})
	if page.Executions[0].Outcome != connectors.OutcomeOK {
		t.Fatalf("outcome = %q, want the first record's", page.Executions[0].Outcome)
	}
}

func testExecIsolation(t *testing.T, l connectors.ExecutionLog) {
	now := time.Now()
	mustRecord(t, l, Execution("o1", "c1", "mine", now))
	mustRecord(t, l, Execution("o2", "c1", "other-org", now))  // same connection id, another organization
	mustRecord(t, l, Execution("o1", "c2", "other-conn", now)) // another connection
	mustRecord(t, l, Execution("o1#c1", "x", "prefix-1", now)) // ids made to look like one key
	mustRecord(t, l, Execution("o", "1#c1", "prefix-2", now))  //
	mustRecord(t, l, Execution("o1", "c1#0", "prefix-3", now)) //
	mustRecord(t, l, Execution("o1", "c", "prefix-4", now))    // a prefix of c1
	got, _ := listAllExecs(t, l, connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1"})
	if !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("o1/c1 lists %v, want only its own", got)
	}
}

func testExecExpired(t *testing.T, l connectors.ExecutionLog) {
	now := time.Now()
	old := Execution("o1", "c1", "old", now.Add(-2*time.Hour))
	old.ExpiresAt = now.Add(-time.Hour) // past its retention, not yet deleted
	mustRecord(t, l, old)
	mustRecord(t, l, Execution("o1", "c1", "new", now))
	got, _ := listAllExecs(t, l, connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1"})
	if !slices.Equal(got, []string{"new"}) {
		t.Fatalf("ids = %v, want the expired one left out", got)
	}
}

func testExecCursorBound(t *testing.T, l connectors.ExecutionLog) {
	seedExecs(t, l, 5, time.Now())
	for i := range 5 {
		mustRecord(t, l, Execution("o1", "c2", fmt.Sprint("b", i), time.Now()))
	}
	a := connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1", Viewer: "u1", Limit: 2}
	page, err := l.ListExecutions(ctx(t), a)
	if err != nil || page.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, page.NextCursor)
	}
	cur := page.NextCursor
	for _, tc := range []struct {
		name string
		f    connectors.ExecutionFilter
	}{
		{"another connection", connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c2", Viewer: "u1"}},
		{"another organization", connectors.ExecutionFilter{OrganizationID: "o2", ConnectionID: "c1", Viewer: "u1"}},
		{"another viewer", connectors.ExecutionFilter{OrganizationID: "o1", ConnectionID: "c1", Viewer: "u2"}},
		{"tampered", a},
		{"garbage", a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Cursor = cur
			switch tc.name {
			case "tampered":
				b := []byte(cur)
				b[len(b)-2] ^= 1
				tc.f.Cursor = string(b)
			case "garbage":
				tc.f.Cursor = "not a cursor!"
			}
			_, err := l.ListExecutions(ctx(t), tc.f)
			wantCode(t, err, connectors.EInvalid)
		})
	}
	a.Cursor = cur
	if _, err := l.ListExecutions(ctx(t), a); err != nil {
		t.Fatalf("the cursor under its own listing: %v", err)
	}
}

func testExecInvalid(t *testing.T, l connectors.ExecutionLog) {
	now := time.Now()
	for name, mutate := range map[string]func(e *connectors.Execution){
		"no id":           func(e *connectors.Execution) { e.ID = "" },
		"no organization": func(e *connectors.Execution) { e.OrganizationID = "" },
		"no connection":   func(e *connectors.Execution) { e.ConnectionID = "" },
		"no outcome":      func(e *connectors.Execution) { e.Outcome = "" },
		"no time":         func(e *connectors.Execution) { e.Time = time.Time{} },
		"no expiry":       func(e *connectors.Execution) { e.ExpiresAt = time.Time{} },
	} {
		t.Run(name, func(t *testing.T) {
			e := Execution("o1", "c1", "e1", now)
			mutate(&e)
			wantCode(t, l.RecordExecution(ctx(t), e), connectors.EInvalid)
		})
	}
	_, err := l.ListExecutions(ctx(t), connectors.ExecutionFilter{OrganizationID: "o1"})
	wantCode(t, err, connectors.EInvalid)
}
