package credentials_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

// fakeName is the name the unit tests' fake provider answers to; the
// connections they seed record it.
const fakeName connectors.AuthProvider = "fake"

// t0 is the unit tests' starting time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for a lifecycle. With a step, every reading
// moves it on by step.
type clock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func newClock() *clock { return &clock{now: t0} }

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now
	c.now = c.now.Add(c.step)
	return now
}

// Set moves the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// hookStore is a credentials.Store over a real one whose calls a test may
// intercept, in the style of function-field mocks: a nil hook passes the
// call through to the embedded store. It logs the lease calls it sees.
type hookStore struct {
	credentials.Store

	updateConnection func(ctx context.Context, c *connectors.Connection) error
	acquireLease     func(ctx context.Context, name, owner string, ttl time.Duration) error

	mu     sync.Mutex
	events []string
}

func (h *hookStore) UpdateConnection(ctx context.Context, c *connectors.Connection) error {
	if h.updateConnection != nil {
		return h.updateConnection(ctx, c)
	}
	return h.Store.UpdateConnection(ctx, c)
}

func (h *hookStore) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) error {
	var err error
	if h.acquireLease != nil {
		err = h.acquireLease(ctx, name, owner, ttl)
	} else {
		err = h.Store.AcquireLease(ctx, name, owner, ttl)
	}
	if err == nil {
		h.log("acquire " + name)
	}
	return err
}

func (h *hookStore) ReleaseLease(ctx context.Context, name, owner string) error {
	h.log("release " + name)
	return h.Store.ReleaseLease(ctx, name, owner)
}

// log records an event in order with the lease calls.
func (h *hookStore) log(e string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// Events returns what was logged so far.
func (h *hookStore) Events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// newUnitStore opens a fresh embedded store behind a hookStore.
func newUnitStore(t *testing.T) (*hookStore, *boltstore.Store) {
	t.Helper()
	bs := boltStores(t, 1)[0].(*boltstore.Store)
	return &hookStore{Store: bs}, bs
}

// newUnit returns a lifecycle over store serving p (and, if given, the
// other providers), on clk.
func newUnit(t *testing.T, store credentials.Store, clk *clock, ps ...connectors.Provider) *credentials.Lifecycle {
	t.Helper()
	return credentials.New(store, connectors.NewProviders(ps...), newSealer(t), clk.Now)
}

// seedHeld stores a connection whose provider (the fake) keeps its token.
func seedHeld(t *testing.T, store connectors.ConnectionStore, id string, status connectors.Status) *connectors.Connection {
	t.Helper()
	c := &connectors.Connection{
		ID: id, OrganizationID: orgID, UserID: userID, Connector: "slack",
		AuthProvider: fakeName, ProviderConfigKey: "slack", Status: status,
		CreatedAt: t0, UpdatedAt: t0,
	}
	if err := store.CreateConnection(t.Context(), c); err != nil {
		t.Fatalf("seed connection: %v", err)
	}
	return c
}

// seedKept stores a connection whose token this service keeps, sealed.
func seedKept(t *testing.T, store connectors.ConnectionStore, id string, tok connectors.Token, status connectors.Status) *connectors.Connection {
	t.Helper()
	c := &connectors.Connection{
		ID: id, OrganizationID: orgID, UserID: userID, Connector: "gmail",
		AuthProvider: fakeName, ProviderConfigKey: "gmail", Status: status,
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: tok.Expiry, SealedToken: sealToken(t, id, tok),
	}
	if err := store.CreateConnection(t.Context(), c); err != nil {
		t.Fatalf("seed connection: %v", err)
	}
	return c
}

// sealToken seals tok for connection id of orgID, as the lifecycle does.
func sealToken(t *testing.T, id string, tok connectors.Token) []byte {
	t.Helper()
	plain, err := tok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := newSealer(t).Seal(plain, seal.AAD(orgID, id))
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// reload reads connection id back from store.
func reload(t *testing.T, store connectors.ConnectionStore, id string) *connectors.Connection {
	t.Helper()
	c, err := store.GetConnection(t.Context(), orgID, id)
	if err != nil {
		t.Fatalf("get connection %s: %v", id, err)
	}
	return c
}

// grantCall is one call of the fake provider's Grant.
type grantCall struct {
	id      string
	held    *connectors.Token // a copy of what was passed
	refresh bool
}

// grantRecorder counts and records the fake's Grant calls.
type grantRecorder struct {
	mu    sync.Mutex
	calls []grantCall
}

func (r *grantRecorder) record(c *connectors.Connection, held *connectors.Token, refresh bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	gc := grantCall{id: c.OrganizationID + "/" + c.ID, refresh: refresh}
	if held != nil {
		h := *held
		gc.held = &h
	}
	r.calls = append(r.calls, gc)
	return len(r.calls)
}

// Calls returns the calls so far.
func (r *grantRecorder) Calls() []grantCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// heldProvider is a fake provider that keeps its connections' tokens: its
// nth Grant answers access token "access-<n>" expiring at now+expiresIn
// (unknown when expiresIn is 0), or err when set.
func heldProvider(rec *grantRecorder, clk *clock, expiresIn time.Duration, err error) *connecttest.FakeProvider {
	return &connecttest.FakeProvider{
		AuthProvider: fakeName,
		GrantFn: func(_ context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
			n := rec.record(c, held, refresh)
			if err != nil {
				return nil, err
			}
			g := &connectors.Grant{ProviderConfigKey: c.ProviderConfigKey, ConnectionID: c.ID,
				Credentials: connectors.Credentials{AccessToken: fmt.Sprintf("access-%d", n)}}
			if expiresIn != 0 {
				g.ExpiresAt = clk.Now().Add(expiresIn)
			}
			return g, nil
		},
	}
}
