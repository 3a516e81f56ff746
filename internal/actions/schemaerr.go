package actions

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// schemaErr turns the schema validator's error tree into one EInvalid
// error naming the field: the most specific failure, said in the words a
// workflow author reads ("must be a string, got number").
func (s *spec) schemaErr(ve *jsonschema.ValidationError, in map[string]any) error {
	leaf := mostSpecific(ve)
	loc := leaf.InstanceLocation
	switch k := leaf.ErrorKind.(type) {
	case *kind.Required:
		if len(loc) == 0 {
			return s.paramErr(k.Missing[0], "is required")
		}
		return s.paramErr(fieldName(loc)+"."+k.Missing[0], "is required")
	case *kind.AdditionalProperties:
		if len(loc) == 0 {
			return s.paramErr(k.Properties[0], "is not a parameter of this action")
		}
		return s.paramErr(fieldName(loc)+"."+k.Properties[0], "is not allowed")
	case *kind.AnyOf:
		// Only an anyOf of required sets is left here: "one of these".
		var names []string
		for _, c := range leaf.Causes {
			if r, ok := c.ErrorKind.(*kind.Required); ok {
				names = append(names, r.Missing...)
			}
		}
		if len(names) > 0 {
			return s.paramErr(names[0], "is required when %s is not given", strings.Join(names[1:], " or "))
		}
	}
	field := fieldName(loc)
	if len(loc) == 0 {
		return s.paramErr("", "%s", leaf.ErrorKind.LocalizedString(printer))
	}
	return s.paramErr(field, "%s", s.problem(leaf, loc, valueAt(in, loc)))
}

// problem words one failure of the value v at loc.
func (s *spec) problem(leaf *jsonschema.ValidationError, loc []string, v any) string {
	var p Param
	if len(loc) == 1 {
		if i := slices.IndexFunc(s.params, func(q Param) bool { return q.Name == loc[0] }); i >= 0 {
			p = s.params[i]
		}
	}
	switch k := leaf.ErrorKind.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = jsonTypeWords[w]
		}
		if p.Kind != "" && p.Kind != String {
			want = []string{article(p.Kind)}
		}
		return fmt.Sprintf("must be %s, got %s", strings.Join(want, " or "), typeName(v))
	case *kind.Pattern:
		str, _ := v.(string)
		switch {
		case strings.TrimSpace(str) == "":
			return "must not be blank"
		case strings.Contains(k.Want, `[^\r\n]`) && strings.ContainsAny(str, "\r\n"):
			return "must be a single line"
		}
		return "must match " + k.Want
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return fmt.Sprintf("must be one of %s, got %q", strings.Join(want, ", "), fmt.Sprint(v))
	case *kind.Minimum, *kind.Maximum:
		if p.Kind == Int && p.Max > 0 {
			return fmt.Sprintf("must be between %d and %d, got %v", p.Min, p.Max, v)
		}
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters", k.Want)
	case *kind.MinLength:
		return "must not be blank"
	case *kind.MinItems, *kind.MinProperties:
		return "must not be empty"
	case *kind.Not:
		return fmt.Sprintf("must be an identifier, got %q", fmt.Sprint(v))
	case *kind.Format:
		return fmt.Sprintf("must be a valid %s", k.Want)
	}
	return leaf.ErrorKind.LocalizedString(printer)
}

// jsonTypeWords say a JSON Schema type as a message does.
var jsonTypeWords = map[string]string{
	"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
	"object": "an object", "array": "an array", "null": "null",
}

// mostSpecific picks, from the validator's tree, the failure to report:
// the deepest in the instance, and of two as deep, one that says more
// than a type mismatch (a string given to a string-or-list parameter
// fails the list branch's type and the string branch's real rule). An
// anyOf whose branches all fail on missing fields is kept whole.
func mostSpecific(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	if _, ok := ve.ErrorKind.(*kind.AnyOf); ok && len(ve.Causes) > 0 && allRequired(ve.Causes) {
		return ve
	}
	if len(ve.Causes) == 0 {
		return ve
	}
	var best *jsonschema.ValidationError
	for _, c := range ve.Causes {
		l := mostSpecific(c)
		if best == nil || better(l, best) {
			best = l
		}
	}
	return best
}

func allRequired(cs []*jsonschema.ValidationError) bool {
	for _, c := range cs {
		if _, ok := c.ErrorKind.(*kind.Required); !ok {
			return false
		}
	}
	return true
}

// better reports whether a should be reported rather than b.
func better(a, b *jsonschema.ValidationError) bool {
	if len(a.InstanceLocation) != len(b.InstanceLocation) {
		return len(a.InstanceLocation) > len(b.InstanceLocation)
	}
	_, aType := a.ErrorKind.(*kind.Type)
	_, bType := b.ErrorKind.(*kind.Type)
	if aType != bType {
		return bType
	}
	// Deterministic among equals: the first field in order.
	return strings.Join(a.InstanceLocation, "/") < strings.Join(b.InstanceLocation, "/")
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
