package actions

import (
	"fmt"
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
		want := make([]string, len(v.Want))
		for i, w := range v.Want {
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
	}
	return v.Message
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
