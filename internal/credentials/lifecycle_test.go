package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

// TestRefusedGrant: a provider refusing a connection's grant
// (reauth_required) or no longer having it (not_found) marks the
// connection reauth_required and answers EReauthRequired, whether an
// action asked for credentials or the API for a refresh; a provider's
// outage answers its error and changes nothing, caches nothing.
func TestRefusedGrant(t *testing.T) {
	ops := []struct {
		name string
		run  func(ctx context.Context, l *credentials.Lifecycle, p connectors.Provider, c *connectors.Connection) error
	}{
		{"Credentials", func(ctx context.Context, l *credentials.Lifecycle, p connectors.Provider, c *connectors.Connection) error {
			_, err := l.Credentials(ctx, p, c, false)
			return err
		}},
		{"Credentials/force", func(ctx context.Context, l *credentials.Lifecycle, p connectors.Provider, c *connectors.Connection) error {
			_, err := l.Credentials(ctx, p, c, true)
			return err
		}},
		{"Refresh", func(ctx context.Context, l *credentials.Lifecycle, _ connectors.Provider, c *connectors.Connection) error {
			_, err := l.Refresh(ctx, c)
			return err
		}},
	}
	cases := []struct {
		name       string
		err        error
		wantCode   string
		wantStatus connectors.Status
	}{
		{"refused", connectors.Errorf(connectors.EReauthRequired, "invalid_grant"), connectors.EReauthRequired, connectors.StatusReauthRequired},
		{"not found", connectors.Errorf(connectors.ENotFound, "no such connection"), connectors.EReauthRequired, connectors.StatusReauthRequired},
		{"unavailable", connectors.Errorf(connectors.EUnavailable, "503"), connectors.EUnavailable, connectors.StatusActive},
		{"rate limited", connectors.Errorf(connectors.ERateLimited, "429"), connectors.ERateLimited, connectors.StatusActive},
	}
	for _, op := range ops {
		for _, tc := range cases {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				store, _ := newUnitStore(t)
				clk := newClock()
				rec := &grantRecorder{}
				p := heldProvider(rec, clk, time.Hour, tc.err)
				l := newUnit(t, store, clk, p)
				seeded := seedHeld(t, store, "conn-refused", connectors.StatusActive)
				c := *seeded

				err := op.run(t.Context(), l, p, &c)
				if code := connectors.ErrorCode(err); code != tc.wantCode {
					t.Fatalf("err = %v (code %q), want code %q", err, code, tc.wantCode)
				}
				if tc.wantCode == connectors.EReauthRequired && !errors.Is(err, connectors.ErrReauthRequired) {
					t.Errorf("err = %v, not errors.Is ErrReauthRequired", err)
				}
				stored := reload(t, store, seeded.ID)
				if stored.Status != tc.wantStatus {
					t.Errorf("status = %s, want %s", stored.Status, tc.wantStatus)
				}
				wantVersion := seeded.Version
				if tc.wantStatus != seeded.Status {
					wantVersion++
				}
				if stored.Version != wantVersion {
					t.Errorf("version %d -> %d, want %d", seeded.Version, stored.Version, wantVersion)
				}
				// Nothing was cached: the next read asks the provider again.
				before := len(rec.Calls())
				c = *stored
				_, _ = l.Credentials(t.Context(), p, &c, false)
				if len(rec.Calls()) != before+1 {
					t.Errorf("the next read did not ask the provider: credentials were cached after a failure")
				}
			})
		}
	}
}

// TestRefreshHeldSingleFlight: concurrent refreshes of one connection whose
// provider keeps its token, in one container, make one provider call and
// one write; every caller gets the result, each its own copy.
func TestRefreshHeldSingleFlight(t *testing.T) {
	const callers = 20
	store, _ := newUnitStore(t)
	clk := newClock()
	rec := &grantRecorder{}
	p := heldProvider(rec, clk, time.Hour, nil)
	arrived, release := gate(p, callers)
	l := newUnit(t, store, clk, p)
	seeded := seedHeld(t, store, "conn-flight", connectors.StatusRefreshFailed)

	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]*connectors.Connection, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			c := *seeded // each caller read the record before the refresh
			<-start
			got[i], errs[i] = l.Refresh(t.Context(), &c)
		})
	}
	close(start)
	<-arrived
	// Give the other callers time to join the flight; any that did not
	// would be a second provider call, which the test reports.
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()

	calls := rec.Calls()
	if len(calls) != 1 {
		t.Errorf("provider calls = %d, want 1", len(calls))
	}
	for _, c := range calls {
		if !c.refresh || c.held != nil {
			t.Errorf("provider call refresh=%v held=%v, want a refresh of a provider-held token", c.refresh, c.held)
		}
	}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i].Status != connectors.StatusActive {
			t.Errorf("caller %d: status %s, want active", i, got[i].Status)
		}
		if i > 0 && got[i] == got[0] {
			t.Errorf("callers 0 and %d share one record", i)
		}
	}
	stored := reload(t, store, seeded.ID)
	if stored.Version != seeded.Version+1 {
		t.Errorf("version %d -> %d, want one write", seeded.Version, stored.Version)
	}
	if stored.Status != connectors.StatusActive || !stored.LastRefreshedAt.Equal(t0) || !stored.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("stored: status %s lastRefreshedAt %s expiresAt %s; want active, %s, %s",
			stored.Status, stored.LastRefreshedAt, stored.ExpiresAt, t0, t0.Add(time.Hour))
	}
}

// TestCheck: the sweeper's visit records the result: success makes the
// connection active, a failure that may pass refresh_failed, a refusal
// reauth_required; a provider this deployment cannot use leaves the record
// alone.
func TestCheck(t *testing.T) {
	unavailable := connectors.Errorf(connectors.EUnavailable, "503")
	refused := connectors.Errorf(connectors.EReauthRequired, "invalid_grant")
	cases := []struct {
		name     string
		kept     bool // this service keeps the token
		from     connectors.Status
		provider func(rec *grantRecorder, clk *clock) connectors.Provider // nil: not in the deployment
		wantCode string
		want     connectors.Status
	}{
		{"held/ok", false, connectors.StatusRefreshFailed, okProvider, "", connectors.StatusActive},
		{"held/unavailable", false, connectors.StatusActive, failing(unavailable), connectors.EUnavailable, connectors.StatusRefreshFailed},
		{"held/rate limited", false, connectors.StatusActive, failing(connectors.Errorf(connectors.ERateLimited, "429")), connectors.ERateLimited, connectors.StatusRefreshFailed},
		{"held/upstream", false, connectors.StatusActive, failing(connectors.Errorf(connectors.EUpstream, "500")), connectors.EUpstream, connectors.StatusRefreshFailed},
		{"held/refused", false, connectors.StatusActive, failing(refused), connectors.EReauthRequired, connectors.StatusReauthRequired},
		{"held/not found", false, connectors.StatusRefreshFailed, failing(connectors.Errorf(connectors.ENotFound, "gone")), connectors.EReauthRequired, connectors.StatusReauthRequired},
		{"held/refused stays refused", false, connectors.StatusReauthRequired, failing(unavailable), connectors.EUnavailable, connectors.StatusReauthRequired},
		{"held/not configured", false, connectors.StatusActive, unconfigured, connectors.ENotConfigured, connectors.StatusActive},
		{"held/not in the deployment", false, connectors.StatusRefreshFailed, nil, connectors.ENotConfigured, connectors.StatusRefreshFailed},
		{"kept/ok", true, connectors.StatusRefreshFailed, okProvider, "", connectors.StatusActive},
		{"kept/unavailable", true, connectors.StatusActive, failing(unavailable), connectors.EUnavailable, connectors.StatusRefreshFailed},
		{"kept/refused", true, connectors.StatusRefreshFailed, failing(refused), connectors.EReauthRequired, connectors.StatusReauthRequired},
		{"kept/not configured", true, connectors.StatusActive, unconfigured, connectors.ENotConfigured, connectors.StatusActive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := newUnitStore(t)
			clk := newClock()
			rec := &grantRecorder{}
			var ps []connectors.Provider
			if tc.provider != nil {
				ps = append(ps, tc.provider(rec, clk))
			}
			l := newUnit(t, store, clk, ps...)
			var seeded *connectors.Connection
			if tc.kept {
				seeded = seedKept(t, store, "conn-check", connectors.Token{AccessToken: "access-0", RefreshToken: "refresh-0", Expiry: t0.Add(time.Hour)}, tc.from)
			} else {
				seeded = seedHeld(t, store, "conn-check", tc.from)
			}
			c := *seeded
			got, err := l.Check(t.Context(), &c)
			if code := connectors.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want code %q", err, code, tc.wantCode)
			}
			stored := reload(t, store, seeded.ID)
			if stored.Status != tc.want {
				t.Errorf("status %s -> %s, want %s", tc.from, stored.Status, tc.want)
			}
			// Every result is recorded (one write, even when the status
			// stays), except that of a provider this deployment cannot use.
			wantVersion := seeded.Version + 1
			if tc.wantCode == connectors.ENotConfigured {
				wantVersion = seeded.Version
			}
			if stored.Version != wantVersion {
				t.Errorf("version %d -> %d, want %d", seeded.Version, stored.Version, wantVersion)
			}
			if got != nil && got.Status != stored.Status {
				t.Errorf("Check returned status %s, the store holds %s", got.Status, stored.Status)
			}
			if tc.wantCode == "" && (got == nil || !got.LastRefreshedAt.Equal(t0)) {
				t.Errorf("Check returned %+v, want the refreshed record", got)
			}
		})
	}
}

// okProvider answers a grant: a provider-held read, or a refreshed token
// for a token this service keeps.
func okProvider(rec *grantRecorder, clk *clock) connectors.Provider {
	p := heldProvider(rec, clk, time.Hour, nil)
	read := p.GrantFn
	p.GrantFn = func(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
		g, err := read(ctx, c, held, refresh)
		if err == nil && held != nil {
			g.Token = &connectors.Token{AccessToken: g.Credentials.AccessToken, RefreshToken: held.RefreshToken, Expiry: g.ExpiresAt}
		}
		return g, err
	}
	return p
}

// failing returns a provider whose every grant fails with err.
func failing(err error) func(*grantRecorder, *clock) connectors.Provider {
	return func(rec *grantRecorder, clk *clock) connectors.Provider {
		return heldProvider(rec, clk, time.Hour, err)
	}
}

// unconfigured is the fake's name without the means to serve it.
func unconfigured(*grantRecorder, *clock) connectors.Provider {
	return connectors.Unconfigured{Provider: fakeName, Reason: "no secret"}
}

// TestSave: Save applies a change with optimistic locking: a lost race is
// re-read and the change applied again over the other writer's; a record
// that keeps losing, a provider connection held by another record, a store
// failure and a refused change are errors.
func TestSave(t *testing.T) {
	storeDown := errors.New("store down")
	cases := []struct {
		name        string
		update      func(h *hookStore, n int, c *connectors.Connection) error // the nth UpdateConnection; nil: the store's
		changeErr   error
		wantCode    string
		wantErr     error // errors.Is
		wantApplied int
		wantWrites  int64 // versions the record moved
	}{
		{name: "no race", wantApplied: 1, wantWrites: 1},
		{name: "one lost race", update: func(h *hookStore, n int, c *connectors.Connection) error {
			if n == 1 {
				// Another writer gets in first.
				other, err := h.Store.GetConnection(context.Background(), c.OrganizationID, c.ID)
				if err != nil {
					return err
				}
				other.Scopes = []string{"other-writer"}
				if err := h.Store.UpdateConnection(context.Background(), other); err != nil {
					return err
				}
			}
			return h.Store.UpdateConnection(context.Background(), c)
		}, wantApplied: 2, wantWrites: 2},
		{name: "always losing", update: func(*hookStore, int, *connectors.Connection) error {
			return connectors.Errorf(connectors.EConflict, "stale")
		}, wantCode: connectors.EConflict, wantApplied: 5},
		{name: "held by another record", update: func(*hookStore, int, *connectors.Connection) error {
			return connectors.Errorf(connectors.EOwned, "owned")
		}, wantCode: connectors.EForbidden, wantErr: connectors.ErrOwned, wantApplied: 1},
		{name: "store failure", update: func(*hookStore, int, *connectors.Connection) error {
			return storeDown
		}, wantCode: connectors.EInternal, wantErr: storeDown, wantApplied: 1},
		{name: "change refused", changeErr: connectors.Errorf(connectors.EInvalid, "no"), wantCode: connectors.EInvalid, wantApplied: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := newUnitStore(t)
			n := 0
			if tc.update != nil {
				store.updateConnection = func(_ context.Context, c *connectors.Connection) error {
					n++
					return tc.update(store, n, c)
				}
			}
			clk := newClock()
			l := newUnit(t, store, clk)
			seeded := seedHeld(t, store, "conn-save", connectors.StatusActive)
			clk.Set(t0.Add(time.Minute))
			applied := 0
			c := *seeded
			got, err := l.Save(t.Context(), &c, func(c *connectors.Connection) error {
				applied++
				c.Status = connectors.StatusRefreshFailed
				return tc.changeErr
			})
			if code := connectors.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want code %q", err, code, tc.wantCode)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.wantErr)
			}
			if applied != tc.wantApplied {
				t.Errorf("change applied %d times, want %d", applied, tc.wantApplied)
			}
			stored := reload(t, store, seeded.ID)
			if stored.Version-seeded.Version != tc.wantWrites {
				t.Errorf("version %d -> %d, want %d writes", seeded.Version, stored.Version, tc.wantWrites)
			}
			if err != nil {
				return
			}
			if got.Status != connectors.StatusRefreshFailed || stored.Status != connectors.StatusRefreshFailed || !stored.UpdatedAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("saved: status %s (returned %s), updatedAt %s", stored.Status, got.Status, stored.UpdatedAt)
			}
			if tc.wantApplied > 1 && !slices.Equal(stored.Scopes, []string{"other-writer"}) {
				t.Errorf("scopes %v: the other writer's change was lost", stored.Scopes)
			}
		})
	}
}

// TestCredentialsSingleFlight: concurrent executions fetching one
// provider-held connection's credentials make one provider call, a plain
// read and a forced refresh (after a 401) alike, and each gets the
// credentials.
func TestCredentialsSingleFlight(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			const callers = 10
			store, _ := newUnitStore(t)
			clk := newClock()
			rec := &grantRecorder{}
			p := heldProvider(rec, clk, time.Hour, nil)
			arrived, release := gate(p, callers)
			l := newUnit(t, store, clk, p)
			seeded := seedHeld(t, store, "conn-creds", connectors.StatusActive)

			var wg sync.WaitGroup
			errs := make([]error, callers)
			creds := make([]connectors.Credentials, callers)
			for i := range callers {
				wg.Go(func() {
					c := *seeded
					creds[i], errs[i] = l.Credentials(t.Context(), p, &c, force)
				})
			}
			<-arrived
			time.Sleep(200 * time.Millisecond) // let the others join the flight
			close(release)
			wg.Wait()
			if n := len(rec.Calls()); n != 1 {
				t.Errorf("provider calls = %d, want 1", n)
			}
			for i := range callers {
				if errs[i] != nil || creds[i].AccessToken == "" {
					t.Errorf("caller %d: %v, access token set %v", i, errs[i], creds[i].AccessToken != "")
				}
			}
		})
	}
}

// gate holds every Grant of p until release is closed; each call first
// sends on arrived, which has room for callers.
func gate(p *connecttest.FakeProvider, callers int) (arrived chan struct{}, release chan struct{}) {
	arrived, release = make(chan struct{}, callers), make(chan struct{})
	grant := p.GrantFn
	p.GrantFn = func(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
		arrived <- struct{}{}
		<-release
		return grant(ctx, c, held, refresh)
	}
	return arrived, release
}

// TestCredentialsFlightIsPerOrganization: two organizations' connections
// with the same id fetched at the same moment are two provider calls, and
// each organization gets its own connection's credentials, never the
// other's from the shared flight.
func TestCredentialsFlightIsPerOrganization(t *testing.T) {
	store, _ := newUnitStore(t)
	clk := newClock()
	p := &connecttest.FakeProvider{
		AuthProvider: fakeName,
		GrantFn: func(_ context.Context, c *connectors.Connection, _ *connectors.Token, _ bool) (*connectors.Grant, error) {
			return &connectors.Grant{Credentials: connectors.Credentials{AccessToken: "token-of-" + c.OrganizationID}}, nil
		},
	}
	arrived, release := gate(p, 2)
	l := newUnit(t, store, clk, p)
	conns := make([]*connectors.Connection, 2)
	for i, org := range []string{"org-a", "org-b"} {
		// One record id in two organizations (two integrations: a provider
		// connection has one owner).
		conns[i] = &connectors.Connection{
			ID: "same-id", OrganizationID: org, UserID: userID, Connector: "slack",
			AuthProvider: fakeName, ProviderConfigKey: "slack-" + org, Status: connectors.StatusActive, CreatedAt: t0, UpdatedAt: t0,
		}
		if err := store.CreateConnection(t.Context(), conns[i]); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]connectors.Credentials, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { got[i], errs[i] = l.Credentials(t.Context(), p, conns[i], false) })
	}
	<-arrived
	select {
	case <-arrived: // both reached the provider: neither joined the other's flight
	case <-time.After(5 * time.Second):
		t.Error("one organization's fetch joined the other's flight")
	}
	close(release)
	wg.Wait()
	for i, c := range conns {
		if errs[i] != nil || got[i].AccessToken != "token-of-"+c.OrganizationID {
			t.Errorf("%s got %q (%v), want its own token", c.OrganizationID, got[i].AccessToken, errs[i])
		}
	}
}
