package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

// testOwner: a connection's provider connection has exactly its record as
// owner from create to delete, and is free again after.
func testOwner(t *testing.T, s connectors.Store) {
	ctx := t.Context()
	c := Connection("org-1", "user-1", "slack", "nango-conn-1")
	pc := c.ProviderConnection()
	if _, err := s.GetOwner(ctx, pc); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("owner before create: %v, want not found", err)
	}
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetOwner(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	if want := (connectors.Owner{OrganizationID: "org-1", UserID: "user-1", ConnectionID: "nango-conn-1"}); got != want {
		t.Fatalf("owner = %+v, want %+v", got, want)
	}
	c.Status = connectors.StatusRefreshFailed
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatalf("update by the owner: %v", err)
	}
	if err := s.DeleteConnection(ctx, "org-1", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOwner(ctx, pc); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("owner after delete: %v, want not found", err)
	}
	// Free again: another organization may now record it.
	if err := s.CreateConnection(ctx, Connection("org-2", "user-2", "slack", "nango-conn-1")); err != nil {
		t.Fatalf("create after the owner's delete: %v", err)
	}
}

// testOwnerRefusesSecond: a provider connection held by one record cannot be
// recorded by another organization or user; the holder's record is intact.
func testOwnerRefusesSecond(t *testing.T, s connectors.Store) {
	ctx := t.Context()
	if err := s.CreateConnection(ctx, Connection("org-1", "user-1", "slack", "C")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, org, user string }{
		{"other organization", "org-2", "user-3"},
		{"other organization, same user id", "org-2", "user-1"},
	} {
		err := s.CreateConnection(ctx, Connection(tc.org, tc.user, "slack", "C"))
		if !errors.Is(err, connectors.ErrOwned) {
			t.Errorf("%s: create = %v, want ErrOwned", tc.name, err)
		}
		if _, err := s.GetConnection(ctx, tc.org, "C"); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("%s: a refused create left a record (%v)", tc.name, err)
		}
		// Deleting a record that does not exist must not free the owner.
		if err := s.DeleteConnection(ctx, tc.org, "C"); err != nil {
			t.Errorf("%s: delete: %v", tc.name, err)
		}
	}
	got, err := s.GetOwner(ctx, Connection("org-1", "user-1", "slack", "C").ProviderConnection())
	if err != nil || got.OrganizationID != "org-1" || got.UserID != "user-1" {
		t.Fatalf("owner = %+v, %v; want org-1/user-1", got, err)
	}
	// Another integration's connection with the same id is another
	// provider connection.
	other := Connection("org-2", "user-3", "slack", "C")
	other.ProviderConfigKey = "slack-staging"
	if err := s.CreateConnection(ctx, other); err != nil {
		t.Errorf("same id under another integration: %v", err)
	}
}

// testOwnerRandomized runs random interleavings of what the callback, the
// webhook, retries and deletes do to one provider connection, from several
// organizations at once, and checks that no moment leaves two records.
func testOwnerRandomized(t *testing.T, s connectors.Store) {
	ctx := t.Context()
	orgs := []string{"org-a", "org-b", "org-c"}
	const id = "nango-shared-id"
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	for round := range 8 {
		var wg sync.WaitGroup
		errs := make(chan error, Workers)
		for w := range Workers / 5 {
			r := rand.New(rand.NewPCG(seed, uint64(round*100+w)))
			wg.Go(func() {
				for range 6 {
					org := orgs[r.IntN(len(orgs))]
					user := "user-of-" + org
					var err error
					switch r.IntN(4) {
					case 0, 1: // callback or webhook: create, or update when it exists
						c := Connection(org, user, "slack", id)
						err = s.CreateConnection(ctx, c)
						if errors.Is(err, connectors.ErrConflict) {
							var cur *connectors.Connection
							if cur, err = s.GetConnection(ctx, org, id); err == nil {
								cur.Status = connectors.StatusActive
								err = s.UpdateConnection(ctx, cur)
							}
						}
					case 2: // a retried delivery: the same create again
						err = s.CreateConnection(ctx, Connection(org, user, "slack", id))
					case 3:
						err = s.DeleteConnection(ctx, org, id)
					}
					if err != nil && !errors.Is(err, connectors.ErrConflict) && !errors.Is(err, connectors.ErrOwned) && !errors.Is(err, connectors.ErrNotFound) {
						errs <- fmt.Errorf("%s: %w", org, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		var holders []string
		for _, org := range orgs {
			if _, err := s.GetConnection(ctx, org, id); err == nil {
				holders = append(holders, org)
			} else if !errors.Is(err, connectors.ErrNotFound) {
				t.Fatal(err)
			}
		}
		owner, err := s.GetOwner(ctx, Connection("", "", "slack", id).ProviderConnection())
		switch {
		case len(holders) > 1:
			t.Fatalf("round %d: %d records for one provider connection: %v", round, len(holders), holders)
		case len(holders) == 1 && (err != nil || owner.OrganizationID != holders[0]):
			t.Fatalf("round %d: record in %s, owner %+v (%v)", round, holders[0], owner, err)
		case len(holders) == 0 && !errors.Is(err, connectors.ErrNotFound):
			t.Fatalf("round %d: no record, yet owner %+v (%v)", round, owner, err)
		}
	}
}
