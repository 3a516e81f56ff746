package actions

import (
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/schema"
)

// testCatalogue is the catalogue over the default registry, as wiring
// builds it.
func testCatalogue(tb testing.TB) *Catalogue {
	tb.Helper()
	cat, err := NewCatalogue(registry.Default(), schema.Subset{})
	if err != nil {
		tb.Fatalf("NewCatalogue: %v", err)
	}
	return cat
}

func TestCatalogueFillsTheRegistry(t *testing.T) {
	cat := testCatalogue(t)
	reg := cat.Registry()
	if got, want := reg.IDs(), registry.Default().IDs(); !slices.Equal(got, want) {
		t.Fatalf("IDs = %v, want %v", got, want)
	}
	for _, m := range reg.All() {
		if len(m.Actions) < 2 {
			t.Errorf("%s: %d actions, want a write and a read", m.ID, len(m.Actions))
		}
		if got := cat.Actions(m.ID); !slices.Equal(got, m.Actions) {
			t.Errorf("%s: Actions = %v, manifest %v", m.ID, got, m.Actions)
		}
		for _, name := range m.Actions {
			if !m.HasAction(name) {
				t.Errorf("%s: HasAction(%q) = false", m.ID, name)
			}
		}
	}
	slack, _ := reg.Lookup("slack")
	if want := []string{"send_message", "list_channels", "update_message", "add_reaction", "lookup_user_by_email"}; !slices.Equal(slack.Actions, want) {
		t.Errorf("slack actions %v, want %v", slack.Actions, want)
	}
	if cat.Actions("myspace") != nil {
		t.Error("an unknown connector has actions")
	}
	if a, ok := cat.Lookup("slack", "nuke"); ok || a != nil {
		t.Errorf("Lookup of an unknown action = %v, %v", a, ok)
	}
}

// TestCataloguesAreIndependent builds two catalogues over registries with
// different base URLs: neither sees the other's manifests.
func TestCataloguesAreIndependent(t *testing.T) {
	a := testCatalogue(t)
	m, _ := registry.Default().Lookup("slack")
	m.BaseURL = "https://slack.example/api"
	var ms []registry.Manifest
	for _, o := range registry.Default().All() {
		if o.ID == "slack" {
			o = m
		}
		ms = append(ms, o)
	}
	reg, err := registry.New(ms...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewCatalogue(reg, jsonschema.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.byKey["slack.send_message"].manifest.BaseURL; got != "https://slack.com/api" {
		t.Errorf("first catalogue's slack base URL = %q", got)
	}
	if got := b.byKey["slack.send_message"].manifest.BaseURL; got != m.BaseURL {
		t.Errorf("second catalogue's slack base URL = %q", got)
	}
}

func TestNewCatalogueRejectsMismatches(t *testing.T) {
	full := registry.Default()
	without := func(id string) *registry.Registry {
		var ms []registry.Manifest
		for _, m := range full.All() {
			if m.ID != id {
				ms = append(ms, m)
			}
		}
		r, err := registry.New(ms...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	extra, err := registry.New(append(full.All(), registry.Manifest{ID: "myspace"})...)
	if err != nil {
		t.Fatal(err)
	}
	dupAction := func() connector {
		c := slackActions()
		c.actions = append(c.actions, &spec{name: c.actions[0].name, credential: registry.CredentialConnection})
		return c
	}
	// with returns builtin() with the definition of id changed by f.
	with := func(id string, f func(c *connector)) []func() connector {
		var defs []func() connector
		for _, def := range builtin() {
			if def().provider.id == id {
				def := def
				defs = append(defs, func() connector { c := def(); f(&c); return c })
				continue
			}
			defs = append(defs, def)
		}
		return defs
	}
	newAction := func(cred registry.Credential) func(c *connector) {
		return func(c *connector) {
			c.actions = append(c.actions, &spec{name: "new_action", credential: cred, build: func(args, Request, *call) error { return nil }})
		}
	}
	tests := []struct {
		name string
		reg  *registry.Registry
		defs []func() connector
		want string
	}{
		{"connector not in the registry", without("trello"), builtin(), `"trello" is not in the registry`},
		{"registry connector without actions", extra, builtin(), `"myspace" of the registry has no actions`},
		{"connector twice", full, append(builtin(), slackActions), `"slack" is defined twice`},
		{"action twice", full, []func() connector{dupAction}, "slack.send_message is defined twice"},
		{"action without a credential", full, with("slack", newAction("")), "action slack.new_action declares no credential"},
		{"unknown credential", full, with("slack", newAction("user")), `action slack.new_action declares an unknown credential "user"`},
		{"app credential the manifest does not list", full, with("discord", newAction(registry.AppCredential("discord_webhook"))), `discord.new_action sends app credential "discord_webhook", which discord's manifest does not list`},
		{"app credential of a connector without any", full, with("slack", newAction(registry.AppCredential("discord_bot_token"))), `slack.new_action sends app credential "discord_bot_token", which slack's manifest does not list`},
		{"app credential without a way to send it", full, with("discord", func(c *connector) { c.provider.appAuth = nil }), `discord.send_message sends app credential "discord_bot_token", and discord has no way to send one`},
		{"API keys without a test call", full, with("stripe", func(c *connector) { c.verify = nil }), `"stripe" accepts API keys and has no call to test them`},
		{"a test call without API keys", full, with("slack", func(c *connector) { c.verify = stripeVerify() }), `"slack" has a credential test call and accepts no API key`},
		{"action without an output schema", full, with("slack", func(c *connector) { c.actions[0].output = " " }), "action slack.send_message declares no output schema"},
	}
	if _, err := newCatalogue(full, jsonschema.Compiler{}, builtin()); err != nil {
		t.Fatalf("the built-in definitions: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := newCatalogue(tt.reg, jsonschema.Compiler{}, tt.defs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newCatalogue = %v, %v; want an error containing %s", cat, err, tt.want)
			}
		})
	}
}
