package apikey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/automators/connectors/internal/apikey"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

var now = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

const (
	trelloKey   = "0123456789abcdef0123456789abcdef"
	trelloToken = "ATTAabcdefabcdefabcdefabcdefabcdef0123"
)

func trelloFields() map[string]string {
	return map[string]string{"api_key": trelloKey, "token": trelloToken}
}

func newProvider(verify func(connectors.Credentials) error) (*apikey.Provider, *int) {
	calls := 0
	return apikey.New(registry.Default(), func(_ context.Context, m registry.Manifest, c connectors.Credentials) error {
		calls++
		return verify(c)
	}, func() time.Time { return now }), &calls
}

func TestComplete(t *testing.T) {
	refused := connectors.Errorf(connectors.EInvalidCredentials, "trello: invalid key")
	tests := []struct {
		name      string
		connector string
		fields    map[string]string
		verify    error
		wantCode  string // "" for success
		wantCalls int
	}{
		{"accepted", "trello", trelloFields(), nil, "", 1},
		{"refused", "trello", trelloFields(), refused, connectors.EInvalidCredentials, 1},
		{"outage", "trello", trelloFields(), connectors.Errorf(connectors.EUnavailable, "trello: down"), connectors.EUnavailable, 1},
		{"missing token", "trello", map[string]string{"api_key": trelloKey}, nil, connectors.EInvalid, 0},
		{"no keys for slack", "slack", map[string]string{"token": "x"}, nil, connectors.EInvalid, 0},
		{"unknown connector", "myspace", trelloFields(), nil, connectors.EUnknownConnector, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got connectors.Credentials
			p, calls := newProvider(func(c connectors.Credentials) error { got = c; return tt.verify })
			g, err := p.Complete(t.Context(), connectors.CompleteRequest{Connector: tt.connector, Fields: tt.fields})
			if *calls != tt.wantCalls {
				t.Errorf("%d test calls, want %d", *calls, tt.wantCalls)
			}
			if tt.wantCode != "" {
				if connectors.ErrorCode(err) != tt.wantCode || g != nil {
					t.Fatalf("Complete = %v, %v; want code %s", g, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.APIKey != trelloKey || got.AccessToken != trelloToken {
				t.Errorf("tested credentials %v: the registry's field uses were not applied", got)
			}
			if g.Token == nil || g.Token.Fields["token"] != trelloToken || !g.CheckAt.Equal(now.Add(apikey.CheckEvery)) {
				t.Fatalf("grant %+v", g)
			}
			tt.fields["token"] = "changed"
			if g.Token.Fields["token"] != trelloToken {
				t.Error("the grant shares the caller's map")
			}
		})
	}
}

func TestGrant(t *testing.T) {
	c := &connectors.Connection{ID: "key-1", Connector: "shopify"}
	held := &connectors.Token{Fields: map[string]string{"subdomain": "acme", "access_token": "shpat_0123456789abcdef0123"}}
	t.Run("read", func(t *testing.T) {
		p, calls := newProvider(func(connectors.Credentials) error { return errors.New("not called") })
		g, err := p.Grant(t.Context(), c, held, false)
		if err != nil || *calls != 0 {
			t.Fatalf("Grant: %v after %d calls", err, *calls)
		}
		if g.Credentials.AccessToken != "shpat_0123456789abcdef0123" || g.Credentials.ConnectionConfig["subdomain"] != "acme" || !g.CheckAt.IsZero() {
			t.Fatalf("grant %+v", g)
		}
	})
	t.Run("re-test accepted", func(t *testing.T) {
		p, calls := newProvider(func(connectors.Credentials) error { return nil })
		g, err := p.Grant(t.Context(), c, held, true)
		if err != nil || *calls != 1 || !g.CheckAt.Equal(now.Add(apikey.CheckEvery)) || g.Token != held {
			t.Fatalf("Grant = %+v, %v after %d calls", g, err, *calls)
		}
	})
	t.Run("re-test refused", func(t *testing.T) {
		p, _ := newProvider(func(connectors.Credentials) error {
			return connectors.Errorf(connectors.EInvalidCredentials, "shopify: [API] Invalid API key or access token")
		})
		_, err := p.Grant(t.Context(), c, held, true)
		if !errors.Is(err, connectors.ErrReauthRequired) || !strings.Contains(err.Error(), "Invalid API key") {
			t.Fatalf("refused re-test: %v, want reauth_required with the provider's reason", err)
		}
	})
	t.Run("re-test outage", func(t *testing.T) {
		p, _ := newProvider(func(connectors.Credentials) error { return connectors.Errorf(connectors.EUnavailable, "down") })
		if _, err := p.Grant(t.Context(), c, held, true); connectors.ErrorCode(err) != connectors.EUnavailable {
			t.Fatalf("outage: %v, want unavailable (not a refusal)", err)
		}
	})
	t.Run("nothing held", func(t *testing.T) {
		p, _ := newProvider(func(connectors.Credentials) error { return nil })
		if _, err := p.Grant(t.Context(), c, nil, false); !errors.Is(err, connectors.ErrReauthRequired) {
			t.Fatalf("no token: %v", err)
		}
	})
}

func TestNoFlow(t *testing.T) {
	p, _ := newProvider(func(connectors.Credentials) error { return nil })
	if _, err := p.Connect(t.Context(), connectors.ConnectRequest{Connector: "stripe"}); connectors.ErrorCode(err) != connectors.EInvalid {
		t.Errorf("Connect: %v", err)
	}
	if d, err := p.Revoke(t.Context(), &connectors.Connection{}, nil); err != nil || d == "" {
		t.Errorf("Revoke: %q, %v", d, err)
	}
	if p.Proxy(&connectors.Connection{}, connectors.Credentials{}) != nil || p.Name() != connectors.ProviderAPIKey {
		t.Error("API keys are sent directly, by the api_key provider")
	}
}
