package connectors

// HealthEvent is something that happened to a connection's credentials.
type HealthEvent int

// Health events.
const (
	// RefreshSucceeded: a refresh or health check produced a valid token.
	RefreshSucceeded HealthEvent = iota
	// RefreshFailed: a refresh failed for a reason that may pass (the
	// provider or Nango was down, Nango reported a failed background refresh).
	RefreshFailed
	// RefreshRefused: the provider refused the grant (invalid_grant, revoked
	// consent): only the user reconnecting can fix it.
	RefreshRefused
	// Revoked: the user or an admin revoked the connection.
	Revoked
)

// After returns the status a connection in status s moves to on event e.
// It is the one place the health state machine is written down:
//
//	active ──RefreshFailed──▶ refresh_failed ──RefreshSucceeded──▶ active
//	active, refresh_failed ──RefreshRefused──▶ reauth_required
//	reauth_required ──RefreshSucceeded (the user reconnected)──▶ active
//	any ──Revoked──▶ revoked (final: a revoked connection never comes back)
func (s Status) After(e HealthEvent) Status {
	if s == StatusRevoked {
		return StatusRevoked
	}
	switch e {
	case RefreshSucceeded:
		return StatusActive
	case RefreshFailed:
		if s == StatusReauthRequired {
			return s // a passing failure does not undo a refusal
		}
		return StatusRefreshFailed
	case RefreshRefused:
		return StatusReauthRequired
	case Revoked:
		return StatusRevoked
	}
	return s
}
