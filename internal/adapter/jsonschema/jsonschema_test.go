package jsonschema

import (
	"errors"
	"slices"
	"testing"

	"github.com/automators/connectors/internal/schema"
)

// TestViolation holds the failure reported for each keyword the actions'
// schemas use: the keyword, where in the value, and what was wanted; by
// this adapter and by schema.Subset alike.
func TestViolation(t *testing.T) {
	for _, c := range []struct {
		name string
		c    schema.Compiler
	}{{"library", Compiler{}}, {"subset", schema.Subset{}}} {
		t.Run(c.name, func(t *testing.T) { testViolation(t, c.c) })
	}
}

func testViolation(t *testing.T, c schema.Compiler) {
	const doc = `{
		"type": "object",
		"additionalProperties": false,
		"required": ["name"],
		"properties": {
			"name": {"type": "string", "pattern": "\\S", "maxLength": 5},
			"count": {"type": "integer", "minimum": 1, "maximum": 10},
			"mode": {"enum": ["a", "b"]},
			"email": {"type": "string", "format": "email"},
			"tags": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
			"meta": {"type": "object", "minProperties": 1},
			"id": {"type": "string", "not": {"const": "me"}},
			"either": {"anyOf": [{"type": "string", "pattern": "^x"}, {"type": "array"}]},
			"a1": {"type": "string"}, "a2": {"type": "string"}
		},
		"anyOf": [{"required": ["a1"]}, {"required": ["a2"]}]
	}`
	s, err := c.Compile("test", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	base := func(kv ...any) map[string]any {
		m := map[string]any{"name": "n", "a1": "x"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		value   any
		keyword string
		loc     []string
		want    []string
	}{
		{"required", map[string]any{"a1": "x"}, "required", nil, []string{"name"}},
		{"not a parameter", base("extra", 1.0), "additionalProperties", nil, []string{"extra"}},
		{"one of two required", map[string]any{"name": "n"}, "anyOf", nil, []string{"a1", "a2"}},
		{"type", base("count", "3"), "type", []string{"count"}, []string{"integer"}},
		{"pattern", base("name", " "), "pattern", []string{"name"}, []string{`\S`}},
		{"maxLength", base("name", "abcdef"), "maxLength", []string{"name"}, []string{"5"}},
		{"minimum", base("count", 0.0), "minimum", []string{"count"}, []string{"1"}},
		{"maximum", base("count", 11.0), "maximum", []string{"count"}, []string{"10"}},
		{"enum", base("mode", "c"), "enum", []string{"mode"}, []string{"a", "b"}},
		{"format", base("email", "not an address"), "format", []string{"email"}, []string{"email"}},
		{"minItems", base("tags", []any{}), "minItems", []string{"tags"}, []string{"1"}},
		{"in an array", base("tags", []any{"ok", ""}), "minLength", []string{"tags", "1"}, []string{"1"}},
		{"minProperties", base("meta", map[string]any{}), "minProperties", []string{"meta"}, []string{"1"}},
		{"not", base("id", "me"), "not", []string{"id"}, nil},
		{"the branch's rule, not its type", base("either", "y"), "pattern", []string{"either"}, []string{"^x"}},
	}
	if err := s.Validate(base()); err != nil {
		t.Fatalf("a valid value: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(tt.value)
			var v *schema.Violation
			if !errors.As(err, &v) {
				t.Fatalf("Validate = %v, want a *schema.Violation", err)
			}
			if v.Keyword != tt.keyword || !slices.Equal(v.Location, tt.loc) || !slices.Equal(v.Want, tt.want) {
				t.Errorf("violation %q at %q wanting %q, want %q at %q wanting %q", v.Keyword, v.Location, v.Want, tt.keyword, tt.loc, tt.want)
			}
			if v.Message == "" || v.Error() == "" {
				t.Errorf("no message: %+v", v)
			}
		})
	}
}

// TestCompileRefuses: a document that is not JSON, or not a schema, is
// an error naming it.
func TestCompileRefuses(t *testing.T) {
	for _, doc := range []string{`{type: object}`, `{"type": 5}`, `{"pattern": "("}`} {
		if _, err := (Compiler{}).Compile("bad/doc", []byte(doc)); err == nil {
			t.Errorf("Compile(%s) succeeded", doc)
		}
	}
}
