package connect

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// FuzzSignedWebhook drives HandleWebhook with correctly signed, random
// payloads (structured and raw) against a store holding userA's connection
// c1 and a live state of userB's flow, and checks the property: no record
// ever changes organization or owner, and no provider connection gets a
// second record. Errors are fine; a panic or a stolen connection is not.
func FuzzSignedWebhook(f *testing.F) {
	f.Add("creation", true, "c1", "u1", "o1", "slack", []byte(nil))
	f.Add("override", true, "c1", "u3", "o2", "slack", []byte(nil))
	f.Add("creation", true, "c2", "u2", "o2", "slack", []byte(nil))
	f.Add("refresh", false, "c1", "u2", "o1", "slack", []byte(nil))
	f.Add("creation", true, "c1", "u1\x00", "o1", "hubspot", []byte(nil))
	f.Add("", false, "", "", "", "", []byte(`{"type":"auth","operation":"creation","success":true,"connectionId":"c1","providerConfigKey":"slack","endUser":{"endUserId":"u3","organizationId":"o2"}}`))
	f.Add("", false, "", "", "", "", []byte(`{"type":"auth","connectionId":["c1"]}`))
	// One store for every input (opening one per input would be most of
	// the time); each input starts from the same records.
	s := unitService(f)
	s.withNango(&fakeNango{conns: map[string]*nango.Connection{
		"c1": {ConnectionID: "c1", ProviderConfigKey: "slack", Tags: map[string]string{nango.TagOrg: "o1", nango.TagUser: "u1"}},
		"c2": {ConnectionID: "c2", ProviderConfigKey: "slack", Tags: map[string]string{nango.TagOrg: "o2", nango.TagUser: "u2", nango.TagState: "n2"}},
	}})
	f.Fuzz(func(t *testing.T, op string, success bool, connID, user, org, key string, raw []byte) {
		ctx := context.Background()
		now := time.Now()
		// c1: recorded for o1/u1. c2: at Nango for o2/u2, with a live state,
		// not recorded yet.
		for _, o := range []string{"o1", "o2", org} {
			for _, id := range []string{"c1", "c2", connID} {
				if connectors.ValidID(o) && connectors.ValidID(id) {
					if err := s.store.DeleteConnection(ctx, o, id); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		_, _ = s.store.ConsumeState(ctx, "n2")
		if _, err := s.upsertNango(ctx, "o1", "u1", slackManifest(t, s), &nango.Connection{ConnectionID: "c1", ProviderConfigKey: "slack"}); err != nil {
			t.Fatal(err)
		}
		if err := s.store.CreateState(ctx, &connectors.OAuthState{Nonce: "n2", OrganizationID: "o2", UserID: "u2", Connector: "slack", AuthProvider: connectors.ProviderNango, CreatedAt: now, ExpiresAt: now.Add(StateTTL)}); err != nil {
			t.Fatal(err)
		}
		body := raw
		if body == nil {
			body, _ = json.Marshal(nango.AuthWebhook{Type: nango.WebhookAuth, Operation: op, Success: success, ConnectionID: connID,
				ProviderConfigKey: key, Tags: map[string]string{nango.TagUser: user, nango.TagOrg: org}})
		}
		h := http.Header{}
		h.Set(nango.HeaderHMAC, nango.SignWebhook(body, "k"))
		_ = s.handleWebhook(ctx, func(context.Context, bool) ([]string, error) { return []string{"k"}, nil }, body, h)

		owners := map[string]string{"c1": "o1/u1", "c2": "o2/u2"}
		for _, o := range []string{"o1", "o2", org} {
			if !connectors.ValidID(o) {
				continue
			}
			for id, want := range owners {
				c, err := s.store.GetConnection(ctx, o, id)
				if errors.Is(err, connectors.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := c.OrganizationID + "/" + c.UserID; got != want {
					t.Fatalf("connection %s recorded for %s, belongs to %s (body %q)", id, got, want, body)
				}
			}
		}
		if c, err := s.store.GetConnection(ctx, "o1", "c1"); err != nil || c.UserID != "u1" {
			t.Fatalf("the owner's record is gone or changed: %+v, %v", c, err)
		}
	})
}

func slackManifest(t *testing.T, s *Service) registry.Manifest {
	t.Helper()
	m, ok := s.registry.Lookup("slack")
	if !ok {
		t.Fatal("no slack manifest")
	}
	return m
}
