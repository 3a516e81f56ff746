package archtest

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/tstest/reporoot"
)

// knownViolations are the violations the module has today, by Key, each
// with why it is tolerated. The test fails on any violation not listed and
// on any entry no longer needed: when a fix lands, delete its entries (the
// failure names them), so this list only shrinks. Do not add to it.
var knownViolations = map[string]string{}

// buildContexts are the builds the rules hold in: the deploy build (what
// Lambda runs) and the host's default build (what the
// local API, tests and commands run), which can differ by build tags.
var buildContexts = []struct {
	name  string
	env   []string
	flags []string
}{
	{"deploy linux/arm64 lambda.norpc", []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, []string{"-tags", "lambda.norpc"}},
	{"host default", nil, nil},
}

// TestModuleDependencyRules checks the module's real import graph, as go
// list reports it in each build context.
func TestModuleDependencyRules(t *testing.T) {
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-C", root, "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	p := Policy{Module: strings.TrimSpace(string(out)), AdapterImports: AdapterImports}

	var all []Violation
	unused := map[Edge]int{}
	for _, bc := range buildContexts {
		l, err := Load(t.Context(), root, bc.env, bc.flags, "./...")
		if err != nil {
			t.Fatal(err)
		}
		checkDepsMatch(t, bc.name, l)
		vs := Check(l.Graph, p)
		for _, v := range vs {
			t.Logf("%s: %s", bc.name, v)
		}
		all = append(all, vs...)
		for _, e := range UnusedAdapterImports(l.Graph, p) {
			unused[e]++
		}
	}
	unexpected, stale := Reconcile(all, knownViolations)
	reported := map[string]bool{}
	for _, v := range unexpected {
		if !reported[v.Key()] { // once, though both builds have it
			reported[v.Key()] = true
			t.Errorf("%s", v)
		}
	}
	for _, k := range stale {
		t.Errorf("knownViolations[%q] is fixed: delete the entry", k)
	}
	for e, n := range unused {
		if n == len(buildContexts) {
			t.Errorf("AdapterImports allows %s, which no adapter imports any more: delete the entry", e)
		}
	}
	if t.Failed() {
		keys := slices.Sorted(maps.Keys(reported))
		t.Logf("unexpected violations by key (pkg -> dep): %q", keys)
	}
}

// checkDepsMatch cross-checks that the graph is complete: what each listed
// package reaches through Imports is exactly go list's Deps, so Check sees
// every dependency a link would.
func checkDepsMatch(t *testing.T, context string, l *Listing) {
	t.Helper()
	if len(l.Deps) == 0 {
		t.Fatalf("%s: go list listed no package", context)
	}
	for pkg, deps := range l.Deps {
		reached := bfs(l.Graph, pkg)
		delete(reached, pkg)
		var missing []string
		for _, d := range deps {
			if _, ok := reached[d]; !ok {
				missing = append(missing, d)
			}
			delete(reached, d)
		}
		if len(missing) > 0 || len(reached) > 0 {
			t.Errorf("%s: %s: in go list's Deps but not reached through Imports: %q; reached but not in Deps: %q",
				context, pkg, missing, slices.Sorted(maps.Keys(reached)))
		}
	}
}

// neverLinked are packages no bootstrap may link, with why.
var neverLinked = map[string]string{
	"github.com/santhosh-tekuri/jsonschema/v6": "compiles every draft's metaschema at init, about 8 ms of cold start: the executor validates with schema.Subset, and the library is the tests' oracle",
}

// TestBootstrapsDoNotLinkTheLibraryValidator: no function links the
// JSON Schema library (neverLinked).
func TestBootstrapsDoNotLinkTheLibraryValidator(t *testing.T) {
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	bc := buildContexts[0] // the deploy build
	l, err := Load(t.Context(), root, bc.env, bc.flags, "./functions/...")
	if err != nil {
		t.Fatal(err)
	}
	var bootstraps int
	for pkg, deps := range l.Deps {
		if !strings.Contains(pkg, "/functions/") {
			continue
		}
		bootstraps++
		for dep, why := range neverLinked {
			if slices.Contains(deps, dep) {
				t.Errorf("%s links %s, which %s", pkg, dep, why)
			}
		}
	}
	if bootstraps < 10 {
		t.Fatalf("listed %d bootstraps", bootstraps)
	}
}
