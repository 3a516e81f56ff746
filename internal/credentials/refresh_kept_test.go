package credentials_test

// Tests of the built-in OAuth refresh (issue 7, item 1): single-flight within
// a container, the store lease across containers, the rotated refresh token
// saved, and invalid_grant handled after another container's refresh.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/connecttest"
	"github.com/automators/connectors/internal/tstest/oauthtest"
)

const (
	testClientID     = "gmail-client-id"
	testClientSecret = "gmail-client-SECRET"
	orgID            = "org-refresh"
	userID           = "user-refresh"
)

var sealKey = []byte("0123456789abcdef0123456789abcdef")

// newTokenServer is the provider's token endpoint for the client of
// newLifecycle: it rotates the refresh token on every refresh and refuses a
// refresh token it has already rotated (or never issued) with
// invalid_grant, as Google does with rotation on.
func newTokenServer(t *testing.T) *oauthtest.Server {
	t.Helper()
	return oauthtest.New(t, oauthtest.Options{ClientID: testClientID, ClientSecret: testClientSecret, Rotate: true})
}

func newSealer(t *testing.T) *seal.Sealer {
	t.Helper()
	s, err := seal.New(seal.Key{ID: "k1", Secret: sealKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newLifecycle is one container's token lifecycle over store, its
// built-in OAuth pointed at ts.
func newLifecycle(t *testing.T, store connectors.Store, ts *oauthtest.Server) *credentials.Lifecycle {
	t.Helper()
	gp := ts.GoogleProvider("https://api.example.com/api/v1/nango/oauth/gmail/callback")
	_, tokens := connecttest.New(store, connecttest.Options{
		OAuthServers: map[string]*legacyoauth.Provider{"gmail": gp},
		Sealer:       newSealer(t), StateKey: []byte("state-key-for-refresh-tests-0123456789"),
	})
	return tokens
}

// seedGmail stores a built-in OAuth gmail connection holding tok, sealed.
func seedGmail(t *testing.T, store connectors.Store, id string, tok connectors.Token, status connectors.Status) *connectors.Connection {
	t.Helper()
	plain, err := tok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := newSealer(t).Seal(plain, seal.AAD(orgID, id))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	c := &connectors.Connection{
		ID: id, OrganizationID: orgID, UserID: userID, Connector: "gmail",
		AuthProvider: connectors.ProviderLegacy, ProviderConfigKey: "gmail", Status: status,
		Scopes: []string{"https://www.googleapis.com/auth/gmail.send"}, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: tok.Expiry, SealedToken: sealed,
	}
	if err := store.CreateConnection(t.Context(), c); err != nil {
		t.Fatalf("seed connection: %v", err)
	}
	return c
}

// storedToken reads the connection back and opens its sealed token.
func storedToken(t *testing.T, store connectors.Store, id string) (*connectors.Connection, connectors.Token) {
	t.Helper()
	c, err := store.GetConnection(t.Context(), orgID, id)
	if err != nil {
		t.Fatalf("get connection: %v", err)
	}
	plain, err := newSealer(t).Open(c.SealedToken, seal.AAD(orgID, id))
	if err != nil {
		t.Fatalf("open stored token: %v", err)
	}
	tok, err := connectors.UnmarshalToken(plain)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

// storeFactory makes n store handles over one fresh store, as n containers
// each have their own client of the same table.
type storeFactory func(t *testing.T, n int) []connectors.Store

var storeKinds = []struct {
	name string
	open storeFactory
}{
	{"bolt", boltStores},
	{"dynamodb", dynamoStores},
}

// boltStores opens one bbolt file; a bbolt file is locked by its opener, so
// the "containers" share the handle (the lease still goes through the store).
func boltStores(t *testing.T, n int) []connectors.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "connectors.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out := make([]connectors.Store, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// dynamoStores creates a table on the emulator and n clients of it.
func dynamoStores(t *testing.T, n int) []connectors.Store {
	t.Helper()
	var table string
	out := make([]connectors.Store, n)
	for i := range out {
		client := awstest.DynamoDB(t)
		if i == 0 {
			table = awstest.Table(t, client)
		}
		out[i] = dynamostore.New(client, table, []byte("cursor-key"))
	}
	return out
}

// TestRefreshLegacyConcurrent: 50 concurrent refreshes of one expired gmail
// connection, from one container or spread over five containers sharing the
// store, make exactly one token request; all 50 succeed with the same new
// access token, and the store holds the rotated refresh token.
func TestRefreshLegacyConcurrent(t *testing.T) {
	const callers = 50
	for _, kind := range storeKinds {
		for _, containers := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/%d-containers", kind.name, containers), func(t *testing.T) {
				ts := newTokenServer(t)
				ts.SetLatency(150 * time.Millisecond)
				stores := kind.open(t, containers)
				services := make([]*credentials.Lifecycle, containers)
				for i := range services {
					services[i] = newLifecycle(t, stores[i], ts)
				}
				old := ts.Issue(time.Now().Add(-time.Minute)) // expired
				seeded := seedGmail(t, stores[0], "conn-concurrent", old, connectors.StatusActive)

				var (
					wg        sync.WaitGroup
					start     = make(chan struct{})
					successes atomic.Int64
					mu        sync.Mutex
					access    = map[string]int{}
					errs      []error
				)
				for i := range callers {
					wg.Go(func() {
						c := *seeded // each execution read the record before the refresh
						<-start
						got, tok, err := services[i%containers].RefreshKept(t.Context(), &c)
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							errs = append(errs, err)
							return
						}
						if got == nil || got.Status != connectors.StatusActive {
							errs = append(errs, fmt.Errorf("connection after refresh: %+v", got))
							return
						}
						successes.Add(1)
						access[tok.AccessToken]++
					})
				}
				close(start)
				wg.Wait()

				st := ts.Stats()
				requests, rotations, refused := st.Refreshes, st.Rotations, st.Refused
				t.Logf("%d callers over %d containers: %d token requests, %d rotations, %d refused, %d successes, %d distinct access tokens",
					callers, containers, requests, rotations, refused, successes.Load(), len(access))
				for _, err := range errs {
					t.Errorf("caller failed: %v", err)
				}
				if requests != 1 || rotations != 1 || refused != 0 {
					t.Errorf("token requests = %d (rotations %d, refused %d), want exactly 1", requests, rotations, refused)
				}
				if successes.Load() != callers {
					t.Errorf("successes = %d, want %d", successes.Load(), callers)
				}
				fresh := ts.Last()
				if len(access) != 1 || access[fresh.AccessToken] != callers {
					t.Errorf("callers got %d distinct access tokens (%d the issued one), want all %d the same new one",
						len(access), access[fresh.AccessToken], callers)
				}
				if fresh.AccessToken == old.AccessToken {
					t.Fatal("the token server issued no new token")
				}
				c, stored := storedToken(t, stores[0], seeded.ID)
				if stored.RefreshToken != fresh.RefreshToken || stored.RefreshToken == old.RefreshToken {
					t.Errorf("stored refresh token is not the rotated one")
				}
				if stored.AccessToken != fresh.AccessToken {
					t.Errorf("stored access token is not the new one")
				}
				if c.Version != seeded.Version+1 {
					t.Errorf("version %d -> %d, want one update", seeded.Version, c.Version)
				}
				if c.Status != connectors.StatusActive || !c.ExpiresAt.After(time.Now().Add(30*time.Minute)) || c.LastRefreshedAt.IsZero() {
					t.Errorf("stored connection: status %s expiresAt %s lastRefreshedAt %s", c.Status, c.ExpiresAt, c.LastRefreshedAt)
				}

				// The rotated refresh token works: a later refresh succeeds
				// (the server would refuse the old one).
				if _, tok, err := services[0].RefreshKept(t.Context(), c); err != nil || tok.AccessToken == fresh.AccessToken {
					t.Errorf("refresh with the saved rotated token: %v", err)
				}
			})
		}
	}
}

// TestRefreshLegacyInvalidGrant: an invalid_grant answered because another
// container has just rotated the refresh token is not a refusal: the record
// is read again and the other container's fresh token is used. A grant the
// provider really refuses marks the connection reauth_required.
func TestRefreshLegacyInvalidGrant(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name+"/raced", func(t *testing.T) {
			ts := newTokenServer(t)
			stores := kind.open(t, 2)
			svcB := newLifecycle(t, stores[1], ts)
			old := ts.Issue(time.Now().Add(-time.Minute))
			seeded := seedGmail(t, stores[0], "conn-raced", old, connectors.StatusActive)

			// Container A's refresh (its lease ran out under it) reaches the
			// provider just before B's and saves its token while B waits:
			// B's request then carries a refresh token already rotated.
			var other connectors.Token
			var once sync.Once
			ts.OnRefresh(func(rt string) {
				once.Do(func() {
					tok, ok := ts.Refresh(rt)
					if !ok {
						t.Errorf("container A's refresh was refused")
						return
					}
					other = tok
					c, err := stores[0].GetConnection(context.Background(), orgID, seeded.ID)
					if err != nil {
						t.Errorf("container A: %v", err)
						return
					}
					plain, _ := tok.Marshal()
					if c.SealedToken, err = newSealer(t).Seal(plain, seal.AAD(orgID, c.ID)); err != nil {
						t.Error(err)
						return
					}
					c.ExpiresAt, c.LastRefreshedAt = tok.Expiry, time.Now()
					if err := stores[0].UpdateConnection(context.Background(), c); err != nil {
						t.Errorf("container A save: %v", err)
					}
				})
			})
			c := *seeded
			got, tok, err := svcB.RefreshKept(t.Context(), &c)
			if err != nil {
				t.Fatalf("refresh after another container's rotation: %v (code %s)", err, connectors.ErrorCode(err))
			}
			if tok.AccessToken != other.AccessToken {
				t.Errorf("got an access token other than the one container A saved")
			}
			st := ts.Stats()
			requests, rotations, refused := st.Refreshes, st.Rotations, st.Refused
			if requests != 1 || refused != 1 || rotations != 1 {
				t.Errorf("token server: %d requests, %d refused, %d rotations; want B's one refused request after A's rotation", requests, refused, rotations)
			}
			stored, storedTok := storedToken(t, stores[0], seeded.ID)
			if stored.Status != connectors.StatusActive || got.Status != connectors.StatusActive {
				t.Errorf("status = %s (returned %s), want active", stored.Status, got.Status)
			}
			if storedTok.RefreshToken != other.RefreshToken {
				t.Errorf("the store lost container A's rotated refresh token")
			}
			if stored.Version != seeded.Version+1 {
				t.Errorf("version %d -> %d: B wrote after A (want A's write only)", seeded.Version, stored.Version)
			}
		})

		t.Run(kind.name+"/refused", func(t *testing.T) {
			ts := newTokenServer(t)
			stores := kind.open(t, 1)
			svc := newLifecycle(t, stores[0], ts)
			old := ts.Issue(time.Now().Add(-time.Minute))
			for _, status := range []connectors.Status{connectors.StatusActive, connectors.StatusRefreshFailed} {
				id := "conn-refused-" + string(status)
				seeded := seedGmail(t, stores[0], id, old, status)
				ts.RevokeAll()
				_, _, err := svc.RefreshKept(t.Context(), seeded)
				if !errors.Is(err, connectors.ErrReauthRequired) {
					t.Fatalf("%s: refused grant: err = %v, want reauth_required", status, err)
				}
				stored, tok := storedToken(t, stores[0], id)
				if stored.Status != connectors.StatusReauthRequired {
					t.Errorf("%s: status = %s, want reauth_required", status, stored.Status)
				}
				if tok.RefreshToken != old.RefreshToken || tok.AccessToken != old.AccessToken {
					t.Errorf("%s: the sealed token changed on a refusal", status)
				}
				if stored.Version != seeded.Version+1 {
					t.Errorf("%s: version %d -> %d, want one status update", status, seeded.Version, stored.Version)
				}
			}
		})

		t.Run(kind.name+"/transient", func(t *testing.T) {
			ts := newTokenServer(t)
			stores := kind.open(t, 1)
			svc := newLifecycle(t, stores[0], ts)
			old := ts.Issue(time.Now().Add(-time.Minute))
			seeded := seedGmail(t, stores[0], "conn-transient", old, connectors.StatusActive)
			ts.FailTokenRequests(1, http.StatusServiceUnavailable)
			_, _, err := svc.RefreshKept(t.Context(), seeded)
			if code := connectors.ErrorCode(err); code != connectors.EUnavailable {
				t.Fatalf("provider 503: code %q (%v), want upstream_unavailable", code, err)
			}
			stored, tok := storedToken(t, stores[0], seeded.ID)
			if stored.Version != seeded.Version || stored.Status != connectors.StatusActive || tok.RefreshToken != old.RefreshToken {
				t.Errorf("a failed refresh changed the record: version %d->%d status %s", seeded.Version, stored.Version, stored.Status)
			}
			// The refresh token was not consumed: the next refresh works.
			if _, _, err := svc.RefreshKept(t.Context(), stored); err != nil {
				t.Errorf("refresh after the outage: %v", err)
			}
		})
	}
}

// TestRefreshLegacyLeaderCancelled: callers sharing one refresh do not fail
// because the caller whose request started it gave up.
func TestRefreshLegacyLeaderCancelled(t *testing.T) {
	ts := newTokenServer(t)
	stores := boltStores(t, 1)
	svc := newLifecycle(t, stores[0], ts)
	old := ts.Issue(time.Now().Add(-time.Minute))
	seeded := seedGmail(t, stores[0], "conn-leader", old, connectors.StatusActive)

	arrived := make(chan struct{})
	release := make(chan struct{})
	ts.OnRefresh(func(string) {
		close(arrived)
		<-release
	})
	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() {
		c := *seeded
		_, _, err := svc.RefreshKept(leaderCtx, &c)
		leaderErr <- err
	}()
	<-arrived // the leader's token request is at the provider
	followerErr := make(chan error, 1)
	var followerTok connectors.Token
	go func() {
		c := *seeded
		_, tok, err := svc.RefreshKept(t.Context(), &c)
		followerTok = tok
		followerErr <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the follower join the flight
	cancelLeader()
	<-leaderErr // the leader may fail: it gave up
	close(release)
	if err := <-followerErr; err != nil {
		t.Fatalf("a caller sharing the refresh failed because another caller gave up: %v", err)
	}
	stored, tok := storedToken(t, stores[0], seeded.ID)
	if tok.AccessToken != followerTok.AccessToken || tok.RefreshToken == old.RefreshToken {
		t.Errorf("the follower's token is not the stored rotated one")
	}
	if stored.Status != connectors.StatusActive {
		t.Errorf("status %s", stored.Status)
	}
	if requests := ts.Stats().Refreshes; requests != 1 {
		t.Errorf("token requests = %d, want 1", requests)
	}
}
