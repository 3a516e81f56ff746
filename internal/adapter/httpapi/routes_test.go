package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/local/samtemplate"
)

// TestRoutesAreTheTemplates: the route list in code and the HttpApi events
// of template.yaml are the same routes, served by the same functions.
func TestRoutesAreTheTemplates(t *testing.T) {
	path, err := samtemplate.Locate(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ key, folder, logicalID string }
	var want []row
	for _, r := range tpl.Routes() {
		f, ok := tpl.Function(r.Folder)
		if !ok {
			t.Fatalf("no function %s", r.Folder)
		}
		want = append(want, row{r.Key(), r.Folder, f.LogicalID})
	}
	var got []row
	for _, r := range httpapi.Routes() {
		got = append(got, row{r.Pattern(), r.Function, r.LogicalID})
	}
	cmp := func(a, b row) int {
		if a.key < b.key {
			return -1
		}
		if a.key > b.key {
			return 1
		}
		return 0
	}
	slices.SortFunc(want, cmp)
	slices.SortFunc(got, cmp)
	if !slices.Equal(got, want) {
		t.Errorf("routes in code:\n%v\ntemplate.yaml:\n%v", got, want)
	}
}

// TestRoutesArePatterns: every route is a valid net/http pattern, and none
// overlaps another (ServeMux panics on either).
func TestRoutesArePatterns(t *testing.T) {
	mux := http.NewServeMux()
	for _, r := range httpapi.Routes() {
		mux.Handle(r.Pattern(), http.NotFoundHandler())
		if got, ok := httpapi.RouteOf(r.Function); !ok || got.Pattern() != r.Pattern() {
			t.Errorf("RouteOf(%q) = %v, %v", r.Function, got, ok)
		}
	}
	if _, ok := httpapi.RouteOf("nope"); ok {
		t.Error("RouteOf found an unknown function")
	}
}
