package connect_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/apikey"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

const (
	stripeKey  = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
	stripeKey2 = "sk_test_secondKeyForRotation00"
)

var (
	admin  = connectors.Principal{UserID: "admin-1", OrganizationID: orgID, Roles: []string{"admin"}}
	member = connectors.Principal{UserID: "member-1", OrganizationID: orgID}
	outder = connectors.Principal{UserID: "admin-2", OrganizationID: "org-other", Roles: []string{"admin"}}
)

// keyEnv is a service whose API-key provider tests keys with verify, next
// to a Nango stand-in that holds OAuth connections.
type keyEnv struct {
	providerEnv
	calls atomic.Int32
	now   time.Time
}

func newKeyEnv(t *testing.T, verify func(creds connectors.Credentials) error) *keyEnv {
	t.Helper()
	e := &keyEnv{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	v := func(_ context.Context, _ registry.Manifest, creds connectors.Credentials) error {
		e.calls.Add(1)
		return verify(creds)
	}
	e.providerEnv = newProviderEnv(t, router.Policy{},
		apikey.New(registry.Default(), v, func() time.Time { return e.now }),
		&connecttest.FakeProvider{AuthProvider: connectors.ProviderNango})
	return e
}

func acceptKey(want string) func(connectors.Credentials) error {
	return func(c connectors.Credentials) error {
		if c.APIKey != want {
			return connectors.Errorf(connectors.EInvalidCredentials, "stripe: Invalid API Key provided")
		}
		return nil
	}
}

func stripeParams(key string) connect.CreateParams {
	return connect.CreateParams{Connector: "stripe", Credentials: map[string]string{"secret_key": key}, Label: "Stripe test"}
}

// noSecret fails when err's text holds a submitted key.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error holds a submitted credential: %v", err)
		}
	}
}

func TestCreateAPIKeyConnection(t *testing.T) {
	e := newKeyEnv(t, acceptKey(stripeKey))
	ctx := t.Context()
	c, err := e.svc.Create(ctx, principal, stripeParams(stripeKey))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthProvider != connectors.ProviderAPIKey || c.Status != connectors.StatusActive || c.Label != "Stripe test" || c.UserID != userID {
		t.Fatalf("connection %+v", c)
	}
	if want := e.now.Add(apikey.CheckEvery); !c.CheckAt.Equal(want) {
		t.Errorf("CheckAt %v, want %v (a day after the test call)", c.CheckAt, want)
	}
	if strings.Contains(string(c.SealedToken), stripeKey) || len(c.SealedToken) == 0 {
		t.Fatal("the key is not sealed")
	}
	tok, err := e.tokens.OpenToken(ctx, c)
	if err != nil || tok.Fields["secret_key"] != stripeKey {
		t.Fatalf("sealed fields do not open to the key: %v", err)
	}
	if n := e.calls.Load(); n != 1 {
		t.Errorf("%d test calls, want 1", n)
	}

	// The executor's credentials: the key as Stripe's bearer secret.
	prov, _ := e.tokens.Provider(c)
	creds, err := e.tokens.Credentials(ctx, prov, c, false)
	if err != nil || creds.APIKey != stripeKey {
		t.Fatalf("credentials %v, %v", creds, err)
	}

	// Retried, the same request is the same connection.
	again, err := e.svc.Create(ctx, principal, stripeParams(stripeKey))
	if err != nil || again.ID != c.ID || again.Version != c.Version {
		t.Fatalf("retry made %+v (err %v), want the record %s v%d unchanged", again, err, c.ID, c.Version)
	}
	// Another user's same key is another connection.
	other, err := e.svc.Create(ctx, member, stripeParams(stripeKey))
	if err != nil || other.ID == c.ID {
		t.Fatalf("member's connection %v (err %v) shares id %s", other, err, c.ID)
	}
}

func TestCreateAPIKeyConcurrentRequestsAgree(t *testing.T) {
	e := newKeyEnv(t, acceptKey(stripeKey))
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := e.svc.Create(t.Context(), principal, stripeParams(stripeKey))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = c.ID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("concurrent identical requests made different connections: %v", ids)
		}
	}
	page, err := e.store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: orgID, UserID: userID})
	if err != nil || len(page.Connections) != 1 {
		t.Fatalf("%d records (err %v), want 1", len(page.Connections), err)
	}
}

func TestCreateAPIKeyRefusedStoresNothing(t *testing.T) {
	tests := []struct {
		name      string
		verify    func(connectors.Credentials) error
		in        connect.CreateParams
		wantCode  string
		wantCalls int32
	}{
		{"provider refuses", acceptKey("sk_test_someOtherKey000"), stripeParams(stripeKey), connectors.EInvalidCredentials, 1},
		{"provider down", func(connectors.Credentials) error {
			return connectors.Errorf(connectors.EUnavailable, "stripe: provider unreachable")
		}, stripeParams(stripeKey), connectors.EUnavailable, 1},
		{"rate limited", func(connectors.Credentials) error {
			return &connectors.Error{Code: connectors.ERateLimited, Message: "stripe: slow down", RetryAfter: time.Second}
		}, stripeParams(stripeKey), connectors.ERateLimited, 1},
		{"missing field", acceptKey(stripeKey), connect.CreateParams{Connector: "stripe", Credentials: map[string]string{}}, connectors.EInvalid, 0},
		{"unknown field", acceptKey(stripeKey), connect.CreateParams{Connector: "stripe", Credentials: map[string]string{"secret_key": stripeKey, "password": stripeKey}}, connectors.EInvalid, 0},
		{"not a Stripe key", acceptKey(stripeKey), connect.CreateParams{Connector: "stripe", Credentials: map[string]string{"secret_key": "pk_test_publishableKey0000"}}, connectors.EInvalid, 0},
		{"header injection", acceptKey(stripeKey), connect.CreateParams{Connector: "stripe", Credentials: map[string]string{"secret_key": stripeKey + "\r\nX-Evil: 1"}}, connectors.EInvalid, 0},
		{"connector takes no key", acceptKey(stripeKey), connect.CreateParams{Connector: "slack", Credentials: map[string]string{"token": "xoxb-1"}}, connectors.EInvalid, 0},
		{"unknown connector", acceptKey(stripeKey), connect.CreateParams{Connector: "myspace", Credentials: map[string]string{"k": "v"}}, connectors.EUnknownConnector, 0},
		{"label on two lines", acceptKey(stripeKey), connect.CreateParams{Connector: "stripe", Credentials: map[string]string{"secret_key": stripeKey}, Label: "a\nb"}, connectors.EInvalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newKeyEnv(t, tt.verify)
			_, err := e.svc.Create(t.Context(), principal, tt.in)
			if got := connectors.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %v (code %s), want %s", err, got, tt.wantCode)
			}
			noSecret(t, err, stripeKey, "pk_test_publishableKey0000", "xoxb-1")
			if n := e.calls.Load(); n != tt.wantCalls {
				t.Errorf("%d test calls, want %d", n, tt.wantCalls)
			}
			page, err := e.store.ListConnections(t.Context(), connectors.ConnectionFilter{OrganizationID: orgID})
			if err != nil || len(page.Connections) != 0 {
				t.Fatalf("%d records stored (err %v), want none", len(page.Connections), err)
			}
			events, _ := e.store.ListAudit(t.Context(), orgID, 10)
			if len(events) != 1 || events[0].Action != "create" || events[0].Outcome != tt.wantCode {
				t.Errorf("audit %+v, want one create event with outcome %s", events, tt.wantCode)
			}
		})
	}
}

func TestRotateCredentials(t *testing.T) {
	good := map[string]bool{stripeKey: true, stripeKey2: true}
	e := newKeyEnv(t, func(c connectors.Credentials) error {
		if !good[c.APIKey] {
			return connectors.Errorf(connectors.EInvalidCredentials, "stripe: Invalid API Key provided")
		}
		return nil
	})
	ctx := t.Context()
	c, err := e.svc.Create(ctx, principal, stripeParams(stripeKey))
	if err != nil {
		t.Fatal(err)
	}
	opened := func(c *connectors.Connection) string {
		got, err := e.store.GetConnection(ctx, orgID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := e.tokens.OpenToken(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Fields["secret_key"]
	}

	_, err = e.svc.RotateCredentials(ctx, principal, c.ID, map[string]string{"secret_key": "sk_test_revokedKey00000000"})
	if connectors.ErrorCode(err) != connectors.EInvalidCredentials {
		t.Fatalf("refused rotation: %v", err)
	}
	noSecret(t, err, "sk_test_revokedKey00000000")
	if got := opened(c); got != stripeKey {
		t.Fatal("a refused rotation replaced the key")
	}

	e.now = e.now.Add(time.Hour)
	rotated, err := e.svc.RotateCredentials(ctx, principal, c.ID, map[string]string{"secret_key": stripeKey2})
	if err != nil {
		t.Fatal(err)
	}
	if opened(rotated) != stripeKey2 || rotated.ID != c.ID || !rotated.CheckAt.Equal(e.now.Add(apikey.CheckEvery)) {
		t.Fatalf("rotation: id %s, CheckAt %v", rotated.ID, rotated.CheckAt)
	}

	for _, tt := range []struct {
		name string
		p    connectors.Principal
		want string
	}{
		{"another member", member, connectors.ENotFound},
		{"another organization's admin", outder, connectors.ENotFound},
	} {
		_, err := e.svc.RotateCredentials(ctx, tt.p, c.ID, map[string]string{"secret_key": stripeKey})
		if connectors.ErrorCode(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	if got := opened(c); got != stripeKey2 {
		t.Fatal("an outsider's rotation changed the key")
	}
}

func TestRotateRefusesOAuthConnection(t *testing.T) {
	e := newKeyEnv(t, acceptKey(stripeKey))
	c := seedConnection(t, e.providerEnv, principal, "stripe", connectors.ProviderNango)
	_, err := e.svc.RotateCredentials(t.Context(), principal, c.ID, map[string]string{"secret_key": stripeKey})
	if connectors.ErrorCode(err) != connectors.EInvalid || e.calls.Load() != 0 {
		t.Fatalf("rotating a Nango connection: %v after %d test calls", err, e.calls.Load())
	}
}

// seedConnection stores an active connection of p's.
func seedConnection(t *testing.T, e providerEnv, p connectors.Principal, connector string, prov connectors.AuthProvider) *connectors.Connection {
	t.Helper()
	now := time.Now()
	c := &connectors.Connection{
		ID: "conn-" + p.UserID + "-" + connector, OrganizationID: p.OrganizationID, UserID: p.UserID,
		Connector: connector, AuthProvider: prov, ProviderConfigKey: connector, Status: connectors.StatusActive,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := e.store.CreateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestShare(t *testing.T) {
	e := newKeyEnv(t, acceptKey(stripeKey))
	ctx := t.Context()
	c := seedConnection(t, e.providerEnv, admin, "slack", connectors.ProviderNango)
	mine := seedConnection(t, e.providerEnv, member, "hubspot", connectors.ProviderNango)

	// Members cannot share, not even their own; outsiders do not see it.
	if _, err := e.svc.Share(ctx, member, mine.ID, true); connectors.ErrorCode(err) != connectors.EForbidden {
		t.Errorf("member shares own: %v, want forbidden", err)
	}
	if _, err := e.svc.Share(ctx, outder, c.ID, true); connectors.ErrorCode(err) != connectors.ENotFound {
		t.Errorf("other organization's admin: %v, want not_found", err)
	}
	shared, err := e.svc.Share(ctx, admin, c.ID, true)
	if err != nil || !shared.Shared {
		t.Fatalf("admin shares: %+v, %v", shared, err)
	}
	if again, err := e.svc.Share(ctx, admin, c.ID, true); err != nil || again.Version != shared.Version {
		t.Errorf("sharing again wrote a new version (%v)", err)
	}

	// Members see it read-only.
	if got, err := e.svc.Get(ctx, member, c.ID); err != nil || !got.Shared || got.OwnedBy(member) {
		t.Fatalf("member's get: %+v, %v", got, err)
	}
	for name, f := range map[string]func() error{
		"share":   func() error { _, err := e.svc.Share(ctx, member, c.ID, false); return err },
		"delete":  func() error { return e.svc.Delete(ctx, member, c.ID) },
		"refresh": func() error { _, err := e.svc.Refresh(ctx, member, "slack", c.ID); return err },
		"rotate": func() error {
			_, err := e.svc.RotateCredentials(ctx, member, c.ID, map[string]string{"secret_key": stripeKey})
			return err
		},
	} {
		if err := f(); connectors.ErrorCode(err) != connectors.EForbidden {
			t.Errorf("member %s on a shared connection: %v, want forbidden", name, err)
		}
	}
	if _, err := e.svc.Get(ctx, outder, c.ID); connectors.ErrorCode(err) != connectors.ENotFound {
		t.Errorf("other organization sees the shared connection: %v", err)
	}
	if _, err := e.store.GetConnection(ctx, orgID, c.ID); err != nil {
		t.Fatalf("the shared connection is gone: %v", err)
	}

	unshared, err := e.svc.Share(ctx, admin, c.ID, false)
	if err != nil || unshared.Shared {
		t.Fatalf("unshare: %+v, %v", unshared, err)
	}
	if _, err := e.svc.Get(ctx, member, c.ID); connectors.ErrorCode(err) != connectors.ENotFound {
		t.Errorf("member still sees an unshared connection: %v", err)
	}
	events, _ := e.store.ListAudit(ctx, orgID, 50)
	var actions []string
	for _, ev := range events {
		if ev.ConnectionID == c.ID && ev.Outcome == "success" {
			actions = append(actions, ev.Action)
		}
	}
	if strings.Join(actions, ",") != "share,share,unshare" {
		t.Errorf("audit of the shared connection: %v", actions)
	}
}

// TestAPIKeyRefusedLaterMarksReauth: the sweeper's daily check (Check)
// re-tests a kept key; a key revoked at the provider marks the
// connection reauth_required, and a good one moves CheckAt a day on.
func TestAPIKeyRefusedLaterMarksReauth(t *testing.T) {
	revoked := false
	e := newKeyEnv(t, func(c connectors.Credentials) error {
		if revoked {
			return connectors.Errorf(connectors.EInvalidCredentials, "stripe: This API key was revoked")
		}
		return nil
	})
	ctx := t.Context()
	c, err := e.svc.Create(ctx, principal, stripeParams(stripeKey))
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(apikey.CheckEvery)
	checked, err := e.tokens.Check(ctx, c)
	if err != nil || checked.Status != connectors.StatusActive || !checked.CheckAt.Equal(e.now.Add(apikey.CheckEvery)) {
		t.Fatalf("good key: %+v, %v", checked, err)
	}
	revoked = true
	_, err = e.tokens.Check(ctx, checked)
	if connectors.ErrorCode(err) != connectors.EReauthRequired {
		t.Fatalf("revoked key: %v, want reauth_required", err)
	}
	noSecret(t, err, stripeKey)
	got, _ := e.store.GetConnection(ctx, orgID, c.ID)
	if got.Status != connectors.StatusReauthRequired {
		t.Errorf("status %s, want reauth_required", got.Status)
	}
}
