// Package connect is the connection service behind the /api/v1/nango
// API: authorize, callback, refresh, list, get, delete, Nango's auth
// webhooks and the connector catalogue (catalogue.go). It owns the rules (tenant isolation, single-use states, redirect
// allow-listing, idempotent upserts, status changes, audit) and speaks to its
// dependencies through small ports; it imports no AWS SDK and no Lambda
// event types.
package connect

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/google/uuid"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
)

// StateTTL is how long an authorize -> callback round trip may take.
const StateTTL = 10 * time.Minute

// Deps are the service's dependencies.
type Deps struct {
	Store     connectors.Store
	Registry  *registry.Registry
	Router    *router.Router
	Providers connectors.Providers
	// Tokens is the token lifecycle: refreshes, sealing, reauth marking.
	Tokens            *credentials.Lifecycle
	Sealer            credentials.Sealer // seals PKCE verifiers in states
	StateKey          []byte
	RedirectAllowlist []string // origins, scheme://host[:port]
	Now               func() time.Time
	// Actions describes the connectors' actions for the catalogue
	// (actions.Catalogue); nil lists none.
	Actions ActionDescriber
}

// Service implements the connection API's rules.
type Service struct {
	store     connectors.Store
	registry  *registry.Registry
	router    *router.Router
	providers connectors.Providers
	tokens    *credentials.Lifecycle
	sealer    credentials.Sealer
	stateKey  []byte
	idKey     []byte // names API-key connections (apiKeyID)
	redirects []string
	now       func() time.Time
	actions   ActionDescriber
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{
		store: d.Store, registry: d.Registry, router: d.Router, providers: d.Providers, tokens: d.Tokens, sealer: d.Sealer,
		stateKey: d.StateKey, idKey: seal.DeriveKey(d.StateKey, "api-key connection ids"), redirects: d.RedirectAllowlist, now: d.Now,
		actions: d.Actions,
	}
}

func (s *Service) manifest(id string) (registry.Manifest, error) {
	m, ok := s.registry.Lookup(id)
	if !ok {
		return registry.Manifest{}, connectors.Errorf(connectors.EUnknownConnector, "unknown connector %q", truncate(id, 64))
	}
	return m, nil
}

func stateAAD(nonce string) []byte { return []byte("state\x00" + nonce) }

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newID() string { return uuid.NewString() }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
