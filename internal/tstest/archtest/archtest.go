// Package archtest enforces the dependency rules (stated below) on the
// module's import graph, as tailscale's tstest/deptest does for its
// binaries:
//
//   - a domain package (every internal/* package that is not under
//     internal/adapter, internal/local, internal/cmd, internal/tstest and is
//     not internal/wiring) depends, directly or transitively, on no adapter,
//     local tool, command, test support, the wiring, nor any github.com/aws/
//     package (the SDK, smithy, aws-lambda-go);
//   - an adapter depends on no local tool, command, test support nor the
//     wiring, and imports no other adapter except along an edge of
//     Policy.AdapterImports;
//   - a bootstrap (functions/*) links no local tool, command, test support,
//     go.etcd.io/bbolt, testing nor net/http/httptest.
//
// The checker (Check) is a pure function over a Graph, so the rules are
// unit-tested on planted graphs; Load builds the Graph from `go list`.
// Only tests import this package.
package archtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Graph is an import graph: each package's direct imports, as go list's
// Imports field gives them. A package's transitive dependencies (go list's
// Deps) are what it reaches in the graph.
type Graph map[string][]string

// Edge is an import of one adapter by another, by adapter name (the folder
// under internal/adapter), e.g. {From: "httpapi", To: "apigw"}.
type Edge struct{ From, To string }

// String returns "from -> to".
func (e Edge) String() string { return e.From + " -> " + e.To }

// Policy is what Check needs besides the graph.
type Policy struct {
	// Module is the module path; packages outside it are third-party or
	// standard library.
	Module string
	// AdapterImports are the adapter-to-adapter imports allowed, each with
	// the reason it is allowed.
	AdapterImports map[Edge]string
}

// AdapterImports is the allow-list of adapter-to-adapter imports. Keep it
// short: an adapter that needs another is usually a sign that the shared
// part belongs in the domain. The real test fails on an entry no adapter
// uses any more.
// It is empty: the HTTP handlers are plain net/http, and only wiring joins
// them to the API Gateway adapter.
var AdapterImports = map[Edge]string{}

// Rule names which dependency rule a violation breaks.
type Rule string

// The rules Check enforces.
const (
	RuleDomain    Rule = "domain"    // domain -> adapter, local, cmd, tstest, wiring, AWS
	RuleAdapter   Rule = "adapter"   // adapter -> local, cmd, tstest, wiring, or an adapter not allowed
	RuleBootstrap Rule = "bootstrap" // bootstrap -> local, cmd, tstest, bbolt, testing, httptest
)

var ruleText = map[Rule]string{
	RuleDomain:    "a domain package depends on no adapter, local tool, command, test support, wiring or github.com/aws/ package",
	RuleAdapter:   "an adapter depends on no local tool, command, test support or wiring, and imports another adapter only as AdapterImports allows",
	RuleBootstrap: "a bootstrap links no local tool, command, test support, go.etcd.io/bbolt, testing or net/http/httptest",
}

// Violation is one forbidden dependency.
type Violation struct {
	Rule  Rule
	Pkg   string   // the package that breaks the rule (module-relative when in the module)
	Dep   string   // the forbidden dependency (module-relative when in the module)
	Chain []string // a shortest import chain from Pkg to Dep, both included
}

// Key identifies a violation regardless of its chain: "pkg -> dep", the
// form of the known-violation lists.
func (v Violation) Key() string { return v.Pkg + " -> " + v.Dep }

// String names the package, the forbidden dependency, the chain and the
// rule.
func (v Violation) String() string {
	how := "imports"
	if len(v.Chain) > 2 {
		how = "depends on"
	}
	s := fmt.Sprintf("%s %s %s", v.Pkg, how, v.Dep)
	if len(v.Chain) > 2 {
		s += " via " + strings.Join(v.Chain, " -> ")
	}
	return s + " (" + string(v.Rule) + " rule: " + ruleText[v.Rule] + ")"
}

// kind is the role of a package, decided by its path alone so that a new
// package (internal/credentials, a new adapter) is classified without an
// edit here.
type kind int

const (
	kindOther     kind = iota // outside the module's functions/ and internal/
	kindDomain                // internal/* but none of the below
	kindAdapter               // internal/adapter/<name>/...
	kindLocal                 // internal/local/...
	kindCmd                   // internal/cmd/...
	kindTestSupp              // internal/tstest/...
	kindWiring                // internal/wiring/...
	kindBootstrap             // functions/...
)

// within reports whether path is prefix or a package below it.
func within(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// rel returns path relative to the module, and whether it is in it.
func (p Policy) rel(path string) (string, bool) {
	if path == p.Module {
		return "", true
	}
	if r, ok := strings.CutPrefix(path, p.Module+"/"); ok {
		return r, true
	}
	return path, false
}

// classify returns the role of path and, for an adapter, its name.
func (p Policy) classify(path string) (kind, string) {
	r, in := p.rel(path)
	switch {
	case !in:
		return kindOther, ""
	case within(r, "functions"):
		return kindBootstrap, ""
	case within(r, "internal/adapter"):
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r, "internal/adapter"), "/"), "/")
		return kindAdapter, name
	case within(r, "internal/local"):
		return kindLocal, ""
	case within(r, "internal/cmd"):
		return kindCmd, ""
	case within(r, "internal/tstest"):
		return kindTestSupp, ""
	case within(r, "internal/wiring"):
		return kindWiring, ""
	case strings.HasPrefix(r, "internal/"):
		return kindDomain, ""
	}
	return kindOther, ""
}

// forbidden reports whether pkg (of role k, adapter name a) may not
// depend on dep; direct says dep is one of pkg's own imports.
func (p Policy) forbidden(k kind, a, dep string, direct bool) bool {
	dk, da := p.classify(dep)
	switch k {
	case kindDomain:
		return dk == kindAdapter || dk == kindLocal || dk == kindCmd || dk == kindTestSupp || dk == kindWiring ||
			strings.HasPrefix(dep, "github.com/aws/")
	case kindAdapter:
		if dk == kindLocal || dk == kindCmd || dk == kindTestSupp || dk == kindWiring {
			return true
		}
		// Adapter-to-adapter is checked on direct imports only: a
		// transitive one goes through a domain package (a domain
		// violation of its own) or along allowed edges.
		if dk == kindAdapter && da != a && direct {
			_, ok := p.AdapterImports[Edge{a, da}]
			return !ok
		}
	case kindBootstrap:
		return dk == kindLocal || dk == kindCmd || dk == kindTestSupp ||
			within(dep, "go.etcd.io/bbolt") || within(dep, "testing") || dep == "net/http/httptest"
	}
	return false
}

var kindRule = map[kind]Rule{kindDomain: RuleDomain, kindAdapter: RuleAdapter, kindBootstrap: RuleBootstrap}

// Check returns every violation of the rules in g, sorted by package and
// dependency. Only packages of the module are checked; every package g
// reaches is a possible dependency.
func Check(g Graph, p Policy) []Violation {
	var out []Violation
	for _, pkg := range sortedKeys(g) {
		k, a := p.classify(pkg)
		rule, checked := kindRule[k]
		if !checked {
			continue
		}
		parent := bfs(g, pkg)
		for _, dep := range sortedKeys(parent) {
			if dep == pkg || !p.forbidden(k, a, dep, parent[dep] == pkg) {
				continue
			}
			chain := []string{dep}
			for n := dep; n != pkg; {
				n = parent[n]
				chain = append(chain, n)
			}
			slices.Reverse(chain)
			for i, c := range chain {
				chain[i], _ = p.rel(c)
			}
			r, _ := p.rel(pkg)
			d, _ := p.rel(dep)
			out = append(out, Violation{Rule: rule, Pkg: r, Dep: d, Chain: chain})
		}
	}
	slices.SortFunc(out, func(x, y Violation) int {
		return cmp.Or(strings.Compare(x.Pkg, y.Pkg), strings.Compare(x.Dep, y.Dep))
	})
	return out
}

// UnusedAdapterImports returns the entries of p.AdapterImports that no
// adapter in g uses, so that the allow-list only shrinks.
func UnusedAdapterImports(g Graph, p Policy) []Edge {
	used := map[Edge]bool{}
	for pkg, imports := range g {
		k, a := p.classify(pkg)
		if k != kindAdapter {
			continue
		}
		for _, imp := range imports {
			if dk, da := p.classify(imp); dk == kindAdapter && da != a {
				used[Edge{a, da}] = true
			}
		}
	}
	var out []Edge
	for e := range p.AdapterImports {
		if !used[e] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(x, y Edge) int { return strings.Compare(x.String(), y.String()) })
	return out
}

// Reconcile splits violations against known, the tolerated ones by Key:
// unexpected are the violations known does not list, stale the entries of
// known no violation matches any more (fixed: delete them).
func Reconcile(got []Violation, known map[string]string) (unexpected []Violation, stale []string) {
	seen := map[string]bool{}
	for _, v := range got {
		seen[v.Key()] = true
		if _, ok := known[v.Key()]; !ok {
			unexpected = append(unexpected, v)
		}
	}
	for _, k := range sortedKeys(known) {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	return unexpected, stale
}

// bfs walks g from root and returns, for every package reached (root
// included), the package it was first reached from: a shortest-chain tree.
func bfs(g Graph, root string) map[string]string {
	parent := map[string]string{root: root}
	queue := []string{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range g[n] {
			if _, ok := parent[m]; !ok {
				parent[m] = n
				queue = append(queue, m)
			}
		}
	}
	return parent
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Listing is what Load read: the import graph of the patterns' packages
// and all their dependencies, and go list's own Deps of the patterns'
// packages (to cross-check the graph).
type Listing struct {
	Graph Graph
	Deps  map[string][]string // package matched by the patterns -> go list's Deps
}

// Load runs `go list -deps -json` in dir with env added to the process's
// environment (GOOS, GOARCH, ...) and flags before the patterns (e.g.
// "-tags", "lambda.norpc").
func Load(ctx context.Context, dir string, env, flags []string, patterns ...string) (*Listing, error) {
	args := append([]string{"list", "-deps", "-json=ImportPath,Imports,Deps,DepOnly,Error"}, flags...)
	args = append(args, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	l := &Listing{Graph: Graph{}, Deps: map[string][]string{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var pkg struct {
			ImportPath string
			Imports    []string
			Deps       []string
			DepOnly    bool
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&pkg); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if pkg.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", pkg.ImportPath, pkg.Error.Err)
		}
		// A cgo package's Imports name the pseudo-package "C", which
		// go list does not list; what it links is runtime/cgo (in Deps).
		for i, imp := range pkg.Imports {
			if imp == "C" {
				pkg.Imports[i] = "runtime/cgo"
			}
		}
		l.Graph[pkg.ImportPath] = pkg.Imports
		if !pkg.DepOnly {
			l.Deps[pkg.ImportPath] = pkg.Deps
		}
	}
	return l, nil
}
