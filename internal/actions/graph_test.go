package actions

import (
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/tstest/reftest"
)

// A small reader of provider-specs/msgraph-v1.0.json, Graph's OData CSDL
// reduced to JSON (entity, complex and enum types with their properties
// and navigation properties, bound actions, and the container's entity
// sets and singletons), enough to hold a Graph request and its answer to
// the metadata:
//
//   - the path resolves from the container (me, teams, chats, users)
//     through keys and navigation properties to its target: a collection,
//     one entity, or a bound action (last);
//   - the navigation path, written as the actions' operation ids are
//     (microsoft.go: key segments left out, "{id}" for a trailing key,
//     the action's name last), is the operation the case names;
//   - the method fits the target: GET on an entity or a collection, POST
//     on a collection (201) or a bound action, PATCH or DELETE on an entity;
//   - a JSON body's properties are declared on the target's type, or are
//     the action's parameters, and so on down every nested complex type,
//     with values of the declared Edm types and enum members;
//   - $select names declared properties; no other query parameter than
//     Graph's OData system options;
//   - the answer: a collection's {"value":[...]}, an entity, nothing for
//     an action without a return type, and each property declared; a
//     failure is Graph's {"error":{"code","message"}}.
//
// Properties are checked against the declared ones even on open types
// (message, event): Graph accepts dynamic properties there, but nothing
// the actions send or read is meant to be one.

type graphDoc struct {
	Namespace string                        `json:"namespace"`
	Types     map[string]graphType          `json:"types"`
	Actions   map[string]graphAction        `json:"actions"`
	Container map[string]graphContainerItem `json:"container"`
}

type graphType struct {
	Kind       string               `json:"kind"` // EntityType, ComplexType, EnumType
	BaseType   string               `json:"BaseType"`
	OpenType   string               `json:"OpenType"`
	IsFlags    string               `json:"IsFlags"`
	Properties map[string]graphProp `json:"properties"`
	Navigation map[string]graphProp `json:"navigation"`
	Members    []string             `json:"members"`
}

type graphProp struct {
	Type     string `json:"Type"`
	Nullable string `json:"Nullable"`
}

type graphAction struct {
	IsBound    string       `json:"IsBound"`
	ReturnType string       `json:"ReturnType"`
	Parameters []graphParam `json:"parameters"`
}

type graphParam struct {
	Name     string `json:"Name"`
	Type     string `json:"Type"`
	Nullable string `json:"Nullable"`
}

type graphContainerItem struct {
	Kind       string `json:"kind"` // EntitySet, Singleton
	EntityType string `json:"EntityType"`
	Type       string `json:"Type"`
}

var (
	graphOnce sync.Once
	graphMeta *graphDoc
	graphErr  error
)

func loadGraph(t testing.TB) *graphDoc {
	t.Helper()
	// Resolved outside the Once: a missing file fails the caller's test
	// (t.Fatal inside Do would leave the Once done and the metadata nil).
	path := reftest.Path(t, "provider-specs/msgraph-v1.0.json", "")
	graphOnce.Do(func() {
		var b []byte
		b, graphErr = os.ReadFile(path)
		if graphErr == nil {
			graphMeta = new(graphDoc)
			graphErr = json.Unmarshal(b, graphMeta)
		}
	})
	if graphErr != nil {
		t.Fatalf("msgraph-v1.0.json: %v", graphErr)
	}
	return graphMeta
}

// typeName reduces a CSDL type reference to its name in Types, and says
// whether it is a collection: "Collection(graph.chatMessage)" is
// chatMessage, true; "microsoft.graph.team" is team. Edm types keep
// their "Edm." prefix.
func (d *graphDoc) typeName(ref string) (name string, collection bool) {
	if inner, ok := strings.CutPrefix(ref, "Collection("); ok {
		ref, collection = strings.TrimSuffix(inner, ")"), true
	}
	ref = strings.TrimPrefix(ref, d.Namespace+".")
	ref = strings.TrimPrefix(ref, "graph.")
	return ref, collection
}

// chain is name and its base types, most derived first.
func (d *graphDoc) chain(name string) []string {
	var out []string
	for name != "" && len(out) < 10 {
		out = append(out, name)
		t, ok := d.Types[name]
		if !ok {
			break
		}
		name, _ = d.typeName(t.BaseType)
	}
	return out
}

// property finds a structural property of type name or its bases.
func (d *graphDoc) property(name, prop string) (graphProp, bool) {
	for _, n := range d.chain(name) {
		if p, ok := d.Types[n].Properties[prop]; ok {
			return p, true
		}
	}
	return graphProp{}, false
}

func (d *graphDoc) navigation(name, prop string) (graphProp, bool) {
	for _, n := range d.chain(name) {
		if p, ok := d.Types[n].Navigation[prop]; ok {
			return p, true
		}
	}
	return graphProp{}, false
}

// boundAction finds an action named name bound to type typ (or a base).
func (d *graphDoc) boundAction(typ, name string) (graphAction, bool) {
	a, ok := d.Actions[name]
	if !ok || a.IsBound != "true" || len(a.Parameters) == 0 {
		return graphAction{}, false
	}
	bound, _ := d.typeName(a.Parameters[0].Type)
	return a, slices.Contains(d.chain(typ), bound)
}

// graphTarget is what a request path addresses.
type graphTarget struct {
	navPath    string // the operation id form
	typ        string // entity type of the collection or entity
	collection bool
	action     *graphAction
	actionName string
}

// resolve walks a path below /v1.0 through the metadata.
func (d *graphDoc) resolve(t reporter, path string) (graphTarget, bool) {
	t.Helper()
	segs := strings.Split(strings.Trim(path, "/"), "/")
	first, ok := d.Container[segs[0]]
	if !ok {
		t.Errorf("graph: %s: %q is not an entity set or singleton of the container", path, segs[0])
		return graphTarget{}, false
	}
	var tg graphTarget
	names := []string{segs[0]}
	switch first.Kind {
	case "EntitySet":
		tg.typ, _ = d.typeName(first.EntityType)
		tg.collection = true
	case "Singleton":
		tg.typ, _ = d.typeName(first.Type)
	default:
		t.Errorf("graph: %s: container item %s is a %s", path, segs[0], first.Kind)
		return graphTarget{}, false
	}
	keyed := false
	for i, s := range segs[1:] {
		last := i == len(segs)-2
		if tg.collection {
			// A collection's next segment is a key: one entity of it.
			if s == "" {
				t.Errorf("graph: %s: empty key", path)
				return graphTarget{}, false
			}
			tg.collection, keyed = false, true
			continue
		}
		keyed = false
		if nav, ok := d.navigation(tg.typ, s); ok {
			tg.typ, tg.collection = d.typeName(nav.Type)
			names = append(names, s)
			continue
		}
		if a, ok := d.boundAction(tg.typ, s); ok && last {
			tg.action, tg.actionName = &a, s
			names = append(names, s)
			continue
		}
		t.Errorf("graph: %s: %q is neither a navigation property of %s nor an action bound to it", path, s, tg.typ)
		return graphTarget{}, false
	}
	if keyed {
		names = append(names, "{id}")
	}
	tg.navPath = strings.Join(names, "/")
	return tg, true
}

// reporter is what the checks report to: a *testing.T, or a recorder in
// the tests of the checks themselves.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// checkGraph is the specCheckers entry of msgraph-v1.0.json.
func checkGraph(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
	t.Helper()
	loadGraph(t).check(t, opID, r, status, answer)
}

// check holds r and its answer to the metadata; see the file's comment.
func (d *graphDoc) check(t reporter, opID string, r sentRequest, status int, answer []byte) {
	t.Helper()
	path, ok := strings.CutPrefix(r.url.EscapedPath(), "/v1.0/")
	if !ok {
		t.Errorf("graph: path %s is not under /v1.0", r.url.EscapedPath())
		return
	}
	tg, ok := d.resolve(t, path)
	if !ok {
		return
	}
	if tg.navPath != opID {
		t.Errorf("graph: %s %s addresses %s, the case names %s", r.method, path, tg.navPath, opID)
	}
	if a := r.header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ") {
		t.Errorf("graph: Authorization %q, want a Bearer token", a)
	}
	// The method fits the target.
	var allowed []string
	switch {
	case tg.action != nil:
		allowed = []string{http.MethodPost}
	case tg.collection:
		allowed = []string{http.MethodGet, http.MethodPost}
	default:
		allowed = []string{http.MethodGet, http.MethodPatch, http.MethodDelete}
	}
	if !slices.Contains(allowed, r.method) {
		t.Errorf("graph: %s on %s (%s), which takes %v", r.method, opID, describeTarget(tg), allowed)
	}
	// Query: Graph's OData system options; $select names properties.
	for k, vs := range r.url.Query() {
		switch k {
		case "$select":
			for _, v := range vs {
				for _, p := range strings.Split(v, ",") {
					if _, ok := d.property(tg.typ, p); !ok {
						t.Errorf("graph: $select %s is not a property of %s", p, tg.typ)
					}
				}
			}
		case "$top", "$skip":
			for _, v := range vs {
				if n, err := json.Number(v).Int64(); err != nil || n < 0 {
					t.Errorf("graph: %s=%q is not a count", k, v)
				}
			}
		case "$filter", "$orderby", "$expand", "$search", "$count", "$skiptoken":
		default:
			t.Errorf("graph: query parameter %s is not an OData system option", k)
		}
	}
	if tg.action != nil && len(r.url.Query()) > 0 {
		t.Errorf("graph: an action takes no query options: %s", r.url.RawQuery)
	}
	// Body.
	switch {
	case len(r.body) == 0:
		if r.method == http.MethodPost || r.method == http.MethodPatch {
			t.Errorf("graph: %s %s without a body", r.method, opID)
		}
	case r.method == http.MethodGet || r.method == http.MethodDelete:
		t.Errorf("graph: %s with a body", r.method)
	default:
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("graph: body Content-Type %q, want application/json", ct)
		}
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Errorf("graph: body is not a JSON object: %s", r.body)
			break
		}
		if tg.action != nil {
			d.checkActionBody(t, tg, body)
		} else {
			d.checkObject(t, "body", tg.typ, body)
		}
	}
	d.checkAnswer(t, r.method, tg, status, answer)
}

func describeTarget(tg graphTarget) string {
	switch {
	case tg.action != nil:
		return "action " + tg.actionName
	case tg.collection:
		return "Collection(" + tg.typ + ")"
	}
	return tg.typ
}

// checkActionBody holds an action's JSON body to its parameters. The CSDL
// spells them Message, Comment, SaveToSentItems; Graph's JSON takes them
// in camel case (message, comment), so names match without regard to case.
func (d *graphDoc) checkActionBody(t reporter, tg graphTarget, body map[string]any) {
	t.Helper()
	params := tg.action.Parameters[1:] // after the binding parameter
	for k, v := range body {
		i := slices.IndexFunc(params, func(p graphParam) bool { return strings.EqualFold(p.Name, k) })
		if i < 0 {
			t.Errorf("graph: %s has no parameter %s", tg.actionName, k)
			continue
		}
		d.checkValue(t, tg.actionName+"."+k, params[i].Type, params[i].Nullable, v)
	}
	for _, p := range params {
		if p.Nullable == "false" && !slices.ContainsFunc(slices.Collect(maps.Keys(body)), func(k string) bool { return strings.EqualFold(k, p.Name) }) {
			t.Errorf("graph: %s's parameter %s (not nullable) is missing", tg.actionName, p.Name)
		}
	}
}

// checkObject holds an object to the structural properties of type typ.
func (d *graphDoc) checkObject(t reporter, what, typ string, v map[string]any) {
	t.Helper()
	for k, x := range v {
		if strings.HasPrefix(k, "@odata.") {
			continue // control information
		}
		p, ok := d.property(typ, k)
		if !ok {
			t.Errorf("graph: %s: %s is not a property of %s", what, k, typ)
			continue
		}
		d.checkValue(t, what+"."+k, p.Type, p.Nullable, x)
	}
}

// checkValue holds a JSON value to a CSDL type. A type the excerpt does
// not keep (path hosts' own property types) is any value.
func (d *graphDoc) checkValue(t reporter, what, ref, nullable string, v any) {
	t.Helper()
	name, coll := d.typeName(ref)
	if v == nil {
		if nullable == "false" && !coll {
			t.Errorf("graph: %s is null, and %s is not nullable", what, ref)
		}
		return
	}
	if coll {
		list, ok := v.([]any)
		if !ok {
			t.Errorf("graph: %s is %T, want an array (%s)", what, v, ref)
			return
		}
		for i, e := range list {
			d.checkValue(t, what+"["+strconv.Itoa(i)+"]", name, "false", e)
		}
		return
	}
	want := ""
	switch name {
	case "Edm.String", "Edm.DateTimeOffset", "Edm.Date", "Edm.Binary", "Edm.Guid", "Edm.Duration", "Edm.TimeOfDay":
		want = "string"
	case "Edm.Boolean":
		want = "boolean"
	case "Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			t.Errorf("graph: %s = %v, want an integer (%s)", what, v, name)
		}
		return
	case "Edm.Double", "Edm.Single", "Edm.Decimal":
		if _, ok := v.(float64); !ok {
			t.Errorf("graph: %s = %v, want a number (%s)", what, v, name)
		}
		return
	}
	if want != "" {
		if jsonType(v) != want {
			t.Errorf("graph: %s is %s, want %s (%s)", what, jsonType(v), want, name)
		}
		return
	}
	typ, ok := d.Types[name]
	if !ok {
		return // pruned from the excerpt: any value
	}
	switch typ.Kind {
	case "EnumType":
		s, ok := v.(string)
		if !ok {
			t.Errorf("graph: %s is %s, want a member of %s", what, jsonType(v), name)
			return
		}
		vals := []string{s}
		if typ.IsFlags == "true" {
			vals = strings.Split(s, ",")
		}
		for _, m := range vals {
			// OData reads enum members case-sensitively; Graph takes
			// itemBody's contentType as Text or HTML as well (its own
			// examples send "HTML"), so bodyType alone is compared
			// without case.
			if !slices.Contains(typ.Members, strings.TrimSpace(m)) &&
				!(name == "bodyType" && slices.ContainsFunc(typ.Members, func(x string) bool { return strings.EqualFold(x, m) })) {
				t.Errorf("graph: %s = %q is not a member of %s %v", what, m, name, typ.Members)
			}
		}
	default:
		obj, ok := v.(map[string]any)
		if !ok {
			t.Errorf("graph: %s is %s, want an object (%s)", what, jsonType(v), name)
			return
		}
		d.checkObject(t, what, name, obj)
	}
}

// checkAnswer holds the answer given to the request to what the target
// returns: Graph's error object on failure; on success a collection's
// value, an entity, or nothing for an action without a return type.
func (d *graphDoc) checkAnswer(t reporter, method string, tg graphTarget, status int, answer []byte) {
	t.Helper()
	if status >= 400 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(answer, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("graph: failure answer %s is not {\"error\":{\"code\",\"message\"}}", answer)
		}
		return
	}
	switch {
	case tg.action != nil && tg.action.ReturnType == "":
		if status != http.StatusAccepted && status != http.StatusNoContent && status != http.StatusOK || len(strings.TrimSpace(string(answer))) != 0 {
			t.Errorf("graph: action %s returns nothing; answered %d %s", tg.actionName, status, answer)
		}
		return
	case method == http.MethodPost && tg.collection && status != http.StatusCreated:
		t.Errorf("graph: POST to a collection answers 201 Created, not %d", status)
	case method == http.MethodGet && status != http.StatusOK:
		t.Errorf("graph: GET answers 200, not %d", status)
	}
	var v map[string]any
	if err := json.Unmarshal(answer, &v); err != nil {
		t.Errorf("graph: answer is not a JSON object: %s", answer)
		return
	}
	if method == http.MethodGet && tg.collection {
		list, ok := v["value"].([]any)
		if !ok {
			t.Errorf("graph: a collection's answer has no value array: %s", answer)
		}
		for k := range v {
			if k != "value" && !strings.HasPrefix(k, "@odata.") {
				t.Errorf("graph: a collection's answer has %s", k)
			}
		}
		for i, e := range list {
			obj, ok := e.(map[string]any)
			if !ok {
				t.Errorf("graph: value[%d] is %s, want a %s", i, jsonType(e), tg.typ)
				continue
			}
			d.checkObject(t, "answer value["+strconv.Itoa(i)+"]", tg.typ, obj)
		}
		return
	}
	d.checkObject(t, "answer", tg.typ, v)
}

func init() { specCheckers["msgraph-v1.0.json"] = checkGraph }
