package actions

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/schema"
)

// oddValues are values a parameter is set to in TestSubsetAgreesWithTheLibrary:
// every JSON type, the edges the actions' schemas draw (blank, multi-line,
// long, negative, fractional), and strings shaped like the ids, dates and
// addresses their patterns and formats accept.
var oddValues = []any{
	float64(5), 2.5, float64(-1), float64(0), float64(1e6), "", " ", "x", "a\nb", strings.Repeat("a", 5000),
	true, false, []any{}, []any{"x"}, []any{float64(5)}, []any{""}, []any{[]any{"a", float64(1)}},
	[]any{map[string]any{"k": "v"}}, map[string]any{}, map[string]any{"k": "v"}, map[string]any{"k": float64(5)},
	map[string]any{"k": map[string]any{}}, "not-an-email", "a@b.c", "Ada <ada@example.com>", "a@b..c", "a..b@c.d",
	"gid://shopify/Order/1", "12345", "2026-01-01", "2026-01-01T10:00:00Z", "me", "<a@b>", "cus_123", "0123456789abcdef01234567",
	"INBOX", "top", "USD", "usd", "+16135551111", "Account", "001000000000000AAA", "Sheet1!A1:B2", "#general", "C0123", "1712345678.000100",
}

// TestSubsetAgreesWithTheLibrary holds schema.Subset, the executor's
// validator, to santhosh-tekuri/jsonschema on every action's input
// schema: each action's sample parameters, each of them removed, each set
// to every odd value (and an array's or object's first member too), and an
// unknown one added. Both must accept, or both refuse with the same error,
// word for word.
func TestSubsetAgreesWithTheLibrary(t *testing.T) {
	lib, err := NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := NewCatalogue(registry.Default(), schema.Subset{})
	if err != nil {
		t.Fatal(err)
	}
	cases := allCases()
	checked, refused := 0, 0
	for _, key := range slices.Sorted(maps.Keys(lib.byKey)) {
		base := map[string]any{}
		if tc, ok := cases[key]; ok {
			base = tc.params
		}
		var inputs []map[string]any
		with := func(k string, v any) map[string]any {
			m := maps.Clone(base)
			if m == nil {
				m = map[string]any{}
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		inputs = append(inputs, base, with("zzz_unknown", "x"))
		for _, p := range lib.byKey[key].params {
			inputs = append(inputs, with(p.Name, nil))
			for _, v := range oddValues {
				inputs = append(inputs, with(p.Name, v))
			}
			switch x := base[p.Name].(type) {
			case []any:
				for _, v := range oddValues {
					if len(x) > 0 {
						inputs = append(inputs, with(p.Name, append([]any{v}, x[1:]...)))
					}
				}
			case map[string]any:
				for _, v := range oddValues {
					inputs = append(inputs, with(p.Name, maps.Collect(func(yield func(string, any) bool) {
						for k, e := range x {
							if !yield(k, e) {
								return
							}
						}
						yield("zz", v)
					})))
				}
			}
		}
		for _, in := range inputs {
			_, le := lib.byKey[key].validate(in)
			_, se := sub.byKey[key].validate(in)
			checked++
			if le != nil {
				refused++
			}
			if (le == nil) != (se == nil) || (le != nil && le.Error() != se.Error()) {
				t.Errorf("%s %v:\n  library: %v\n  subset:  %v", key, in, le, se)
			}
		}
	}
	if refused == 0 || refused == checked {
		t.Fatalf("%d inputs, %d refused: the inputs do not test both ways", checked, refused)
	}
	t.Logf("%d inputs over %d actions, %d refused", checked, len(lib.byKey), refused)
}
