package actions

import (
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/schema"
)

// mustCompiled returns s's compiled schemas, or fails t.
func mustCompiled(t testing.TB, s *spec) *compiled {
	t.Helper()
	c, err := s.schemas.compiled()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSchemasCompile compiles every action's schemas, which NewCatalogue
// leaves to each action's first use, with the functions' compiler
// (schema.Subset, which refuses a keyword it does not check) and the
// library's: a schema that does not compile fails here rather than in a
// workflow.
func TestSchemasCompile(t *testing.T) {
	for _, c := range []struct {
		name string
		c    schema.Compiler
	}{{"subset", schema.Subset{}}, {"library", jsonschema.Compiler{}}} {
		t.Run(c.name, func(t *testing.T) {
			cat, err := NewCatalogue(registry.Default(), c.c)
			if err != nil {
				t.Fatal(err)
			}
			for key, s := range cat.byKey {
				cs, err := s.schemas.compiled()
				if err != nil || cs.input == nil || cs.output == nil {
					t.Errorf("%s: compiled %v, %v", key, cs, err)
				}
			}
		})
	}
}

// TestSchemasThatDoNotCompile: an action whose output schema is not JSON,
// or JSON but not a schema, is accepted by NewCatalogue (making and
// compiling the schemas waits for their first use), and refused as an
// internal error, naming the action, when it is run or described; other
// actions are not affected. A catalogue without a compiler describes its
// actions and runs none.
func TestSchemasThatDoNotCompile(t *testing.T) {
	broken := func(output string) []func() connector {
		var defs []func() connector
		for _, def := range builtin() {
			def := def
			defs = append(defs, func() connector {
				c := def()
				if c.provider.id == "slack" {
					c.actions[0].output = output
				}
				return c
			})
		}
		return defs
	}
	tests := []struct {
		name        string
		schemas     schema.Compiler
		defs        []func() connector
		describable bool
	}{
		{"output schema not JSON", jsonschema.Compiler{}, broken("{type: object}"), false},
		{"output schema of type 5", jsonschema.Compiler{}, broken(`{"type": 5}`), true},
		{"no compiler", nil, builtin(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := newCatalogue(registry.Default(), tt.schemas, tt.defs)
			if err != nil {
				t.Fatalf("newCatalogue: %v", err)
			}
			s := cat.byKey["slack.send_message"]
			_, err = s.validate(map[string]any{"channel": "C1", "text": "hi"})
			if got := connectors.ErrorCode(err); got != connectors.EInternal || !strings.Contains(err.Error(), "slack.send_message") {
				t.Errorf("validate = %v (code %s), want %s naming the action", err, got, connectors.EInternal)
			}
			_, err = cat.Describe("slack")
			if tt.describable != (err == nil) {
				t.Errorf("Describe(slack) = %v, want describable %v", err, tt.describable)
			}
			if !tt.describable && connectors.ErrorCode(err) != connectors.EInternal {
				t.Errorf("Describe(slack) = %v, want an internal error", err)
			}
			if infos, err := cat.Describe("stripe"); err != nil || len(infos) != 6 {
				t.Errorf("Describe(stripe) = %d actions, %v", len(infos), err)
			}
			if tt.schemas != nil {
				if _, err := cat.byKey["slack.list_channels"].schemas.compiled(); err != nil {
					t.Errorf("another action's schemas: %v", err)
				}
			}
		})
	}
}
