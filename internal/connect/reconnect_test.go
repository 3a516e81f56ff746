package connect_test

import (
	"path/filepath"
	"testing"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/tstest/connecttest"
)

// TestReconnectKeepsTheRecord: a connection marked reauth_required is
// reconnected through a Nango reconnect session (authorize with
// connection_id), and the callback brings the same record back to active.
func TestReconnectKeepsTheRecord(t *testing.T) {
	fake := nangofake.New(nangofake.Options{SecretKey: "nango-secret", Integrations: []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}})
	url := fake.Start()
	t.Cleanup(fake.Close)
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "c.db"), []byte("cursor-key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc, tokens := connecttest.New(store, connecttest.Options{
		Nango: nango.New(url, "nango-secret"), NangoHost: url, Sealer: newSealer(t),
		StateKey: []byte("state-key-for-reconnect-tests-0123456789"),
	})
	p := connectors.Principal{UserID: userID, OrganizationID: orgID}
	ctx := t.Context()

	connectOnce := func(connectionID string) *connectors.Connection {
		t.Helper()
		a, err := svc.Authorize(ctx, p, connect.AuthorizeParams{Connector: "slack", ConnectionID: connectionID})
		if err != nil {
			t.Fatalf("authorize(connection_id=%q): %v", connectionID, err)
		}
		id, err := fake.CompleteSession(a.ConnectSessionToken)
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Callback(ctx, nil, connect.CallbackParams{Connector: "slack", State: a.State, ConnectionID: id})
		if err != nil {
			t.Fatalf("callback: %v", err)
		}
		return res.Connection
	}

	first := connectOnce("")
	if err := tokens.MarkReauth(ctx, first, nil); connectors.ErrorCode(err) != connectors.EReauthRequired {
		t.Fatalf("MarkReauth: %v", err)
	}
	marked, err := store.GetConnection(ctx, orgID, first.ID)
	if err != nil || marked.Status != connectors.StatusReauthRequired {
		t.Fatalf("after MarkReauth: %+v, %v", marked, err)
	}
	if fake.Requests("POST", "/connect/sessions/reconnect") != 0 {
		t.Fatal("a reconnect session before any reconnect")
	}

	again := connectOnce(first.ID)
	if again.ID != first.ID {
		t.Fatalf("reconnect made connection %s, want the same %s", again.ID, first.ID)
	}
	if got := fake.Requests("POST", "/connect/sessions/reconnect"); got != 1 {
		t.Errorf("reconnect sessions = %d, want 1", got)
	}
	page, err := store.ListConnections(ctx, connectors.ConnectionFilter{OrganizationID: orgID, UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Connections) != 1 || page.Connections[0].Status != connectors.StatusActive || page.Connections[0].Version <= marked.Version {
		t.Errorf("after reconnect: %d records, first %+v; want one active record, version > %d", len(page.Connections), page.Connections[0], marked.Version)
	}

	// Another user cannot reconnect (or learn about) this connection.
	other := connectors.Principal{UserID: "someone-else", OrganizationID: orgID}
	if _, err := svc.Authorize(ctx, other, connect.AuthorizeParams{Connector: "slack", ConnectionID: first.ID}); connectors.ErrorCode(err) != connectors.ENotFound {
		t.Errorf("another user's reconnect: %v, want not_found", err)
	}
}
