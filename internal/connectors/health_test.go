package connectors_test

import (
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

// TestStatusAfter holds the health state machine (connectors.Status.After)
// to its diagram for every status and event:
//
//	active ↔ refresh_failed → reauth_required → (reconnect) active; revoked is final.
func TestStatusAfter(t *testing.T) {
	const (
		active  = connectors.StatusActive
		failed  = connectors.StatusRefreshFailed
		reauth  = connectors.StatusReauthRequired
		revoked = connectors.StatusRevoked
	)
	events := []struct {
		name string
		e    connectors.HealthEvent
	}{
		{"RefreshSucceeded", connectors.RefreshSucceeded},
		{"RefreshFailed", connectors.RefreshFailed},
		{"RefreshRefused", connectors.RefreshRefused},
		{"Revoked", connectors.Revoked},
	}
	// want[status][event index], events in the order above.
	want := map[connectors.Status][4]connectors.Status{
		active:  {active, failed, reauth, revoked},
		failed:  {active, failed, reauth, revoked},
		reauth:  {active, reauth, reauth, revoked}, // a passing failure does not undo a refusal
		revoked: {revoked, revoked, revoked, revoked},
	}
	for _, from := range []connectors.Status{active, failed, reauth, revoked} {
		if !from.Valid() {
			t.Fatalf("%s is not a valid status", from)
		}
		for i, ev := range events {
			t.Run(string(from)+"/"+ev.name, func(t *testing.T) {
				got := from.After(ev.e)
				if got != want[from][i] {
					t.Errorf("%s.After(%s) = %s, want %s", from, ev.name, got, want[from][i])
				}
				if !got.Valid() {
					t.Errorf("%s.After(%s) = %q, not a valid status", from, ev.name, got)
				}
			})
		}
	}
	// An unknown event changes nothing.
	for _, from := range []connectors.Status{active, failed, reauth} {
		if got := from.After(connectors.HealthEvent(99)); got != from {
			t.Errorf("%s.After(unknown) = %s, want unchanged", from, got)
		}
	}
}
