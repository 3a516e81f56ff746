package statemachine_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/composiofake"
	"github.com/automators/connectors/internal/local/panorafake"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/lambdarie"
)

// TestNodesRoutedToManagedProviders: the state machine runs one node
// routed to Composio (Asana, step 6) and one routed to Panora (HubSpot,
// step 5) through the deployed bootstrap, each going out through its
// provider's proxy to the provider's API.
func TestNodesRoutedToManagedProviders(t *testing.T) {
	var asanaCalls, hubspotCalls atomic.Int32
	asana := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asanaCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"data":{"gid":"1204","name":"From a workflow","resource_type":"task"}}`)
	}))
	t.Cleanup(asana.Close)
	hubspot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hubspotCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"501","properties":{"email":"ada@example.com"},"createdAt":"2026-12-02T08:00:00Z","archived":false}`)
	}))
	t.Cleanup(hubspot.Close)

	comp := composiofake.New(composiofake.Options{
		APIKey:      "composio-key",
		AuthConfigs: []composiofake.AuthConfig{{ID: "ac_asana1", Toolkit: "asana"}},
		Upstreams:   map[string]string{"asana": asana.URL},
	})
	compURL := comp.Start()
	t.Cleanup(comp.Close)
	pan := panorafake.New(panorafake.Options{APIKey: "panora-key", Upstreams: map[string]string{"hubspot": hubspot.URL}})
	panURL := pan.Start()
	t.Cleanup(pan.Close)

	e := newEnvWith(t, func(store *dynamostore.Store, secrets lambdarie.Secrets) []string {
		ctx := t.Context()
		now := time.Now().UTC()
		// Composio's connected account of the user, and its record (the
		// account id only).
		acct, err := comp.CreateAccount(composiofake.AccountSpec{AuthConfigID: "ac_asana1", UserID: composio.UserID(org, user)})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateConnection(ctx, &connectors.Connection{
			ID: acct, OrganizationID: org, UserID: user, Connector: "asana", AuthProvider: connectors.ProviderComposio,
			ProviderConfigKey: "ac_asana1", Status: connectors.StatusActive, CreatedAt: now, UpdatedAt: now,
		}); err != nil {
			t.Fatal(err)
		}
		// Panora's connection of the user's linked user, and its record
		// with the connection token sealed as the deployment seals.
		pc, err := pan.MakeConnection(panora.OriginID(panora.DefaultOriginPrefix, org, user), "crm", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := base64.StdEncoding.DecodeString(secrets.TokenKey)
		sealer, err := seal.New(seal.Key{ID: secrets.TokenKeyID, Secret: key})
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := connectors.Token{AccessToken: pc.ConnectionToken}.Marshal()
		sealed, err := sealer.SealFor(ctx, org, seal.PurposeToken, seal.AAD(org, pc.ID), plain)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateConnection(ctx, &connectors.Connection{
			ID: pc.ID, OrganizationID: org, UserID: user, Connector: "hubspot", AuthProvider: connectors.ProviderPanora,
			ProviderConfigKey: "hubspot", Status: connectors.StatusActive, SealedToken: sealed, CreatedAt: now, UpdatedAt: now,
		}); err != nil {
			t.Fatal(err)
		}
		return []string{
			"ROUTING_POLICY=asana=composio,hubspot=panora",
			"COMPOSIO_API_KEY=composio-key", "COMPOSIO_BASE_URL=" + compURL, "COMPOSIO_AUTH_CONFIGS=asana=ac_asana1",
			"PUBLIC_URL=https://api.automators.test",
			"PANORA_API_KEY=panora-key", "PANORA_HOST=" + panURL,
		}
	}, slackOK)

	for _, tt := range []struct {
		nodeType string
		params   map[string]any
		step     int
		calls    *atomic.Int32
	}{
		{"integration.asana.create_task", map[string]any{"workspace": "12345", "name": "From a workflow"}, 6, &asanaCalls},
		{"integration.hubspot.create_contact", map[string]any{"properties": map[string]any{"email": "ada@example.com"}}, 5, &hubspotCalls},
	} {
		in := nodeInput(tt.params)
		in["nodeType"] = tt.nodeType
		out := decodeOutput(t, e.run(in))
		if out.Route.Step != tt.step {
			t.Errorf("%s: route %+v, want step %d", tt.nodeType, out.Route, tt.step)
		}
		if tt.calls.Load() != 1 {
			t.Errorf("%s: the provider's API saw %d requests, want 1", tt.nodeType, tt.calls.Load())
		}
	}
	if comp.Requests(http.MethodPost, "/api/v3/tools/execute/proxy") != 1 || pan.Requests(http.MethodPost, "/passthrough") != 1 {
		t.Error("the nodes did not go through Composio's proxy and Panora's passthrough")
	}
}
