package connections

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

	"github.com/automators/connectors/internal/boltstore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/nango"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

var unitStateKey = []byte("unit-state-key-0123456789abcdef0123")

// unitService returns a service over a fresh embedded store, without Nango
// or built-in OAuth.
func unitService(t *testing.T) *Service {
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
	return New(Deps{
		Store: store, Registry: registry.Default(), Router: router.New(policy),
		StateKey: unitStateKey, RedirectAllowlist: []string{"https://app.example.com", "http://localhost:5173"},
	})
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
// connection at once: every one succeeds and there is one record.
func TestUpsertRace(t *testing.T) {
	s := unitService(t)
	m, _ := s.Registry.Lookup("slack")
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
	page, err := s.Store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: "o1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Connections) != 1 {
		t.Fatalf("%d records, want 1", len(page.Connections))
	}
	c := page.Connections[0]
	if c.ID != nc.ConnectionID || c.UserID != "u1" || c.Status != connectors.StatusActive || c.Version != writers {
		t.Errorf("record = %+v, want version %d", c, writers)
	}

	// Another user's upsert of the same connection never takes it over.
	_, err = s.upsertNango(t.Context(), "o1", "u2", m, nc)
	if connectors.ErrorCode(err) != connectors.EForbidden {
		t.Fatalf("takeover = %v, want forbidden", err)
	}
	got, _ := s.Store.GetConnection(t.Context(), "o1", nc.ConnectionID)
	if got.UserID != "u1" || got.Version != writers {
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
			err := s.HandleWebhook(t.Context(), keys, body, tt.header)
			if got := connectors.ErrorCode(err); got != tt.code {
				t.Fatalf("HandleWebhook = %v, want code %q", err, tt.code)
			}
			if int(reads.Load()) != tt.wantReads || int(freshs.Load()) != tt.wantFreshs {
				t.Errorf("keys read %d times (%d fresh), want %d (%d)", reads.Load(), freshs.Load(), tt.wantReads, tt.wantFreshs)
			}
		})
	}
}

// TestWebhookOwnership: a signed auth webhook records the connection for its
// tags' user, a duplicate is harmless, and one naming another user never
// takes an existing record over.
func TestWebhookOwnership(t *testing.T) {
	s := unitService(t)
	keys := func(context.Context, bool) ([]string, error) { return []string{"k"}, nil }
	send := func(t *testing.T, w nango.AuthWebhook) error {
		t.Helper()
		w.Type = nango.WebhookAuth
		b, _ := json.Marshal(w)
		h := http.Header{}
		h.Set(nango.HeaderHMAC, nango.SignWebhook(b, "k"))
		return s.HandleWebhook(t.Context(), keys, b, h)
	}
	created := nango.AuthWebhook{Operation: nango.OperationCreation, Success: true, ConnectionID: "c1", ProviderConfigKey: "slack",
		Tags: map[string]string{TagUser: "u1", TagOrg: "o1"}}
	for range 2 {
		if err := send(t, created); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.Store.GetConnection(t.Context(), "o1", "c1")
	if err != nil || c.UserID != "u1" || c.Connector != "slack" || c.Status != connectors.StatusActive {
		t.Fatalf("stored %+v, %v", c, err)
	}

	hijack := created
	hijack.Operation = nango.OperationOverride
	hijack.Tags = map[string]string{TagUser: "u2", TagOrg: "o1"}
	if err := send(t, hijack); err != nil {
		t.Fatalf("hijack webhook answered %v, want accepted and ignored", err)
	}
	failed := created
	failed.Operation, failed.Success = nango.OperationRefresh, false
	failed.Tags = map[string]string{TagUser: "u2", TagOrg: "o1"}
	if err := send(t, failed); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Store.GetConnection(t.Context(), "o1", "c1")
	if after.UserID != "u1" || after.Version != c.Version || after.Status != connectors.StatusActive {
		t.Errorf("another user's webhooks changed the record: %+v", after)
	}

	failed.Tags = created.Tags
	if err := send(t, failed); err != nil {
		t.Fatal(err)
	}
	after, _ = s.Store.GetConnection(t.Context(), "o1", "c1")
	if after.Status != connectors.StatusRefreshFailed {
		t.Errorf("status after the owner's failed refresh = %s, want refresh_failed", after.Status)
	}

	// An end-user block stands in for missing tags.
	byEndUser := nango.AuthWebhook{Operation: nango.OperationCreation, Success: true, ConnectionID: "c2", ProviderConfigKey: "hubspot",
		EndUser: &nango.WebhookEndUser{EndUserID: "u3", OrganizationID: "o1"}}
	if err := send(t, byEndUser); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Store.GetConnection(t.Context(), "o1", "c2"); err != nil || c.UserID != "u3" {
		t.Errorf("end-user webhook stored %+v, %v", c, err)
	}
}
