package actions

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/automators/connectors/internal/tstest/openapicheck"
	"github.com/automators/connectors/internal/tstest/reftest"
)

// A checker that holds a request and its answer to an OpenAPI 3.x
// excerpt in provider-specs with kin-openapi: the operation is found by
// routing the request (method and path), the request is validated
// (parameters, body, security) with openapi3filter.ValidateRequest and
// the answer with ValidateResponse. It serves any OpenAPI 3.0 file of
// provider-specs; it is registered for the files of the connectors whose
// tests use it (init below).

func init() {
	for f := range kinCheckedFiles {
		specCheckers[f] = kinChecker(f)
	}
}

// kinDoc is a loaded, routed document.
type kinDoc struct {
	*openapicheck.Doc
	// serverPath is the first server's path, which the sent paths hold
	// (Asana's /api/1.0) and the router adds again.
	serverPath string
	// aliases maps a path the provider also serves to the document's
	// (x-path-aliases: hubspot-deals.json names /crm/v3/objects/deals as
	// /crm/v3/objects/0-3).
	aliases map[string]string
}

var (
	kinMu    sync.Mutex
	kinCache = map[string]*kinDoc{}
)

// kinPatches correct what a description requires and the provider's own
// guide says is optional, by file, before the document is routed. Each
// names the docs-rules.json quote it follows.
var kinPatches = map[string]func(*openapi3.T){
	// hubspot.create_optional_associations: "You can also add an
	// associations object" (the description requires associations).
	// hubspot.search_empty_body: a search may send "only an empty object"
	// (the description requires after, filterGroups, limit, properties,
	// sorts).
	"hubspot.json": func(d *openapi3.T) {
		dropRequired(d, "/crm/v3/objects/contacts", http.MethodPost, "associations")
		dropRequired(d, "/crm/v3/objects/contacts/search", http.MethodPost, "after", "filterGroups", "limit", "properties", "sorts")
	},
	"stripe.json": undecodableForms,
	// The deals object API is the same as the contacts' (docs-rules
	// hubspot.deals_object_type_id: "The object APIs have the same basic
	// functionality for all supported objects").
	"hubspot-deals.json": func(d *openapi3.T) {
		dropRequired(d, "/crm/v3/objects/0-3", http.MethodPost, "associations")
	},
}

// undecodableForms removes from d what kin-openapi cannot decode, so
// that the rest of each operation is still validated: form body
// properties that are arrays of objects (Stripe's tax_id_data[0][type]=…;
// UrlencodedBodyDecoder refuses the whole body for one such property),
// and deepObject query parameters that are arrays (Stripe's
// expand[]=…; kin-openapi reads deepObject for objects only), whose style
// becomes form. The actions send neither; formKeyProblems reports a key
// of a removed property, and a query key of such a parameter would be
// checked as a form array.
func undecodableForms(d *openapi3.T) {
	for _, item := range d.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.Style == openapi3.SerializationDeepObject && p.Value.Schema != nil && p.Value.Schema.Value.Type.Is("array") {
					p.Value.Style = openapi3.SerializationForm
				}
			}
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				continue
			}
			var removed []any
			for name, ps := range mt.Schema.Value.Properties {
				if ps.Value != nil && ps.Value.Type.Is("array") && ps.Value.Items != nil && ps.Value.Items.Value != nil && ps.Value.Items.Value.Type.Is("object") {
					delete(mt.Schema.Value.Properties, name)
					removed = append(removed, name)
				}
			}
			if len(removed) > 0 {
				if mt.Schema.Value.Extensions == nil {
					mt.Schema.Value.Extensions = map[string]any{}
				}
				mt.Schema.Value.Extensions[xUndecodable] = removed
			}
		}
	}
}

// xUndecodable lists, on a form body schema, the properties
// undecodableForms removed.
const xUndecodable = "x-undecodable"

// dropRequired removes names from the required list of an operation's
// JSON request body.
func dropRequired(d *openapi3.T, path, method string, names ...string) {
	op := d.Paths.Find(path).GetOperation(method)
	sch := op.RequestBody.Value.Content.Get("application/json").Schema.Value
	sch.Required = slices.DeleteFunc(sch.Required, func(r string) bool { return slices.Contains(names, r) })
}

// loadKinDoc reads provider-specs/file once per test binary. The
// excerpts' {"x-pruned-ref": ...} placeholders load as schemas with
// nothing but an extension: any value, as SOURCES.md reads them. Examples,
// defaults and formats of the documents themselves are not validated (the
// excerpts drop examples, and Stripe's formats such as unix-time are its
// own); the values sent are.
func loadKinDoc(t testing.TB, file string) *kinDoc {
	t.Helper()
	kinMu.Lock()
	defer kinMu.Unlock()
	if d, ok := kinCache[file]; ok {
		return d
	}
	d, err := newKinDoc(reftest.Path(t, "provider-specs/"+file, ""), kinPatches[file])
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	kinCache[file] = d
	return d
}

func newKinDoc(path string, patch func(*openapi3.T)) (*kinDoc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("loading: %w", err)
	}
	if err := doc.Validate(context.Background(),
		openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaDefaultsValidation(),
		openapi3.DisableSchemaFormatValidation(),
	); err != nil {
		return nil, fmt.Errorf("validating the document: %w", err)
	}
	if patch != nil {
		patch(doc)
	}
	od, err := openapicheck.New(doc, kinAuth)
	if err != nil {
		return nil, err
	}
	d := &kinDoc{Doc: od, aliases: map[string]string{}}
	if u, err := url.Parse(doc.Servers[0].URL); err == nil {
		d.serverPath = strings.TrimRight(u.Path, "/")
	}
	if m, ok := doc.Extensions["x-path-aliases"].(map[string]any); ok {
		for from, to := range m {
			if s, ok := to.(string); ok {
				d.aliases[from] = s
			}
		}
	}
	return d, nil
}

// exchange is r and its answer as openapicheck validates them, routed on
// the path r's is an alias of, without the server's own path.
func (d *kinDoc) exchange(r sentRequest, status int, answer []byte) (*openapicheck.Exchange, openapicheck.Options, error) {
	hr, err := http.NewRequest(r.method, r.url.String(), nil)
	if err != nil {
		return nil, openapicheck.Options{}, err
	}
	hr.Header = r.header.Clone()
	path := r.url.EscapedPath()
	for from, to := range d.aliases {
		if path == from || strings.HasPrefix(path, from+"/") {
			path = to + strings.TrimPrefix(path, from)
		}
	}
	x := &openapicheck.Exchange{
		Request: hr, RequestBody: r.body, Status: status,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: answer,
	}
	return x, openapicheck.Options{RoutePath: strings.TrimPrefix(path, d.serverPath)}, nil
}

// kinAuth checks that a request meets a security scheme as the document
// describes it: the header (or query parameter) it names is present, with
// the scheme's prefix for http and OAuth schemes. Scopes are the
// connection's grant, not the request's, and are checked against each
// action's declared scopes instead (TestScopesCoverDescriptions).
func kinAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s, r := in.SecurityScheme, in.RequestValidationInput.Request
	auth := r.Header.Get("Authorization")
	switch s.Type {
	case "http":
		prefix := map[string]string{"bearer": "Bearer ", "basic": "Basic "}[strings.ToLower(s.Scheme)]
		if prefix == "" || !strings.HasPrefix(auth, prefix) || len(auth) == len(prefix) {
			return fmt.Errorf("scheme %s: no Authorization: %s credential", in.SecuritySchemeName, strings.TrimSpace(prefix))
		}
	case "oauth2", "openIdConnect":
		if !strings.HasPrefix(auth, "Bearer ") || len(auth) == len("Bearer ") {
			return fmt.Errorf("scheme %s: no Authorization: Bearer token", in.SecuritySchemeName)
		}
	case "apiKey":
		var v string
		switch s.In {
		case "header":
			v = r.Header.Get(s.Name)
		case "query":
			v = r.URL.Query().Get(s.Name)
		case "cookie":
			if c, err := r.Cookie(s.Name); err == nil {
				v = c.Value
			}
		}
		if v == "" {
			return fmt.Errorf("scheme %s: no %s %q", in.SecuritySchemeName, s.In, s.Name)
		}
	default:
		return fmt.Errorf("scheme %s: unknown type %q", in.SecuritySchemeName, s.Type)
	}
	return nil
}

// kinChecker is the specCheckers entry of an OpenAPI file.
func kinChecker(file string) func(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
	return func(t *testing.T, opID string, r sentRequest, status int, answer []byte) {
		t.Helper()
		for _, p := range kinProblems(loadKinDoc(t, file), opID, r, status, answer) {
			t.Errorf("%s %s: %s", file, opID, p)
		}
	}
}

// kinProblems are the ways r and its answer differ from operation opID
// of d.
func kinProblems(d *kinDoc, opID string, r sentRequest, status int, answer []byte) []string {
	x, o, err := d.exchange(r, status, answer)
	if err != nil {
		return []string{err.Error()}
	}
	op, err := d.Operation(x, o)
	if err != nil {
		return []string{fmt.Sprintf("%s %s is no operation of the document: %v", r.method, r.url.Path, err)}
	}
	var out []string
	if op.OperationID != opID {
		out = append(out, fmt.Sprintf("%s %s is operation %s", r.method, r.url.Path, op.OperationID))
	}
	reqErr, respErr := d.Validate(x, o)
	if reqErr != nil {
		out = append(out, fmt.Sprintf("the request does not match the description: %v", reqErr))
	}
	out = append(out, formKeyProblems(op, r)...)
	if respErr != nil {
		out = append(out, fmt.Sprintf("the answer (%d) does not match the description: %v", status, respErr))
	}
	return out
}

// formKeyProblems holds each key of a form body (Stripe's metadata[k]=v)
// to the body schema's properties: kin-openapi decodes a form by reading
// the properties the schema declares (deepObject ones included), so a key
// the schema does not declare is dropped, never refused.
func formKeyProblems(op *openapi3.Operation, r sentRequest) []string {
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-www-form-urlencoded") || len(r.body) == 0 {
		return nil
	}
	var mt *openapi3.MediaType
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		mt = op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
	}
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return []string{"a form body, and the operation declares no form"}
	}
	form, err := url.ParseQuery(string(r.body))
	if err != nil {
		return []string{fmt.Sprintf("form body: %v", err)}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(form)) {
		name, rest, nested := strings.Cut(k, "[")
		if removed, _ := mt.Schema.Value.Extensions[xUndecodable].([]any); slices.Contains(removed, any(name)) {
			out = append(out, fmt.Sprintf("form key %q: kin-openapi cannot decode property %q (an array of objects); check it by hand", k, name))
			continue
		}
		if _, ok := mt.Schema.Value.Properties[name]; !ok {
			out = append(out, fmt.Sprintf("form key %q: %q is not a property of the body", k, name))
			continue
		}
		if nested {
			if enc := mt.Encoding[name]; enc == nil || enc.Style != openapi3.SerializationDeepObject || !deepKey.MatchString("["+rest) {
				out = append(out, fmt.Sprintf("form key %q: %q is not encoded deepObject (name[key]) in the description", k, name))
			} else if depth, most := strings.Count(rest, "["), schemaDepth(mt.Schema.Value.Properties[name], 0); depth+1 > most {
				out = append(out, fmt.Sprintf("form key %q nests %d levels into %q, whose schema has %d", k, depth+1, name, most))
			}
		}
	}
	return out
}

// deepKey is the bracket part of a deepObject key: [a], [a][b], [0][c], [].
var deepKey = regexp.MustCompile(`^(\[[^\[\]]*\])+$`)

// schemaDepth is how many bracket levels a value of s can take in a
// deepObject key: an object or array one more than its deepest member, a
// scalar none; a schema that says nothing (an x-pruned-ref) any number.
func schemaDepth(s *openapi3.SchemaRef, seen int) int {
	const unbounded = 1 << 10
	if s == nil || s.Value == nil || seen > 16 {
		return unbounded
	}
	v := s.Value
	most := 0
	for _, group := range [][]*openapi3.SchemaRef{v.AnyOf, v.OneOf, v.AllOf} {
		for _, b := range group {
			most = max(most, schemaDepth(b, seen+1))
		}
	}
	switch {
	case v.Type.Is("object"):
		inner := 0
		for _, p := range v.Properties {
			inner = max(inner, schemaDepth(p, seen+1))
		}
		if ap := v.AdditionalProperties.Schema; ap != nil {
			inner = max(inner, schemaDepth(ap, seen+1))
		} else if len(v.Properties) == 0 {
			inner = unbounded
		}
		most = max(most, 1+inner)
	case v.Type.Is("array"):
		most = max(most, 1+schemaDepth(v.Items, seen+1))
	case v.Type == nil && len(v.AnyOf)+len(v.OneOf)+len(v.AllOf) == 0:
		return unbounded
	}
	return most
}

// TestKinOpenAPILoadsProviderSpecs loads every OpenAPI 3.x file of
// provider-specs that the checker could serve, and reports those it
// cannot. The three files registered must load; the others are other
// connectors' (asana.json and trello.json load; discord.json, OpenAPI
// 3.1, declares a response's headers as an array, which kin-openapi's
// 3.0 model refuses).
func TestKinOpenAPILoadsProviderSpecs(t *testing.T) {
	for _, tt := range []struct {
		file string
		want bool
	}{
		{"stripe.json", true}, {"hubspot.json", true}, {"hubspot-deals.json", true},
		{"asana.json", true}, {"trello.json", true}, {"discord.json", false},
	} {
		t.Run(tt.file, func(t *testing.T) {
			_, err := newKinDoc(reftest.Path(t, "provider-specs/"+tt.file, ""), kinPatches[tt.file])
			if (err == nil) != tt.want {
				t.Errorf("loads: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestKinCheckerRefuses shows the checker failing what it must fail: an
// operation the request is not, an undeclared form key, a missing
// credential, and an answer without a required field.
func TestKinCheckerRefuses(t *testing.T) {
	form := func(body string) sentRequest {
		return sentRequest{
			method: "POST", url: &url.URL{Path: "/v1/customers"},
			header: http.Header{"Authorization": {"Bearer sk_test"}, "Content-Type": {"application/x-www-form-urlencoded"}},
			body:   []byte(body),
		}
	}
	hubspot := func(body string) sentRequest {
		return sentRequest{
			method: "PATCH", url: &url.URL{Path: "/crm/v3/objects/contacts/512"},
			header: http.Header{"Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}},
			body:   []byte(body),
		}
	}
	noAuth := form("email=a%40b.c")
	noAuth.header.Del("Authorization")
	for _, tt := range []struct {
		name   string
		opID   string
		r      sentRequest
		answer string
	}{
		{"other operation", "GetCustomers", form("email=a%40b.c"), `{"id":"cus_1","object":"customer","created":1,"livemode":false}`},
		{"undeclared key", "PostCustomers", form("emial=a%40b.c"), `{"id":"cus_1","object":"customer","created":1,"livemode":false}`},
		{"no credential", "PostCustomers", noAuth, `{"id":"cus_1","object":"customer","created":1,"livemode":false}`},
		{"answer lacks id", "PostCustomers", form("email=a%40b.c"), `{"object":"customer","created":1,"livemode":false}`},
		{"phone over maxLength", "PostCustomers", form("phone=" + strings.Repeat("1", 21)), `{"id":"cus_1","object":"customer","created":1,"livemode":false}`},
		{"metadata value not a string", "PostCustomers", form("metadata[a][b]=1"), `{"id":"cus_1","object":"customer","created":1,"livemode":false}`},
		{"hubspot property value not a string", "patch-/crm/v3/objects/contacts/{contactId}_update", hubspot(`{"properties":{"n":3}}`), hubspotAnswer},
		{"hubspot properties missing", "patch-/crm/v3/objects/contacts/{contactId}_update", hubspot(`{"associations":[]}`), hubspotAnswer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := "stripe.json"
			if strings.Contains(tt.opID, "crm") {
				file = "hubspot.json"
			}
			if p := kinProblems(loadKinDoc(t, file), tt.opID, tt.r, 200, []byte(tt.answer)); len(p) == 0 {
				t.Error("the checker accepted it")
			} else {
				t.Log(p)
			}
		})
	}
}

// TestScopesCoverDescriptions: each action whose operation is in an
// OpenAPI file this checker serves declares every OAuth scope the
// operation's security requires (an entry "a|b" of the action meets a
// required a or b), so that the manifest requests what the provider asks
// for.
func TestScopesCoverDescriptions(t *testing.T) {
	cat := testCatalogue(t)
	checked := 0
	for _, id := range []string{"salesforce", "hubspot", "stripe"} {
		for _, name := range cat.Actions(id) {
			a, _ := cat.Lookup(id, name)
			file, opID, _ := strings.Cut(a.Operation(), " ")
			if _, served := kinCheckedFiles[file]; !served {
				continue
			}
			op := findKinOperation(loadKinDoc(t, file), opID)
			if op == nil {
				t.Errorf("%s.%s: %s has no operation %s", id, name, file, opID)
				continue
			}
			checked++
			have := map[string]bool{}
			for _, e := range a.Scopes() {
				for _, alt := range strings.Split(e, "|") {
					have[alt] = true
				}
			}
			for _, req := range *op.Security {
				for scheme, scopes := range req {
					for _, s := range scopes {
						if !have[s] {
							t.Errorf("%s.%s: %s %s requires scope %s (%s), which the action does not declare (%v)", id, name, file, opID, s, scheme, a.Scopes())
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no action checked")
	}
}

// kinCheckedFiles are the files init registers the checker for.
var kinCheckedFiles = map[string]struct{}{"stripe.json": {}, "hubspot.json": {}, "hubspot-deals.json": {}, "asana.json": {}}

// findKinOperation is the operation of d with id opID, with the
// document's security when it declares none of its own; nil when none.
func findKinOperation(d *kinDoc, opID string) *openapi3.Operation {
	for _, item := range d.T.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == opID {
				if op.Security == nil {
					sec := d.T.Security
					cp := *op
					cp.Security = &sec
					return &cp
				}
				return op
			}
		}
	}
	return nil
}
