// Package jsonschema is a schema.Compiler on santhosh-tekuri/jsonschema:
// draft 2020-12 by default, formats asserted, and of the validator's tree
// of failures the one worth reporting, as a *schema.Violation.
//
// It is the tests' oracle for schema.Subset, which the functions use: its
// package init compiles every draft's metaschema (about 8 ms of cold
// start), so no function links it (archtest).
package jsonschema

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/automators/connectors/internal/schema"
)

// Compiler compiles JSON Schema documents. The zero value is ready.
type Compiler struct{}

var _ schema.Compiler = Compiler{}

// Compile implements schema.Compiler. Each document is compiled on its
// own: it may not refer to another.
func (Compiler) Compile(name string, doc []byte) (schema.Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := "urn:automators:schema:" + name
	if err := c.AddResource(url, v); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return compiled{sch}, nil
}

type compiled struct{ s *jsonschema.Schema }

// Validate implements schema.Schema.
func (c compiled) Validate(v any) error {
	err := c.s.Validate(v)
	var ve *jsonschema.ValidationError
	if err == nil || !errors.As(err, &ve) {
		return err
	}
	return violation(ve)
}

var printer = message.NewPrinter(language.English)

// violation turns the failure to report (mostSpecific) into the port's
// words.
func violation(ve *jsonschema.ValidationError) *schema.Violation {
	leaf := mostSpecific(ve)
	out := &schema.Violation{Location: leaf.InstanceLocation, Message: leaf.ErrorKind.LocalizedString(printer)}
	switch k := leaf.ErrorKind.(type) {
	case *kind.Required:
		out.Keyword, out.Want = "required", k.Missing
	case *kind.AdditionalProperties:
		out.Keyword, out.Want = "additionalProperties", k.Properties
	case *kind.AnyOf:
		out.Keyword = "anyOf"
		for _, c := range leaf.Causes {
			if r, ok := c.ErrorKind.(*kind.Required); ok {
				out.Want = append(out.Want, r.Missing...)
			}
		}
	case *kind.Type:
		out.Keyword, out.Want = "type", k.Want
	case *kind.Pattern:
		out.Keyword, out.Want = "pattern", []string{k.Want}
	case *kind.Enum:
		out.Keyword = "enum"
		for _, w := range k.Want {
			out.Want = append(out.Want, fmt.Sprint(w))
		}
	case *kind.Minimum:
		f, _ := k.Want.Float64()
		out.Keyword, out.Want = "minimum", []string{strconv.FormatFloat(f, 'f', -1, 64)}
	case *kind.Maximum:
		f, _ := k.Want.Float64()
		out.Keyword, out.Want = "maximum", []string{strconv.FormatFloat(f, 'f', -1, 64)}
	case *kind.Const:
		out.Keyword, out.Want = "const", []string{fmt.Sprint(k.Want)}
	case *kind.MaxItems:
		out.Keyword, out.Want = "maxItems", []string{strconv.Itoa(k.Want)}
	case *kind.MaxProperties:
		out.Keyword, out.Want = "maxProperties", []string{strconv.Itoa(k.Want)}
	case *kind.PropertyNames:
		out.Keyword, out.Want = "propertyNames", []string{k.Property}
	case *kind.Contains:
		out.Keyword = "contains"
	case *kind.FalseSchema:
		out.Keyword = "false"
	case *kind.OneOf:
		out.Keyword = "oneOf"
	case *kind.MaxLength:
		out.Keyword, out.Want = "maxLength", []string{strconv.Itoa(k.Want)}
	case *kind.MinLength:
		out.Keyword, out.Want = "minLength", []string{strconv.Itoa(k.Want)}
	case *kind.MinItems:
		out.Keyword, out.Want = "minItems", []string{strconv.Itoa(k.Want)}
	case *kind.MinProperties:
		out.Keyword, out.Want = "minProperties", []string{strconv.Itoa(k.Want)}
	case *kind.Not:
		out.Keyword = "not"
	case *kind.Format:
		out.Keyword, out.Want = "format", []string{k.Want}
	default:
		if kp := leaf.ErrorKind.KeywordPath(); len(kp) > 0 {
			out.Keyword = kp[0]
		}
	}
	return out
}

// mostSpecific picks, from the validator's tree, the failure to report:
// the deepest in the instance, and of two as deep, one that says more
// than a type mismatch (a string given to a string-or-list parameter
// fails the list branch's type and the string branch's real rule). An
// anyOf whose branches all fail on missing properties is kept whole.
func mostSpecific(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	if _, ok := ve.ErrorKind.(*kind.AnyOf); ok && len(ve.Causes) > 0 && allRequired(ve.Causes) {
		return ve
	}
	switch ve.ErrorKind.(type) {
	case *kind.PropertyNames, *kind.Contains:
		// Their causes are about a key or an item, located as if each
		// were the whole value: the failure is the key's or the array's.
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
	// Deterministic among equals: the first in order.
	return strings.Join(a.InstanceLocation, "/") < strings.Join(b.InstanceLocation, "/")
}
