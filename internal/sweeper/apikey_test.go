package sweeper_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/apikey"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/sweeper"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

// TestSweepRetestsAPIKeysDaily: an API-key connection is not due until a
// day after its last test; then the sweep tests it again, moves CheckAt a
// day on when it is good, and marks it reauth_required when the provider
// has revoked it. Both stores.
func TestSweepRetestsAPIKeysDaily(t *testing.T) {
	for _, kind := range []string{"bolt", "dynamodb"} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t, kind)
			now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			var revoked atomic.Bool
			var calls atomic.Int32
			verify := func(_ context.Context, _ registry.Manifest, _ connectors.Credentials) error {
				calls.Add(1)
				if revoked.Load() {
					return connectors.Errorf(connectors.EInvalidCredentials, "hubspot: The OAuth token used to make this call expired")
				}
				return nil
			}
			svc, tokens := connecttest.New(w.store, connecttest.Options{
				Nango: w.nango, NangoHost: "http://nango.invalid", HTTPClient: &http.Client{Timeout: 10 * time.Second},
				Sealer: w.sealer, StateKey: []byte("state-key-sweeper-tests-0123456789"), Now: clock, VerifyAPIKey: verify,
			})
			p := connectors.Principal{OrganizationID: org, UserID: user}
			c, err := svc.Create(t.Context(), p, connect.CreateParams{Connector: "hubspot", Credentials: map[string]string{"private_app_token": "pat-na1-0123456789abcdef"}})
			if err != nil {
				t.Fatal(err)
			}
			sw := sweeper.New(w.store, tokens, sweeper.Options{Now: clock, Owner: "sweep-1"})

			res, err := sw.Sweep(t.Context(), "")
			if err != nil || res.Checked != 0 || calls.Load() != 1 {
				t.Fatalf("a key tested just now was swept: %+v, %v, %d test calls", res, err, calls.Load())
			}

			now = now.Add(apikey.CheckEvery)
			res, err = sw.Sweep(t.Context(), "")
			if err != nil || res.Checked != 1 || res.Healthy != 1 || calls.Load() != 2 {
				t.Fatalf("the daily test: %+v, %v, %d test calls", res, err, calls.Load())
			}
			if got := w.get(t, c.ID); !got.CheckAt.Equal(now.Add(apikey.CheckEvery)) || got.Status != connectors.StatusActive {
				t.Fatalf("after a good test: status %s, CheckAt %v", got.Status, got.CheckAt)
			}

			now = now.Add(apikey.CheckEvery)
			revoked.Store(true)
			res, err = sw.Sweep(t.Context(), "")
			if err != nil || res.ReauthRequired != 1 {
				t.Fatalf("a revoked key: %+v, %v", res, err)
			}
			if got := w.get(t, c.ID); got.Status != connectors.StatusReauthRequired {
				t.Fatalf("a revoked key left status %s", got.Status)
			}
			// A reauth_required key is not tested again until the user
			// pastes a new one.
			now = now.Add(apikey.CheckEvery)
			before := calls.Load()
			if _, err := sw.Sweep(t.Context(), ""); err != nil || calls.Load() != before {
				t.Fatalf("a refused key was tested again (%v)", err)
			}
		})
	}
}
