package actions

import (
	"testing"

	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/schema"
)

// BenchmarkValidate measures the JSON Schema validation of each action's
// parameters alone (what BenchmarkRun spends before building a request),
// with the functions' validator and with the library.
func BenchmarkValidate(b *testing.B) {
	for _, c := range []struct {
		name string
		c    schema.Compiler
	}{{"subset", schema.Subset{}}, {"library", jsonschema.Compiler{}}} {
		cat, err := NewCatalogue(registry.Default(), c.c)
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range requestCases() {
			s := cat.byKey[tc.connector+"."+tc.action]
			b.Run(c.name+"/"+tc.connector+"."+tc.action, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.validate(tc.params); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
