// Package schema validates values against JSON Schema documents: the
// port (Compiler, Schema, Violation) the actions hold their parameters to,
// and its implementation for the functions, Subset.
//
// Subset validates the keywords the actions' schema generator writes, and
// refuses a document with any other. It exists for cold start: the library
// that fits (santhosh-tekuri/jsonschema, internal/adapter/jsonschema)
// compiles every draft's metaschema in its package init, about 8 ms, which
// is as much again as the executor's whole SDK-init floor. The library
// stays as the tests' oracle: internal/actions' TestSubsetAgreesWithTheLibrary
// holds Subset's judgements and reported failures to it on every action's
// schema, and no function links it (archtest).
package schema

import "strings"

// A Compiler compiles JSON Schema documents; draft 2020-12 unless a
// document's $schema says otherwise, with "format" asserted.
type Compiler interface {
	// Compile compiles doc, which errors call name.
	Compile(name string, doc []byte) (Schema, error)
}

// A Schema is a compiled JSON Schema.
type Schema interface {
	// Validate returns nil when v (a value as encoding/json decodes into
	// an any) meets the schema, a *Violation when it does not, or another
	// error when it cannot be judged.
	Validate(v any) error
}

// A Violation is the failure of a value to meet a schema that is worth
// reporting, of the many a validator may find: the deepest in the value,
// and of two as deep one that says more than a type mismatch.
type Violation struct {
	// Location is the failing value's place in the instance: property
	// names and array indexes (as decimal strings); empty for the root.
	Location []string
	// Keyword is the schema keyword that failed: "type", "required",
	// "additionalProperties", "pattern", "enum", "minimum", "maximum",
	// "minLength", "maxLength", "minItems", "minProperties", "not",
	// "format", or "anyOf" (only for an anyOf whose every branch misses a
	// property: "one of these is required").
	Keyword string
	// Want is what the keyword wanted: the types, the enum's values, the
	// pattern, the format, the length limit, the missing properties, the
	// properties not allowed; for "anyOf", the properties its branches
	// require, one of which is missing.
	Want []string
	// Message is the validator's own words for the failure.
	Message string
}

func (v *Violation) Error() string {
	if len(v.Location) == 0 {
		return "schema: " + v.Message
	}
	return "schema: /" + strings.Join(v.Location, "/") + ": " + v.Message
}
