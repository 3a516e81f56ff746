package actions

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/automators/connectors/internal/connectors"
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
	Pattern *regexp.Regexp // a String must match it
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

func (s *spec) validate(params map[string]any) (args, error) {
	out := make(args, len(s.params))
	for name := range params {
		if !slices.ContainsFunc(s.params, func(p Param) bool { return p.Name == name }) {
			return nil, s.paramErr(name, "is not a parameter of this action")
		}
	}
	for _, p := range s.params {
		raw, present := params[p.Name]
		if !present || raw == nil || raw == "" {
			if p.Required {
				return nil, s.paramErr(p.Name, "is required")
			}
			continue
		}
		v, err := s.convert(p, p.Name, raw)
		if err != nil {
			return nil, err
		}
		out[p.Name] = v
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

func (s *spec) convert(p Param, field string, raw any) (any, error) {
	bad := func() error { return s.paramErr(field, "must be %s, got %s", article(p.Kind), typeName(raw)) }
	switch p.Kind {
	case String:
		v, ok := raw.(string)
		if !ok {
			return nil, bad()
		}
		return v, s.checkString(p, field, v)
	case Int:
		n, ok := toInt(raw)
		if !ok {
			return nil, bad()
		}
		if p.Max > 0 && (n < p.Min || n > p.Max) {
			return nil, s.paramErr(field, "must be between %d and %d, got %d", p.Min, p.Max, n)
		}
		return n, nil
	case Bool:
		v, ok := raw.(bool)
		if !ok {
			return nil, bad()
		}
		return v, nil
	case Strings:
		var list []string
		switch v := raw.(type) {
		case string:
			list = []string{v}
		case []string:
			list = slices.Clone(v)
		case []any:
			for i, e := range v {
				es, ok := e.(string)
				if !ok {
					return nil, s.paramErr(fmt.Sprintf("%s[%d]", field, i), "must be a string, got %s", typeName(e))
				}
				list = append(list, es)
			}
		default:
			return nil, bad()
		}
		for i, e := range list {
			if err := s.checkString(p, fmt.Sprintf("%s[%d]", field, i), e); err != nil {
				return nil, err
			}
		}
		if p.Required && len(list) == 0 {
			return nil, s.paramErr(field, "must not be empty")
		}
		return list, nil
	case Object:
		v, ok := raw.(map[string]any)
		if !ok {
			return nil, bad()
		}
		if p.Required && len(v) == 0 {
			return nil, s.paramErr(field, "must not be empty")
		}
		return v, nil
	case Objects:
		v, ok := raw.([]any)
		if !ok {
			if m, isList := raw.([]map[string]any); isList {
				return m, nil
			}
			return nil, bad()
		}
		out := make([]map[string]any, len(v))
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, s.paramErr(fmt.Sprintf("%s[%d]", field, i), "must be an object, got %s", typeName(e))
			}
			out[i] = m
		}
		if p.Required && len(out) == 0 {
			return nil, s.paramErr(field, "must not be empty")
		}
		return out, nil
	case Rows:
		v, ok := raw.([]any)
		if !ok {
			if r, isRows := raw.([][]any); isRows {
				return r, nil
			}
			return nil, bad()
		}
		out := make([][]any, len(v))
		for i, e := range v {
			row, ok := e.([]any)
			if !ok {
				return nil, s.paramErr(fmt.Sprintf("%s[%d]", field, i), "must be an array, got %s", typeName(e))
			}
			for j, cell := range row {
				switch cell.(type) {
				case string, bool, float64, json.Number, int, int64, nil:
				default:
					return nil, s.paramErr(fmt.Sprintf("%s[%d][%d]", field, i, j), "must be a string, number, boolean or null, got %s", typeName(cell))
				}
			}
			out[i] = row
		}
		if p.Required && len(out) == 0 {
			return nil, s.paramErr(field, "must not be empty")
		}
		return out, nil
	}
	return nil, fmt.Errorf("actions: parameter %s of %s has unknown kind %q", p.Name, s.key, p.Kind)
}

func (s *spec) checkString(p Param, field, v string) error {
	switch {
	case p.Required && strings.TrimSpace(v) == "":
		return s.paramErr(field, "must not be blank")
	case len(p.Enum) > 0 && !slices.Contains(p.Enum, v):
		return s.paramErr(field, "must be one of %s, got %q", strings.Join(p.Enum, ", "), v)
	case p.SingleLine && strings.ContainsAny(v, "\r\n"):
		return s.paramErr(field, "must be a single line")
	case p.Segment && (v == "." || v == ".."):
		return s.paramErr(field, "must be an identifier, got %q", v)
	case p.Pattern != nil && !p.Pattern.MatchString(v):
		return s.paramErr(field, "must match %s", p.Pattern)
	case p.Kind == String && p.Max > 0 && int64(len([]rune(v))) > p.Max:
		return s.paramErr(field, "must be at most %d characters", p.Max)
	}
	return nil
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
