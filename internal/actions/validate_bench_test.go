package actions

import "testing"

// BenchmarkValidate measures the JSON Schema validation of each action's
// parameters alone (what BenchmarkRun spends before building a request).
func BenchmarkValidate(b *testing.B) {
	cat := testCatalogue(b)
	for _, tc := range requestCases() {
		s := cat.byKey[tc.connector+"."+tc.action]
		b.Run(tc.connector+"."+tc.action, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.validate(tc.params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
