package schema_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/schema"
)

// TestSubsetRefuses: a document Subset would not fully check is refused
// when compiled, naming where.
func TestSubsetRefuses(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"type": "object", "patternProperties": {"^x": {}}}`, `keyword "patternProperties"`},
		{`{"properties": {"a": {"$ref": "#/$defs/b"}}}`, `#/properties/a: keyword "$ref"`},
		{`{"format": "date-time"}`, "format"},
		{`{"pattern": "("}`, "#/pattern"},
		{`{"$schema": "http://json-schema.org/draft-07/schema#"}`, "not 2020-12"},
		{`{"type": "strin"}`, `unknown type "strin"`},
		{`{"minLength": -1}`, "#/minLength"},
		{`{"anyOf": []}`, "#/anyOf"},
		{`{"items": 5}`, "#/items"},
		{`{type: object}`, "schema t"},
	}
	for _, tt := range tests {
		_, err := schema.Subset{}.Compile("t", []byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%s) = %v, want an error naming %s", tt.doc, err, tt.want)
		}
	}
}

// TestSubsetEmailAgreesWithTheLibrary holds the "email" format to
// santhosh-tekuri/jsonschema's on addresses at and past each rule.
func TestSubsetEmailAgreesWithTheLibrary(t *testing.T) {
	doc := []byte(`{"type": "string", "format": "email"}`)
	sub, err := schema.Subset{}.Compile("email", doc)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := jsonschema.Compiler{}.Compile("email", doc)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{
		"ada@example.com", "a.b+c@example.co.uk", "@example.com", "ada@", "ada", "ada@@example.com", "a@b@example.com",
		".ada@example.com", "ada.@example.com", "a..da@example.com", `"a b"@example.com`, `"a\"b"@example.com`, `"a\b"@example.com`,
		"ada@-example.com", "ada@example-.com", "ada@exa_mple.com", "ada@example.com.", "ada@[192.168.0.1]", "ada@[IPv6:::1]",
		"ada@[IPv6:1.2.3.4]", "ada@[300.1.1.1]", "ada@[example.com]", "Ada <ada@example.com>", "ada lovelace@example.com",
		"ада@example.com", "ada@exämple.com", "ada!#$%&'*+-/=?^_`{|}~@example.com", "ada@a.b.c.d.e",
		strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 65) + "@example.com",
		"a@" + strings.Repeat("b", 63) + ".com", "a@" + strings.Repeat("b", 64) + ".com",
		"a@" + strings.Repeat(strings.Repeat("b", 60)+".", 4) + "com", "a@" + strings.Repeat("b.", 126) + "c",
	}
	for _, a := range addrs {
		se, le := sub.Validate(a), lib.Validate(a)
		if (se == nil) != (le == nil) {
			t.Errorf("%q: subset %v, library %v", a, se, le)
		}
		var v *schema.Violation
		if se != nil && (!errors.As(se, &v) || v.Keyword != "format" || fmt.Sprint(v.Want) != "[email]") {
			t.Errorf("%q: subset %v, want a format violation", a, se)
		}
	}
}
