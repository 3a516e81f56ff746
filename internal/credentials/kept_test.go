package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

// keptProvider is a fake provider for tokens this service keeps: a
// refresh answers a new token "access-<n>" expiring in an hour (with a new
// refresh token "refresh-<n>" when rotate), a read answers the held
// token's access token as the credentials. It logs "refresh" and "read" in
// store's event log, in order with the lease calls.
func keptProvider(rec *grantRecorder, clk *clock, store *hookStore, rotate bool) *connecttest.FakeProvider {
	return &connecttest.FakeProvider{
		AuthProvider: fakeName,
		GrantFn: func(_ context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
			n := rec.record(c, held, refresh)
			if held == nil {
				return nil, errors.New("kept token grant without the held token")
			}
			if !refresh {
				store.log("read")
				return &connectors.Grant{Credentials: connectors.Credentials{AccessToken: held.AccessToken}}, nil
			}
			store.log("refresh")
			t := connectors.Token{AccessToken: fmt.Sprintf("access-%d", n), RefreshToken: held.RefreshToken, Expiry: clk.Now().Add(time.Hour)}
			if rotate {
				t.RefreshToken = fmt.Sprintf("refresh-%d", n)
			}
			return &connectors.Grant{Token: &t, ExpiresAt: t.Expiry}, nil
		},
	}
}

// TestCredentialsKept: a token this service keeps is used as it is while
// it is good for another minute; an expiring one (or any, forced) is
// refreshed under the store lease, and the new token, a rotated refresh
// token included, is sealed into the record.
func TestCredentialsKept(t *testing.T) {
	cases := []struct {
		name        string
		expiresIn   time.Duration // of the held token; 0: no expiry
		force       bool
		rotate      bool
		wantRefresh bool
	}{
		{name: "fresh", expiresIn: time.Hour},
		{name: "no expiry", expiresIn: 0},
		{name: "fresh, forced", expiresIn: time.Hour, force: true, wantRefresh: true},
		{name: "expiring within a minute", expiresIn: 50 * time.Second, wantRefresh: true},
		{name: "expired", expiresIn: -time.Minute, wantRefresh: true},
		{name: "expired, refresh token rotated", expiresIn: -time.Minute, rotate: true, wantRefresh: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, bs := newUnitStore(t)
			clk := newClock()
			rec := &grantRecorder{}
			p := keptProvider(rec, clk, store, tc.rotate)
			l := newUnit(t, store, clk, p)
			old := connectors.Token{AccessToken: "access-0", RefreshToken: "refresh-0", TokenType: "Bearer"}
			if tc.expiresIn != 0 {
				old.Expiry = t0.Add(tc.expiresIn)
			}
			seeded := seedKept(t, store, "conn-kept", old, connectors.StatusRefreshFailed)
			c := *seeded

			cr, err := l.Credentials(t.Context(), p, &c, tc.force)
			if err != nil {
				t.Fatal(err)
			}
			want := old
			if tc.wantRefresh {
				want = connectors.Token{AccessToken: "access-1", RefreshToken: "refresh-0", Expiry: t0.Add(time.Hour)}
				if tc.rotate {
					want.RefreshToken = "refresh-1"
				}
			}
			if cr.AccessToken != want.AccessToken {
				t.Errorf("access token %q, want %q", cr.AccessToken, want.AccessToken)
			}

			events := store.Events()
			if !tc.wantRefresh {
				if !slices.Equal(events, []string{"read"}) {
					t.Errorf("events %q, want only a read of the held token", events)
				}
			} else if len(events) != 4 || !strings.HasPrefix(events[0], "acquire ") || events[1] != "refresh" ||
				events[2] != "release "+strings.TrimPrefix(events[0], "acquire ") || events[3] != "read" {
				t.Errorf("events %q, want the refresh under the lease, then a read of the new token", events)
			}
			calls := rec.Calls()
			if last := calls[len(calls)-1]; last.held == nil || !sameToken(*last.held, want) {
				t.Errorf("credentials read from held token %v, want the current one", last.held)
			}
			if tc.wantRefresh && (calls[0].held == nil || !sameToken(*calls[0].held, old)) {
				t.Errorf("refresh from held token %v, want the stored one", calls[0].held)
			}

			stored, tok := storedToken(t, bs, seeded.ID)
			if !tc.wantRefresh {
				if stored.Version != seeded.Version || !sameToken(tok, old) {
					t.Errorf("the record changed without a refresh: version %d -> %d", seeded.Version, stored.Version)
				}
				return
			}
			if !sameToken(tok, want) {
				t.Errorf("stored token: access %q refresh %q expiry %s; want access %q refresh %q expiry %s",
					tok.AccessToken, tok.RefreshToken, tok.Expiry, want.AccessToken, want.RefreshToken, want.Expiry)
			}
			if stored.Version != seeded.Version+1 || stored.Status != connectors.StatusActive ||
				!stored.LastRefreshedAt.Equal(t0) || !stored.ExpiresAt.Equal(want.Expiry) {
				t.Errorf("stored: version %d -> %d, status %s, lastRefreshedAt %s, expiresAt %s",
					seeded.Version, stored.Version, stored.Status, stored.LastRefreshedAt, stored.ExpiresAt)
			}
		})
	}
}

// TestRefreshKeptEdges: a refresh finding a newer record with a fresh
// token uses it without asking the provider; a refresh that cannot take
// the lease, or that the provider answers without a token, changes
// nothing; a store failure saving the rotated token is retried without
// asking the provider again.
func TestRefreshKeptEdges(t *testing.T) {
	storeDown := errors.New("throttled")
	expired := connectors.Token{AccessToken: "access-0", RefreshToken: "refresh-0", Expiry: t0.Add(-time.Minute)}
	newer := connectors.Token{AccessToken: "access-other", RefreshToken: "refresh-other", Expiry: t0.Add(time.Hour)}
	cases := []struct {
		name      string
		setup     func(t *testing.T, store *hookStore, clk *clock, p *connecttest.FakeProvider, seeded *connectors.Connection)
		wantCode  string
		wantCalls int
		wantTok   connectors.Token // the stored token after
		wantSaves int              // UpdateConnection calls
	}{
		{name: "plain", wantCalls: 1, wantTok: connectors.Token{AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: t0.Add(time.Hour)}, wantSaves: 1},
		{name: "another container refreshed", setup: func(t *testing.T, store *hookStore, _ *clock, _ *connecttest.FakeProvider, seeded *connectors.Connection) {
			c := *seeded
			c.SealedToken, c.ExpiresAt = sealToken(t, c.ID, newer), newer.Expiry
			if err := store.Store.UpdateConnection(t.Context(), &c); err != nil {
				t.Fatal(err)
			}
		}, wantTok: newer},
		{name: "lease held elsewhere", setup: func(_ *testing.T, store *hookStore, clk *clock, _ *connecttest.FakeProvider, _ *connectors.Connection) {
			clk.step = time.Second // the wait for the lease runs out
			store.acquireLease = func(context.Context, string, string, time.Duration) error {
				return connectors.Errorf(connectors.EConflict, "lease is held")
			}
		}, wantCode: connectors.EUnavailable, wantTok: expired},
		{name: "no token in the answer", setup: func(_ *testing.T, _ *hookStore, _ *clock, p *connecttest.FakeProvider, _ *connectors.Connection) {
			grant := p.GrantFn
			p.GrantFn = func(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
				g, err := grant(ctx, c, held, refresh)
				g.Token = nil
				return g, err
			}
		}, wantCode: connectors.EInternal, wantCalls: 1, wantTok: expired},
		{name: "save retried", setup: func(_ *testing.T, store *hookStore, _ *clock, _ *connecttest.FakeProvider, _ *connectors.Connection) {
			n := 0
			store.updateConnection = func(ctx context.Context, c *connectors.Connection) error {
				if n++; n == 1 {
					return storeDown
				}
				return store.Store.UpdateConnection(ctx, c)
			}
		}, wantCalls: 1, wantTok: connectors.Token{AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: t0.Add(time.Hour)}, wantSaves: 2},
		{name: "save keeps failing", setup: func(_ *testing.T, store *hookStore, _ *clock, _ *connecttest.FakeProvider, _ *connectors.Connection) {
			store.updateConnection = func(context.Context, *connectors.Connection) error { return storeDown }
		}, wantCode: connectors.EInternal, wantCalls: 1, wantTok: expired, wantSaves: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, bs := newUnitStore(t)
			clk := newClock()
			rec := &grantRecorder{}
			p := keptProvider(rec, clk, store, true)
			l := newUnit(t, store, clk, p)
			seeded := seedKept(t, store, "conn-edge", expired, connectors.StatusActive)
			if tc.setup != nil {
				tc.setup(t, store, clk, p, seeded)
			}
			saves := 0
			if update := store.updateConnection; update != nil {
				store.updateConnection = func(ctx context.Context, c *connectors.Connection) error {
					saves++
					return update(ctx, c)
				}
			} else {
				store.updateConnection = func(ctx context.Context, c *connectors.Connection) error {
					saves++
					return store.Store.UpdateConnection(ctx, c)
				}
			}
			c := *seeded // read before whatever setup did
			got, tok, err := l.RefreshKept(t.Context(), &c)
			if code := connectors.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want code %q", err, code, tc.wantCode)
			}
			if calls := len(rec.Calls()); calls != tc.wantCalls {
				t.Errorf("provider calls = %d, want %d", calls, tc.wantCalls)
			}
			if saves != tc.wantSaves {
				t.Errorf("saves = %d, want %d", saves, tc.wantSaves)
			}
			_, stored := storedToken(t, bs, seeded.ID)
			if !sameToken(stored, tc.wantTok) {
				t.Errorf("stored token access %q refresh %q, want access %q refresh %q",
					stored.AccessToken, stored.RefreshToken, tc.wantTok.AccessToken, tc.wantTok.RefreshToken)
			}
			if err == nil && (!sameToken(tok, tc.wantTok) || got == nil) {
				t.Errorf("RefreshKept returned access %q (record %v), want access %q", tok.AccessToken, got, tc.wantTok.AccessToken)
			}
		})
	}
}

// sameToken reports whether a and b are the same token, expiry compared
// as an instant.
func sameToken(a, b connectors.Token) bool {
	return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken &&
		a.TokenType == b.TokenType && a.Expiry.Equal(b.Expiry)
}
