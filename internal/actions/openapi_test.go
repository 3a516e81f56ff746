package actions

import (
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/automators/connectors/internal/tstest/reftest"
)

// A small reader of the provider excerpts in
// ../shared/reference/provider-specs (OpenAPI 3.0 and 3.1 documents), enough
// to hold a request to the operation it claims to be: method, path template
// and path parameters, declared query parameters, JSON body properties and
// the operation's security requirements.

type openAPIDoc struct {
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Security   []map[string][]string                 `json:"security"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
	} `json:"components"`
}

type securityScheme struct {
	Type   string `json:"type"`
	In     string `json:"in"`
	Name   string `json:"name"`
	Scheme string `json:"scheme"`
}

type apiOperation struct {
	OperationID string                 `json:"operationId"`
	Parameters  []apiParam             `json:"parameters"`
	Security    *[]map[string][]string `json:"security"`
	RequestBody *struct {
		Content map[string]struct {
			Schema apiSchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type apiParam struct {
	Name     string    `json:"name"`
	In       string    `json:"in"`
	Required bool      `json:"required"`
	Schema   apiSchema `json:"schema"`
}

// apiSchema is the part of a JSON Schema the checks read; Type is a string
// (3.0) or a list of strings (3.1).
type apiSchema struct {
	Type       json.RawMessage      `json:"type"`
	Pattern    string               `json:"pattern"`
	Minimum    *float64             `json:"minimum"`
	Maximum    *float64             `json:"maximum"`
	MaxLength  *int                 `json:"maxLength"`
	Enum       []any                `json:"enum"`
	Properties map[string]apiSchema `json:"properties"`
	Required   []string             `json:"required"`
}

func (s apiSchema) types() []string {
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(s.Type, &many)
	return many
}

var (
	specMu    sync.Mutex
	specCache = map[string]any{}
)

// readSpec decodes provider-specs/name into a T once per test binary.
func readSpec[T any](t testing.TB, name string) *T {
	t.Helper()
	specMu.Lock()
	defer specMu.Unlock()
	if d, ok := specCache[name].(*T); ok {
		return d
	}
	b, err := os.ReadFile(reftest.Path(t, "provider-specs/"+name, ""))
	if err != nil {
		t.Fatal(err)
	}
	d := new(T)
	if err := json.Unmarshal(b, d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	specCache[name] = d
	return d
}

// loadSpec reads the OpenAPI document provider-specs/name.
func loadSpec(t testing.TB, name string) *openAPIDoc { return readSpec[openAPIDoc](t, name) }

// specOp is an operation found in a document, with where it sits.
type specOp struct {
	doc      *openAPIDoc
	path     string // template, e.g. /channels/{channel_id}/messages
	method   string // upper case
	op       apiOperation
	params   []apiParam // path-level and operation-level
	security []map[string][]string
}

func findOperation(t testing.TB, doc *openAPIDoc, file, opID string) specOp {
	t.Helper()
	for path, item := range doc.Paths {
		var shared []apiParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s %s parameters: %v", file, path, err)
			}
		}
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op apiOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s %s: %v", file, method, path, err)
			}
			if op.OperationID != opID {
				continue
			}
			so := specOp{doc: doc, path: path, method: strings.ToUpper(method), op: op, params: append(slices.Clone(shared), op.Parameters...), security: doc.Security}
			if op.Security != nil {
				so.security = *op.Security
			}
			return so
		}
	}
	t.Fatalf("%s has no operation %s", file, opID)
	return specOp{}
}

// checkOperation holds a request to the operation opID of provider-specs/file
// and returns the operation, for the caller's assertions on its security.
func checkOperation(t *testing.T, file, opID, method string, u *url.URL, h http.Header, body []byte) specOp {
	t.Helper()
	doc := loadSpec(t, file)
	so := findOperation(t, doc, file, opID)
	if method != so.method {
		t.Errorf("%s %s: method %s, the operation is %s", file, opID, method, so.method)
	}
	// Path: the server's path, then the template.
	base := ""
	if len(doc.Servers) > 0 {
		su, err := url.Parse(doc.Servers[0].URL)
		if err != nil {
			t.Fatalf("%s server: %v", file, err)
		}
		base = strings.TrimSuffix(su.Path, "/")
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), base)
	if !ok {
		t.Errorf("%s %s: path %s is not under the server's %s", file, opID, u.EscapedPath(), base)
	}
	got, want := strings.Split(rest, "/"), strings.Split(so.path, "/")
	if len(got) != len(want) {
		t.Errorf("%s %s: path %s does not match %s", file, opID, rest, so.path)
	} else {
		for i, w := range want {
			name, isParam := strings.CutPrefix(w, "{")
			if !isParam {
				if got[i] != w {
					t.Errorf("%s %s: path %s does not match %s", file, opID, rest, so.path)
				}
				continue
			}
			name = strings.TrimSuffix(name, "}")
			v, err := url.PathUnescape(got[i])
			if err != nil || v == "" {
				t.Errorf("%s %s: path parameter %s is %q", file, opID, name, got[i])
				continue
			}
			p, found := paramIn(so.params, "path", name)
			if !found {
				t.Errorf("%s %s: path parameter %s not declared", file, opID, name)
				continue
			}
			checkValue(t, file+" "+opID+" path "+name, p.Schema, v)
		}
	}
	// Query: every key declared (as a parameter or an apiKey scheme), each
	// value within its schema, required ones present.
	q := u.Query()
	for k, vs := range q {
		if p, found := paramIn(so.params, "query", k); found {
			for _, v := range vs {
				checkValue(t, file+" "+opID+" query "+k, p.Schema, v)
			}
			continue
		}
		if !queryScheme(doc, so.security, k) {
			t.Errorf("%s %s: query parameter %s is not declared", file, opID, k)
		}
	}
	for _, p := range so.params {
		if p.In == "query" && p.Required && !q.Has(p.Name) {
			t.Errorf("%s %s: required query parameter %s missing", file, opID, p.Name)
		}
	}
	// Body: a declared media type; JSON properties declared and typed.
	if len(body) > 0 {
		if so.op.RequestBody == nil {
			t.Errorf("%s %s: a body, and the operation declares none", file, opID)
		} else {
			mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
			content, ok := so.op.RequestBody.Content[mt]
			switch {
			case !ok:
				t.Errorf("%s %s: body media type %q not declared", file, opID, mt)
			case mt == "application/json":
				var v map[string]any
				if err := json.Unmarshal(body, &v); err != nil {
					t.Errorf("%s %s: body is not a JSON object: %s", file, opID, body)
				}
				checkObject(t, file+" "+opID+" body", content.Schema, v)
			}
		}
	}
	return so
}

func paramIn(ps []apiParam, in, name string) (apiParam, bool) {
	for _, p := range ps {
		if p.In == in && p.Name == name {
			return p, true
		}
	}
	return apiParam{}, false
}

// queryScheme reports whether k is the query parameter of an apiKey scheme
// of one of the security requirements.
func queryScheme(doc *openAPIDoc, sec []map[string][]string, k string) bool {
	for _, req := range sec {
		for name := range req {
			s := doc.Components.SecuritySchemes[name]
			if s.Type == "apiKey" && s.In == "query" && s.Name == k {
				return true
			}
		}
	}
	return false
}

// checkValue holds a path or query value (text) to a simple schema.
func checkValue(t *testing.T, what string, s apiSchema, v string) {
	t.Helper()
	types := s.types()
	switch {
	case slices.Contains(types, "integer"):
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Errorf("%s = %q, want an integer", what, v)
			return
		}
		if s.Minimum != nil && float64(n) < *s.Minimum || s.Maximum != nil && float64(n) > *s.Maximum {
			t.Errorf("%s = %d, outside [%v, %v]", what, n, deref(s.Minimum), deref(s.Maximum))
		}
	case slices.Contains(types, "boolean"):
		if v != "true" && v != "false" {
			t.Errorf("%s = %q, want a boolean", what, v)
		}
	}
	if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(v) {
		t.Errorf("%s = %q does not match %s", what, v, s.Pattern)
	}
}

func deref(f *float64) float64 {
	if f == nil {
		return math.NaN()
	}
	return *f
}

// checkObject holds a decoded JSON object to an object schema's properties
// (one level: nested schemas in the excerpts are pruned).
func checkObject(t *testing.T, what string, s apiSchema, v map[string]any) {
	t.Helper()
	for k, x := range v {
		ps, ok := s.Properties[k]
		if !ok {
			t.Errorf("%s: property %s is not declared", what, k)
			continue
		}
		types := ps.types()
		if len(types) == 0 {
			continue // oneOf or pruned: any value
		}
		if !slices.Contains(types, jsonType(x)) && !(jsonType(x) == "integer" && slices.Contains(types, "number")) {
			t.Errorf("%s: %s is %s, want %v", what, k, jsonType(x), types)
		}
		if str, ok := x.(string); ok && ps.MaxLength != nil && len([]rune(str)) > *ps.MaxLength {
			t.Errorf("%s: %s is longer than %d", what, k, *ps.MaxLength)
		}
	}
	for _, k := range s.Required {
		if _, ok := v[k]; !ok {
			t.Errorf("%s: required property %s missing", what, k)
		}
	}
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// requirementNames lists each security requirement as its scheme names,
// sorted and joined with "+", e.g. ["APIKey+APIToken"].
func requirementNames(sec []map[string][]string) []string {
	var out []string
	for _, req := range sec {
		var names []string
		for n := range req {
			names = append(names, n)
		}
		slices.Sort(names)
		out = append(out, strings.Join(names, "+"))
	}
	return out
}
