package sweeper_test

// Tests of the connection sweeper (issue 7, item 2) against the real
// connection service, a real store (bbolt, and DynamoDB on moto), the fake
// Nango and a fake OAuth token endpoint.

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/sweeper"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/connecttest"
	"github.com/automators/connectors/internal/tstest/oauthtest"
)

const (
	org          = "org-sweep"
	user         = "user-sweep"
	clientID     = "gmail-client-id"
	clientSecret = "gmail-client-SECRET"
	nangoSecret  = "nango-secret-for-sweeper-tests"
)

var sealKey = []byte("0123456789abcdef0123456789abcdef")

// world is one deployment: a store, the fake Nango, the token endpoint.
type world struct {
	store  connectors.Store
	fake   *nangofake.Server
	nango  *nango.Client
	tokens *oauthtest.Server // rotates refresh tokens and refuses reused ones
	sealer *seal.Sealer
}

func newWorld(t *testing.T, kind string) *world {
	t.Helper()
	w := &world{tokens: oauthtest.New(t, oauthtest.Options{ClientID: clientID, ClientSecret: clientSecret, Rotate: true})}
	w.fake = nangofake.New(nangofake.Options{SecretKey: nangoSecret, Integrations: []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}})
	url := w.fake.Start()
	t.Cleanup(w.fake.Close)
	w.nango = nango.New(url, nangoSecret, nango.WithMaxRetries(1), nango.WithBackoff(time.Millisecond, 5*time.Millisecond))
	var err error
	if w.sealer, err = seal.New(seal.Key{ID: "k1", Secret: sealKey}); err != nil {
		t.Fatal(err)
	}
	switch kind {
	case "bolt":
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "c.db"), []byte("cursor-key"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		w.store = s
	case "dynamodb":
		client := awstest.DynamoDB(t)
		w.store = dynamostore.New(client, awstest.Table(t, client), []byte("cursor-key"))
	default:
		t.Fatalf("unknown store %q", kind)
	}
	return w
}

// service is one container's connection service.
func (w *world) service(t *testing.T) *credentials.Lifecycle {
	gp := w.tokens.GoogleProvider("https://api.example.com/cb")
	_, tokens := connecttest.New(w.store, connecttest.Options{
		Nango: w.nango, NangoHost: "http://nango.invalid",
		OAuthServers: map[string]*legacyoauth.Provider{"gmail": gp}, HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Sealer: w.sealer, StateKey: []byte("state-key-sweeper-tests-0123456789"),
	})
	return tokens
}

// legacy stores a gmail connection whose token expires at expiry.
func (w *world) legacy(t *testing.T, id string, expiry time.Time, status connectors.Status) (*connectors.Connection, connectors.Token) {
	t.Helper()
	tok := w.tokens.Issue(expiry)
	plain, _ := tok.Marshal()
	sealed, err := w.sealer.Seal(plain, seal.AAD(org, id))
	if err != nil {
		t.Fatal(err)
	}
	c := &connectors.Connection{ID: id, OrganizationID: org, UserID: user, Connector: "gmail", AuthProvider: connectors.ProviderLegacy,
		ProviderConfigKey: "gmail", Status: status, ExpiresAt: tok.Expiry, SealedToken: sealed}
	if err := w.store.CreateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c, tok
}

// nangoConn connects a slack connection at the fake and stores its record
// with the given expiry (as last seen) and status.
func (w *world) nangoConn(t *testing.T, expiry time.Time, status connectors.Status) *connectors.Connection {
	t.Helper()
	sess, err := w.nango.CreateConnectSession(t.Context(), nango.ConnectSessionRequest{
		Tags: map[string]string{nango.TagUser: user, nango.TagOrg: org}, AllowedIntegrations: []string{"slack"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.fake.CompleteSession(sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	c := &connectors.Connection{ID: id, OrganizationID: org, UserID: user, Connector: "slack", AuthProvider: connectors.ProviderNango,
		ProviderConfigKey: "slack", Status: status, ExpiresAt: expiry}
	if err := w.store.CreateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) get(t *testing.T, id string) *connectors.Connection {
	t.Helper()
	c, err := w.store.GetConnection(t.Context(), org, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}

// sweepAudits returns the sweeper's audit events by connection id.
func (w *world) sweepAudits(t *testing.T) map[string][]connectors.AuditEvent {
	t.Helper()
	evs, err := w.store.ListAudit(t.Context(), org, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]connectors.AuditEvent{}
	for _, e := range evs {
		if e.Actor == "sweeper" {
			out[e.ConnectionID] = append(out[e.ConnectionID], e)
		}
	}
	return out
}

var kinds = []string{"bolt", "dynamodb"}

func TestSweepFindsAndChecksDueConnections(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			now := time.Now()
			legacyDue, legacyDueTok := w.legacy(t, "gmail-due", now.Add(10*time.Minute), connectors.StatusActive)
			legacyFailed, _ := w.legacy(t, "gmail-failed", now.Add(2*time.Hour), connectors.StatusRefreshFailed)
			legacyHealthy, _ := w.legacy(t, "gmail-healthy", now.Add(2*time.Hour), connectors.StatusActive)
			legacyReauth, _ := w.legacy(t, "gmail-reauth", now.Add(-time.Hour), connectors.StatusReauthRequired)
			nangoDue := w.nangoConn(t, now.Add(5*time.Minute), connectors.StatusActive)
			nangoRefused := w.nangoConn(t, now.Add(-time.Minute), connectors.StatusActive)
			nangoHealthy := w.nangoConn(t, now.Add(3*time.Hour), connectors.StatusActive)
			nangoFailed := w.nangoConn(t, now.Add(3*time.Hour), connectors.StatusRefreshFailed)
			w.fake.ExpireToken(nangoRefused.ID)
			w.fake.FailRefresh(nangoRefused.ID)

			nangoGetsBefore := w.fake.Requests(http.MethodGet, "/connections/")
			sw := sweeper.New(w.store, w.service(t), sweeper.Options{Owner: "sweeper-1"})
			res, err := sw.Sweep(t.Context(), "")
			if err != nil {
				t.Fatalf("sweep: %v", err)
			}
			want := sweeper.Result{Checked: 5, Healthy: 4, ReauthRequired: 1}
			if res != want {
				t.Errorf("result = %+v, want %+v", res, want)
			}

			type expect struct {
				c       *connectors.Connection
				status  connectors.Status
				checked bool
				outcome string
			}
			for _, x := range []expect{
				{legacyDue, connectors.StatusActive, true, "success"},
				{legacyFailed, connectors.StatusActive, true, "success"},
				{nangoDue, connectors.StatusActive, true, "success"},
				{nangoFailed, connectors.StatusActive, true, "success"},
				{nangoRefused, connectors.StatusReauthRequired, true, connectors.EReauthRequired},
				{legacyHealthy, connectors.StatusActive, false, ""},
				{nangoHealthy, connectors.StatusActive, false, ""},
				{legacyReauth, connectors.StatusReauthRequired, false, ""},
			} {
				got := w.get(t, x.c.ID)
				if got.Status != x.status {
					t.Errorf("%s (%s): status %s, want %s", x.c.ID, x.c.Connector, got.Status, x.status)
				}
				if x.checked != (got.Version != x.c.Version) {
					t.Errorf("%s: version %d -> %d, checked=%v", x.c.ID, x.c.Version, got.Version, x.checked)
				}
				audits := w.sweepAudits(t)[x.c.ID]
				switch {
				case !x.checked && len(audits) != 0:
					t.Errorf("%s: untouched, yet audited %+v", x.c.ID, audits)
				case x.checked && (len(audits) != 1 || audits[0].Outcome != x.outcome || audits[0].Action != "health_check" ||
					audits[0].ActorUserID != "" || audits[0].Detail != string(x.status)):
					t.Errorf("%s: sweeper audit events %+v, want one health_check %s/%s", x.c.ID, audits, x.outcome, x.status)
				}
				if x.checked && x.status == connectors.StatusActive && !got.ExpiresAt.After(now.Add(30*time.Minute)) {
					t.Errorf("%s: expiresAt %s after a successful check, want a fresh token's", x.c.ID, got.ExpiresAt)
				}
			}
			// Built-in OAuth: one token request per due connection; none for
			// the healthy one or the one waiting for its user.
			total, per := w.tokens.Stats().Refreshes, w.tokens.FamilyRefreshes()
			if total != 2 || per[legacyDueTok.RefreshToken] != 1 {
				t.Errorf("token requests = %d (%v), want 2: gmail-due and gmail-failed", total, per)
			}
			// Nango: one GET per due Nango connection.
			if n := w.fake.Requests(http.MethodGet, "/connections/") - nangoGetsBefore; n != 3 {
				t.Errorf("Nango GETs = %d, want 3", n)
			}

			// A second run finds nothing left to do but nothing breaks.
			res, err = sw.Sweep(t.Context(), "")
			if err != nil || res != (sweeper.Result{}) {
				t.Errorf("second sweep = %+v, %v; want nothing to do", res, err)
			}
		})
	}
}

// TestSweepLegacyTransientFailure: the token endpoint answering 503 marks
// refresh_failed; the next run, with the provider back, makes it active.
func TestSweepLegacyTransientFailure(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			c, tok := w.legacy(t, "gmail-flaky", time.Now().Add(5*time.Minute), connectors.StatusActive)
			sw := sweeper.New(w.store, w.service(t), sweeper.Options{Owner: "sweeper-1"})

			w.tokens.FailTokenRequests(-1, http.StatusServiceUnavailable) // down
			res, err := sw.Sweep(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if res != (sweeper.Result{Checked: 1, Failed: 1}) {
				t.Errorf("run 1 = %+v, want 1 checked, 1 failed", res)
			}
			got := w.get(t, c.ID)
			if got.Status != connectors.StatusRefreshFailed || got.Version != c.Version+1 || !slices.Equal(got.SealedToken, c.SealedToken) {
				t.Errorf("after the outage: status %s version %d->%d token changed=%v; want refresh_failed, one update, same token",
					got.Status, c.Version, got.Version, !slices.Equal(got.SealedToken, c.SealedToken))
			}
			audits := w.sweepAudits(t)[c.ID]
			if len(audits) != 1 || audits[0].Outcome != connectors.EUnavailable || audits[0].Detail != string(connectors.StatusRefreshFailed) {
				t.Errorf("audit after outage = %+v", audits)
			}

			w.tokens.FailTokenRequests(0, 0) // back
			res, err = sw.Sweep(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if res != (sweeper.Result{Checked: 1, Healthy: 1}) {
				t.Errorf("run 2 = %+v, want 1 checked, 1 healthy", res)
			}
			got = w.get(t, c.ID)
			if got.Status != connectors.StatusActive || !got.ExpiresAt.After(time.Now().Add(30*time.Minute)) {
				t.Errorf("after recovery: status %s expiresAt %s", got.Status, got.ExpiresAt)
			}
			if total, per := w.tokens.Stats().Refreshes, w.tokens.FamilyRefreshes(); total != 2 || per[tok.RefreshToken] != 2 {
				t.Errorf("token requests = %d %v, want 2 (one failed, one good)", total, per)
			}
			if audits := w.sweepAudits(t)[c.ID]; len(audits) != 2 || audits[1].Outcome != "success" {
				t.Errorf("audits = %+v, want a second, successful health_check", audits)
			}

			// A refusal after that is reauth_required, and later runs leave
			// the connection alone (only the user can fix it).
			w.tokens.Revoke(tok.RefreshToken)
			w.store.UpdateConnection(t.Context(), func() *connectors.Connection {
				g := w.get(t, c.ID)
				g.ExpiresAt = time.Now().Add(time.Minute)
				return g
			}())
			res, _ = sw.Sweep(t.Context(), "")
			if res != (sweeper.Result{Checked: 1, ReauthRequired: 1}) || w.get(t, c.ID).Status != connectors.StatusReauthRequired {
				t.Errorf("refused grant: run = %+v, status %s", res, w.get(t, c.ID).Status)
			}
			before := w.tokens.Stats().Refreshes
			res, _ = sw.Sweep(t.Context(), "")
			if after := w.tokens.Stats().Refreshes; res != (sweeper.Result{}) || after != before {
				t.Errorf("reauth_required connection swept again: %+v, %d token requests", res, after-before)
			}
		})
	}
}

// TestSweepMaxPerRun: a run checks at most MaxPerRun connections and
// returns a cursor; following the cursors checks every due connection once.
func TestSweepMaxPerRun(t *testing.T) {
	for _, kind := range kinds {
		for _, pageSize := range []int{2, 25} {
			t.Run(fmt.Sprintf("%s/page%d", kind, pageSize), func(t *testing.T) {
				w := newWorld(t, kind)
				// Nango is down: every check fails and the connections stay
				// due (refresh_failed), so a run cannot make progress by
				// making them disappear from the listing.
				const n = 7
				var ids []string
				for range n {
					ids = append(ids, w.nangoConn(t, time.Now().Add(time.Minute), connectors.StatusActive).ID)
				}
				w.fake.Inject(nangofake.Fault{Method: http.MethodGet, Path: "/connections/", Status: http.StatusServiceUnavailable})
				sort.Strings(ids)
				checker := &countingChecker{next: w.service(t)}
				sw := sweeper.New(w.store, checker, sweeper.Options{Owner: "s1", MaxPerRun: 3, PageSize: pageSize})
				cursor := ""
				var runs []sweeper.Result
				for range 10 {
					res, err := sw.Sweep(t.Context(), cursor)
					if err != nil {
						t.Fatal(err)
					}
					runs = append(runs, res)
					if res.Checked > 3 {
						t.Errorf("run %d checked %d, MaxPerRun is 3", len(runs), res.Checked)
					}
					if cursor = res.Cursor; cursor == "" {
						break
					}
				}
				if len(runs) != 3 || runs[0].Checked != 3 || runs[1].Checked != 3 || runs[2].Checked != 1 || runs[0].Cursor == "" || runs[1].Cursor == "" {
					t.Errorf("runs = %+v, want 3+3+1 with cursors between", runs)
				}
				if got := checker.ids(); !slices.Equal(got, ids) {
					t.Errorf("checked %v, want each due connection once: %v", got, ids)
				}
				for _, id := range ids {
					if s := w.get(t, id).Status; s != connectors.StatusRefreshFailed {
						t.Errorf("%s: status %s, want refresh_failed (Nango 503)", id, s)
					}
				}
			})
		}
	}
}

// TestSweepTwiceAtOnce: two sweepers (two containers, two owners) run at
// once over the same due connections: no connection is checked by both at
// the same time, and each due built-in OAuth connection costs exactly one
// token request.
func TestSweepTwiceAtOnce(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			w.tokens.SetLatency(50 * time.Millisecond)
			const n = 12
			for i := range n {
				w.legacy(t, fmt.Sprintf("gmail-%02d", i), time.Now().Add(time.Duration(i)*time.Minute), connectors.StatusActive)
			}
			for range 3 {
				w.nangoConn(t, time.Now().Add(time.Minute), connectors.StatusActive)
			}
			guard := &overlapGuard{inFlight: map[string]bool{}}
			var wg sync.WaitGroup
			results := make([]sweeper.Result, 2)
			for i := range 2 {
				checker := &guardedChecker{next: w.service(t), guard: guard}
				sw := sweeper.New(w.store, checker, sweeper.Options{Owner: fmt.Sprintf("sweeper-%d", i), PageSize: 4})
				wg.Go(func() {
					res, err := sw.Sweep(t.Context(), "")
					if err != nil {
						t.Errorf("sweeper %d: %v", i, err)
					}
					results[i] = res
				})
			}
			wg.Wait()
			if guard.overlaps.Load() != 0 {
				t.Errorf("%d checks overlapped on one connection", guard.overlaps.Load())
			}
			total, per := w.tokens.Stats().Refreshes, w.tokens.FamilyRefreshes()
			if total != n {
				t.Errorf("token requests = %d, want %d (one per due built-in OAuth connection)", total, n)
			}
			for fam, k := range per {
				if k != 1 {
					t.Errorf("refresh token family %.12s... refreshed %d times", fam, k)
				}
			}
			checked := results[0].Checked + results[1].Checked
			if checked < n+3 {
				t.Errorf("results %+v: %d checked, want every one of %d due connections checked", results, checked, n+3)
			}
			for _, r := range results {
				if r.Failed != 0 || r.ReauthRequired != 0 {
					t.Errorf("result %+v: failures", r)
				}
			}
			t.Logf("two sweepers: %+v and %+v; %d token requests for %d due built-in OAuth connections", results[0], results[1], total, n)
			audits := w.sweepAudits(t)
			if len(audits) != n+3 {
				t.Errorf("audited %d connections, want %d", len(audits), n+3)
			}
		})
	}
}

// countingChecker records which connections were checked, in order.
type countingChecker struct {
	next sweeper.Checker
	mu   sync.Mutex
	seen []string
}

func (c *countingChecker) Check(ctx context.Context, conn *connectors.Connection) (*connectors.Connection, error) {
	c.mu.Lock()
	c.seen = append(c.seen, conn.ID)
	c.mu.Unlock()
	return c.next.Check(ctx, conn)
}

func (c *countingChecker) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.seen)
	sort.Strings(out)
	return out
}

// overlapGuard counts checks of one connection that ran at the same time.
type overlapGuard struct {
	mu       sync.Mutex
	inFlight map[string]bool
	overlaps atomic.Int64
}

type guardedChecker struct {
	next  sweeper.Checker
	guard *overlapGuard
}

func (g *guardedChecker) Check(ctx context.Context, c *connectors.Connection) (*connectors.Connection, error) {
	g.guard.mu.Lock()
	if g.guard.inFlight[c.ID] {
		g.guard.overlaps.Add(1)
	}
	g.guard.inFlight[c.ID] = true
	g.guard.mu.Unlock()
	defer func() {
		g.guard.mu.Lock()
		delete(g.guard.inFlight, c.ID)
		g.guard.mu.Unlock()
	}()
	return g.next.Check(ctx, c)
}
