package actions

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/automators/connectors/internal/schema"
)

// Dialect is the JSON Schema dialect of every schema the catalogue gives.
const Dialect = "https://json-schema.org/draft/2020-12/schema"

// inputSchema generates the JSON Schema of s's parameters from its Params
// and constraints: the schema the front end renders a node's form from
// and the one Validate enforces.
func (s *spec) inputSchema() (map[string]any, error) {
	props := make(map[string]any, len(s.params))
	var required []string
	for _, p := range s.params {
		ps, err := paramSchema(p)
		if err != nil {
			return nil, fmt.Errorf("actions: %s parameter %s: %w", s.key, p.Name, err)
		}
		props[p.Name] = ps
		if p.Required {
			required = append(required, p.Name)
		}
	}
	out := map[string]any{
		"$schema":              Dialect,
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		out["required"] = required
	}
	if s.constraints != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(s.constraints), &extra); err != nil {
			return nil, fmt.Errorf("actions: %s constraints: %w", s.key, err)
		}
		for k, v := range extra {
			if _, taken := out[k]; taken {
				return nil, fmt.Errorf("actions: %s constraints redefine %q", s.key, k)
			}
			out[k] = v
		}
	}
	return out, nil
}

// paramSchema is one parameter's schema.
func paramSchema(p Param) (map[string]any, error) {
	var out map[string]any
	str := func() map[string]any {
		m := map[string]any{"type": "string"}
		if p.Required {
			m["minLength"] = 1
			// Blank is missing: a form's empty field is not a value.
			m["pattern"] = `\S`
		}
		if p.Max > 0 {
			m["maxLength"] = p.Max
		}
		if len(p.Enum) > 0 {
			m["enum"] = p.Enum
		}
		if p.Format != "" {
			m["format"] = p.Format
		}
		var not []any
		if p.SingleLine {
			m["pattern"] = `^[^\r\n]*$`
			if p.Required {
				m["pattern"] = `^[^\r\n]*\S[^\r\n]*$`
			}
		}
		if p.Segment {
			not = append(not, map[string]any{"enum": []string{".", ".."}})
		}
		if p.Pattern != "" {
			if _, set := m["pattern"]; set {
				m["allOf"] = []any{map[string]any{"pattern": p.Pattern}}
			} else {
				m["pattern"] = p.Pattern
			}
		}
		if len(not) == 1 {
			m["not"] = not[0]
		}
		return m
	}
	switch p.Kind {
	case String:
		out = str()
	case Int:
		out = map[string]any{"type": "integer"}
		if p.Max > 0 {
			out["minimum"], out["maximum"] = p.Min, p.Max
		}
	case Bool:
		out = map[string]any{"type": "boolean"}
	case Strings:
		item := str()
		arr := map[string]any{"type": "array", "items": item}
		if p.Required {
			arr["minItems"] = 1
		}
		// One string is a list of one (a form's single value).
		out = map[string]any{"anyOf": []any{item, arr}}
	case Object:
		out = map[string]any{"type": "object"}
		if p.Required {
			out["minProperties"] = 1
		}
	case Objects:
		out = map[string]any{"type": "array", "items": map[string]any{"type": "object"}}
		if p.Required {
			out["minItems"] = 1
		}
	case Rows:
		cell := map[string]any{"type": []string{"string", "number", "boolean", "null"}}
		out = map[string]any{"type": "array", "items": map[string]any{"type": "array", "items": cell}}
		if p.Required {
			out["minItems"] = 1
		}
	default:
		return nil, fmt.Errorf("unknown kind %q", p.Kind)
	}
	if p.Description != "" {
		out["description"] = p.Description
	}
	if p.Schema != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(p.Schema), &extra); err != nil {
			return nil, fmt.Errorf("schema fragment: %w", err)
		}
		target := out
		if p.Kind == Strings {
			target = out["anyOf"].([]any)[1].(map[string]any)
		}
		for k, v := range extra {
			if k == "items" && target["items"] != nil {
				// Refine the generated item schema rather than replace it.
				if im, ok := v.(map[string]any); ok {
					base := target["items"].(map[string]any)
					for ik, iv := range im {
						base[ik] = iv
					}
					continue
				}
			}
			target[k] = v
		}
	}
	return out, nil
}

// schemas are an action's input and output schemas, made on first use:
// the documents (the catalogue API's) and their compiled forms (Run's).
// Making the 61 actions' documents takes about 4 ms and compiling them
// about 40 ms, which every cold start would pay for the one or two
// actions an invocation uses. TestSchemasCompile makes and compiles them
// all, so a schema that does not compile fails the suite, not a workflow.
type schemas struct {
	docs     func() (*schemaDocs, error)
	compiled func() (*compiled, error)
}

// schemaDocs are an action's input and output schema documents.
type schemaDocs struct{ input, output json.RawMessage }

// compiled are an action's schemas, compiled.
type compiled struct{ input, output schema.Schema }

// newSchemas returns s's schemas, compiled with c (nil: Run refuses every
// action, as internal error).
func newSchemas(s *spec, c schema.Compiler) *schemas {
	docs := sync.OnceValues(func() (*schemaDocs, error) { return makeDocs(s) })
	return &schemas{docs: docs, compiled: sync.OnceValues(func() (*compiled, error) {
		d, err := docs()
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, fmt.Errorf("actions: %s: this catalogue has no schema compiler", s.key)
		}
		in, err := c.Compile(s.key+"/input", d.input)
		if err != nil {
			return nil, fmt.Errorf("actions: %w", err)
		}
		out, err := c.Compile(s.key+"/output", d.output)
		if err != nil {
			return nil, fmt.Errorf("actions: %w", err)
		}
		return &compiled{input: in, output: out}, nil
	})}
}

// makeDocs generates s's input schema document from its Params and
// constraints, and reads its output schema document.
func makeDocs(s *spec) (*schemaDocs, error) {
	in, err := s.inputSchema()
	if err != nil {
		return nil, err
	}
	inDoc, err := marshalJSON(in)
	if err != nil {
		return nil, fmt.Errorf("actions: %s input schema: %w", s.key, err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(s.output), &out); err != nil {
		return nil, fmt.Errorf("actions: %s output schema: %w", s.key, err)
	}
	if _, ok := out["$schema"]; !ok {
		out["$schema"] = Dialect
	}
	outDoc, err := marshalJSON(out)
	if err != nil {
		return nil, fmt.Errorf("actions: %s output schema: %w", s.key, err)
	}
	return &schemaDocs{input: inDoc, output: outDoc}, nil
}

// MissingScopes returns the entries of required that granted does not
// meet, in order; an entry "a|b" is met by either. A connection that
// records no scopes (an API key; a provider that keeps the grant itself)
// is not judged: nil.
func MissingScopes(required, granted []string) []string {
	if len(granted) == 0 {
		return nil
	}
	var missing []string
	for _, r := range required {
		if !slices.ContainsFunc(strings.Split(r, "|"), func(alt string) bool { return slices.Contains(granted, alt) }) {
			missing = append(missing, r)
		}
	}
	return missing
}
