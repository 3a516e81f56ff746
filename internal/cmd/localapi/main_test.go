package main

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/automators/connectors/internal/local/samtemplate"
)

// findKey returns the value of the first mapping key named key under n,
// depth first (through tags such as !If).
func findKey(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	}
	for _, c := range n.Content {
		if v := findKey(c, key); v != nil {
			return v
		}
	}
	return nil
}

func values(n *yaml.Node) []string {
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// TestCORSIsTheTemplates: the local API answers preflights with the
// methods and headers of the HttpApi's CorsConfiguration, and those allow
// every method a route of the template serves, so that a browser may call
// each route cross-origin, locally and deployed.
func TestCORSIsTheTemplates(t *testing.T) {
	path, err := samtemplate.Locate(".")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	cors := findKey(&doc, "CorsConfiguration")
	if cors == nil {
		t.Fatal("template.yaml has no CorsConfiguration")
	}
	methods, headers := findKey(cors, "AllowMethods"), findKey(cors, "AllowHeaders")
	if methods == nil || headers == nil {
		t.Fatal("CorsConfiguration has no AllowMethods or AllowHeaders")
	}
	local := corsFromEnv()
	if got, want := local.AllowMethods, values(methods); !slices.Equal(got, want) {
		t.Errorf("local AllowMethods %v, template.yaml %v", got, want)
	}
	if got, want := local.AllowHeaders, values(headers); !slices.Equal(got, want) {
		t.Errorf("local AllowHeaders %v, template.yaml %v", got, want)
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tpl.Routes() {
		if !slices.Contains(values(methods), r.Method) {
			t.Errorf("%s: CorsConfiguration does not allow %s", r.Key(), r.Method)
		}
	}
}
