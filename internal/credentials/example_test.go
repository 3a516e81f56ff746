package credentials_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/local/boltstore"
)

// vault is a tiny auth provider that keeps its connections' tokens
// itself: its grant is a fixed access token per connection, good for an
// hour. reads counts how often it was asked.
type vault struct{ reads int }

func (*vault) Name() connectors.AuthProvider { return "vault" }

func (*vault) Connect(context.Context, connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	return &connectors.ConnectFlow{AuthorizationURL: "https://vault.example.com/connect"}, nil
}

func (*vault) Complete(_ context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	return &connectors.Grant{ProviderConfigKey: r.ProviderConfigKey, ConnectionID: r.ConnectionID}, nil
}

func (v *vault) Grant(_ context.Context, c *connectors.Connection, _ *connectors.Token, _ bool) (*connectors.Grant, error) {
	v.reads++
	return &connectors.Grant{
		ProviderConfigKey: c.ProviderConfigKey, ConnectionID: c.ID,
		ExpiresAt:   time.Now().Add(time.Hour),
		Credentials: connectors.Credentials{AccessToken: "token-of-" + c.ID},
	}, nil
}

func (*vault) Revoke(context.Context, *connectors.Connection, *connectors.Token) (string, error) {
	return "revoked at the vault", nil
}

func (*vault) Proxy(*connectors.Connection, connectors.Credentials) connectors.Proxy { return nil }

// A provider is a connectors.Provider in the deployment's Providers set;
// the lifecycle asks the one a connection names for its grant, serves a
// provider-held token from the container's cache until shortly before it
// expires, and records what a refresh found.
func ExampleLifecycle_Credentials() {
	dir, err := os.MkdirTemp("", "credentials-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := boltstore.Open(filepath.Join(dir, "connectors.db"), []byte("cursor-key"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	v := &vault{}
	providers := connectors.NewProviders(v)
	tokens := credentials.New(store, providers, nil, nil) // no sealer: the vault keeps the tokens

	ctx := context.Background()
	c := &connectors.Connection{ID: "conn-1", OrganizationID: "org-1", UserID: "user-1", Connector: "slack", AuthProvider: "vault"}
	if err := store.CreateConnection(ctx, c); err != nil {
		log.Fatal(err)
	}
	p, err := tokens.Provider(c)
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		cr, err := tokens.Credentials(ctx, p, c, false)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(cr.AccessToken)
	}
	fmt.Println("provider reads:", v.reads)

	// A refresh asks the provider again and records the result.
	got, err := tokens.Refresh(ctx, c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Status, "version", got.Version, "provider reads:", v.reads)
	// Output:
	// token-of-conn-1
	// token-of-conn-1
	// provider reads: 1
	// active version 2 provider reads: 2
}
