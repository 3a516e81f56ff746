package sweeper_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/sweeper"
)

// visits records the connections a sweep checks, changing nothing: they
// all stay due, so only the kept cursor moves a run past the last one's.
type visits struct {
	mu   sync.Mutex
	seen map[string]int
}

func (v *visits) Check(_ context.Context, c *connectors.Connection) (*connectors.Connection, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen[c.ID]++
	return c, nil
}

// TestScheduledRunsVisitEverything: with more due connections than a run
// may check, scheduled runs (no cursor in their input) continue where the
// last stopped, so every connection is visited, once per round.
func TestScheduledRunsVisitEverything(t *testing.T) {
	for _, tt := range []struct {
		kind   string
		n, per int
	}{
		{"bolt", 1000, 200},
		{"dynamodb", 120, 50},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			w := newWorld(t, tt.kind)
			now := time.Now().UTC()
			for i := range tt.n {
				c := &connectors.Connection{
					ID: fmt.Sprintf("c%04d", i), OrganizationID: fmt.Sprintf("org-%d", i%7), UserID: user, Connector: "slack",
					AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack", Status: connectors.StatusActive,
					ExpiresAt: now.Add(time.Minute), CreatedAt: now, UpdatedAt: now,
				}
				if err := w.store.CreateConnection(t.Context(), c); err != nil {
					t.Fatal(err)
				}
			}
			v := &visits{seen: map[string]int{}}
			sw := sweeper.New(w.store, v, sweeper.Options{MaxPerRun: tt.per, PageSize: 25, Owner: "sweep"})
			runs := (tt.n + tt.per - 1) / tt.per
			for r := range runs {
				res, err := sw.Run(t.Context(), "")
				if err != nil {
					t.Fatalf("run %d: %v", r, err)
				}
				if want := min(tt.per, tt.n-r*tt.per); res.Checked != want {
					t.Fatalf("run %d checked %d, want %d", r, res.Checked, want)
				}
			}
			if len(v.seen) != tt.n {
				t.Fatalf("%d runs visited %d of %d due connections", runs, len(v.seen), tt.n)
			}
			for id, k := range v.seen {
				if k != 1 {
					t.Fatalf("%s visited %d times in one round", id, k)
				}
			}
			// The round is over: the next run starts it again.
			if res, err := sw.Run(t.Context(), ""); err != nil || res.Checked != min(tt.per, tt.n) {
				t.Fatalf("the next round: %+v, %v", res, err)
			}
		})
	}
}

// TestRunRestartsFromARefusedCursor: a kept cursor that no longer opens
// starts the round again instead of failing every run.
func TestRunRestartsFromARefusedCursor(t *testing.T) {
	w := newWorld(t, "bolt")
	now := time.Now().UTC()
	if err := w.store.CreateConnection(t.Context(), &connectors.Connection{
		ID: "c1", OrganizationID: org, UserID: user, Connector: "slack", AuthProvider: connectors.ProviderNango,
		ProviderConfigKey: "slack", Status: connectors.StatusActive, ExpiresAt: now, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.SaveSweepCursor(t.Context(), "not-a-cursor-of-this-store"); err != nil {
		t.Fatal(err)
	}
	v := &visits{seen: map[string]int{}}
	res, err := sweeper.New(w.store, v, sweeper.Options{Owner: "sweep"}).Run(t.Context(), "")
	if err != nil || res.Checked != 1 || v.seen["c1"] != 1 {
		t.Fatalf("run with a refused cursor: %+v, %v", res, err)
	}
	if c, err := w.store.SweepCursor(t.Context()); err != nil || c != "" {
		t.Fatalf("kept cursor %q after a full round (%v)", c, err)
	}
}
