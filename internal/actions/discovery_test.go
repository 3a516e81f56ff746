package actions

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A small reader of Google API discovery documents
// (https://developers.google.com/discovery/v1/reference/apis), the form
// provider-specs keeps Sheets and Gmail in, enough to hold a request and
// its answer to the method it claims to be: HTTP method, path template
// (RFC 6570, with {+name} reserved expansion) under rootUrl and
// servicePath, declared query parameters with their types and enums,
// required parameters, the request body against the schema named by
// request.$ref and the answer against response.$ref.

type discoveryDoc struct {
	RootURL     string                       `json:"rootUrl"`
	ServicePath string                       `json:"servicePath"`
	Parameters  map[string]discoveryParam    `json:"parameters"` // global: alt, fields, ...
	Resources   map[string]discoveryResource `json:"resources"`
	Schemas     map[string]discoverySchema   `json:"schemas"`
}

type discoveryResource struct {
	Methods   map[string]discoveryMethod   `json:"methods"`
	Resources map[string]discoveryResource `json:"resources"`
}

type discoveryMethod struct {
	ID         string                    `json:"id"`
	HTTPMethod string                    `json:"httpMethod"`
	Path       string                    `json:"path"`
	FlatPath   string                    `json:"flatPath"`
	Parameters map[string]discoveryParam `json:"parameters"`
	Request    *discoveryRef             `json:"request"`
	Response   *discoveryRef             `json:"response"`
	Scopes     []string                  `json:"scopes"`
}

type discoveryRef struct {
	Ref string `json:"$ref"`
}

type discoveryParam struct {
	Type     string   `json:"type"`
	Format   string   `json:"format"`
	Location string   `json:"location"`
	Required bool     `json:"required"`
	Repeated bool     `json:"repeated"`
	Enum     []string `json:"enum"`
	Pattern  string   `json:"pattern"`
}

// discoverySchema is a JSON Schema of the discovery format (draft-03
// flavoured): a $ref names another schema of the document.
type discoverySchema struct {
	Ref                  string                     `json:"$ref"`
	Type                 string                     `json:"type"`
	Format               string                     `json:"format"`
	Enum                 []string                   `json:"enum"`
	Properties           map[string]discoverySchema `json:"properties"`
	Items                *discoverySchema           `json:"items"`
	AdditionalProperties *discoverySchema           `json:"additionalProperties"`
	ReadOnly             bool                       `json:"readOnly"`
	Annotations          struct {
		Required []string `json:"required"` // ids of the methods that need the property
	} `json:"annotations"`
}

// loadDiscovery reads the discovery document provider-specs/name.
func loadDiscovery(t testing.TB, name string) *discoveryDoc {
	return readSpec[discoveryDoc](t, name)
}

// method finds a method by its id (e.g. "gmail.users.messages.get").
func (d *discoveryDoc) method(id string) (discoveryMethod, bool) {
	var walk func(map[string]discoveryResource) (discoveryMethod, bool)
	walk = func(rs map[string]discoveryResource) (discoveryMethod, bool) {
		for _, r := range rs {
			for _, m := range r.Methods {
				if m.ID == id {
					return m, true
				}
			}
			if m, ok := walk(r.Resources); ok {
				return m, true
			}
		}
		return discoveryMethod{}, false
	}
	return walk(d.Resources)
}

// docsRequiredQuery are query parameters that the methods' documentation
// requires and their discovery entries do not mark required
// (docs-rules.json google.sheets_*_value_input_option: "The caller must
// specify the spreadsheet ID, range, and a valueInputOption").
var docsRequiredQuery = map[string][]string{
	"sheets.spreadsheets.values.append": {"valueInputOption"},
	"sheets.spreadsheets.values.update": {"valueInputOption"},
}

// discoveryChecker returns the specCheckers entry of a discovery document.
func discoveryChecker(file string) func(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
	return func(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
		t.Helper()
		for _, err := range discoveryErrors(t, file, opID, r, status, answer) {
			t.Error(err)
		}
	}
}

// discoveryErrors holds r and its answer to method opID of the discovery
// document file, and says what does not match.
func discoveryErrors(t testing.TB, file, opID string, r sentRequest, status int, answer []byte) []error {
	t.Helper()
	d := loadDiscovery(t, file)
	m, ok := d.method(opID)
	if !ok {
		return []error{fmt.Errorf("%s has no method %s", file, opID)}
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(opID+": "+format, args...)) }
	if r.method != m.HTTPMethod {
		fail("method %s, the document says %s", r.method, m.HTTPMethod)
	}
	if !strings.HasPrefix(r.header.Get("Authorization"), "Bearer ") {
		fail("no OAuth 2.0 bearer token")
	}
	// Path: rootUrl's path + servicePath + the method's path template.
	root, err := url.Parse(d.RootURL)
	if err != nil {
		t.Fatalf("%s rootUrl: %v", file, err)
	}
	tmpl := root.Path + d.ServicePath + m.Path
	values, ok := matchTemplate(tmpl, r.url.EscapedPath())
	if !ok {
		fail("path %s does not match %s", r.url.EscapedPath(), tmpl)
	}
	for name, p := range m.Parameters {
		if p.Location == "path" && p.Required && values[name] == "" && ok {
			fail("path parameter %s is empty", name)
		}
		if p.Location == "path" && p.Pattern != "" && ok && !regexp.MustCompile(p.Pattern).MatchString(values[name]) {
			fail("path parameter %s = %q does not match %s", name, values[name], p.Pattern)
		}
	}
	// Query: declared (by the method or globally), typed, required ones present.
	q := r.url.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		p, declared := m.Parameters[k]
		if !declared {
			p, declared = d.Parameters[k]
		}
		if !declared || p.Location != "query" {
			fail("query parameter %q is not declared", k)
			continue
		}
		if len(q[k]) > 1 && !p.Repeated {
			fail("query parameter %q is sent %d times and is not repeated", k, len(q[k]))
		}
		for _, v := range q[k] {
			if problem := paramValueProblem(p, v); problem != "" {
				fail("query parameter %s=%q %s", k, v, problem)
			}
		}
	}
	for name, p := range m.Parameters {
		if p.Location == "query" && p.Required && !q.Has(name) {
			fail("required query parameter %s is missing", name)
		}
	}
	for _, name := range docsRequiredQuery[opID] {
		if !q.Has(name) {
			fail("query parameter %s is missing, which the method's documentation requires", name)
		}
	}
	// Body: the request schema's, or none.
	switch {
	case m.Request == nil && len(r.body) > 0:
		fail("the method takes no body, got %s", r.body)
	case m.Request != nil:
		var body any
		if err := json.Unmarshal(r.body, &body); err != nil {
			fail("body is not JSON: %v", err)
			break
		}
		for _, p := range d.valueProblems(discoverySchema{Ref: m.Request.Ref}, body, "body", opID, true) {
			fail("%s", p)
		}
	}
	// Answer: the response schema's on success, Google's error model else.
	var ans any
	if len(answer) > 0 {
		if err := json.Unmarshal(answer, &ans); err != nil {
			fail("answer is not JSON: %v", err)
			return errs
		}
	}
	switch {
	case status >= 400:
		for _, p := range googleErrorProblems(ans) {
			fail("error answer: %s", p)
		}
	case m.Response != nil:
		for _, p := range d.valueProblems(discoverySchema{Ref: m.Response.Ref}, ans, "answer", opID, false) {
			fail("%s", p)
		}
	case len(answer) > 0:
		fail("the method answers no body, got %s", answer)
	}
	return errs
}

// matchTemplate matches an escaped path to an RFC 6570 path template:
// {name} is one segment (simple expansion: no "/"), {+name} reserved
// expansion (may hold "/"). It returns the unescaped values.
func matchTemplate(tmpl, path string) (map[string]string, bool) {
	var names []string
	var re strings.Builder
	re.WriteString("^")
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			re.WriteString(regexp.QuoteMeta(rest))
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		re.WriteString(regexp.QuoteMeta(rest[:i]))
		name := rest[i+1 : i+j]
		if strings.HasPrefix(name, "+") {
			re.WriteString("(.+)")
			name = name[1:]
		} else {
			re.WriteString("([^/]+)")
		}
		names = append(names, name)
		rest = rest[i+j+1:]
	}
	re.WriteString("$")
	sub := regexp.MustCompile(re.String()).FindStringSubmatch(path)
	if sub == nil {
		return nil, false
	}
	out := map[string]string{}
	for i, n := range names {
		v, err := url.PathUnescape(sub[i+1])
		if err != nil {
			return nil, false
		}
		out[n] = v
	}
	return out, true
}

// paramValueProblem says what is wrong with v as a value of p, or "".
func paramValueProblem(p discoveryParam, v string) string {
	switch p.Type {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "is not an integer"
		}
		if strings.HasPrefix(p.Format, "uint") && n < 0 {
			return "is negative"
		}
	case "boolean":
		if v != "true" && v != "false" {
			return "is not a boolean"
		}
	}
	if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
		return fmt.Sprintf("is not one of %v", p.Enum)
	}
	return ""
}

// valueProblems holds v to schema s at path: its type, enum, declared
// properties (an undeclared one fails) and, in a request, the properties
// the method requires (annotations.required) and no read-only ones.
func (d *discoveryDoc) valueProblems(s discoverySchema, v any, path, methodID string, request bool) []string {
	if s.Ref != "" {
		ref, ok := d.Schemas[s.Ref]
		if !ok {
			return []string{fmt.Sprintf("%s: schema %s is not in the document", path, s.Ref)}
		}
		s = ref
	}
	var out []string
	bad := func(want string) []string { return []string{fmt.Sprintf("%s is %s, want %s", path, typeName(v), want)} }
	switch s.Type {
	case "any", "":
		return nil
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		switch s.Format {
		case "int64", "uint64":
			if _, err := strconv.ParseInt(str, 10, 64); err != nil {
				return []string{fmt.Sprintf("%s = %q is not a %s", path, str, s.Format)}
			}
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			return []string{fmt.Sprintf("%s = %q is not one of %v", path, str, s.Enum)}
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return bad("an integer")
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return bad("a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		if s.Items != nil {
			for i, e := range list {
				out = append(out, d.valueProblems(*s.Items, e, fmt.Sprintf("%s[%d]", path, i), methodID, request)...)
			}
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ps, declared := s.Properties[k]
			if !declared {
				if s.AdditionalProperties == nil {
					out = append(out, fmt.Sprintf("%s.%s is not a property of the schema", path, k))
					continue
				}
				ps = *s.AdditionalProperties
			}
			if request && ps.ReadOnly {
				out = append(out, fmt.Sprintf("%s.%s is read-only", path, k))
			}
			out = append(out, d.valueProblems(ps, obj[k], path+"."+k, methodID, request)...)
		}
		if request {
			for k, ps := range s.Properties {
				if _, set := obj[k]; !set && slices.Contains(ps.Annotations.Required, methodID) {
					out = append(out, fmt.Sprintf("%s.%s is required by %s", path, k, methodID))
				}
			}
		}
	}
	return out
}

// googleErrorProblems holds an error answer to Google's error model
// (https://cloud.google.com/apis/design/errors, the JSON form Sheets and
// Gmail answer with): {"error":{"code","message","status","errors",
// "details"}}, which the discovery documents do not describe.
func googleErrorProblems(v any) []string {
	env, _ := v.(map[string]any)
	e, ok := env["error"].(map[string]any)
	if !ok || len(env) != 1 {
		return []string{"not {\"error\":{...}}"}
	}
	var out []string
	if _, ok := e["code"].(float64); !ok {
		out = append(out, "error.code is not a number")
	}
	if _, ok := e["message"].(string); !ok {
		out = append(out, "error.message is not a string")
	}
	for k, x := range e {
		switch k {
		case "code", "message":
		case "status":
			if _, ok := x.(string); !ok {
				out = append(out, "error.status is not a string")
			}
		case "errors", "details":
			if _, ok := x.([]any); !ok {
				out = append(out, "error."+k+" is not an array")
			}
		default:
			out = append(out, "error."+k+" is not part of Google's error model")
		}
	}
	return out
}
