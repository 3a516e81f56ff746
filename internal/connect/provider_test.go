package connect_test

// Tests of the API's provider-driven paths with fake providers: which
// provider a flow goes to, what is asked of it and when, relative to the
// single-use state.

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

var principal = connectors.Principal{UserID: userID, OrganizationID: orgID}

// providerEnv is a connection service over a fresh embedded store, served
// by fake providers.
type providerEnv struct {
	svc    *connect.Service
	store  *boltstore.Store
	tokens *credentials.Lifecycle
}

// newProviderEnv returns a service with the default registry, routing by
// policy, whose auth providers are ps.
func newProviderEnv(t *testing.T, policy router.Policy, ps ...connectors.Provider) providerEnv {
	t.Helper()
	store := newStore(t)
	providers := connectors.NewProviders(ps...)
	sealer := newSealer(t)
	tokens := credentials.New(store, providers, sealer, nil)
	svc := connect.New(connect.Deps{
		Store: store, Registry: registry.Default(), Router: router.New(policy),
		Providers: providers, Tokens: tokens, Sealer: sealer,
		StateKey: []byte("state-key-for-provider-tests-0123456789"),
	})
	return providerEnv{svc: svc, store: store, tokens: tokens}
}

// connectRecorder records the connect flows a fake provider starts.
type connectRecorder struct {
	mu   sync.Mutex
	reqs []connectors.ConnectRequest
}

// Last returns the last request, failing the test if there was none.
func (r *connectRecorder) Last(t *testing.T) connectors.ConnectRequest {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no connect flow was started")
	}
	return r.reqs[len(r.reqs)-1]
}

// Len returns how many flows were started.
func (r *connectRecorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// connecting returns a fake provider named name whose Connect sends the
// user to https://<name>.example/auth with verifier (if any), recorded in
// rec.
func connecting(name connectors.AuthProvider, verifier string, rec *connectRecorder) *connecttest.FakeProvider {
	return &connecttest.FakeProvider{
		AuthProvider: name,
		ConnectFn: func(_ context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.reqs = append(rec.reqs, r)
			return &connectors.ConnectFlow{AuthorizationURL: "https://" + string(name) + ".example/auth", Verifier: verifier}, nil
		},
	}
}

// TestAuthorizeSelectsProvider: authorize starts the flow at the provider
// routing chose, with the connector's integration and a state naming that
// provider; a flow's verifier is kept sealed in the state and handed back
// to Complete at the code callback.
func TestAuthorizeSelectsProvider(t *testing.T) {
	cases := []struct {
		name      string
		connector string
		policy    router.Policy
		want      connectors.AuthProvider
		wantKey   string // ConnectRequest.ProviderConfigKey
	}{
		{"slack by Nango", "slack", router.Policy{}, connectors.ProviderNango, "slack"},
		{"gmail by the built-in OAuth", "gmail", router.Policy{}, connectors.ProviderLegacy, "google-mail"},
		{"gmail moved to Nango", "gmail", router.Policy{Overrides: map[string]connectors.AuthProvider{"gmail": connectors.ProviderNango}}, connectors.ProviderNango, "google-mail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := map[connectors.AuthProvider]*connectRecorder{connectors.ProviderNango: {}, connectors.ProviderLegacy: {}}
			verifier := "verifier-of-" + string(tc.want)
			var completed []connectors.CompleteRequest
			var ps []connectors.Provider
			for name, rec := range recs {
				p := connecting(name, verifier, rec)
				p.CompleteFn = func(_ context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
					if name != tc.want {
						t.Errorf("callback completed at %s, want %s", name, tc.want)
					}
					completed = append(completed, r)
					return &connectors.Grant{ProviderConfigKey: r.ProviderConfigKey}, nil
				}
				ps = append(ps, p)
			}
			env := newProviderEnv(t, tc.policy, ps...)
			ctx := t.Context()

			a, err := env.svc.Authorize(ctx, principal, connect.AuthorizeParams{Connector: tc.connector})
			if err != nil {
				t.Fatal(err)
			}
			for name, rec := range recs {
				if wantN := map[bool]int{true: 1, false: 0}[name == tc.want]; rec.Len() != wantN {
					t.Errorf("%s started %d flows, want %d", name, rec.Len(), wantN)
				}
			}
			if a.Route.Target != tc.want || a.AuthorizationURL != "https://"+string(tc.want)+".example/auth" {
				t.Errorf("route %s, authorization URL %q; want %s's", a.Route.Target, a.AuthorizationURL, tc.want)
			}
			req := recs[tc.want].Last(t)
			if req.Connector != tc.connector || req.ProviderConfigKey != tc.wantKey || req.OrganizationID != orgID ||
				req.UserID != userID || req.State != a.State || req.Nonce == "" || req.Reconnect != nil {
				t.Errorf("connect request %+v, want %s's integration %s for the caller with the answered state", req, tc.connector, tc.wantKey)
			}
			st, err := env.store.GetState(ctx, req.Nonce)
			if err != nil {
				t.Fatalf("the state of the flow: %v", err)
			}
			if st.AuthProvider != tc.want || st.Connector != tc.connector || st.UserID != userID {
				t.Errorf("stored state: provider %s connector %s user %s", st.AuthProvider, st.Connector, st.UserID)
			}
			if len(st.SealedVerifier) == 0 || bytes.Contains(st.SealedVerifier, []byte(verifier)) {
				t.Errorf("stored verifier %q: want it sealed", st.SealedVerifier)
			}

			if _, err := env.svc.Callback(ctx, nil, connect.CallbackParams{Connector: tc.connector, State: a.State, Code: "the-code"}); err != nil {
				t.Fatalf("code callback: %v", err)
			}
			if len(completed) != 1 || completed[0].Verifier != verifier || completed[0].Code != "the-code" {
				t.Errorf("Complete got %+v, want the code and the flow's verifier", completed)
			}
		})
	}

	t.Run("provider not in the deployment", func(t *testing.T) {
		rec := &connectRecorder{}
		env := newProviderEnv(t, router.Policy{}, connecting(connectors.ProviderNango, "", rec))
		_, err := env.svc.Authorize(t.Context(), principal, connect.AuthorizeParams{Connector: "gmail"})
		if code := connectors.ErrorCode(err); code != connectors.ENotConfigured || rec.Len() != 0 {
			t.Errorf("err = %v (code %q) after %d flows, want not_configured and none", err, code, rec.Len())
		}
	})
}

// authorized starts a flow for connector at env and returns its state and
// nonce.
func authorized(t *testing.T, env providerEnv, rec *connectRecorder, connector string) (state, nonce string) {
	t.Helper()
	a, err := env.svc.Authorize(t.Context(), principal, connect.AuthorizeParams{Connector: connector})
	if err != nil {
		t.Fatal(err)
	}
	return a.State, rec.Last(t).Nonce
}

// stateLive reports whether the state of nonce can still be consumed.
func stateLive(t *testing.T, store *boltstore.Store, nonce string) bool {
	t.Helper()
	_, err := store.GetState(context.Background(), nonce)
	if err != nil && !errors.Is(err, connectors.ErrInvalidState) {
		t.Fatalf("get state: %v", err)
	}
	return err == nil
}

// TestCallbackProviderConnection: a callback naming the provider's
// connection reads its grant while the state is still unspent, and refuses
// a grant the provider recorded for someone else (or cannot read) without
// spending the state, which then still completes the flow.
func TestCallbackProviderConnection(t *testing.T) {
	const connID = "nango-conn-1"
	cases := []struct {
		name     string
		grant    func() (*connectors.Grant, error)
		wantCode string
	}{
		{"another user's", func() (*connectors.Grant, error) {
			return &connectors.Grant{ConnectionID: connID, ProviderConfigKey: "slack", Owner: &connectors.Owner{OrganizationID: orgID, UserID: "user-other"}}, nil
		}, connectors.EForbidden},
		{"another organization's", func() (*connectors.Grant, error) {
			return &connectors.Grant{ConnectionID: connID, ProviderConfigKey: "slack", Owner: &connectors.Owner{OrganizationID: "org-other", UserID: userID}}, nil
		}, connectors.EForbidden},
		{"unknown to the provider", func() (*connectors.Grant, error) {
			return nil, connectors.Errorf(connectors.ENotFound, "no such connection")
		}, connectors.EInvalid},
		{"provider down", func() (*connectors.Grant, error) {
			return nil, connectors.Errorf(connectors.EUnavailable, "503")
		}, connectors.EUnavailable},
	}
	ours := func() (*connectors.Grant, error) {
		return &connectors.Grant{ConnectionID: connID, ProviderConfigKey: "slack", Owner: &connectors.Owner{OrganizationID: orgID, UserID: userID}}, nil
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &connectRecorder{}
			p := connecting(connectors.ProviderNango, "", rec)
			env := newProviderEnv(t, router.Policy{}, p)
			ctx := t.Context()
			state, nonce := authorized(t, env, rec, "slack")
			grant := tc.grant
			var completes int
			p.CompleteFn = func(_ context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
				completes++
				if r.ConnectionID != connID || r.ProviderConfigKey != "slack" || r.Code != "" {
					t.Errorf("complete request %+v", r)
				}
				if completes <= 2 && !stateLive(t, env.store, nonce) { // the third is the replay
					t.Error("the state was spent before the provider's grant was read")
				}
				return grant()
			}
			in := connect.CallbackParams{Connector: "slack", State: state, ConnectionID: connID}

			_, err := env.svc.Callback(ctx, nil, in)
			if code := connectors.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want %q", err, code, tc.wantCode)
			}
			if !stateLive(t, env.store, nonce) {
				t.Fatal("a refused callback spent the state")
			}
			if _, err := env.store.GetConnection(ctx, orgID, connID); !errors.Is(err, connectors.ErrNotFound) {
				t.Errorf("a refused callback left a record (%v)", err)
			}

			// The state still completes the flow with the user's own grant,
			// once.
			grant = ours
			res, err := env.svc.Callback(ctx, nil, in)
			if err != nil {
				t.Fatalf("callback with the user's grant after a refusal: %v", err)
			}
			c := res.Connection
			if c.ID != connID || c.AuthProvider != connectors.ProviderNango || c.UserID != userID || c.Status != connectors.StatusActive {
				t.Errorf("recorded %+v", c)
			}
			if stateLive(t, env.store, nonce) {
				t.Error("the state is still live after the flow completed")
			}
			if _, err := env.svc.Callback(ctx, nil, in); connectors.ErrorCode(err) != connectors.EInvalidState {
				t.Errorf("replayed callback: %v, want invalid_state", err)
			}
			if completes != 2 {
				t.Errorf("Complete called %d times, want 2 (a replay finds the state spent before asking the provider)", completes)
			}
		})
	}
}

// TestCallbackCode: a code is single use, so the state is spent before the
// provider exchanges it; a failed exchange leaves the state spent, and the
// token the provider hands back is kept sealed in the record.
func TestCallbackCode(t *testing.T) {
	tok := connectors.Token{AccessToken: "gmail-access", RefreshToken: "gmail-refresh", Expiry: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	cases := []struct {
		name     string
		err      error // of Complete
		wantCode string
	}{
		{"exchanged", nil, ""},
		{"exchange failed", connectors.Errorf(connectors.EUpstream, "invalid_grant"), connectors.EUpstream},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &connectRecorder{}
			p := connecting(connectors.ProviderLegacy, "pkce-verifier", rec)
			env := newProviderEnv(t, router.Policy{}, p)
			ctx := t.Context()
			state, nonce := authorized(t, env, rec, "gmail")
			p.CompleteFn = func(_ context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
				if stateLive(t, env.store, nonce) {
					t.Error("the code was exchanged before the state was spent")
				}
				if r.Code != "the-code" || r.Verifier != "pkce-verifier" || r.ConnectionID != "" {
					t.Errorf("complete request %+v", r)
				}
				if tc.err != nil {
					return nil, tc.err
				}
				return &connectors.Grant{ProviderConfigKey: "google-mail", Token: &tok}, nil
			}
			in := connect.CallbackParams{Connector: "gmail", State: state, Code: "the-code"}
			res, err := env.svc.Callback(ctx, nil, in)
			if code := connectors.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want %q", err, code, tc.wantCode)
			}
			if stateLive(t, env.store, nonce) {
				t.Error("the state is still live")
			}
			if tc.err != nil {
				if _, err := env.svc.Callback(ctx, nil, in); connectors.ErrorCode(err) != connectors.EInvalidState {
					t.Errorf("retried code callback: %v, want invalid_state", err)
				}
				return
			}
			c := res.Connection
			if c.AuthProvider != connectors.ProviderLegacy || !c.ExpiresAt.Equal(tok.Expiry) || bytes.Contains(c.SealedToken, []byte(tok.RefreshToken)) {
				t.Errorf("recorded: provider %s expiresAt %s sealed %d bytes", c.AuthProvider, c.ExpiresAt, len(c.SealedToken))
			}
			got, err := env.tokens.OpenToken(ctx, c)
			if err != nil || got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken {
				t.Errorf("the record's token: %v, want the exchanged one", err)
			}
		})
	}
}

// TestDeleteRevokes: delete revokes the connection at its provider (with
// the token this service keeps, if any) before removing the record, and an
// error revoking it stops the delete.
func TestDeleteRevokes(t *testing.T) {
	kept := connectors.Token{AccessToken: "kept-access", RefreshToken: "kept-refresh"}
	cases := []struct {
		name      string
		kept      bool
		revokeErr error
		wantCode  string
	}{
		{"provider-held", false, nil, ""},
		{"kept token", true, nil, ""},
		{"revoke fails", false, connectors.Errorf(connectors.EUnavailable, "503"), connectors.EUnavailable},
		{"revoke refused", true, connectors.Errorf(connectors.EUpstream, "400"), connectors.EUpstream},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type revoke struct {
				id   string
				held *connectors.Token
			}
			var revokes []revoke
			p := &connecttest.FakeProvider{
				AuthProvider: connectors.ProviderNango,
				RevokeFn: func(_ context.Context, c *connectors.Connection, held *connectors.Token) (string, error) {
					revokes = append(revokes, revoke{c.ID, held})
					return "revoked", tc.revokeErr
				},
			}
			env := newProviderEnv(t, router.Policy{}, p)
			ctx := t.Context()
			c := &connectors.Connection{ID: "conn-del", OrganizationID: orgID, UserID: userID, Connector: "slack", AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack"}
			if tc.kept {
				plain, _ := kept.Marshal()
				sealed, err := newSealer(t).Seal(plain, seal.AAD(orgID, c.ID))
				if err != nil {
					t.Fatal(err)
				}
				c.SealedToken = sealed
			}
			if err := env.store.CreateConnection(ctx, c); err != nil {
				t.Fatal(err)
			}

			err := env.svc.Delete(ctx, principal, c.ID)
			if code := connectors.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("err = %v (code %q), want %q", err, code, tc.wantCode)
			}
			if len(revokes) != 1 || revokes[0].id != c.ID {
				t.Fatalf("revokes %+v, want one of %s", revokes, c.ID)
			}
			if held := revokes[0].held; tc.kept != (held != nil) || (held != nil && (held.AccessToken != kept.AccessToken || held.RefreshToken != kept.RefreshToken)) {
				t.Errorf("revoked with held token %v, want the kept one: %v", held, tc.kept)
			}
			_, gerr := env.store.GetConnection(ctx, orgID, c.ID)
			if deleted := errors.Is(gerr, connectors.ErrNotFound); deleted != (tc.revokeErr == nil) {
				t.Errorf("record deleted = %v (%v), want %v", deleted, gerr, tc.revokeErr == nil)
			}
		})
	}
}

// TestHandleEventIgnores: a webhook event of a kind this service does not
// act on, or for an integration this deployment does not serve, is
// accepted and changes nothing: no provider call, no status change, no
// audit, even when it names another owner. The acted-on events around them
// show that the same events otherwise would.
func TestHandleEventIgnores(t *testing.T) {
	const connID = "nango-conn-1"
	other := &connectors.Owner{OrganizationID: orgID, UserID: "user-other"}
	cases := []struct {
		name       string
		ev         connectors.ConnectionEvent
		wantGrants int
		wantStatus connectors.Status
		wantAudits int
	}{
		{"ignored kind", connectors.ConnectionEvent{Kind: connectors.EventIgnored, ProviderConfigKey: "slack", ConnectionID: connID}, 0, connectors.StatusActive, 0},
		{"ignored kind naming another owner", connectors.ConnectionEvent{Kind: connectors.EventIgnored, ProviderConfigKey: "slack", ConnectionID: connID, Claimed: other}, 0, connectors.StatusActive, 0},
		{"unknown integration, refresh failed", connectors.ConnectionEvent{Kind: connectors.EventRefreshFailed, ProviderConfigKey: "not-served", ConnectionID: connID}, 0, connectors.StatusActive, 0},
		{"unknown integration, connected", connectors.ConnectionEvent{Kind: connectors.EventConnected, ProviderConfigKey: "not-served", ConnectionID: "nango-conn-new"}, 0, connectors.StatusActive, 0},
		// Acted on:
		{"refresh failed", connectors.ConnectionEvent{Kind: connectors.EventRefreshFailed, ProviderConfigKey: "slack", ConnectionID: connID}, 0, connectors.StatusRefreshFailed, 1},
		{"refresh failed naming another owner", connectors.ConnectionEvent{Kind: connectors.EventRefreshFailed, ProviderConfigKey: "slack", ConnectionID: connID, Claimed: other}, 0, connectors.StatusActive, 1},
		{"connected, not recorded", connectors.ConnectionEvent{Kind: connectors.EventConnected, ProviderConfigKey: "slack", ConnectionID: "nango-conn-new"}, 1, connectors.StatusActive, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			grants := 0
			p := &connecttest.FakeProvider{
				AuthProvider: connectors.ProviderNango,
				GrantFn: func(context.Context, *connectors.Connection, *connectors.Token, bool) (*connectors.Grant, error) {
					grants++
					return nil, connectors.Errorf(connectors.ENotFound, "deleted since")
				},
			}
			env := newProviderEnv(t, router.Policy{}, p)
			ctx := t.Context()
			c := &connectors.Connection{ID: connID, OrganizationID: orgID, UserID: userID, Connector: "slack", AuthProvider: connectors.ProviderNango, ProviderConfigKey: "slack"}
			if err := env.store.CreateConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			ev := tc.ev
			ev.Provider, ev.Operation = connectors.ProviderNango, "refresh"

			if err := env.svc.HandleEvent(ctx, &ev); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			if grants != tc.wantGrants {
				t.Errorf("provider grant reads = %d, want %d", grants, tc.wantGrants)
			}
			stored, err := env.store.GetConnection(ctx, orgID, connID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", stored.Status, tc.wantStatus)
			}
			events, err := env.store.ListAudit(ctx, orgID, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != tc.wantAudits {
				var what []string
				for _, e := range events {
					what = append(what, e.Action+":"+e.Detail)
				}
				t.Errorf("audit events %q, want %d", strings.Join(what, "; "), tc.wantAudits)
			}
		})
	}
}

// TestCallbackUsesTheStatesProvider: the callback completes the flow with
// the provider authorize chose, which the state names, even when routing
// would now choose another: reconnecting a built-in OAuth Gmail connection
// while a policy migrates new Gmail connections to Nango.
func TestCallbackUsesTheStatesProvider(t *testing.T) {
	policy, err := router.ParsePolicy("gmail=nango")
	if err != nil {
		t.Fatal(err)
	}
	legacyRec, nangoRec := &connectRecorder{}, &connectRecorder{}
	legacy := connecting(connectors.ProviderLegacy, "pkce-verifier", legacyRec)
	nango := connecting(connectors.ProviderNango, "", nangoRec)
	tok := connectors.Token{AccessToken: "gmail-access", RefreshToken: "gmail-refresh", Expiry: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	legacy.CompleteFn = func(_ context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
		return &connectors.Grant{ProviderConfigKey: "gmail", Token: &tok}, nil
	}
	nango.CompleteFn = func(context.Context, connectors.CompleteRequest) (*connectors.Grant, error) {
		t.Error("the callback asked Nango to complete a built-in OAuth flow")
		return nil, connectors.Errorf(connectors.EInvalidState, "not this flow")
	}
	env := newProviderEnv(t, policy, legacy, nango)
	ctx := t.Context()
	existing := &connectors.Connection{
		ID: "gmail-1", OrganizationID: principal.OrganizationID, UserID: principal.UserID, Connector: "gmail",
		AuthProvider: connectors.ProviderLegacy, ProviderConfigKey: "gmail", Status: connectors.StatusReauthRequired,
	}
	if err := env.store.CreateConnection(ctx, existing); err != nil {
		t.Fatal(err)
	}
	a, err := env.svc.Authorize(ctx, principal, connect.AuthorizeParams{Connector: "gmail", ConnectionID: existing.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a.Route.Target != connectors.ProviderLegacy || legacyRec.Len() != 1 || nangoRec.Len() != 0 {
		t.Fatalf("reconnect routed to %s", a.Route.Target)
	}
	res, err := env.svc.Callback(ctx, nil, connect.CallbackParams{Connector: "gmail", State: a.State, Code: "the-code"})
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	if c := res.Connection; c.ID != existing.ID || c.AuthProvider != connectors.ProviderLegacy || c.Status != connectors.StatusActive {
		t.Errorf("reconnected: id %s provider %s status %s; want %s, legacy, active", c.ID, c.AuthProvider, c.Status, existing.ID)
	}
}
