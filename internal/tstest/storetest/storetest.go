// Package storetest is the conformance suite of connectors.Store: every
// adapter's tests call Run, so the DynamoDB and embedded adapters are held to
// the same semantics. Only tests import it.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/seal"
)

// Workers is how many goroutines the concurrency tests run at once.
const Workers = 50

// Run runs the conformance suite against stores made by newStore. Every
// subtest gets its own store, so newStore must return an empty one.
func Run(t *testing.T, newStore func(t *testing.T) connectors.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s connectors.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateTwiceConflicts", testCreateTwice},
		{"CreateInvalid", testCreateInvalid},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"ListFilters", testListFilters},
		{"ListPagination", testListPagination},
		{"ListPageSize", testListPageSize},
		{"ListCursorTampering", testListCursorTampering},
		{"LabelSharedCheckAt", testLabelSharedCheckAt},
		{"ListShared", testListShared},
		{"ListSharedPagination", testListSharedPagination},
		{"State", testState},
		{"StateExpired", testStateExpired},
		{"Idempotency", testIdempotency},
		{"IdempotencyLeaseTakeover", testIdempotencyTakeover},
		{"IdempotencyRelease", testIdempotencyRelease},
		{"Audit", testAudit},
		{"Lease", testLease},
		{"ListDueConnections", testListDue},
		{"ConcurrentUpdateOneWinner", testConcurrentUpdateOneWinner},
		{"ConcurrentUpdateNoLostUpdate", testConcurrentNoLostUpdate},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentConsumeState", testConcurrentConsume},
		{"ConcurrentBeginIdempotent", testConcurrentBegin},
		{"Owner", testOwner},
		{"OwnerRefusesSecond", testOwnerRefusesSecond},
		{"OwnerRandomized", testOwnerRandomized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// Connection returns a valid connection for tests, owned by userID in orgID.
func Connection(orgID, userID, connector, id string) *connectors.Connection {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &connectors.Connection{
		ID:                id,
		OrganizationID:    orgID,
		UserID:            userID,
		Connector:         connector,
		AuthProvider:      connectors.ProviderNango,
		ProviderConfigKey: connector + "-prod",
		Status:            connectors.StatusActive,
		Scopes:            []string{"read", "write"},
		CreatedAt:         now,
		UpdatedAt:         now,
	}
}

// SealedFixture is a connection whose token cache is sealed, for the
// per-adapter tests that read raw items and look for the plaintext.
type SealedFixture struct {
	Conn      *connectors.Connection
	Plaintext string // the token, which must appear nowhere in the store
	Sealer    *seal.Sealer
}

// NewSealedConnection makes a SealedFixture with a fresh key and a token
// that contains a random marker, so that a match cannot be a coincidence.
func NewSealedConnection(t testing.TB, orgID, id string) SealedFixture {
	t.Helper()
	secret := make([]byte, seal.KeySize)
	rand.Read(secret)
	s, err := seal.New(seal.Key{ID: "test", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	plain := fmt.Sprintf(`{"access_token":"xoxb-PLAINTEXT-%s","refresh_token":"r-%s"}`, rand.Text(), rand.Text())
	sealed, err := s.Seal([]byte(plain), seal.AAD(orgID, id))
	if err != nil {
		t.Fatal(err)
	}
	c := Connection(orgID, "u1", "slack", id)
	c.SealedToken = sealed
	return SealedFixture{Conn: c, Plaintext: plain, Sealer: s}
}

// CheckSealed asserts that raw (an adapter's stored bytes) holds no trace of
// f's plaintext token, and that the stored connection still opens to it.
func CheckSealed(t *testing.T, s connectors.Store, f SealedFixture, raw []byte) {
	t.Helper()
	if len(raw) == 0 {
		t.Fatal("no raw bytes to inspect")
	}
	for _, needle := range []string{f.Plaintext, "xoxb-PLAINTEXT"} {
		if bytes.Contains(raw, []byte(needle)) {
			t.Fatalf("raw store bytes contain the plaintext token %q", needle)
		}
	}
	got, err := s.GetConnection(context.Background(), f.Conn.OrganizationID, f.Conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.Sealer.Open(got.SealedToken, seal.AAD(f.Conn.OrganizationID, f.Conn.ID))
	if err != nil || string(plain) != f.Plaintext {
		t.Fatalf("stored token does not open to the plaintext: %v", err)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := connectors.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func mustCreate(t *testing.T, s connectors.Store, c *connectors.Connection) {
	t.Helper()
	if err := s.CreateConnection(ctx(t), c); err != nil {
		t.Fatalf("CreateConnection(%s): %v", c.ID, err)
	}
}

func mustGet(t *testing.T, s connectors.Store, orgID, id string) *connectors.Connection {
	t.Helper()
	c, err := s.GetConnection(ctx(t), orgID, id)
	if err != nil {
		t.Fatalf("GetConnection(%s, %s): %v", orgID, id, err)
	}
	return c
}

func equalConnection(t *testing.T, got, want *connectors.Connection) {
	t.Helper()
	var diffs []string
	check := func(name string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("OrganizationID", got.OrganizationID == want.OrganizationID, got.OrganizationID, want.OrganizationID)
	check("UserID", got.UserID == want.UserID, got.UserID, want.UserID)
	check("Connector", got.Connector == want.Connector, got.Connector, want.Connector)
	check("AuthProvider", got.AuthProvider == want.AuthProvider, got.AuthProvider, want.AuthProvider)
	check("ProviderConfigKey", got.ProviderConfigKey == want.ProviderConfigKey, got.ProviderConfigKey, want.ProviderConfigKey)
	check("Status", got.Status == want.Status, got.Status, want.Status)
	check("Scopes", slices.Equal(got.Scopes, want.Scopes), got.Scopes, want.Scopes)
	check("CreatedAt", got.CreatedAt.Equal(want.CreatedAt), got.CreatedAt, want.CreatedAt)
	check("UpdatedAt", got.UpdatedAt.Equal(want.UpdatedAt), got.UpdatedAt, want.UpdatedAt)
	check("LastRefreshedAt", got.LastRefreshedAt.Equal(want.LastRefreshedAt), got.LastRefreshedAt, want.LastRefreshedAt)
	check("ExpiresAt", got.ExpiresAt.Equal(want.ExpiresAt), got.ExpiresAt, want.ExpiresAt)
	check("Version", got.Version == want.Version, got.Version, want.Version)
	check("SealedToken", bytes.Equal(got.SealedToken, want.SealedToken), got.SealedToken, want.SealedToken)
	check("Label", got.Label == want.Label, got.Label, want.Label)
	check("Shared", got.Shared == want.Shared, got.Shared, want.Shared)
	check("CheckAt", got.CheckAt.Equal(want.CheckAt), got.CheckAt, want.CheckAt)
	if len(diffs) > 0 {
		t.Fatalf("connection %s differs:\n  %s", want.ID, strings.Join(diffs, "\n  "))
	}
}

func testCreateGet(t *testing.T, s connectors.Store) {
	c := Connection("o1", "u1", "slack", "c1")
	c.LastRefreshedAt = time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	c.ExpiresAt = time.Date(2025, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))
	c.SealedToken = []byte{1, 0, 2, 0xff}
	c.Version = 42 // ignored: create starts at 1
	mustCreate(t, s, c)
	if c.Version != 1 {
		t.Fatalf("Version after create = %d, want 1", c.Version)
	}
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)

	// No scopes is fine and reads back as none.
	empty := Connection("o1", "u1", "slack", "c2")
	empty.Scopes = nil
	mustCreate(t, s, empty)
	if got := mustGet(t, s, "o1", "c2"); len(got.Scopes) != 0 || got.SealedToken != nil {
		t.Fatalf("Scopes = %q, SealedToken = %v, want none", got.Scopes, got.SealedToken)
	}

	for _, k := range []struct{ org, id string }{{"o2", "c1"}, {"o1", "missing"}, {"", "c1"}} {
		_, err := s.GetConnection(ctx(t), k.org, k.id)
		if !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("GetConnection(%q, %q) err = %v, want ErrNotFound", k.org, k.id, err)
		}
	}
}

func testCreateTwice(t *testing.T, s connectors.Store) {
	c := Connection("o1", "u1", "slack", "c1")
	mustCreate(t, s, c)
	again := Connection("o1", "u2", "gmail", "c1")
	err := s.CreateConnection(ctx(t), again)
	if !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("second create err = %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, "o1", "c1"); got.UserID != "u1" || got.Connector != "slack" {
		t.Fatalf("second create overwrote the first: %+v", got)
	}
	// The same id in another organization is another connection when it
	// is another provider connection (here: another integration).
	mustCreate(t, s, withConfigKey(Connection("o2", "u1", "slack", "c1"), "slack-eu"))
}

// withConfigKey sets c's integration: the same connection id under another
// integration is another provider connection.
func withConfigKey(c *connectors.Connection, key string) *connectors.Connection {
	c.ProviderConfigKey = key
	return c
}

func testCreateInvalid(t *testing.T, s connectors.Store) {
	for _, mutate := range []func(c *connectors.Connection){
		func(c *connectors.Connection) { c.ID = "" },
		func(c *connectors.Connection) { c.OrganizationID = "" },
		func(c *connectors.Connection) { c.UserID = "" },
		func(c *connectors.Connection) { c.Connector = "" },
		func(c *connectors.Connection) { c.Status = "bogus" },
		func(c *connectors.Connection) { c.Label = strings.Repeat("x", connectors.MaxLabelLength+1) },
		func(c *connectors.Connection) { c.Label = "two\nlines" },
		func(c *connectors.Connection) { c.Label = "bad \xff utf-8" },
	} {
		c := Connection("o1", "u1", "slack", "c1")
		mutate(c)
		wantCode(t, s.CreateConnection(ctx(t), c), connectors.EInvalid)
	}
}

func testUpdate(t *testing.T, s connectors.Store) {
	c := Connection("o1", "u1", "slack", "c1")
	mustCreate(t, s, c)

	stale := *c // version 1
	c.Status = connectors.StatusRefreshFailed
	c.Scopes = []string{"read"}
	c.Connector = "slack" // unchanged
	c.ExpiresAt = time.Now().UTC().Add(time.Hour)
	if err := s.UpdateConnection(ctx(t), c); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	if c.Version != 2 {
		t.Fatalf("Version after update = %d, want 2", c.Version)
	}
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)

	stale.Status = connectors.StatusRevoked
	if err := s.UpdateConnection(ctx(t), &stale); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("stale update err = %v, want ErrConflict", err)
	}
	if stale.Version != 1 {
		t.Fatalf("failed update changed Version to %d", stale.Version)
	}
	// The stale write was not applied.
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)

	missing := Connection("o1", "u1", "slack", "nope")
	missing.Version = 1
	if err := s.UpdateConnection(ctx(t), missing); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("update of missing err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetConnection(ctx(t), "o1", "nope"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("update of missing created it: %v", err)
	}

	// A provider connection keeps its owner for life: moving the record to
	// another user is refused, and it stays in its owner's listing.
	moved := *c
	moved.UserID = "u2"
	if err := s.UpdateConnection(ctx(t), &moved); !errors.Is(err, connectors.ErrOwned) {
		t.Fatalf("moving to another owner: %v, want ErrOwned", err)
	}
	if ids := listIDs(t, s, connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1"}); !slices.Equal(ids, []string{"c1"}) {
		t.Fatalf("owner lists %v", ids)
	}
	if ids := listIDs(t, s, connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u2"}); len(ids) != 0 {
		t.Fatalf("another user lists %v", ids)
	}
}

func testDelete(t *testing.T, s connectors.Store) {
	mustCreate(t, s, Connection("o1", "u1", "slack", "c1"))
	mustCreate(t, s, withConfigKey(Connection("o2", "u1", "slack", "c1"), "slack-eu"))
	// Another organization's delete leaves o1's alone.
	if err := s.DeleteConnection(ctx(t), "o3", "c1"); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "o1", "c1")
	for i := range 2 { // the second delete is a no-op
		if err := s.DeleteConnection(ctx(t), "o1", "c1"); err != nil {
			t.Fatalf("delete %d: %v", i+1, err)
		}
	}
	if _, err := s.GetConnection(ctx(t), "o1", "c1"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("after delete err = %v, want ErrNotFound", err)
	}
	mustGet(t, s, "o2", "c1")
	if ids := listIDs(t, s, connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1"}); len(ids) != 0 {
		t.Fatalf("deleted connection still listed: %v", ids)
	}
}

// listIDs lists every page of f and returns the ids, sorted.
func listIDs(t *testing.T, s connectors.Store, f connectors.ConnectionFilter) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		page, err := s.ListConnections(ctx(t), f)
		if err != nil {
			t.Fatalf("ListConnections(%+v): %v", f, err)
		}
		for _, c := range page.Connections {
			ids = append(ids, c.ID)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	sort.Strings(ids)
	return ids
}

// seedListing stores connections across two organizations and users.
func seedListing(t *testing.T, s connectors.Store) {
	t.Helper()
	for _, c := range []struct {
		org, user, connector, id string
		status                   connectors.Status
	}{
		{"o1", "u1", "slack", "a1", connectors.StatusActive},
		{"o1", "u1", "slack", "a2", connectors.StatusRevoked},
		{"o1", "u1", "gmail", "a3", connectors.StatusActive},
		{"o1", "u1", "slack-enterprise", "a4", connectors.StatusActive}, // "slack" must not prefix-match it
		{"o1", "u2", "slack", "b1", connectors.StatusActive},
		{"o1", "u2", "hubspot", "b2", connectors.StatusRefreshFailed},
		{"o2", "u1", "slack", "x1", connectors.StatusActive},
		// '#' in ids must not let one org's user listing reach another's.
		{"o1#u1", "z", "slack", "evil1", connectors.StatusActive},
		{"o1", "u1#z", "slack", "evil2", connectors.StatusActive},
	} {
		conn := Connection(c.org, c.user, c.connector, c.id)
		conn.Status = c.status
		mustCreate(t, s, conn)
	}
}

func testListFilters(t *testing.T, s connectors.Store) {
	seedListing(t, s)
	tests := []struct {
		name string
		f    connectors.ConnectionFilter
		want []string
	}{
		{"user", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1"}, []string{"a1", "a2", "a3", "a4"}},
		{"other user", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u2"}, []string{"b1", "b2"}},
		{"same user other org", connectors.ConnectionFilter{OrganizationID: "o2", UserID: "u1"}, []string{"x1"}},
		{"org", connectors.ConnectionFilter{OrganizationID: "o1"}, []string{"a1", "a2", "a3", "a4", "b1", "b2", "evil2"}},
		{"user connector", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Connector: "slack"}, []string{"a1", "a2"}},
		{"user status", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Status: connectors.StatusActive}, []string{"a1", "a3", "a4"}},
		{"user connector status", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Connector: "slack", Status: connectors.StatusRevoked}, []string{"a2"}},
		{"org connector", connectors.ConnectionFilter{OrganizationID: "o1", Connector: "slack"}, []string{"a1", "a2", "b1", "evil2"}},
		{"org status", connectors.ConnectionFilter{OrganizationID: "o1", Status: connectors.StatusRefreshFailed}, []string{"b2"}},
		{"unknown user", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "nobody"}, nil},
		{"unknown org", connectors.ConnectionFilter{OrganizationID: "o9"}, nil},
		{"hash org", connectors.ConnectionFilter{OrganizationID: "o1#u1", UserID: "z"}, []string{"evil1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := listIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
				t.Fatalf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	// Listed connections are whole records.
	page, err := s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o2", UserID: "u1"})
	if err != nil || len(page.Connections) != 1 {
		t.Fatalf("list o2/u1 = %v, %v", page, err)
	}
	equalConnection(t, page.Connections[0], mustGet(t, s, "o2", "x1"))

	wantCode(t, errOf(s.ListConnections(ctx(t), connectors.ConnectionFilter{})), connectors.EInvalid)
	wantCode(t, errOf(s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", Status: "bogus"})), connectors.EInvalid)
}

func errOf(_ connectors.ConnectionPage, err error) error { return err }

func testListPagination(t *testing.T, s connectors.Store) {
	var want []string
	for i := range 11 {
		id := fmt.Sprintf("p%02d", i)
		c := Connection("o1", "u1", []string{"slack", "gmail"}[i%2], id)
		if i%3 == 0 {
			c.Status = connectors.StatusRevoked
		}
		mustCreate(t, s, c)
		want = append(want, id)
	}
	mustCreate(t, s, Connection("o1", "u2", "slack", "other"))

	tests := []struct {
		name      string
		f         connectors.ConnectionFilter
		wantIDs   []string
		wantPages int
	}{
		{"user limit 3", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Limit: 3}, want, 4},
		{"user limit 11", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Limit: 11}, want, 1},
		{"org limit 4", connectors.ConnectionFilter{OrganizationID: "o1", Limit: 4}, append(slices.Clone(want), "other"), 3},
		{"user status limit 2", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Status: connectors.StatusRevoked, Limit: 2},
			[]string{"p00", "p03", "p06", "p09"}, 2},
		{"org connector limit 1", connectors.ConnectionFilter{OrganizationID: "o1", Connector: "gmail", Limit: 1},
			[]string{"p01", "p03", "p05", "p07", "p09"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			f := tt.f
			pages := 0
			for {
				page, err := s.ListConnections(ctx(t), f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Connections) > f.Limit {
					t.Fatalf("page %d has %d connections, limit %d", pages, len(page.Connections), f.Limit)
				}
				if page.NextCursor != "" && len(page.Connections) != f.Limit {
					t.Fatalf("page %d is short (%d of %d) but has a next cursor", pages, len(page.Connections), f.Limit)
				}
				for _, c := range page.Connections {
					ids = append(ids, c.ID)
				}
				if page.NextCursor == "" || pages > 50 {
					break
				}
				f.Cursor = page.NextCursor
			}
			sort.Strings(ids)
			want := slices.Sorted(slices.Values(tt.wantIDs))
			if !slices.Equal(ids, want) {
				t.Fatalf("ids = %v, want %v (duplicates or gaps)", ids, want)
			}
			if pages != tt.wantPages {
				t.Fatalf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}
}

func testListPageSize(t *testing.T, s connectors.Store) {
	for i := range 105 {
		mustCreate(t, s, Connection("o1", "u1", "slack", fmt.Sprintf("c%03d", i)))
	}
	for _, tt := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {1000, 100}, {100, 100}, {7, 7}} {
		for _, user := range []string{"u1", ""} {
			page, err := s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", UserID: user, Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Connections) != tt.want || page.NextCursor == "" {
				t.Errorf("user %q limit %d: %d connections (cursor %q), want %d and a cursor", user, tt.limit, len(page.Connections), page.NextCursor, tt.want)
			}
		}
	}
}

func testListCursorTampering(t *testing.T, s connectors.Store) {
	seedListing(t, s)
	mustCreate(t, s, Connection("o2", "u1", "slack", "x2"))
	base := connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Limit: 1}
	page, err := s.ListConnections(ctx(t), base)
	if err != nil || page.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, page.NextCursor)
	}
	cur := page.NextCursor
	orgPage, err := s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", Limit: 1})
	if err != nil || orgPage.NextCursor == "" {
		t.Fatalf("org first page: %v", err)
	}

	// The genuine cursor works.
	ok := base
	ok.Cursor = cur
	if _, err := s.ListConnections(ctx(t), ok); err != nil {
		t.Fatalf("genuine cursor: %v", err)
	}

	replays := []struct {
		name string
		f    connectors.ConnectionFilter
	}{
		{"other org", connectors.ConnectionFilter{OrganizationID: "o2", UserID: "u1", Limit: 1, Cursor: cur}},
		{"other user", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u2", Limit: 1, Cursor: cur}},
		{"whole org", connectors.ConnectionFilter{OrganizationID: "o1", Limit: 1, Cursor: cur}},
		{"other connector", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Connector: "slack", Limit: 1, Cursor: cur}},
		{"other status", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Status: connectors.StatusActive, Limit: 1, Cursor: cur}},
		{"org cursor for a user", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Limit: 1, Cursor: orgPage.NextCursor}},
		{"org cursor for another org", connectors.ConnectionFilter{OrganizationID: "o2", Limit: 1, Cursor: orgPage.NextCursor}},
		{"garbage", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Cursor: "not-a-cursor"}},
		{"bad base64", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Cursor: "%%%"}},
		{"truncated", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Cursor: cur[:len(cur)/2]}},
		{"extended", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", Cursor: cur + "AAAA"}},
	}
	for _, r := range replays {
		t.Run(r.name, func(t *testing.T) {
			wantCode(t, errOf(s.ListConnections(ctx(t), r.f)), connectors.EInvalid)
		})
	}
	// Change every character of the cursor in turn.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(cur) {
		b := []byte(cur)
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
		f := base
		f.Cursor = string(b)
		page, err := s.ListConnections(ctx(t), f)
		if connectors.ErrorCode(err) != connectors.EInvalid {
			// The last character of unpadded base64 may carry unused bits
			// that some decoders ignore; the decoded bytes are then the
			// same genuine cursor, which is not tampering.
			if i == len(cur)-1 && err == nil {
				continue
			}
			t.Fatalf("cursor with char %d changed: err = %v, %d connections; want invalid_request", i, err, len(page.Connections))
		}
	}
}

func testLabelSharedCheckAt(t *testing.T, s connectors.Store) {
	c := Connection("o1", "u1", "stripe", "c1")
	c.Label = "Stripe live key ✓"
	c.Shared = true
	c.CheckAt = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("CET", 3600))
	mustCreate(t, s, c)
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)
	// Listed connections carry the fields too, in every listing.
	for _, f := range []connectors.ConnectionFilter{
		{OrganizationID: "o1"},
		{OrganizationID: "o1", UserID: "u1"},
		{OrganizationID: "o1", UserID: "u1", IncludeShared: true},
		{OrganizationID: "o1", SharedOnly: true},
	} {
		page, err := s.ListConnections(ctx(t), f)
		if err != nil || len(page.Connections) != 1 {
			t.Fatalf("ListConnections(%+v) = %v, %v; want c1", f, page.Connections, err)
		}
		equalConnection(t, page.Connections[0], c)
	}

	// An update clears them...
	c.Label, c.Shared, c.CheckAt = "", false, time.Time{}
	if err := s.UpdateConnection(ctx(t), c); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)
	if ids := listIDs(t, s, connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true}); len(ids) != 0 {
		t.Fatalf("unshared connection still listed as shared: %v", ids)
	}
	// ...and sets them again.
	c.Label, c.Shared, c.CheckAt = "renamed", true, time.Now().UTC().Add(time.Hour)
	if err := s.UpdateConnection(ctx(t), c); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)
	page, err := s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true})
	if err != nil || len(page.Connections) != 1 {
		t.Fatalf("shared listing = %v, %v; want c1", page.Connections, err)
	}
	equalConnection(t, page.Connections[0], c)

	// An invalid label is refused, and the stored record is left alone.
	bad := *c
	bad.Label = "line\nbreak"
	wantCode(t, s.UpdateConnection(ctx(t), &bad), connectors.EInvalid)
	equalConnection(t, mustGet(t, s, "o1", "c1"), c)
	long := Connection("o1", "u1", "stripe", "c2")
	long.Label = strings.Repeat("é", connectors.MaxLabelLength/2+1) // within 100 runes, over 100 bytes
	wantCode(t, s.CreateConnection(ctx(t), long), connectors.EInvalid)
	if _, err := s.GetConnection(ctx(t), "o1", "c2"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("connection with an invalid label was stored: %v", err)
	}
	longest := Connection("o1", "u1", "stripe", "c3")
	longest.Label = strings.Repeat("x", connectors.MaxLabelLength)
	mustCreate(t, s, longest)
	equalConnection(t, mustGet(t, s, "o1", "c3"), longest)
}

// seedShared stores connections of two organizations, some shared with
// their organization, for the shared listings.
func seedShared(t *testing.T, s connectors.Store) {
	t.Helper()
	for _, c := range []struct {
		org, user, connector, id string
		shared                   bool
		status                   connectors.Status
	}{
		{"o1", "u1", "slack", "a-own", false, connectors.StatusActive},
		{"o1", "u1", "gmail", "b-own-shared", true, connectors.StatusActive}, // u1's own and shared: listed once
		{"o1", "u2", "slack", "c-u2-private", false, connectors.StatusActive},
		{"o1", "u2", "slack", "d-u2-shared", true, connectors.StatusActive},
		{"o1", "u2", "gmail", "e-u2-shared-revoked", true, connectors.StatusRevoked},
		{"o1", "u2", "gmail", "f-u2-private", false, connectors.StatusActive},
		{"o1", "u3", "slack-enterprise", "g-u3-shared", true, connectors.StatusActive}, // "slack" must not prefix-match it
		{"o2", "u1", "slack", "x-o2-shared", true, connectors.StatusActive},
		{"o2", "u1", "slack", "y-o2-own", false, connectors.StatusActive},
		// '#' in ids must not let another organization's shared ones in.
		{"o1#u1", "z", "slack", "z-hash-shared", true, connectors.StatusActive},
	} {
		conn := Connection(c.org, c.user, c.connector, c.id)
		conn.Shared, conn.Status = c.shared, c.status
		mustCreate(t, s, conn)
	}
}

func testListShared(t *testing.T, s connectors.Store) {
	seedShared(t, s)
	tests := []struct {
		name string
		f    connectors.ConnectionFilter
		want []string
	}{
		{"user plain", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1"}, []string{"a-own", "b-own-shared"}},
		{"user include shared", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", IncludeShared: true},
			[]string{"a-own", "b-own-shared", "d-u2-shared", "e-u2-shared-revoked", "g-u3-shared"}},
		{"other user include shared", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u2", IncludeShared: true},
			[]string{"b-own-shared", "c-u2-private", "d-u2-shared", "e-u2-shared-revoked", "f-u2-private", "g-u3-shared"}},
		{"no own include shared", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "nobody", IncludeShared: true},
			[]string{"b-own-shared", "d-u2-shared", "e-u2-shared-revoked", "g-u3-shared"}},
		{"include shared connector", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", IncludeShared: true, Connector: "slack"},
			[]string{"a-own", "d-u2-shared"}},
		{"include shared status", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", IncludeShared: true, Status: connectors.StatusRevoked},
			[]string{"e-u2-shared-revoked"}},
		{"include shared other org", connectors.ConnectionFilter{OrganizationID: "o2", UserID: "u2", IncludeShared: true}, []string{"x-o2-shared"}},
		{"shared only", connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true},
			[]string{"b-own-shared", "d-u2-shared", "e-u2-shared-revoked", "g-u3-shared"}},
		{"shared only connector", connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true, Connector: "slack"}, []string{"d-u2-shared"}},
		{"shared only connector status", connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true, Connector: "gmail", Status: connectors.StatusActive},
			[]string{"b-own-shared"}},
		{"shared only with a user", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u2", SharedOnly: true},
			[]string{"b-own-shared", "d-u2-shared", "e-u2-shared-revoked", "g-u3-shared"}},
		{"shared only other org", connectors.ConnectionFilter{OrganizationID: "o2", SharedOnly: true}, []string{"x-o2-shared"}},
		{"shared only unknown org", connectors.ConnectionFilter{OrganizationID: "o9", SharedOnly: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := listIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
				t.Fatalf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	// Listed shared connections are whole records.
	page, err := s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true, Connector: "slack"})
	if err != nil || len(page.Connections) != 1 {
		t.Fatalf("shared slack = %v, %v", page.Connections, err)
	}
	equalConnection(t, page.Connections[0], mustGet(t, s, "o1", "d-u2-shared"))

	for _, f := range []connectors.ConnectionFilter{
		{OrganizationID: "o1", IncludeShared: true},                                 // whose own?
		{OrganizationID: "o1", UserID: "u1", IncludeShared: true, SharedOnly: true}, // both
		{UserID: "u1", IncludeShared: true},                                         // no organization
		{OrganizationID: "o1", UserID: "u1", IncludeShared: true, Status: "bogus"},  // unknown status
	} {
		wantCode(t, errOf(s.ListConnections(ctx(t), f)), connectors.EInvalid)
	}
}

func testListSharedPagination(t *testing.T, s connectors.Store) {
	seedShared(t, s)
	// Unselected connections between the selected ones, so that a filtered
	// read comes back short.
	for i := range 6 {
		mustCreate(t, s, Connection("o1", "u2", "slack", fmt.Sprintf("h%d-u2-private", i)))
	}
	include := connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1", IncludeShared: true}
	wantInclude := []string{"a-own", "b-own-shared", "d-u2-shared", "e-u2-shared-revoked", "g-u3-shared"}
	sharedOnly := connectors.ConnectionFilter{OrganizationID: "o1", SharedOnly: true}
	wantShared := []string{"b-own-shared", "d-u2-shared", "e-u2-shared-revoked", "g-u3-shared"}
	for _, tt := range []struct {
		name      string
		f         connectors.ConnectionFilter
		limit     int
		want      []string
		wantPages int
	}{
		{"include shared limit 1", include, 1, wantInclude, 5},
		{"include shared limit 2", include, 2, wantInclude, 3},
		{"include shared limit 5", include, 5, wantInclude, 1},
		{"shared only limit 1", sharedOnly, 1, wantShared, 4},
		{"shared only limit 3", sharedOnly, 3, wantShared, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.Limit = tt.limit
			var ids []string
			pages := 0
			for {
				page, err := s.ListConnections(ctx(t), f)
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				if len(page.Connections) > f.Limit || (page.NextCursor != "" && len(page.Connections) != f.Limit) {
					t.Fatalf("page %d has %d connections (cursor %t), limit %d: pages must be full", pages, len(page.Connections), page.NextCursor != "", f.Limit)
				}
				for _, c := range page.Connections {
					ids = append(ids, c.ID)
				}
				if page.NextCursor == "" || pages > 50 {
					break
				}
				f.Cursor = page.NextCursor
			}
			sort.Strings(ids)
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ids = %v, want %v (duplicates or gaps)", ids, tt.want)
			}
			if pages != tt.wantPages {
				t.Fatalf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}

	// A cursor opens only for the listing that made it.
	first := func(f connectors.ConnectionFilter) string {
		t.Helper()
		f.Limit = 1
		page, err := s.ListConnections(ctx(t), f)
		if err != nil || page.NextCursor == "" {
			t.Fatalf("first page of %+v: %v, cursor %q", f, err, page.NextCursor)
		}
		return page.NextCursor
	}
	plain := connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u1"}
	org := connectors.ConnectionFilter{OrganizationID: "o1"}
	cursors := map[string]string{"plain": first(plain), "include": first(include), "shared": first(sharedOnly), "org": first(org)}
	for _, r := range []struct {
		name, cursor string
		f            connectors.ConnectionFilter
	}{
		{"plain cursor for include shared", "plain", include},
		{"include shared cursor for plain", "include", plain},
		{"include shared cursor for shared only", "include", sharedOnly},
		{"shared only cursor for include shared", "shared", include},
		{"shared only cursor for the org", "shared", org},
		{"org cursor for shared only", "org", sharedOnly},
		{"org cursor for include shared", "org", include},
		{"include shared cursor for another user", "include", connectors.ConnectionFilter{OrganizationID: "o1", UserID: "u2", IncludeShared: true}},
		{"shared only cursor for another org", "shared", connectors.ConnectionFilter{OrganizationID: "o2", SharedOnly: true}},
	} {
		t.Run(r.name, func(t *testing.T) {
			f := r.f
			f.Limit, f.Cursor = 1, cursors[r.cursor]
			wantCode(t, errOf(s.ListConnections(ctx(t), f)), connectors.EInvalid)
		})
	}
}

func testState(t *testing.T, s connectors.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	st := &connectors.OAuthState{
		Nonce:          "n1",
		OrganizationID: "o1",
		UserID:         "u1",
		Connector:      "slack",
		AuthProvider:   connectors.ProviderNango,
		RedirectURI:    "https://app.example.com/done",
		ConnectionID:   "c1",
		SealedVerifier: []byte{9, 8, 7},
		CreatedAt:      now,
		ExpiresAt:      now.Add(10 * time.Minute),
	}
	if err := s.CreateState(ctx(t), st); err != nil {
		t.Fatal(err)
	}
	dup := *st
	dup.UserID = "u2"
	if err := s.CreateState(ctx(t), &dup); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("duplicate nonce err = %v, want ErrConflict", err)
	}
	// A peek leaves the state to be consumed.
	for range 2 {
		if peeked, err := s.GetState(ctx(t), "n1"); err != nil || peeked.UserID != "u1" || peeked.Connector != "slack" {
			t.Fatalf("GetState = %+v, %v", peeked, err)
		}
	}
	got, err := s.ConsumeState(ctx(t), "n1")
	if err != nil {
		t.Fatalf("ConsumeState: %v", err)
	}
	if got.Nonce != st.Nonce || got.OrganizationID != st.OrganizationID || got.UserID != "u1" ||
		got.Connector != st.Connector || got.AuthProvider != st.AuthProvider || got.RedirectURI != st.RedirectURI ||
		got.ConnectionID != st.ConnectionID || !bytes.Equal(got.SealedVerifier, st.SealedVerifier) ||
		!got.CreatedAt.Equal(st.CreatedAt) || !got.ExpiresAt.Equal(st.ExpiresAt) {
		t.Fatalf("consumed %+v, want %+v", got, st)
	}
	if _, err := s.ConsumeState(ctx(t), "n1"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("second consume err = %v, want ErrInvalidState", err)
	}
	if _, err := s.GetState(ctx(t), "n1"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("peek after consume err = %v, want ErrInvalidState", err)
	}
	if _, err := s.ConsumeState(ctx(t), "never"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("unknown nonce err = %v, want ErrInvalidState", err)
	}

	// Defaults: zero times get a 10-minute life.
	d := &connectors.OAuthState{Nonce: "n2", OrganizationID: "o1", UserID: "u1"}
	if err := s.CreateState(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	got, err = s.ConsumeState(ctx(t), "n2")
	if err != nil {
		t.Fatal(err)
	}
	if life := got.ExpiresAt.Sub(got.CreatedAt); life != 10*time.Minute {
		t.Fatalf("default state life = %v, want 10m", life)
	}
}

func testStateExpired(t *testing.T, s connectors.Store) {
	past := time.Now().Add(-time.Minute)
	st := &connectors.OAuthState{Nonce: "old", OrganizationID: "o1", UserID: "u1", CreatedAt: past.Add(-10 * time.Minute), ExpiresAt: past}
	if err := s.CreateState(ctx(t), st); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetState(ctx(t), "old"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("peek of an expired state err = %v, want ErrInvalidState", err)
	}
	if _, err := s.ConsumeState(ctx(t), "old"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("expired state err = %v, want ErrInvalidState", err)
	}
	// Short-lived states expire on time.
	st = &connectors.OAuthState{Nonce: "short", OrganizationID: "o1", UserID: "u1", ExpiresAt: time.Now().Add(300 * time.Millisecond)}
	if err := s.CreateState(ctx(t), st); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := s.ConsumeState(ctx(t), "short"); !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("state consumed after expiry: err = %v", err)
	}
}

func testIdempotency(t *testing.T, s connectors.Store) {
	if _, err := s.GetIdempotent(ctx(t), "k1"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("get before begin err = %v, want ErrNotFound", err)
	}
	before := time.Now()
	rec, err := s.BeginIdempotent(ctx(t), "k1", "w1", time.Minute)
	if err != nil {
		t.Fatalf("BeginIdempotent: %v", err)
	}
	if rec.Key != "k1" || rec.Owner != "w1" || rec.Status != connectors.IdempotencyInProgress {
		t.Fatalf("begin = %+v", rec)
	}
	if rec.LeaseUntil.Before(before.Add(59*time.Second)) || rec.LeaseUntil.After(time.Now().Add(61*time.Second)) {
		t.Fatalf("LeaseUntil = %v, want about a minute from now", rec.LeaseUntil)
	}
	if d := rec.ExpiresAt.Sub(rec.CreatedAt); d != 24*time.Hour {
		t.Fatalf("record life = %v, want 24h", d)
	}

	if _, err := s.BeginIdempotent(ctx(t), "k1", "w2", time.Minute); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("begin by w2 during w1's lease err = %v, want ErrConflict", err)
	}
	got, err := s.GetIdempotent(ctx(t), "k1")
	if err != nil || got.Status != connectors.IdempotencyInProgress || got.Owner != "w1" {
		t.Fatalf("get in progress = %+v, %v", got, err)
	}
	if err := s.CompleteIdempotent(ctx(t), "k1", "w2", []byte(`{}`)); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("complete by non-owner err = %v, want ErrConflict", err)
	}
	if err := s.CompleteIdempotent(ctx(t), "missing", "w1", []byte(`{}`)); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("complete of unknown key err = %v, want ErrConflict", err)
	}
	result := []byte(`{"status":"succeeded","output":{"ts":"1"}}`)
	if err := s.CompleteIdempotent(ctx(t), "k1", "w1", result); err != nil {
		t.Fatalf("CompleteIdempotent: %v", err)
	}
	got, err = s.GetIdempotent(ctx(t), "k1")
	if err != nil || got.Status != connectors.IdempotencyCompleted || !bytes.Equal(got.Result, result) {
		t.Fatalf("get completed = %+v, %v", got, err)
	}
	// A retry gets the recorded result, whoever asks.
	for _, owner := range []string{"w1", "w2"} {
		rec, err := s.BeginIdempotent(ctx(t), "k1", owner, time.Minute)
		if err != nil || rec.Status != connectors.IdempotencyCompleted || !bytes.Equal(rec.Result, result) || rec.Owner != "w1" {
			t.Fatalf("begin by %s after completion = %+v, %v", owner, rec, err)
		}
	}
	// Completing again cannot change the recorded result.
	if err := s.CompleteIdempotent(ctx(t), "k1", "w1", []byte(`{"other":1}`)); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("second complete err = %v, want ErrConflict", err)
	}
	if got, _ := s.GetIdempotent(ctx(t), "k1"); !bytes.Equal(got.Result, result) {
		t.Fatalf("result changed to %s", got.Result)
	}

	wantCode(t, errOfRec(s.BeginIdempotent(ctx(t), "", "w1", time.Minute)), connectors.EInvalid)
	wantCode(t, errOfRec(s.BeginIdempotent(ctx(t), "k2", "", time.Minute)), connectors.EInvalid)
	wantCode(t, errOfRec(s.BeginIdempotent(ctx(t), "k2", "w1", 0)), connectors.EInvalid)
}

func errOfRec(_ *connectors.IdempotencyRecord, err error) error { return err }

func testIdempotencyTakeover(t *testing.T, s connectors.Store) {
	// A lease long enough that a slow emulator answers the next call within it.
	if _, err := s.BeginIdempotent(ctx(t), "k1", "w1", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginIdempotent(ctx(t), "k1", "w2", time.Minute); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("takeover during lease err = %v, want ErrConflict", err)
	}
	time.Sleep(1100 * time.Millisecond)
	rec, err := s.BeginIdempotent(ctx(t), "k1", "w2", time.Minute)
	if err != nil || rec.Owner != "w2" || rec.Status != connectors.IdempotencyInProgress {
		t.Fatalf("takeover after lease = %+v, %v", rec, err)
	}
	// The first owner lost the key: its late result is refused.
	if err := s.CompleteIdempotent(ctx(t), "k1", "w1", []byte(`"late"`)); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("complete by the old owner err = %v, want ErrConflict", err)
	}
	if err := s.CompleteIdempotent(ctx(t), "k1", "w2", []byte(`"ok"`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIdempotent(ctx(t), "k1")
	if err != nil || string(got.Result) != `"ok"` || got.Owner != "w2" {
		t.Fatalf("after takeover = %+v, %v", got, err)
	}
}

func testIdempotencyRelease(t *testing.T, s connectors.Store) {
	release := func(key, owner string) {
		t.Helper()
		if err := s.ReleaseIdempotent(ctx(t), key, owner); err != nil {
			t.Fatalf("ReleaseIdempotent(%s, %s): %v", key, owner, err)
		}
	}
	release("missing", "w1") // nothing to release is not an error
	if _, err := s.BeginIdempotent(ctx(t), "k1", "w1", time.Minute); err != nil {
		t.Fatal(err)
	}
	release("k1", "w2") // not w2's: nothing happens
	if _, err := s.BeginIdempotent(ctx(t), "k1", "w2", time.Minute); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("begin after a foreign release err = %v, want ErrConflict", err)
	}
	release("k1", "w1") // the work failed: a retry may claim the key at once
	rec, err := s.BeginIdempotent(ctx(t), "k1", "w2", time.Minute)
	if err != nil || rec.Owner != "w2" || rec.Status != connectors.IdempotencyInProgress {
		t.Fatalf("begin after release = %+v, %v", rec, err)
	}
	if err := s.CompleteIdempotent(ctx(t), "k1", "w1", []byte(`"stale"`)); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("complete by the releaser err = %v, want ErrConflict", err)
	}
	if err := s.CompleteIdempotent(ctx(t), "k1", "w2", []byte(`"done"`)); err != nil {
		t.Fatal(err)
	}
	release("k1", "w2") // completed results are kept
	got, err := s.GetIdempotent(ctx(t), "k1")
	if err != nil || got.Status != connectors.IdempotencyCompleted || string(got.Result) != `"done"` {
		t.Fatalf("completed record after release = %+v, %v", got, err)
	}
}

func testAudit(t *testing.T, s connectors.Store) {
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// Offsets chosen so that string order of RFC3339Nano (which trims zeros)
	// would differ from time order: .5s sorts before the whole second.
	offsets := []time.Duration{3 * time.Second, 0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
	for i, off := range offsets {
		e := connectors.AuditEvent{
			ID:             fmt.Sprintf("e%d", i),
			OrganizationID: "o1",
			ActorUserID:    "u1",
			Actor:          "user",
			Action:         "refresh",
			ConnectionID:   "c1",
			Connector:      "slack",
			Outcome:        "success",
			Detail:         "detail",
			Time:           base.Add(off),
		}
		if err := s.AppendAudit(ctx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx(t), connectors.AuditEvent{OrganizationID: "o2", Action: "delete", Time: base}); err != nil {
		t.Fatal(err)
	}
	// ID and Time are filled in; the event sorts last (it is newest).
	if err := s.AppendAudit(ctx(t), connectors.AuditEvent{OrganizationID: "o1", Actor: "sweeper", Action: "sweep"}); err != nil {
		t.Fatal(err)
	}

	events, err := s.ListAudit(ctx(t), "o1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	if want := []string{"e1", "e2", "e3", "e4", "e0"}; len(ids) != 6 || !slices.Equal(ids[:5], want) {
		t.Fatalf("audit order = %v, want %v then the defaulted event", ids, want)
	}
	last := events[5]
	if last.ID == "" || last.Time.IsZero() || time.Since(last.Time) > time.Minute || last.Action != "sweep" {
		t.Fatalf("defaulted event = %+v", last)
	}
	first := events[0]
	if first.OrganizationID != "o1" || first.ActorUserID != "u1" || first.Actor != "user" || first.Action != "refresh" ||
		first.ConnectionID != "c1" || first.Connector != "slack" || first.Outcome != "success" || first.Detail != "detail" ||
		!first.Time.Equal(base) {
		t.Fatalf("event fields = %+v", first)
	}
	if events, err := s.ListAudit(ctx(t), "o1", 2); err != nil || len(events) != 2 || events[0].ID != "e1" || events[1].ID != "e2" {
		t.Fatalf("limited list = %v, %v", events, err)
	}
	if events, err := s.ListAudit(ctx(t), "o2", 10); err != nil || len(events) != 1 {
		t.Fatalf("o2 list = %v, %v", events, err)
	}
	if events, err := s.ListAudit(ctx(t), "o3", 10); err != nil || len(events) != 0 {
		t.Fatalf("o3 list = %v, %v", events, err)
	}
}

func testLease(t *testing.T, s connectors.Store) {
	acquire := func(name, owner string, ttl time.Duration) error {
		return s.AcquireLease(ctx(t), name, owner, ttl)
	}
	if err := acquire("refresh:c1", "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := acquire("refresh:c1", "b", time.Minute); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("acquire held lease err = %v, want ErrConflict", err)
	}
	if err := acquire("refresh:c1", "a", time.Minute); err != nil {
		t.Fatalf("renew by owner: %v", err)
	}
	if err := acquire("refresh:c2", "b", time.Minute); err != nil {
		t.Fatalf("other lease: %v", err)
	}
	// Releasing someone else's lease does nothing.
	if err := s.ReleaseLease(ctx(t), "refresh:c1", "b"); err != nil {
		t.Fatal(err)
	}
	if err := acquire("refresh:c1", "b", time.Minute); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("lease lost to a foreign release: %v", err)
	}
	if err := s.ReleaseLease(ctx(t), "refresh:c1", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx(t), "refresh:c1", "a"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if err := acquire("refresh:c1", "b", 200*time.Millisecond); err != nil {
		t.Fatalf("acquire released lease: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := acquire("refresh:c1", "c", time.Minute); err != nil {
		t.Fatalf("acquire expired lease: %v", err)
	}
	if err := acquire("refresh:c1", "b", time.Minute); !errors.Is(err, connectors.ErrConflict) {
		t.Fatalf("old owner re-acquire err = %v, want ErrConflict", err)
	}
}

func testListDue(t *testing.T, s connectors.Store) {
	now := time.Now().UTC()
	due := map[string]bool{}
	add := func(org, id string, expires time.Time, status connectors.Status, isDue bool) {
		c := Connection(org, "u1", "slack", id)
		c.ExpiresAt, c.Status = expires, status
		mustCreate(t, s, c)
		if isDue {
			due[org+"/"+id] = true
		}
	}
	// addCheck adds a connection whose credentials are next tested at
	// checkAt (an API key: no expiry, unless expires is set).
	addCheck := func(org, id string, expires, checkAt time.Time, isDue bool) {
		c := Connection(org, "u1", "stripe", id)
		c.ExpiresAt, c.CheckAt = expires, checkAt
		mustCreate(t, s, c)
		if isDue {
			due[org+"/"+id] = true
		}
	}
	addCheck("o1", "check-due", time.Time{}, now.Add(-time.Minute), true)
	addCheck("o1", "check-later", time.Time{}, now.Add(24*time.Hour), false)
	addCheck("o2", "check-due-expires-later", now.Add(24*time.Hour), now.Add(time.Minute), true)
	addCheck("o2", "expires-due-check-later", now.Add(time.Minute), now.Add(24*time.Hour), true)
	addCheck("o3", "check-at-before", time.Time{}, now.Add(5*time.Minute), false) // not strictly before
	add("o1", "expired", now.Add(-time.Hour), connectors.StatusActive, true)
	add("o1", "soon", now.Add(time.Minute), connectors.StatusActive, true)
	add("o1", "later", now.Add(24*time.Hour), connectors.StatusActive, false)
	add("o1", "unknown", time.Time{}, connectors.StatusActive, false)
	add("o1", "failed", time.Time{}, connectors.StatusRefreshFailed, true)
	add("o1", "failed-later", now.Add(24*time.Hour), connectors.StatusRefreshFailed, true)
	add("o2", "expired2", now.Add(-time.Second), connectors.StatusReauthRequired, true)
	add("o3", "soon-sub-second", now.Add(5*time.Minute-500*time.Millisecond), connectors.StatusActive, true)
	add("o3", "at-before", now.Add(5*time.Minute), connectors.StatusActive, false) // not strictly before
	// Other item kinds must not show up.
	if err := s.CreateState(ctx(t), &connectors.OAuthState{Nonce: "n", OrganizationID: "o1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx(t), connectors.AuditEvent{OrganizationID: "o1", Action: "x"}); err != nil {
		t.Fatal(err)
	}

	before := now.Add(5 * time.Minute)
	for _, limit := range []int{1, 2, 100} {
		got := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("sweep pagination does not end")
			}
			page, err := s.ListDueConnections(ctx(t), before, limit, cursor)
			if err != nil {
				t.Fatalf("ListDueConnections: %v", err)
			}
			if len(page.Connections) > limit {
				t.Fatalf("page of %d, limit %d", len(page.Connections), limit)
			}
			for _, c := range page.Connections {
				k := c.OrganizationID + "/" + c.ID
				if got[k] {
					t.Fatalf("limit %d: %s listed twice", limit, k)
				}
				got[k] = true
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if !mapsEqual(got, due) {
			t.Fatalf("limit %d: due = %v, want %v", limit, keys(got), keys(due))
		}
	}

	page, err := s.ListDueConnections(ctx(t), before, 1, "")
	if err != nil || page.NextCursor == "" {
		t.Fatalf("first page: %v", err)
	}
	wantCode(t, errOf(s.ListDueConnections(ctx(t), before, 1, page.NextCursor+"x")), connectors.EInvalid)
	// Cursors of one listing are not valid in another.
	wantCode(t, errOf(s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", Cursor: page.NextCursor})), connectors.EInvalid)
	userPage, err := s.ListConnections(ctx(t), connectors.ConnectionFilter{OrganizationID: "o1", Limit: 1})
	if err != nil || userPage.NextCursor == "" {
		t.Fatalf("list: %v", err)
	}
	wantCode(t, errOf(s.ListDueConnections(ctx(t), before, 1, userPage.NextCursor)), connectors.EInvalid)
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// parallel runs fn(i) for i in [0, Workers) at once, released together.
func parallel(fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testConcurrentUpdateOneWinner(t *testing.T, s connectors.Store) {
	c := Connection("o1", "u1", "slack", "c1")
	mustCreate(t, s, c)
	var wins atomic.Int32
	var winner atomic.Value
	errs := make(chan error, Workers)
	parallel(func(i int) {
		mine := *c // everyone read version 1
		mine.Scopes = []string{fmt.Sprint("w", i)}
		err := s.UpdateConnection(context.Background(), &mine)
		switch {
		case err == nil:
			wins.Add(1)
			winner.Store(mine.Scopes[0])
		case !errors.Is(err, connectors.ErrConflict):
			errs <- err
		}
	})
	close(errs)
	for err := range errs {
		t.Errorf("loser err = %v, want ErrConflict", err)
	}
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d updates from version 1 won, want exactly 1", n)
	}
	got := mustGet(t, s, "o1", "c1")
	if got.Version != 2 || !slices.Equal(got.Scopes, []string{winner.Load().(string)}) {
		t.Fatalf("stored version %d scopes %v, want version 2 with the winner's write %v", got.Version, got.Scopes, winner.Load())
	}
}

func testConcurrentNoLostUpdate(t *testing.T, s connectors.Store) {
	c := Connection("o1", "u1", "slack", "c1")
	c.Scopes = nil
	mustCreate(t, s, c)
	var mu sync.Mutex
	winsAt := map[int64]int{} // version written -> number of writers
	errs := make(chan error, Workers)
	parallel(func(i int) {
		ctx := context.Background()
		for attempt := 0; ; attempt++ {
			if attempt > 10*Workers {
				errs <- fmt.Errorf("worker %d: gave up after %d attempts", i, attempt)
				return
			}
			cur, err := s.GetConnection(ctx, "o1", "c1")
			if err != nil {
				errs <- err
				return
			}
			cur.Scopes = append(cur.Scopes, fmt.Sprint("w", i))
			err = s.UpdateConnection(ctx, cur)
			if errors.Is(err, connectors.ErrConflict) {
				continue
			}
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			winsAt[cur.Version]++
			mu.Unlock()
			return
		}
	})
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustGet(t, s, "o1", "c1")
	if got.Version != Workers+1 {
		t.Errorf("final version = %d, want %d", got.Version, Workers+1)
	}
	for v, n := range winsAt {
		if n != 1 {
			t.Errorf("version %d was written by %d workers, want 1", v, n)
		}
	}
	seen := map[string]bool{}
	for _, s := range got.Scopes {
		if seen[s] {
			t.Errorf("scope %s appended twice", s)
		}
		seen[s] = true
	}
	if len(seen) != Workers {
		t.Fatalf("%d of %d appends survived: lost updates (scopes %v)", len(seen), Workers, got.Scopes)
	}
}

func testConcurrentCreate(t *testing.T, s connectors.Store) {
	var wins atomic.Int32
	parallel(func(i int) {
		c := Connection("o1", fmt.Sprint("u", i), "slack", "c1")
		err := s.CreateConnection(context.Background(), c)
		if err == nil {
			wins.Add(1)
		} else if !errors.Is(err, connectors.ErrConflict) {
			t.Errorf("create err = %v, want nil or ErrConflict", err)
		}
	})
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent creates won, want 1", n)
	}
}

func testConcurrentConsume(t *testing.T, s connectors.Store) {
	if err := s.CreateState(ctx(t), &connectors.OAuthState{Nonce: "n1", OrganizationID: "o1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	parallel(func(i int) {
		st, err := s.ConsumeState(context.Background(), "n1")
		switch {
		case err == nil && st.UserID == "u1":
			wins.Add(1)
		case err == nil:
			t.Errorf("consumed state %+v", st)
		case !errors.Is(err, connectors.ErrInvalidState):
			t.Errorf("consume err = %v, want ErrInvalidState", err)
		}
	})
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d consumers got the state, want exactly 1", n)
	}
}

func testConcurrentBegin(t *testing.T, s connectors.Store) {
	var wins atomic.Int32
	parallel(func(i int) {
		owner := fmt.Sprint("w", i)
		rec, err := s.BeginIdempotent(context.Background(), "k1", owner, time.Minute)
		switch {
		case err == nil && rec.Status == connectors.IdempotencyInProgress && rec.Owner == owner:
			wins.Add(1)
		case err == nil:
			t.Errorf("begin by %s = %+v", owner, rec)
		case !errors.Is(err, connectors.ErrConflict):
			t.Errorf("begin err = %v, want ErrConflict", err)
		}
	})
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d workers proceeded, want exactly 1", n)
	}
}
