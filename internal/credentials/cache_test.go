package credentials_test

import (
	"context"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// TestCredentialsCached: credentials a provider keeps are served from the
// container until min(expiry-30s, 5 minutes) after they were read, then
// read again; a token in its last 30 seconds is not cached at all.
func TestCredentialsCached(t *testing.T) {
	cases := []struct {
		name      string
		expiresIn time.Duration // of the grant; 0: unknown
		cachedFor time.Duration // 0: not cached
	}{
		{"expiry unknown", 0, 5 * time.Minute},
		{"expiry after the cap", time.Hour, 5 * time.Minute},
		{"expiry before the cap", 2 * time.Minute, 2*time.Minute - 30*time.Second},
		{"expiry within the slack", 20 * time.Second, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := newUnitStore(t)
			clk := newClock()
			rec := &grantRecorder{}
			p := heldProvider(rec, clk, tc.expiresIn, nil)
			l := newUnit(t, store, clk, p)
			c := seedHeld(t, store, "conn-cache", connectors.StatusActive)
			get := func(at time.Time, want string, wantCalls int) {
				t.Helper()
				clk.Set(at)
				cr, err := l.Credentials(t.Context(), p, c, false)
				if err != nil {
					t.Fatalf("at +%s: %v", at.Sub(t0), err)
				}
				if cr.AccessToken != want || len(rec.Calls()) != wantCalls {
					t.Errorf("at +%s: access token %q after %d provider calls, want %q after %d",
						at.Sub(t0), cr.AccessToken, len(rec.Calls()), want, wantCalls)
				}
			}
			get(t0, "access-1", 1)
			if tc.cachedFor > 0 {
				get(t0.Add(tc.cachedFor-time.Nanosecond), "access-1", 1)
			}
			get(t0.Add(tc.cachedFor), "access-2", 2)
			for i, call := range rec.Calls() {
				if call.refresh || call.held != nil {
					t.Errorf("call %d: refresh=%v held=%v, want a plain read", i, call.refresh, call.held)
				}
			}
		})
	}
}

// TestCredentialsCacheBypass: force reads the provider again (asking it to
// refresh) and caches what it answers; Forget drops the cached
// credentials; another organization's connection of the same id is never
// served another's credentials.
func TestCredentialsCacheBypass(t *testing.T) {
	cases := []struct {
		name        string
		force       bool // the second call forces
		forget      bool // Forget before the second call
		otherOrg    bool // the second call is for another organization's connection of the same id
		wantCalls   int  // after the second call
		wantRefresh bool // the second call asked the provider to refresh
	}{
		{name: "cached", wantCalls: 1},
		{name: "force", force: true, wantCalls: 2, wantRefresh: true},
		{name: "after Forget", forget: true, wantCalls: 2},
		{name: "another organization", otherOrg: true, wantCalls: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := newUnitStore(t)
			clk := newClock()
			rec := &grantRecorder{}
			p := heldProvider(rec, clk, time.Hour, nil)
			l := newUnit(t, store, clk, p)
			c := seedHeld(t, store, "conn-bypass", connectors.StatusActive)
			first, err := l.Credentials(t.Context(), p, c, false)
			if err != nil {
				t.Fatal(err)
			}
			clk.Set(t0.Add(time.Minute))
			target := c
			if tc.otherOrg {
				other := *c
				other.OrganizationID = "org-other"
				target = &other
			}
			if tc.forget {
				l.Forget(c)
			}
			second, err := l.Credentials(t.Context(), p, target, tc.force)
			if err != nil {
				t.Fatal(err)
			}
			calls := rec.Calls()
			if len(calls) != tc.wantCalls {
				t.Fatalf("provider calls = %d, want %d", len(calls), tc.wantCalls)
			}
			wantSecond := first.AccessToken
			if tc.wantCalls == 2 {
				wantSecond = "access-2"
				if calls[1].refresh != tc.wantRefresh {
					t.Errorf("second call refresh = %v, want %v", calls[1].refresh, tc.wantRefresh)
				}
			}
			if second.AccessToken != wantSecond {
				t.Errorf("second call: access token %q, want %q", second.AccessToken, wantSecond)
			}
			// What the second call read is what is cached now.
			third, err := l.Credentials(t.Context(), noGrant(t), target, false)
			if err != nil || third.AccessToken != wantSecond {
				t.Errorf("third call: %q, %v; want the cached %q", third.AccessToken, err, wantSecond)
			}
		})
	}
}

// noGrant is a provider that fails the test if its Grant is called.
func noGrant(t *testing.T) connectors.Provider {
	p := heldProvider(&grantRecorder{}, newClock(), 0, nil)
	p.GrantFn = func(context.Context, *connectors.Connection, *connectors.Token, bool) (*connectors.Grant, error) {
		t.Error("the provider was asked; want the cached credentials")
		return nil, connectors.Errorf(connectors.EUnavailable, "unexpected call")
	}
	return p
}
