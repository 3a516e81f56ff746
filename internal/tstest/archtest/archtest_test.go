package archtest

import (
	"slices"
	"strings"
	"testing"
)

const mod = "example.com/m"

// clean is a small graph that obeys every rule, shaped like the module:
// a domain, two adapters with one allowed edge, the wiring, a bootstrap,
// and local tooling that may use anything.
func clean() Graph {
	return Graph{
		mod + "/internal/connectors":          {"errors"},
		mod + "/internal/connect":             {mod + "/internal/connectors", "net/http"},
		mod + "/internal/credentials":         {mod + "/internal/connectors"},
		mod + "/internal/adapter/apigw":       {mod + "/internal/connectors", "github.com/aws/aws-lambda-go/events"},
		mod + "/internal/adapter/httpapi":     {mod + "/internal/adapter/apigw", mod + "/internal/connect"},
		mod + "/internal/adapter/nango":       {"net/http"},
		mod + "/internal/adapter/nango/wh":    {mod + "/internal/adapter/nango"}, // same adapter
		mod + "/internal/wiring":              {mod + "/internal/adapter/httpapi", mod + "/internal/adapter/nango", "github.com/aws/aws-sdk-go-v2/config"},
		mod + "/functions/list":               {mod + "/internal/wiring", "github.com/aws/aws-lambda-go/lambda"},
		mod + "/internal/local/boltstore":     {mod + "/internal/connectors", "go.etcd.io/bbolt"},
		mod + "/internal/local/localapi":      {mod + "/internal/wiring", mod + "/internal/local/boltstore", "net/http/httptest"},
		mod + "/internal/tstest/awstest":      {"testing", mod + "/internal/local/localapi"},
		mod + "/internal/cmd/invoke":          {mod + "/internal/tstest/awstest"},
		"github.com/aws/aws-lambda-go/events": {},
		"github.com/aws/aws-lambda-go/lambda": {"net/http"},
		"github.com/aws/aws-sdk-go-v2/config": {"github.com/aws/smithy-go"},
		"go.etcd.io/bbolt":                    {"os"},
		"net/http/httptest":                   {"net/http"},
		"testing":                             {"os"},
	}
}

var policy = Policy{Module: mod, AdapterImports: map[Edge]string{{"httpapi", "apigw"}: "planted"}}

// plant returns clean() with from also importing to.
func plant(from, to string) Graph {
	g := clean()
	g[from] = append(slices.Clone(g[from]), to)
	return g
}

func TestCleanGraphPasses(t *testing.T) {
	if vs := Check(clean(), policy); len(vs) > 0 {
		t.Fatalf("violations in the clean graph: %v", vs)
	}
	if unused := UnusedAdapterImports(clean(), policy); len(unused) > 0 {
		t.Fatalf("unused allowances: %v", unused)
	}
}

// TestPlantedImportsFail plants one forbidden import at a time and expects
// exactly the violations it causes, by key, with the chain.
func TestPlantedImportsFail(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		// want are the violations, "rule: pkg -> dep", sorted; nil: only
		// check that the planted edge itself is reported under rule.
		want  []string
		rule  Rule
		chain string // the first violation's chain
	}{
		{"domain imports an adapter", "internal/connect", "internal/adapter/nango",
			[]string{"domain: internal/connect -> internal/adapter/nango"}, "",
			"internal/connect -> internal/adapter/nango"},
		{"domain reaches an adapter through another domain package", "internal/connectors", "internal/adapter/nango",
			[]string{"domain: internal/connect -> internal/adapter/nango", "domain: internal/connectors -> internal/adapter/nango", "domain: internal/credentials -> internal/adapter/nango"}, "",
			"internal/connect -> internal/connectors -> internal/adapter/nango"},
		{"a new domain package imports the SDK", "internal/credentials", "github.com/aws/aws-sdk-go-v2/config",
			[]string{"domain: internal/credentials -> github.com/aws/aws-sdk-go-v2/config", "domain: internal/credentials -> github.com/aws/smithy-go"}, "",
			"internal/credentials -> github.com/aws/aws-sdk-go-v2/config"},
		{"domain imports aws-lambda-go", "internal/connectors", "github.com/aws/aws-lambda-go/events",
			[]string{"domain: internal/connect -> github.com/aws/aws-lambda-go/events", "domain: internal/connectors -> github.com/aws/aws-lambda-go/events", "domain: internal/credentials -> github.com/aws/aws-lambda-go/events"}, "",
			"internal/connect -> internal/connectors -> github.com/aws/aws-lambda-go/events"},
		{"domain imports the wiring", "internal/credentials", "internal/wiring", nil, RuleDomain, ""},
		{"domain imports test support", "internal/credentials", "internal/tstest/awstest", nil, RuleDomain, ""},
		{"adapter imports local tooling, which the bootstrap then links", "internal/adapter/nango", "internal/local/boltstore",
			[]string{"bootstrap: functions/list -> go.etcd.io/bbolt", "bootstrap: functions/list -> internal/local/boltstore",
				"adapter: internal/adapter/nango -> internal/local/boltstore", "adapter: internal/adapter/nango/wh -> internal/local/boltstore"}, "",
			"functions/list -> internal/wiring -> internal/adapter/nango -> internal/local/boltstore -> go.etcd.io/bbolt"},
		{"adapter imports the wiring", "internal/adapter/apigw", "internal/wiring", nil, RuleAdapter, ""},
		{"adapter imports an adapter not allowed", "internal/adapter/apigw", "internal/adapter/nango",
			[]string{"adapter: internal/adapter/apigw -> internal/adapter/nango"}, "",
			"internal/adapter/apigw -> internal/adapter/nango"},
		{"allowed edge the other way round", "internal/adapter/apigw", "internal/adapter/httpapi",
			[]string{"adapter: internal/adapter/apigw -> internal/adapter/httpapi"}, "",
			"internal/adapter/apigw -> internal/adapter/httpapi"},
		{"bootstrap links bbolt through the wiring", "internal/wiring", "go.etcd.io/bbolt",
			[]string{"bootstrap: functions/list -> go.etcd.io/bbolt"}, "",
			"functions/list -> internal/wiring -> go.etcd.io/bbolt"},
		{"bootstrap links testing through a library", "github.com/aws/aws-lambda-go/lambda", "testing",
			[]string{"bootstrap: functions/list -> testing"}, "",
			"functions/list -> github.com/aws/aws-lambda-go/lambda -> testing"},
		{"bootstrap links httptest", "functions/list", "net/http/httptest",
			[]string{"bootstrap: functions/list -> net/http/httptest"}, "",
			"functions/list -> net/http/httptest"},
		{"bootstrap links a command", "functions/list", "internal/cmd/invoke", nil, RuleBootstrap, ""},
	}
	abs := func(p string) string {
		if strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "functions/") {
			return mod + "/" + p
		}
		return p
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Check(plant(abs(tt.from), abs(tt.to)), policy)
			if len(vs) == 0 {
				t.Fatalf("planted %s -> %s: no violation", tt.from, tt.to)
			}
			for _, v := range vs {
				t.Log(v) // the message a developer sees
			}
			if tt.want == nil {
				if !slices.ContainsFunc(vs, func(v Violation) bool { return v.Pkg == tt.from && v.Dep == tt.to && v.Rule == tt.rule }) {
					t.Errorf("no %s violation %s -> %s in %v", tt.rule, tt.from, tt.to, vs)
				}
				return
			}
			var got []string
			for _, v := range vs {
				got = append(got, string(v.Rule)+": "+v.Key())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
			if got := strings.Join(vs[0].Chain, " -> "); got != tt.chain {
				t.Errorf("chain %q, want %q", got, tt.chain)
			}
		})
	}
}

func TestViolationString(t *testing.T) {
	tests := []struct {
		v    Violation
		want string
	}{
		{Violation{RuleDomain, "internal/connect", "internal/adapter/nango", []string{"internal/connect", "internal/adapter/nango"}},
			"internal/connect imports internal/adapter/nango (domain rule: " + ruleText[RuleDomain] + ")"},
		{Violation{RuleBootstrap, "functions/f", "testing", []string{"functions/f", "x", "testing"}},
			"functions/f depends on testing via functions/f -> x -> testing (bootstrap rule: " + ruleText[RuleBootstrap] + ")"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		path    string
		kind    kind
		adapter string
	}{
		{mod + "/internal/credentials", kindDomain, ""},
		{mod + "/internal/statemachine", kindDomain, ""},
		{mod + "/internal/adapter/nango", kindAdapter, "nango"},
		{mod + "/internal/adapter/nango/sub", kindAdapter, "nango"},
		{mod + "/internal/adapterx", kindDomain, ""}, // a prefix of a name is not a folder
		{mod + "/internal/local/boltstore", kindLocal, ""},
		{mod + "/internal/cmd/invoke", kindCmd, ""},
		{mod + "/internal/tstest/archtest", kindTestSupp, ""},
		{mod + "/internal/wiring", kindWiring, ""},
		{mod + "/functions/nango-webhook", kindBootstrap, ""},
		{mod, kindOther, ""},
		{"example.com/mother/internal/x", kindOther, ""},
		{"github.com/aws/aws-sdk-go-v2/aws", kindOther, ""},
	}
	for _, tt := range tests {
		if k, a := policy.classify(tt.path); k != tt.kind || a != tt.adapter {
			t.Errorf("classify(%s) = %d, %q; want %d, %q", tt.path, k, a, tt.kind, tt.adapter)
		}
	}
}

func TestUnusedAdapterImports(t *testing.T) {
	g := clean()
	g[mod+"/internal/adapter/httpapi"] = []string{mod + "/internal/connect"} // no longer imports apigw
	got := UnusedAdapterImports(g, policy)
	if len(got) != 1 || got[0] != (Edge{"httpapi", "apigw"}) {
		t.Errorf("unused %v, want [httpapi -> apigw]", got)
	}
}

func TestReconcile(t *testing.T) {
	got := []Violation{{Pkg: "a", Dep: "b"}, {Pkg: "c", Dep: "d"}}
	tests := []struct {
		name       string
		known      map[string]string
		unexpected []string
		stale      []string
	}{
		{"all known", map[string]string{"a -> b": "", "c -> d": ""}, nil, nil},
		{"one new", map[string]string{"a -> b": ""}, []string{"c -> d"}, nil},
		{"one fixed", map[string]string{"a -> b": "", "c -> d": "", "e -> f": ""}, nil, []string{"e -> f"}},
	}
	for _, tt := range tests {
		un, stale := Reconcile(got, tt.known)
		var keys []string
		for _, v := range un {
			keys = append(keys, v.Key())
		}
		if !slices.Equal(keys, tt.unexpected) || !slices.Equal(stale, tt.stale) {
			t.Errorf("%s: unexpected %v, stale %v; want %v, %v", tt.name, keys, stale, tt.unexpected, tt.stale)
		}
	}
}
