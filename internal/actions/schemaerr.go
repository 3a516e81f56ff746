package actions

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/automators/connectors/internal/schema"
)

// schemaErr turns the validator's failure into one EInvalid error naming
// the field, said in the words a workflow author reads ("must be a
// string, got number").
func (s *spec) schemaErr(v *schema.Violation, in map[string]any) error {
	loc := v.Location
	switch v.Keyword {
	case "required":
		if len(loc) == 0 {
			return s.paramErr(v.Want[0], "is required")
		}
		return s.paramErr(fieldName(loc)+"."+v.Want[0], "is required")
	case "additionalProperties":
		if len(loc) == 0 {
			return s.paramErr(v.Want[0], "is not a parameter of this action")
		}
		return s.paramErr(fieldName(loc)+"."+v.Want[0], "is not allowed")
	case "anyOf":
		// Only an anyOf of required sets comes here: "one of these".
		if len(v.Want) > 0 {
			return s.paramErr(v.Want[0], "is required when %s is not given", strings.Join(v.Want[1:], " or "))
		}
	}
	if len(loc) == 0 {
		// The parameters together break a rule of the action's constraints.
		switch names := s.constraintNames(v.Keyword); {
		case v.Keyword == "oneOf" && len(names) > 1:
			return s.paramErr(names[0], "cannot be given with %s: give exactly one", strings.Join(names[1:], " or "))
		case v.Keyword == "not" && len(names) > 0:
			return s.paramErr(names[0], "is not allowed with the other parameters given")
		case v.Keyword == "minProperties":
			return s.paramErr("", "give at least %s parameters", v.Want[0])
		}
		return s.paramErr("", "%s", v.Message)
	}
	return s.paramErr(fieldName(loc), "%s", s.problem(v, valueAt(in, loc)))
}

// problem words one failure of the value x.
func (s *spec) problem(v *schema.Violation, x any) string {
	var p Param
	if len(v.Location) == 1 {
		if i := slices.IndexFunc(s.params, func(q Param) bool { return q.Name == v.Location[0] }); i >= 0 {
			p = s.params[i]
		}
	}
	switch v.Keyword {
	case "type":
		types := slices.Clone(v.Want)
		slices.SortFunc(types, func(a, b string) int { return slices.Index(typeOrder, a) - slices.Index(typeOrder, b) })
		want := make([]string, len(types))
		for i, w := range types {
			want[i] = jsonTypeWords[w]
		}
		if p.Kind != "" && p.Kind != String {
			want = []string{article(p.Kind)}
		}
		return fmt.Sprintf("must be %s, got %s", strings.Join(want, " or "), typeName(x))
	case "pattern":
		str, _ := x.(string)
		switch {
		case strings.TrimSpace(str) == "":
			return "must not be blank"
		case strings.Contains(v.Want[0], `[^\r\n]`) && strings.ContainsAny(str, "\r\n"):
			return "must be a single line"
		}
		return "must match " + v.Want[0]
	case "enum":
		return fmt.Sprintf("must be one of %s, got %q", strings.Join(v.Want, ", "), fmt.Sprint(x))
	case "minimum", "maximum":
		if p.Kind == Int && p.Max > 0 {
			return fmt.Sprintf("must be between %d and %d, got %v", p.Min, p.Max, x)
		}
	case "maxLength":
		return fmt.Sprintf("must be at most %s characters", v.Want[0])
	case "minLength":
		return "must not be blank"
	case "minItems", "minProperties":
		return "must not be empty"
	case "not":
		return fmt.Sprintf("must be an identifier, got %q", fmt.Sprint(x))
	case "format":
		return fmt.Sprintf("must be a valid %s", v.Want[0])
	case "const":
		return fmt.Sprintf("must be %s, got %q", v.Want[0], fmt.Sprint(x))
	case "maxItems":
		return fmt.Sprintf("must have at most %s items", v.Want[0])
	case "maxProperties":
		return fmt.Sprintf("must have at most %s entries", v.Want[0])
	case "propertyNames":
		return fmt.Sprintf("has a key %q that is not allowed", v.Want[0])
	case "contains":
		return "has no item of the kind it needs"
	case "false":
		return "is not allowed"
	}
	if v.Keyword == "minimum" {
		return fmt.Sprintf("must be at least %s, got %v", v.Want[0], x)
	}
	if v.Keyword == "maximum" {
		return fmt.Sprintf("must be at most %s, got %v", v.Want[0], x)
	}
	return v.Message
}

// typeOrder is the order a message lists JSON types in.
var typeOrder = []string{"null", "boolean", "number", "integer", "string", "array", "object"}

// constraintNames are the properties the action's constraints name under
// keyword, in order: each branch's required property for "oneOf", the
// forbidden one for "not". The words of a rule the parameters break
// together come from the action's own schema, not from a validator.
func (s *spec) constraintNames(keyword string) []string {
	var c any
	if s.constraints == "" || json.Unmarshal([]byte(s.constraints), &c) != nil {
		return nil
	}
	var names []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if k != keyword {
					walk(x[k])
					continue
				}
				branches, _ := x[k].([]any)
				if keyword == "not" {
					branches = []any{x[k]}
				}
				for _, b := range branches {
					if bm, ok := b.(map[string]any); ok {
						if req, ok := bm["required"].([]any); ok && len(req) > 0 {
							names = append(names, fmt.Sprint(req[0]))
						}
					}
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(c)
	return names
}

// jsonTypeWords say a JSON Schema type as a message does.
var jsonTypeWords = map[string]string{
	"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
	"object": "an object", "array": "an array", "null": "null",
}

// fieldName writes an instance location as the parameter's name with
// indexes and keys: values[0][1], metadata.plan.
func fieldName(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(loc[0])
	for _, part := range loc[1:] {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
		} else {
			b.WriteString("." + part)
		}
	}
	return b.String()
}

// valueAt is the value at loc in the validated instance.
func valueAt(v any, loc []string) any {
	for _, part := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
