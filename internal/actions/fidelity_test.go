package actions

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/tstest/reporoot"
)

// TestEveryActionHeldToItsDescription fails the suite for an action that
// names no provider operation, or that no request case holds to that
// operation's published description: a new action comes with its test.
func TestEveryActionHeldToItsDescription(t *testing.T) {
	cat := testCatalogue(t)
	held := map[string]bool{}
	for _, tc := range requestCases() {
		key := tc.connector + "." + tc.action
		s, ok := cat.byKey[key]
		if !ok || tc.want.operation[0] == "" {
			continue
		}
		// A case may reach another operation (list_teams for another
		// user); one must be the operation the action declares.
		if tc.want.operation[0]+" "+tc.want.operation[1] == s.operation {
			held[key] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cat.byKey)) {
		s := cat.byKey[key]
		switch {
		case s.operation == "":
			t.Errorf("%s names no provider operation", key)
		case !held[key]:
			t.Errorf("%s: no request case is held to %s", key, s.operation)
		}
	}
	// Five per connector; Stripe has six (issue 14 names four new ones
	// beside its two).
	for _, m := range cat.Registry().All() {
		want := map[string]int{"stripe": 6}[m.ID]
		if want == 0 {
			want = 5
		}
		if len(m.Actions) != want {
			t.Errorf("%s has %d actions, want %d", m.ID, len(m.Actions), want)
		}
	}
	if n := len(cat.byKey); n != 61 {
		t.Errorf("%d actions, want 61", n)
	}
}

// TestREADMEActionTable keeps the README's action table the catalogue's.
func TestREADMEActionTable(t *testing.T) {
	cat := testCatalogue(t)
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- actions table: generated from internal/actions; TestREADMEActionTable keeps it -->\n", "<!-- end of actions table -->"
	_, rest, ok := strings.Cut(string(b), begin)
	got, _, ok2 := strings.Cut(rest, end)
	want := actionTable(cat)
	if !ok || !ok2 || got != want {
		t.Errorf("README.md's action table is not the catalogue's; between the markers it should read:\n%s", want)
	}
}

func actionTable(cat *Catalogue) string {
	var b strings.Builder
	b.WriteString("| connector | action | provider operation | writes | scopes |\n| --- | --- | --- | --- | --- |\n")
	for _, m := range cat.Registry().All() {
		for _, name := range m.Actions {
			s := cat.byKey[m.ID+"."+name]
			file, op, _ := strings.Cut(s.operation, " ")
			w := ""
			if s.write {
				w = "yes"
			}
			// "a|b" reads "a or b": a bare | would split the table's cell.
			var parts []string
			for _, e := range s.scopes {
				parts = append(parts, "`"+strings.ReplaceAll(e, "|", "` or `")+"`")
			}
			scopes := strings.Join(parts, ", ")
			fmt.Fprintf(&b, "| %s | `%s` | %s (`%s`) | %s | %s |\n", m.ID, name, op, file, w, scopes)
		}
	}
	return b.String()
}
