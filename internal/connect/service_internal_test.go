package connect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

var unitStateKey = []byte("unit-state-key-0123456789abcdef0123")

// unitService returns a service over a fresh embedded store, without Nango
// or built-in OAuth.
func unitService(t testing.TB) *Service {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "c.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	policy, err := router.ParsePolicy("")
	if err != nil {
		t.Fatal(err)
	}
	providers := connectors.NewProviders(connectors.Unconfigured{Provider: connectors.ProviderNango, Reason: "Nango is not configured"})
	return New(Deps{
		Store: store, Registry: registry.Default(), Router: router.New(policy),
		Providers: providers, Tokens: credentials.New(store, providers, nil, nil),
		StateKey: unitStateKey, RedirectAllowlist: []string{"https://app.example.com", "http://localhost:5173"},
	})
}

// withNango makes api the service's Nango.
func (s *Service) withNango(api nango.API) {
	s.providers = connectors.NewProviders(nango.NewProvider(api, "http://nango.invalid"))
	s.tokens = credentials.New(s.store, s.providers, nil, nil)
}

// upsertNango records the Nango connection nc for a user, as the callback
// and the webhook do.
func (s *Service) upsertNango(ctx context.Context, orgID, userID string, m registry.Manifest, nc *nango.Connection) (*connectors.Connection, error) {
	return s.record(ctx, orgID, userID, "", m, connectors.ProviderNango, &connectors.Grant{ConnectionID: nc.ConnectionID, ProviderConfigKey: nc.ProviderConfigKey})
}

// handleWebhook verifies and applies a Nango webhook, as the webhook route does.
func (s *Service) handleWebhook(ctx context.Context, keys nango.WebhookKeys, body []byte, h http.Header) error {
	ev, err := nango.Webhooks{Keys: keys}.Event(ctx, body, h)
	if err != nil {
		return err
	}
	return s.HandleEvent(ctx, ev)
}

func TestVerifyState(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	claims := stateClaims{Nonce: "n1", OrgID: "o1", UserID: "u1", Connector: "slack", Expires: now.Add(StateTTL).Unix()}
	good := signState(unitStateKey, claims)
	payload, sig, _ := strings.Cut(good, ".")
	reencode := func(mut func(*stateClaims)) string {
		c := claims
		mut(&c)
		b, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString(b) + "." + sig
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		key   []byte
		state string
		now   time.Time
		ok    bool
	}{
		{"valid", unitStateKey, good, now, true},
		{"valid until the last second", unitStateKey, good, now.Add(StateTTL - time.Second), true},
		{"expired at its expiry", unitStateKey, good, now.Add(StateTTL), false},
		{"expired", unitStateKey, good, now.Add(time.Hour), false},
		{"another key", []byte("another-key-0123456789abcdef0123456"), good, now, false},
		{"empty", unitStateKey, "", now, false},
		{"no dot", unitStateKey, payload, now, false},
		{"empty signature", unitStateKey, payload + ".", now, false},
		{"edited signature", unitStateKey, payload + "." + flip(sig), now, false},
		{"edited user", unitStateKey, reencode(func(c *stateClaims) { c.UserID = "u2" }), now, false},
		{"edited connector", unitStateKey, reencode(func(c *stateClaims) { c.Connector = "hubspot" }), now, false},
		{"extended expiry", unitStateKey, reencode(func(c *stateClaims) { c.Expires += 3600 }), now.Add(StateTTL), false},
		{"extra segment", unitStateKey, good + ".x", now, false},
		{"padded base64", unitStateKey, good + "=", now, false},
		{"too long", unitStateKey, good + strings.Repeat("A", maxStateLen), now, false},
		{"signed non-JSON", unitStateKey, "bm90IGpzb24." + base64.RawURLEncoding.EncodeToString(stateMAC(unitStateKey, "bm90IGpzb24")), now, false},
		{"signed without nonce", unitStateKey, signState(unitStateKey, stateClaims{OrgID: "o1", Expires: now.Add(time.Minute).Unix()}), now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifyState(tt.key, tt.state, tt.now)
			if tt.ok {
				if err != nil || got != claims {
					t.Fatalf("verifyState = %+v, %v; want %+v", got, err, claims)
				}
				return
			}
			if connectors.ErrorCode(err) != connectors.EInvalidState {
				t.Fatalf("verifyState error = %v, want invalid_state", err)
			}
			if got != (stateClaims{}) {
				t.Errorf("refused state still returned claims %+v", got)
			}
		})
	}
}

func TestCheckRedirect(t *testing.T) {
	s := unitService(t)
	tests := []struct {
		uri string
		ok  bool
	}{
		{"", true},
		{"https://app.example.com", true},
		{"https://app.example.com/", true},
		{"https://app.example.com/settings?tab=apps#top", true},
		{"https://APP.example.com/settings", true},
		{"HTTPS://app.example.com/settings", true},
		{"http://localhost:5173/cb", true},
		{"http://localhost/cb", false},
		{"http://localhost:5174/cb", false},
		{"http://app.example.com/cb", false},
		{"https://app.example.com:8443/cb", false},
		{"https://evil.com/cb", false},
		{"https://app.example.com.evil.com/cb", false},
		{"https://evilapp.example.com/cb", false},
		{"https://app.example.com@evil.com/cb", false},
		{"https://user@app.example.com/cb", false},
		{"https://evil.com\\@app.example.com", false},
		{"https://evil.com%2F@app.example.com", false},
		{"//app.example.com/cb", false},
		{"//evil.com", false},
		{"/cb", false},
		{"javascript:alert(1)", false},
		{"javascript://app.example.com/%0aalert(1)", false},
		{"data:text/html,x", false},
		{"https:app.example.com", false},
		{"https:///app.example.com", false},
		{"https://app.example.com\x00.evil.com", false},
		{" https://app.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			err := s.checkRedirect(tt.uri)
			if (err == nil) != tt.ok {
				t.Fatalf("checkRedirect(%q) = %v, want ok %v", tt.uri, err, tt.ok)
			}
			if err != nil && connectors.ErrorCode(err) != connectors.EInvalid {
				t.Errorf("code %q, want invalid_request", connectors.ErrorCode(err))
			}
		})
	}
}

// TestUpsertRace runs the callback's and the webhooks' upserts of one Nango
// connection at once: every one succeeds and there is one record, written
// once (identical upserts change nothing, so they do not race for versions).
func TestUpsertRace(t *testing.T) {
	s := unitService(t)
	m, _ := s.registry.Lookup("slack")
	nc := &nango.Connection{ConnectionID: "nango-conn-1", ProviderConfigKey: "slack"}
	const writers = 4
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() { _, errs[i] = s.upsertNango(t.Context(), "o1", "u1", m, nc) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	page, err := s.store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: "o1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Connections) != 1 {
		t.Fatalf("%d records, want 1", len(page.Connections))
	}
	c := page.Connections[0]
	if c.ID != nc.ConnectionID || c.UserID != "u1" || c.Status != connectors.StatusActive || c.Version != 1 {
		t.Errorf("record = %+v, want version 1", c)
	}

	// Another user's upsert of the same connection never takes it over.
	_, err = s.upsertNango(t.Context(), "o1", "u2", m, nc)
	if connectors.ErrorCode(err) != connectors.EForbidden {
		t.Fatalf("takeover = %v, want forbidden", err)
	}
	got, _ := s.store.GetConnection(t.Context(), "o1", nc.ConnectionID)
	if got.UserID != "u1" || got.Version != 1 {
		t.Errorf("after takeover attempt: %+v", got)
	}
}

func TestWebhookSignatureAndRotation(t *testing.T) {
	body := []byte(`{"type":"sync","from":"nango"}`)
	sign := func(key string) http.Header {
		h := http.Header{}
		h.Set(nango.HeaderHMAC, nango.SignWebhook(body, key))
		return h
	}
	legacy := http.Header{}
	legacy.Set(nango.HeaderLegacySignature, "abcd")
	errKeys := errors.New("secrets unavailable")
	tests := []struct {
		name       string
		cached     []string // keys before a re-read
		fresh      []string // keys after it
		keysErr    error
		header     http.Header
		code       string // "" accepts
		wantReads  int    // calls of the keys function
		wantFreshs int    // of which fresh
	}{
		{"current key", []string{"k1"}, []string{"k1"}, nil, sign("k1"), "", 1, 0},
		{"second key of a rotation", []string{"k0", "k1"}, nil, nil, sign("k1"), "", 1, 0},
		{"key rotated since the cache", []string{"old"}, []string{"old", "new"}, nil, sign("new"), "", 2, 1},
		{"wrong key", []string{"k1"}, []string{"k1"}, nil, sign("nope"), connectors.EUnauthorized, 2, 1},
		{"legacy signature only", []string{"k1"}, []string{"k1"}, nil, legacy, connectors.EUnauthorized, 1, 0},
		{"no signature", []string{"k1"}, []string{"k1"}, nil, http.Header{}, connectors.EUnauthorized, 1, 0},
		{"no key configured", nil, nil, nil, sign("k1"), connectors.ENotConfigured, 1, 0},
		{"secrets unavailable", nil, nil, errKeys, sign("k1"), connectors.EInternal, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := unitService(t)
			var reads, freshs atomic.Int32
			keys := func(_ context.Context, fresh bool) ([]string, error) {
				reads.Add(1)
				if tt.keysErr != nil {
					return nil, tt.keysErr
				}
				if fresh {
					freshs.Add(1)
					return tt.fresh, nil
				}
				return tt.cached, nil
			}
			err := s.handleWebhook(t.Context(), keys, body, tt.header)
			if got := connectors.ErrorCode(err); got != tt.code {
				t.Fatalf("HandleWebhook = %v, want code %q", err, tt.code)
			}
			if int(reads.Load()) != tt.wantReads || int(freshs.Load()) != tt.wantFreshs {
				t.Errorf("keys read %d times (%d fresh), want %d (%d)", reads.Load(), freshs.Load(), tt.wantReads, tt.wantFreshs)
			}
		})
	}
}

// fakeNango answers GetConnection from a map; the rest is unused here.
type fakeNango struct {
	nango.API
	conns map[string]*nango.Connection
}

func (f *fakeNango) GetConnection(_ context.Context, key, id string, _ nango.GetConnectionOptions) (*nango.Connection, error) {
	if c, ok := f.conns[id]; ok && c.ProviderConfigKey == key {
		return c, nil
	}
	return nil, &nango.APIError{Status: http.StatusNotFound, Code: "not_found"}
}

// TestWebhookOwnership: a signed auth webhook records the connection for the
// owner Nango's own connection names, only while our state for the flow is
// live; a duplicate is harmless; one naming another user or organization
// never creates, changes or takes over a record, and is audited as a
// security event.
func TestWebhookOwnership(t *testing.T) {
	s := unitService(t)
	ctx := t.Context()
	fake := &fakeNango{conns: map[string]*nango.Connection{}}
	s.withNango(fake)
	live := func(nonce, org, user, connector string) {
		now := time.Now()
		if err := s.store.CreateState(ctx, &connectors.OAuthState{Nonce: nonce, OrganizationID: org, UserID: user, Connector: connector, AuthProvider: connectors.ProviderNango, CreatedAt: now, ExpiresAt: now.Add(StateTTL)}); err != nil {
			t.Fatal(err)
		}
	}
	atNango := func(id, key, org, user, nonce string) {
		fake.conns[id] = &nango.Connection{ConnectionID: id, ProviderConfigKey: key, Tags: map[string]string{nango.TagOrg: org, nango.TagUser: user, nango.TagState: nonce}}
	}
	keys := func(context.Context, bool) ([]string, error) { return []string{"k"}, nil }
	send := func(t *testing.T, w nango.AuthWebhook) error {
		t.Helper()
		w.Type = nango.WebhookAuth
		b, _ := json.Marshal(w)
		h := http.Header{}
		h.Set(nango.HeaderHMAC, nango.SignWebhook(b, "k"))
		return s.handleWebhook(ctx, keys, b, h)
	}
	security := func(org string) int {
		events, _ := s.store.ListAudit(ctx, org, 100)
		n := 0
		for _, e := range events {
			if e.Action == "security" {
				n++
			}
		}
		return n
	}

	live("n1", "o1", "u1", "slack")
	atNango("c1", "slack", "o1", "u1", "n1")
	created := nango.AuthWebhook{Operation: nango.OperationCreation, Success: true, ConnectionID: "c1", ProviderConfigKey: "slack",
		Tags: map[string]string{nango.TagUser: "u1", nango.TagOrg: "o1"}}
	for range 2 {
		if err := send(t, created); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.store.GetConnection(ctx, "o1", "c1")
	if err != nil || c.UserID != "u1" || c.Connector != "slack" || c.Status != connectors.StatusActive || c.Version != 1 {
		t.Fatalf("stored %+v, %v", c, err)
	}

	for _, tags := range []map[string]string{
		{nango.TagUser: "u2", nango.TagOrg: "o1"}, // another member
		{nango.TagUser: "u3", nango.TagOrg: "o2"}, // another tenant
	} {
		for _, op := range []string{nango.OperationCreation, nango.OperationOverride} {
			hijack := created
			hijack.Operation, hijack.Tags = op, tags
			if err := send(t, hijack); err != nil {
				t.Fatalf("hijack webhook %v answered %v, want accepted and ignored", tags, err)
			}
		}
		failed := created
		failed.Operation, failed.Success, failed.Tags = nango.OperationRefresh, false, tags
		if err := send(t, failed); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.store.GetConnection(ctx, "o2", "c1"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("another tenant's webhook created a record: %v", err)
	}
	after, _ := s.store.GetConnection(ctx, "o1", "c1")
	if after.UserID != "u1" || after.Version != c.Version || after.Status != connectors.StatusActive {
		t.Errorf("other owners' webhooks changed the record: %+v", after)
	}
	if n := security("o1"); n != 6 {
		t.Errorf("%d security events in the owner's audit log, want 6", n)
	}
	if n := security("o2"); n != 3 {
		t.Errorf("%d security events in the claimer's audit log, want 3", n)
	}

	failed := created
	failed.Operation, failed.Success = nango.OperationRefresh, false
	if err := send(t, failed); err != nil {
		t.Fatal(err)
	}
	after, _ = s.store.GetConnection(ctx, "o1", "c1")
	if after.Status != connectors.StatusRefreshFailed {
		t.Errorf("status after the owner's failed refresh = %s, want refresh_failed", after.Status)
	}

	// An end-user block stands in for missing tags.
	live("n2", "o1", "u3", "hubspot")
	atNango("c2", "hubspot", "o1", "u3", "n2")
	byEndUser := nango.AuthWebhook{Operation: nango.OperationCreation, Success: true, ConnectionID: "c2", ProviderConfigKey: "hubspot",
		EndUser: &nango.WebhookEndUser{EndUserID: "u3", OrganizationID: "o1"}}
	if err := send(t, byEndUser); err != nil {
		t.Fatal(err)
	}
	if c, err := s.store.GetConnection(ctx, "o1", "c2"); err != nil || c.UserID != "u3" {
		t.Errorf("end-user webhook stored %+v, %v", c, err)
	}

	// Not recorded yet, and nothing of ours vouches for it: ignored.
	live("n3", "o1", "someone-else", "slack")
	live("n4", "o1", "u1", "slack")
	for _, tc := range []struct {
		name         string
		nonce        string // the state Nango's tags name
		org, claimed string
	}{
		{"no live state", "never-issued", "o1", "o1"},
		{"state of another user", "n3", "o1", "o1"},
		{"payload names another tenant than Nango", "n4", "o1", "o2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "c-" + tc.nonce
			atNango(id, "slack", tc.org, "u1", tc.nonce)
			w := created
			w.ConnectionID, w.Tags = id, map[string]string{nango.TagUser: "u1", nango.TagOrg: tc.claimed}
			if err := send(t, w); err != nil {
				t.Fatalf("answered %v, want accepted and ignored", err)
			}
			for _, org := range []string{"o1", "o2"} {
				if _, err := s.store.GetConnection(ctx, org, id); !errors.Is(err, connectors.ErrNotFound) {
					t.Errorf("recorded in %s: %v", org, err)
				}
			}
		})
	}
}

// TestWebhookRefusesBadIDs: ids no principal could have are refused before
// anything is written or audited.
func TestWebhookRefusesBadIDs(t *testing.T) {
	s := unitService(t)
	s.withNango(&fakeNango{conns: map[string]*nango.Connection{}})
	keys := func(context.Context, bool) ([]string, error) { return []string{"k"}, nil }
	for _, tags := range []map[string]string{
		{nango.TagUser: "u1", nango.TagOrg: "o\x00rg"},
		{nango.TagUser: strings.Repeat("u", 256), nango.TagOrg: "o1"},
		{nango.TagUser: "u1"},
	} {
		b, _ := json.Marshal(nango.AuthWebhook{Type: nango.WebhookAuth, Operation: nango.OperationCreation, Success: true, ConnectionID: "c1", ProviderConfigKey: "slack", Tags: tags})
		h := http.Header{}
		h.Set(nango.HeaderHMAC, nango.SignWebhook(b, "k"))
		if err := s.handleWebhook(t.Context(), keys, b, h); connectors.ErrorCode(err) != connectors.EInvalid {
			t.Errorf("tags %q: %v, want invalid_request", tags, err)
		}
	}
	events, _ := s.store.ListAudit(t.Context(), "o1", 10)
	if len(events) != 0 {
		t.Errorf("bad input audited: %+v", events)
	}
}
