package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/schema"
)

// Kind is the type of a parameter's value.
type Kind string

// Parameter kinds. Values arrive decoded from JSON, so an Int may be a
// float64 with an integral value or a json.Number.
const (
	String  Kind = "string"
	Int     Kind = "integer"
	Bool    Kind = "boolean"
	Strings Kind = "array of strings" // also accepts one string
	Object  Kind = "object"
	Objects Kind = "array of objects"
	Rows    Kind = "array of arrays" // a grid of cells, e.g. spreadsheet rows
)

// Param describes one parameter of an action.
type Param struct {
	Name     string
	Kind     Kind
	Required bool
	Enum     []string // allowed values of a String
	Min, Max int64    // bounds of an Int when Max > 0; maximum length of a String when Max > 0
	// SingleLine refuses CR and LF, for values that end up in headers.
	SingleLine bool
	// Segment marks a value placed in a URL path: "." and ".." are refused
	// so that it cannot climb out of its resource.
	Segment bool
	Pattern string // a regular expression (RE2) a String must match
	// Description is shown in the front end's form.
	Description string
	// Format is a JSON Schema format a String must have ("email", "date").
	Format string
	// Schema, when set, is a JSON Schema fragment merged into the
	// parameter's generated schema: the shape of an object's properties
	// ({"additionalProperties":{"type":"string"}}) or of an array's items.
	Schema string
}

// ParamError says which parameter is wrong and how. It is the cause of the
// EInvalid errors of Validate and Run.
type ParamError struct {
	Action  string // connector.action
	Field   string // parameter name, with an index or key for nested values
	Problem string
}

// Error implements error.
func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: parameter %q %s", e.Action, e.Field, e.Problem)
}

func (s *spec) paramErr(field, format string, args ...any) error {
	pe := &ParamError{Action: s.key, Field: field, Problem: fmt.Sprintf(format, args...)}
	return connectors.Wrap(pe, connectors.EInvalid, pe.Error())
}

// args are validated parameters in canonical types: string, int64, bool,
// []string, map[string]any, []map[string]any, [][]any.
type args map[string]any

func (a args) str(k string) string { s, _ := a[k].(string); return s }
func (a args) has(k string) bool   { _, ok := a[k]; return ok }
func (a args) int(k string) int64  { n, _ := a[k].(int64); return n }
func (a args) boolean(k string) (v, ok bool) {
	v, ok = a[k].(bool)
	return v, ok
}
func (a args) strs(k string) []string         { s, _ := a[k].([]string); return s }
func (a args) obj(k string) map[string]any    { m, _ := a[k].(map[string]any); return m }
func (a args) objs(k string) []map[string]any { m, _ := a[k].([]map[string]any); return m }
func (a args) rows(k string) [][]any          { r, _ := a[k].([][]any); return r }

// Params implements Action.
func (s *spec) Params() []Param { return slices.Clone(s.params) }

// Validate implements Action.
func (s *spec) Validate(params map[string]any) error {
	_, err := s.validate(params)
	return err
}

// validate holds params to the action's input schema, the one the
// catalogue API gives the front end, and returns them in canonical types.
// A parameter that is null or "" is absent: a form's empty field.
func (s *spec) validate(params map[string]any) (args, error) {
	in := make(map[string]any, len(params))
	for k, v := range params {
		if v != nil && v != "" {
			in[k] = jsonValue(v)
		}
	}
	c, err := s.schemas.compiled()
	if err != nil {
		return nil, connectors.Wrap(err, connectors.EInternal, s.key+": input schema")
	}
	if err := c.input.Validate(in); err != nil {
		var ve *schema.Violation
		if !errors.As(err, &ve) {
			return nil, connectors.Wrap(err, connectors.EInvalid, s.key+": parameters cannot be validated")
		}
		return nil, s.schemaErr(ve, in)
	}
	out := make(args, len(in))
	for _, p := range s.params {
		if raw, ok := in[p.Name]; ok {
			out[p.Name] = canonical(p.Kind, raw)
		}
	}
	if s.rule != nil {
		if err := s.rule(s, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, float32, int, int64, int32, json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// canonical converts a value the schema accepted to the type args holds
// for its kind.
func canonical(k Kind, raw any) any {
	switch k {
	case Int:
		n, _ := toInt(raw)
		return n
	case Strings:
		if v, ok := raw.(string); ok {
			return []string{v}
		}
		list := raw.([]any)
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.(string)
		}
		return out
	case Objects:
		list := raw.([]any)
		out := make([]map[string]any, len(list))
		for i, e := range list {
			out[i] = e.(map[string]any)
		}
		return out
	case Rows:
		list := raw.([]any)
		out := make([][]any, len(list))
		for i, e := range list {
			out[i] = e.([]any)
		}
		return out
	}
	return raw
}

// jsonValue returns v as the values JSON decoding produces ([]any,
// map[string]any, json.Number...), which is what the schema validator
// reads; callers in Go may pass []string or []map[string]any.
func jsonValue(v any) any {
	switch x := v.(type) {
	case string, bool, json.Number, float64, float32, int, int32, int64, nil:
		return v
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case [][]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	// Anything else goes through JSON, as it would reach us over the wire.
	b, err := json.Marshal(v)
	if err != nil {
		return v // the validator refuses it as not JSON
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}

func article(k Kind) string {
	switch k {
	case Int, Object, Objects, Rows, Strings:
		return "an " + string(k)
	}
	return "a " + string(k)
}

// toInt accepts the integral numbers JSON decoding produces.
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}
