package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Subset compiles JSON Schema 2020-12 documents that use only the
// keywords the actions' schema generator writes (subsetKeywords), with
// "format" asserted for email. It is the executor's validator: a library
// that compiles every draft's metaschema at package init costs its cold
// start about 8 ms (internal/tstest/coldstart). A document with any other
// keyword is refused when compiled, so nothing is silently not checked;
// internal/actions' TestSubsetAgreesWithTheLibrary holds its judgements
// and its reported failures to santhosh-tekuri/jsonschema's
// (internal/adapter/jsonschema) on every action's schema. The zero value
// is ready.
type Subset struct{}

var _ Compiler = Subset{}

// subsetKeywords are the keywords Subset validates, and the annotations it
// ignores.
var subsetKeywords = map[string]bool{
	"type": true, "const": true, "enum": true, "format": true,
	"properties": true, "required": true, "additionalProperties": true, "propertyNames": true,
	"minProperties": true, "maxProperties": true, "dependentSchemas": true,
	"items": true, "contains": true, "minItems": true, "maxItems": true,
	"pattern": true, "minLength": true, "maxLength": true, "minimum": true, "maximum": true,
	"allOf": true, "anyOf": true, "oneOf": true, "not": true, "if": true, "then": true, "else": true,
	// annotations
	"$schema": true, "description": true, "title": true, "examples": true, "default": true,
}

// node is one compiled schema.
type node struct {
	always      *bool // a boolean schema
	types       []string
	constV      *any
	enum        []any
	email       bool
	props       map[string]*node
	required    []string
	additional  *node
	propNames   *node
	minProps    int
	maxProps    int // -1: none
	dependent   map[string]*node
	items       *node
	contains    *node
	minItems    int
	maxItems    int // -1: none
	pattern     *regexp.Regexp
	minLen      int
	maxLen      int // -1: none
	minimum     *float64
	maximum     *float64
	allOf       []*node
	anyOf       []*node
	oneOf       []*node
	not         *node
	cond, then_ *node
	else_       *node
}

// Compile implements Compiler.
func (Subset) Compile(name string, doc []byte) (Schema, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	if m, ok := v.(map[string]any); ok {
		if s, ok := m["$schema"]; ok && s != "https://json-schema.org/draft/2020-12/schema" {
			return nil, fmt.Errorf("schema %s: dialect %v is not 2020-12", name, s)
		}
	}
	n, err := compileNode(v, "#")
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return n, nil
}

func compileNode(v any, at string) (*node, error) {
	if b, ok := v.(bool); ok {
		return &node{always: &b}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a schema is an object or a boolean, not %T", at, v)
	}
	n := &node{maxProps: -1, maxItems: -1, maxLen: -1}
	var err error
	sub := func(k string) (*node, error) { return compileNode(m[k], at+"/"+k) }
	list := func(k string) ([]*node, error) {
		l, ok := m[k].([]any)
		if !ok || len(l) == 0 {
			return nil, fmt.Errorf("%s/%s: not a non-empty array", at, k)
		}
		out := make([]*node, len(l))
		for i, e := range l {
			if out[i], err = compileNode(e, fmt.Sprintf("%s/%s/%d", at, k, i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	count := func(k string) (int, error) {
		x, ok := m[k].(json.Number)
		i, err := strconv.Atoi(string(x))
		if !ok || err != nil || i < 0 {
			return 0, fmt.Errorf("%s/%s: not a non-negative integer", at, k)
		}
		return i, nil
	}
	number := func(k string) (*float64, error) {
		x, ok := m[k].(json.Number)
		f, err := x.Float64()
		if !ok || err != nil {
			return nil, fmt.Errorf("%s/%s: not a number", at, k)
		}
		return &f, nil
	}
	for k, e := range m {
		if !subsetKeywords[k] {
			return nil, fmt.Errorf("%s: keyword %q is not one Subset validates", at, k)
		}
		switch k {
		case "type":
			switch t := e.(type) {
			case string:
				n.types = []string{t}
			case []any:
				for _, x := range t {
					s, ok := x.(string)
					if !ok {
						return nil, fmt.Errorf("%s/type: not a type name", at)
					}
					n.types = append(n.types, s)
				}
			default:
				return nil, fmt.Errorf("%s/type: not a type name", at)
			}
			for _, t := range n.types {
				if !slices.Contains([]string{"null", "boolean", "object", "array", "number", "integer", "string"}, t) {
					return nil, fmt.Errorf("%s/type: unknown type %q", at, t)
				}
			}
		case "const":
			c := e
			n.constV = &c
		case "enum":
			l, ok := e.([]any)
			if !ok {
				return nil, fmt.Errorf("%s/enum: not an array", at)
			}
			n.enum = l
		case "format":
			// Only email is asserted: the generator writes no other.
			if e != "email" {
				return nil, fmt.Errorf("%s/format: %v is not one Subset asserts", at, e)
			}
			n.email = true
		case "properties", "dependentSchemas":
			pm, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s/%s: not an object", at, k)
			}
			out := make(map[string]*node, len(pm))
			for p, ps := range pm {
				if out[p], err = compileNode(ps, at+"/"+k+"/"+p); err != nil {
					return nil, err
				}
			}
			if k == "properties" {
				n.props = out
			} else {
				n.dependent = out
			}
		case "required":
			l, ok := e.([]any)
			if !ok {
				return nil, fmt.Errorf("%s/required: not an array", at)
			}
			for _, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("%s/required: not a property name", at)
				}
				n.required = append(n.required, s)
			}
		case "additionalProperties":
			n.additional, err = sub(k)
		case "propertyNames":
			n.propNames, err = sub(k)
		case "items":
			n.items, err = sub(k)
		case "contains":
			n.contains, err = sub(k)
		case "not":
			n.not, err = sub(k)
		case "if":
			n.cond, err = sub(k)
		case "then":
			n.then_, err = sub(k)
		case "else":
			n.else_, err = sub(k)
		case "allOf":
			n.allOf, err = list(k)
		case "anyOf":
			n.anyOf, err = list(k)
		case "oneOf":
			n.oneOf, err = list(k)
		case "minProperties":
			n.minProps, err = count(k)
		case "maxProperties":
			n.maxProps, err = count(k)
		case "minItems":
			n.minItems, err = count(k)
		case "maxItems":
			n.maxItems, err = count(k)
		case "minLength":
			n.minLen, err = count(k)
		case "maxLength":
			n.maxLen, err = count(k)
		case "minimum":
			n.minimum, err = number(k)
		case "maximum":
			n.maximum, err = number(k)
		case "pattern":
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s/pattern: not a string", at)
			}
			if n.pattern, err = regexp.Compile(s); err != nil {
				return nil, fmt.Errorf("%s/pattern: %w", at, err)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// failure is one failure of a value, as a tree: a keyword's own failure
// is a leaf; a group, or an applicator (allOf, anyOf, oneOf), holds the
// failures under it.
type failure struct {
	loc     []string
	keyword string
	want    []string
	msg     string
	causes  []*failure
}

// Validate implements Schema.
func (n *node) Validate(v any) error {
	f := n.validate(v, nil)
	if f == nil {
		return nil
	}
	leaf := mostSpecific(f)
	out := &Violation{Location: leaf.loc, Keyword: leaf.keyword, Want: leaf.want, Message: leaf.msg}
	if leaf.keyword == "anyOf" {
		out.Want = nil
		for _, c := range leaf.causes {
			out.Want = append(out.Want, c.want...)
		}
	}
	return out
}

func (n *node) validate(v any, loc []string) *failure {
	if n.always != nil {
		if *n.always {
			return nil
		}
		return &failure{loc: loc, keyword: "false", msg: "false schema"}
	}
	leaf := func(kw, msg string, want ...string) *failure {
		return &failure{loc: loc, keyword: kw, want: want, msg: msg}
	}
	if n.types != nil && !slices.ContainsFunc(n.types, func(t string) bool { return hasType(v, t) }) {
		return leaf("type", fmt.Sprintf("got %s, want %s", typeOf(v), strings.Join(n.types, " or ")), n.types...)
	}
	if n.constV != nil && !equal(v, *n.constV) {
		return leaf("const", fmt.Sprintf("value must be %s", display(*n.constV)), fmt.Sprint(*n.constV))
	}
	if n.enum != nil && !slices.ContainsFunc(n.enum, func(e any) bool { return equal(v, e) }) {
		want := make([]string, len(n.enum))
		for i, e := range n.enum {
			want[i] = fmt.Sprint(e)
		}
		return leaf("enum", "value must be one of "+strings.Join(quoted(n.enum), ", "), want...)
	}
	if s, ok := v.(string); ok && n.email {
		if err := checkEmail(s); err != nil {
			return leaf("format", fmt.Sprintf("%q is not valid email: %v", s, err), "email")
		}
	}
	var fs []*failure
	add := func(f *failure) {
		if f != nil {
			fs = append(fs, f)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) < n.minProps {
			add(leaf("minProperties", fmt.Sprintf("minProperties: got %d, want %d", len(x), n.minProps), strconv.Itoa(n.minProps)))
		}
		if n.maxProps >= 0 && len(x) > n.maxProps {
			add(leaf("maxProperties", fmt.Sprintf("maxProperties: got %d, want %d", len(x), n.maxProps), strconv.Itoa(n.maxProps)))
		}
		var missing []string
		for _, r := range n.required {
			if _, ok := x[r]; !ok {
				missing = append(missing, r)
			}
		}
		if missing != nil {
			add(leaf("required", "missing properties "+strings.Join(quotedStrings(missing), ", "), missing...))
		}
		var extra []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if ps, ok := n.props[k]; ok {
				add(ps.validate(x[k], append(slices.Clip(loc), k)))
			} else if n.additional != nil {
				if n.additional.always != nil && !*n.additional.always {
					extra = append(extra, k)
				} else {
					add(n.additional.validate(x[k], append(slices.Clip(loc), k)))
				}
			}
		}
		if extra != nil {
			add(leaf("additionalProperties", "additional properties "+strings.Join(quotedStrings(extra), ", ")+" not allowed", extra...))
		}
		if n.propNames != nil {
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if n.propNames.validate(k, nil) != nil {
					add(leaf("propertyNames", fmt.Sprintf("invalid propertyName %q", k), k))
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(n.dependent)) {
			if _, ok := x[k]; ok {
				add(n.dependent[k].validate(v, loc))
			}
		}
	case []any:
		if len(x) < n.minItems {
			add(leaf("minItems", fmt.Sprintf("minItems: got %d, want %d", len(x), n.minItems), strconv.Itoa(n.minItems)))
		}
		if n.maxItems >= 0 && len(x) > n.maxItems {
			add(leaf("maxItems", fmt.Sprintf("maxItems: got %d, want %d", len(x), n.maxItems), strconv.Itoa(n.maxItems)))
		}
		if n.items != nil {
			for i, e := range x {
				add(n.items.validate(e, append(slices.Clip(loc), strconv.Itoa(i))))
			}
		}
		if n.contains != nil && !slices.ContainsFunc(x, func(e any) bool { return n.contains.validate(e, nil) == nil }) {
			add(leaf("contains", "no items match contains schema"))
		}
	case string:
		l := utf8.RuneCountInString(x)
		if l < n.minLen {
			add(leaf("minLength", fmt.Sprintf("minLength: got %d, want %d", l, n.minLen), strconv.Itoa(n.minLen)))
		}
		if n.maxLen >= 0 && l > n.maxLen {
			add(leaf("maxLength", fmt.Sprintf("maxLength: got %d, want %d", l, n.maxLen), strconv.Itoa(n.maxLen)))
		}
		if n.pattern != nil && !n.pattern.MatchString(x) {
			add(leaf("pattern", fmt.Sprintf("%q does not match pattern %q", x, n.pattern.String()), n.pattern.String()))
		}
	default:
		if f, ok := toFloat(v); ok {
			if n.minimum != nil && f < *n.minimum {
				add(leaf("minimum", fmt.Sprintf("minimum: got %v, want %v", f, *n.minimum), strconv.FormatFloat(*n.minimum, 'f', -1, 64)))
			}
			if n.maximum != nil && f > *n.maximum {
				add(leaf("maximum", fmt.Sprintf("maximum: got %v, want %v", f, *n.maximum), strconv.FormatFloat(*n.maximum, 'f', -1, 64)))
			}
		}
	}
	if n.not != nil && n.not.validate(v, loc) == nil {
		add(leaf("not", "not failed"))
	}
	if len(n.allOf) > 0 {
		if cs := failures(n.allOf, v, loc); cs != nil {
			add(&failure{loc: loc, keyword: "allOf", msg: "allOf failed", causes: cs})
		}
	}
	if len(n.anyOf) > 0 {
		var cs []*failure
		for _, s := range n.anyOf {
			f := s.validate(v, loc)
			if f == nil {
				cs = nil
				break
			}
			cs = append(cs, f)
		}
		if cs != nil {
			add(&failure{loc: loc, keyword: "anyOf", msg: "anyOf failed", causes: cs})
		}
	}
	if len(n.oneOf) > 0 {
		matched := -1
		var cs []*failure
		for i, s := range n.oneOf {
			f := s.validate(v, loc)
			if f != nil {
				cs = append(cs, f)
				continue
			}
			if matched >= 0 {
				add(leaf("oneOf", fmt.Sprintf("valid against subschemas at indexes %d and %d", matched, i)))
				break
			}
			matched = i
		}
		if matched < 0 {
			add(&failure{loc: loc, keyword: "oneOf", msg: "oneOf failed, none matched", causes: cs})
		}
	}
	if n.cond != nil {
		if n.cond.validate(v, loc) == nil {
			if n.then_ != nil {
				add(n.then_.validate(v, loc))
			}
		} else if n.else_ != nil {
			add(n.else_.validate(v, loc))
		}
	}
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return &failure{loc: loc, keyword: "group", causes: fs}
}

func failures(ns []*node, v any, loc []string) []*failure {
	var out []*failure
	for _, s := range ns {
		if f := s.validate(v, loc); f != nil {
			out = append(out, f)
		}
	}
	return out
}

// mostSpecific picks the failure to report, as the library adapter does:
// the deepest in the value, and of two as deep, one that says more than a
// type mismatch; an anyOf whose branches all miss properties is kept
// whole.
func mostSpecific(f *failure) *failure {
	if f.keyword == "anyOf" && len(f.causes) > 0 && !slices.ContainsFunc(f.causes, func(c *failure) bool { return c.keyword != "required" }) {
		return f
	}
	if len(f.causes) == 0 {
		return f
	}
	var best *failure
	for _, c := range f.causes {
		l := mostSpecific(c)
		if best == nil || better(l, best) {
			best = l
		}
	}
	return best
}

func better(a, b *failure) bool {
	if len(a.loc) != len(b.loc) {
		return len(a.loc) > len(b.loc)
	}
	if aType, bType := a.keyword == "type", b.keyword == "type"; aType != bType {
		return bType
	}
	return strings.Join(a.loc, "/") < strings.Join(b.loc, "/")
}

// hasType reports whether v is of JSON Schema type t: an integer is a
// number too, and a number with no fraction an integer.
func hasType(v any, t string) bool {
	switch t {
	case "number":
		_, ok := toFloat(v)
		return ok
	case "integer":
		return isInteger(v)
	}
	return typeOf(v) == t
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if _, ok := toFloat(v); ok {
		if isInteger(v) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func isInteger(v any) bool {
	f, ok := toFloat(v)
	return ok && !math.IsInf(f, 0) && math.Trunc(f) == f
}

// equal is JSON equality: numbers by value.
func equal(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, equal)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !equal(e, f) {
				return false
			}
		}
		return true
	}
	return a == b
}

func display(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func quoted(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = display(v)
	}
	return out
}

func quotedStrings(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// checkEmail is the "email" format (RFC 5321's Mailbox, as JSON Schema
// reads it): at most 254 characters, a local part of at most 64 made of
// atext and single dots (or quoted), an at-sign, and a host name or an
// address literal.
func checkEmail(s string) error {
	if len(s) > 254 {
		return fmt.Errorf("more than 254 characters long")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return fmt.Errorf("missing @")
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case len(local) > 64:
		return fmt.Errorf("local part more than 64 characters long")
	case len(local) > 1 && strings.HasPrefix(local, `"`) && strings.HasSuffix(local, `"`):
		if strings.ContainsAny(local[1:len(local)-1], `\"`) {
			return fmt.Errorf("backslash and quote are not allowed within quoted local part")
		}
	case strings.HasPrefix(local, "."), strings.HasSuffix(local, "."), strings.Contains(local, ".."):
		return fmt.Errorf("misplaced dot in the local part")
	default:
		for _, ch := range local {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", ch)) {
				return fmt.Errorf("invalid character %q", ch)
			}
		}
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		ip := domain[1 : len(domain)-1]
		if rest, ok := strings.CutPrefix(ip, "IPv6:"); ok {
			if a, err := netip.ParseAddr(rest); err != nil || !a.Is6() {
				return fmt.Errorf("invalid IPv6 address")
			}
			return nil
		}
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
			return fmt.Errorf("invalid IPv4 address")
		}
		return nil
	}
	return checkHostname(domain)
}

func checkHostname(s string) error {
	s = strings.TrimSuffix(s, ".")
	if len(s) > 253 {
		return fmt.Errorf("more than 253 characters long")
	}
	for _, label := range strings.Split(s, ".") {
		switch {
		case len(label) < 1 || len(label) > 63:
			return fmt.Errorf("label must be 1 to 63 characters long")
		case strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-"):
			return fmt.Errorf("label starts or ends with a hyphen")
		}
		for _, ch := range label {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Errorf("invalid character %q", ch)
			}
		}
	}
	return nil
}
