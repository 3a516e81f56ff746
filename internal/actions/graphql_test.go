package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/automators/connectors/internal/tstest/reftest"
)

// The Shopify Admin GraphQL schema of 2026-04, as Shopify publishes it for
// its own validator (provider-specs/shopify-admin-graphql-2026-04.json, an
// introspection result reduced to the types the actions reach), built
// once per test binary into a gqlparser schema: the actions' documents
// are validated by gqlparser's validator (the graphql-js rules), their
// variables by checkVariables below, their answers by checkAnswer.

// introspection is the part of an introspection result the schema is
// built from, with Shopify's offline_scopes listing.
type introspection struct {
	Data struct {
		Schema struct {
			QueryType        *introName       `json:"queryType"`
			MutationType     *introName       `json:"mutationType"`
			SubscriptionType *introName       `json:"subscriptionType"`
			Types            []introType      `json:"types"`
			Directives       []introDirective `json:"directives"`
		} `json:"__schema"`
	} `json:"data"`
	OfflineScopes struct {
		Items []struct {
			Type          string   `json:"type"` // "type" or "field"
			TypeName      string   `json:"typeName"`
			FieldName     string   `json:"fieldName"`
			OfflineScopes []string `json:"offlineScopes"`
		} `json:"items"`
	} `json:"offline_scopes"`
}

type introName struct {
	Name string `json:"name"`
}

type introType struct {
	Kind          string       `json:"kind"`
	Name          string       `json:"name"`
	Fields        []introField `json:"fields"`
	InputFields   []introInput `json:"inputFields"`
	Interfaces    []introName  `json:"interfaces"`
	PossibleTypes []introName  `json:"possibleTypes"`
	EnumValues    []introName  `json:"enumValues"`
	IsOneOf       bool         `json:"isOneOf"`
}

type introField struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Args        []introInput `json:"args"`
	Type        introRef     `json:"type"`
	IsProtected bool         `json:"isProtected"`
}

type introInput struct {
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Type         introRef `json:"type"`
	DefaultValue *string  `json:"defaultValue"`
}

type introDirective struct {
	Name         string       `json:"name"`
	Args         []introInput `json:"args"`
	Locations    []string     `json:"locations"`
	IsRepeatable bool         `json:"isRepeatable"`
}

type introRef struct {
	Kind   string    `json:"kind"`
	Name   string    `json:"name"`
	OfType *introRef `json:"ofType"`
}

// sdl writes a type reference: [Product!]!.
func (r introRef) sdl() string {
	switch r.Kind {
	case "NON_NULL":
		return r.OfType.sdl() + "!"
	case "LIST":
		return "[" + r.OfType.sdl() + "]"
	}
	return r.Name
}

// introspectionSDL writes an introspection result as SDL, without the
// definitions gqlparser's prelude declares (built-in scalars, directives
// and introspection types), and with extra root fields added (the
// excerpt keeps only the actions' root fields).
func introspectionSDL(in *introspection, extra map[string][]string) (string, error) {
	prelude := map[string]bool{}
	pd := validator.PreludeDocument()
	for _, d := range pd.Definitions {
		prelude[d.Name] = true
	}
	for _, d := range pd.Directives {
		prelude["@"+d.Name] = true
	}
	var b strings.Builder
	s := in.Data.Schema
	if s.QueryType == nil {
		return "", fmt.Errorf("no query type")
	}
	b.WriteString("schema {\n  query: " + s.QueryType.Name + "\n")
	if s.MutationType != nil {
		b.WriteString("  mutation: " + s.MutationType.Name + "\n")
	}
	if s.SubscriptionType != nil {
		b.WriteString("  subscription: " + s.SubscriptionType.Name + "\n")
	}
	b.WriteString("}\n")
	args := func(as []introInput) string {
		if len(as) == 0 {
			return ""
		}
		parts := make([]string, len(as))
		for i, a := range as {
			parts[i] = a.Name + ": " + a.Type.sdl()
			if a.DefaultValue != nil {
				parts[i] += " = " + *a.DefaultValue
			}
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	for _, d := range s.Directives {
		if prelude["@"+d.Name] {
			continue
		}
		rep := ""
		if d.IsRepeatable {
			rep = " repeatable"
		}
		fmt.Fprintf(&b, "directive @%s%s%s on %s\n", d.Name, args(d.Args), rep, strings.Join(d.Locations, " | "))
	}
	names := func(ns []introName) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.Name
		}
		return out
	}
	for _, t := range s.Types {
		if prelude[t.Name] || strings.HasPrefix(t.Name, "__") {
			continue
		}
		switch t.Kind {
		case "SCALAR":
			fmt.Fprintf(&b, "scalar %s\n", t.Name)
		case "ENUM":
			fmt.Fprintf(&b, "enum %s {\n  %s\n}\n", t.Name, strings.Join(names(t.EnumValues), "\n  "))
		case "UNION":
			fmt.Fprintf(&b, "union %s = %s\n", t.Name, strings.Join(names(t.PossibleTypes), " | "))
		case "INPUT_OBJECT":
			oneOf := ""
			if t.IsOneOf {
				oneOf = " @oneOf"
			}
			fmt.Fprintf(&b, "input %s%s {\n", t.Name, oneOf)
			for _, f := range t.InputFields {
				fmt.Fprintf(&b, "  %s: %s", f.Name, f.Type.sdl())
				if f.DefaultValue != nil {
					fmt.Fprintf(&b, " = %s", *f.DefaultValue)
				}
				b.WriteString("\n")
			}
			b.WriteString("}\n")
		case "OBJECT", "INTERFACE":
			kw := map[string]string{"OBJECT": "type", "INTERFACE": "interface"}[t.Kind]
			fmt.Fprintf(&b, "%s %s", kw, t.Name)
			if len(t.Interfaces) > 0 {
				fmt.Fprintf(&b, " implements %s", strings.Join(names(t.Interfaces), " & "))
			}
			b.WriteString(" {\n")
			for _, f := range t.Fields {
				fmt.Fprintf(&b, "  %s%s: %s\n", f.Name, args(f.Args), f.Type.sdl())
			}
			for _, f := range extra[t.Name] {
				fmt.Fprintf(&b, "  %s\n", f)
			}
			b.WriteString("}\n")
		default:
			return "", fmt.Errorf("type %s: unknown kind %s", t.Name, t.Kind)
		}
	}
	return b.String(), nil
}

// adminSchema is the loaded schema with what validation needs beside it.
type adminSchema struct {
	schema *ast.Schema
	// fields holds each field's and input field's published description
	// and protection, by "Type.field".
	fields map[string]introField
	// scopes are the offline access scopes a type or a field needs, any
	// one of them, by "Type" or "Type.field" (Shopify's offline_scopes).
	scopes map[string][]string
	err    error
}

var (
	adminOnce   sync.Once
	adminLoaded adminSchema
)

// shopifyAdmin is the Admin GraphQL schema of 2026-04, loaded once. Its
// QueryRoot also has shop: Shop!, the verify query's root field, which
// the excerpt cut (publishedShopField: as published).
func shopifyAdmin(t testing.TB) *adminSchema {
	t.Helper()
	path := reftest.Path(t, "provider-specs/shopify-admin-graphql-2026-04.json", "")
	adminOnce.Do(func() {
		var in introspection
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &in)
		}
		if err != nil {
			adminLoaded.err = err
			return
		}
		a := &adminLoaded
		a.fields, a.scopes = map[string]introField{}, map[string][]string{}
		hasShop := false
		for _, ty := range in.Data.Schema.Types {
			for _, f := range ty.Fields {
				a.fields[ty.Name+"."+f.Name] = f
				hasShop = hasShop || ty.Name == in.Data.Schema.QueryType.Name && f.Name == "shop"
			}
			for _, f := range ty.InputFields {
				a.fields[ty.Name+"."+f.Name] = introField{Name: f.Name, Description: f.Description}
			}
		}
		for _, it := range in.OfflineScopes.Items {
			key := it.TypeName
			if it.Type == "field" {
				key += "." + it.FieldName
			}
			a.scopes[key] = it.OfflineScopes
		}
		extra := map[string][]string{}
		if !hasShop {
			extra[in.Data.Schema.QueryType.Name] = []string{publishedShopField.Name + ": " + publishedShopField.Type.OfType.Name + "!"}
		}
		sdl, err := introspectionSDL(&in, extra)
		if err != nil {
			a.err = err
			return
		}
		s, err := gqlparser.LoadSchema(&ast.Source{Name: "shopify-admin-2026-04.graphql", Input: sdl})
		if err != nil {
			a.err = fmt.Errorf("gqlparser refuses the schema: %w", err)
			return
		}
		a.schema = s
	})
	if adminLoaded.err != nil {
		t.Fatalf("Shopify Admin schema: %v", adminLoaded.err)
	}
	return &adminLoaded
}

// operation parses and validates query against the schema and returns
// its one operation.
func (a *adminSchema) operation(query string) (*ast.OperationDefinition, error) {
	doc, perr := parser.ParseQuery(&ast.Source{Input: query})
	if perr != nil {
		return nil, perr
	}
	if errs := validator.Validate(a.schema, doc); len(errs) > 0 {
		return nil, errs
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("%d operations, want 1", len(doc.Operations))
	}
	return doc.Operations[0], nil
}

// mandatory marks an input field Shopify requires to be present even
// though its type is nullable ("you must explicitly pass in a value,
// even if that value is null": InventoryChangeInput.changeFromQuantity).
var mandatory = regexp.MustCompile(`This field is mandatory`)

// checkVariables holds the variables an operation is sent with to its
// variable definitions, deeper than gqlparser's coercion (which compares
// enum values without case and takes a number for a String): every
// defined variable that is non-null is given, nothing undefined is; each
// value is of its type: input objects with no unknown field and every
// required (or mandatory) field, enum values exactly, Int as a 32-bit
// integer, String, ID and Shopify's custom scalars (Decimal, DateTime,
// URL, UnsignedInt64...) as JSON strings.
func (a *adminSchema) checkVariables(op *ast.OperationDefinition, vars map[string]any) []string {
	var errs []string
	for name := range vars {
		if op.VariableDefinitions.ForName(name) == nil {
			errs = append(errs, fmt.Sprintf("$%s is not a variable of the operation", name))
		}
	}
	for _, vd := range op.VariableDefinitions {
		v, ok := vars[vd.Variable]
		if !ok {
			if vd.Type.NonNull && vd.DefaultValue == nil {
				errs = append(errs, fmt.Sprintf("$%s (%s) is required and not given", vd.Variable, vd.Type))
			}
			continue
		}
		errs = append(errs, a.checkValue(vd.Type, v, "$"+vd.Variable)...)
	}
	return errs
}

func (a *adminSchema) checkValue(typ *ast.Type, v any, path string) []string {
	if v == nil {
		if typ.NonNull {
			return []string{path + ": null for " + typ.String()}
		}
		return nil
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T for the list %s", path, v, typ)}
		}
		var errs []string
		for i, e := range list {
			errs = append(errs, a.checkValue(typ.Elem, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	def := a.schema.Types[typ.NamedType]
	if def == nil {
		return []string{path + ": unknown type " + typ.NamedType}
	}
	switch def.Kind {
	case ast.Enum:
		s, _ := v.(string)
		if def.EnumValues.ForName(s) == nil {
			return []string{fmt.Sprintf("%s: %v is not a value of %s", path, v, def.Name)}
		}
	case ast.Scalar:
		switch def.Name {
		case "Int":
			f, ok := v.(float64)
			if !ok || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
				return []string{fmt.Sprintf("%s: %v is not an Int", path, v)}
			}
		case "Float":
			if _, ok := v.(float64); !ok {
				return []string{fmt.Sprintf("%s: %v is not a Float", path, v)}
			}
		case "Boolean":
			if _, ok := v.(bool); !ok {
				return []string{fmt.Sprintf("%s: %v is not a Boolean", path, v)}
			}
		case "JSON":
		default:
			if _, ok := v.(string); !ok {
				return []string{fmt.Sprintf("%s: %T for %s, which is sent as a string", path, v, def.Name)}
			}
		}
	case ast.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T for the input object %s", path, v, def.Name)}
		}
		var errs []string
		for _, k := range sortedKeys(m) {
			if def.Fields.ForName(k) == nil {
				errs = append(errs, fmt.Sprintf("%s.%s: %s has no such field", path, k, def.Name))
			}
		}
		set := 0
		for _, f := range def.Fields {
			fv, present := m[f.Name]
			if !present {
				if f.Type.NonNull && f.DefaultValue == nil {
					errs = append(errs, fmt.Sprintf("%s.%s (%s) is required and not given", path, f.Name, f.Type))
				}
				if mandatory.MatchString(a.fields[def.Name+"."+f.Name].Description) {
					errs = append(errs, fmt.Sprintf("%s.%s must be given, even as null (Shopify: %q)", path, f.Name, mandatory.String()))
				}
				continue
			}
			if fv != nil {
				set++
			}
			errs = append(errs, a.checkValue(f.Type, fv, path+"."+f.Name)...)
		}
		if def.Directives.ForName("oneOf") != nil && set != 1 {
			errs = append(errs, fmt.Sprintf("%s: the @oneOf input %s takes exactly one field, got %d", path, def.Name, set))
		}
		return errs
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkAnswer holds a canned answer's data to the operation's selection:
// each key is a field the operation selects (so exists in the schema's
// output type), each selected field is answered, null only where the
// field's type allows it, and each leaf holds its scalar's or enum's JSON
// form.
func (a *adminSchema) checkAnswer(sel ast.SelectionSet, v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %T, want an object", path, v)}
	}
	var errs []string
	fields := map[string]*ast.Field{}
	for _, s := range sel {
		f, ok := s.(*ast.Field)
		if !ok {
			errs = append(errs, path+": fragments are not checked")
			continue
		}
		fields[f.Alias] = f
		if _, answered := m[f.Alias]; !answered {
			errs = append(errs, fmt.Sprintf("%s.%s is selected and not answered", path, f.Alias))
		}
	}
	for _, k := range sortedKeys(m) {
		f, ok := fields[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s.%s is not a field the operation selects", path, k))
			continue
		}
		errs = append(errs, a.checkOutput(f, f.Definition.Type, m[k], path+"."+k)...)
	}
	return errs
}

func (a *adminSchema) checkOutput(f *ast.Field, typ *ast.Type, v any, path string) []string {
	if v == nil {
		if typ.NonNull {
			return []string{fmt.Sprintf("%s: null for %s", path, typ)}
		}
		return nil
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T for the list %s", path, v, typ)}
		}
		var errs []string
		for i, e := range list {
			errs = append(errs, a.checkOutput(f, typ.Elem, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	def := a.schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.Object, ast.Interface, ast.Union:
		return a.checkAnswer(f.SelectionSet, v, path)
	case ast.Enum:
		if s, _ := v.(string); def.EnumValues.ForName(s) == nil {
			return []string{fmt.Sprintf("%s: %v is not a value of %s", path, v, def.Name)}
		}
	case ast.Scalar:
		var ok bool
		switch def.Name {
		case "Int":
			n, isNum := v.(json.Number)
			_, err := n.Int64()
			ok = isNum && err == nil
		case "Float":
			_, ok = v.(json.Number)
		case "Boolean":
			_, ok = v.(bool)
		case "JSON":
			ok = true
		default: // String, ID and the custom scalars, serialized as strings
			_, ok = v.(string)
		}
		if !ok {
			return []string{fmt.Sprintf("%s: %v (%T) is not a %s", path, v, v, def.Name)}
		}
	}
	return nil
}

// graphqlRequest is the body of a GraphQL request.
type graphqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

// checkShopifyGraphQL holds a request to the Admin GraphQL endpoint, and
// the answer the test gave it, to the published schema: the endpoint and
// header of the file's x-source; a body of query and variables only; a
// document that validates, with one operation selecting root field
// (opID); variables of the operation's types; @idempotent where the root
// field documents it as required, and only on a field that documents
// idempotency; and an answer (data, when the test gives some) of the
// selection's shape.
func checkShopifyGraphQL(t *testing.T, rootField string, r sentRequest, status int, answer []byte) {
	t.Helper()
	a := shopifyAdmin(t)
	if r.method != http.MethodPost || !strings.HasSuffix(r.url.EscapedPath(), "/admin/api/2026-04/graphql.json") {
		t.Errorf("%s %s, want POST /admin/api/2026-04/graphql.json", r.method, r.url.EscapedPath())
	}
	if r.header.Get("X-Shopify-Access-Token") == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v: want X-Shopify-Access-Token and a JSON body", r.header)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &keys); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	for k := range keys {
		if k != "query" && k != "variables" {
			t.Errorf("body has %q: a GraphQL request is query and variables", k)
		}
	}
	var req graphqlRequest
	if err := json.Unmarshal(r.body, &req); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	op, err := a.operation(req.Query)
	if err != nil {
		t.Fatalf("the document does not validate against the 2026-04 schema: %v\n%s", err, req.Query)
	}
	if len(op.SelectionSet) != 1 {
		t.Fatalf("%d root selections, want one (%s)", len(op.SelectionSet), rootField)
	}
	root, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || root.Name != rootField || root.Alias != rootField {
		t.Fatalf("root selection %v, want the field %s unaliased", op.SelectionSet[0], rootField)
	}
	for _, e := range a.checkVariables(op, req.Variables) {
		t.Errorf("variables: %s", e)
	}
	if _, err := validator.VariableValues(a.schema, op, req.Variables); err != nil {
		t.Errorf("variables: gqlparser: %v", err)
	}
	rootType := a.schema.Query.Name
	if op.Operation == ast.Mutation {
		rootType = a.schema.Mutation.Name
	}
	desc := a.fields[rootType+"."+rootField].Description
	idem := root.Directives.ForName("idempotent")
	switch {
	case strings.Contains(desc, "idempotency key is required") && idem == nil:
		t.Errorf("%s requires @idempotent in 2026-04; the document has none", rootField)
	case idem != nil && !strings.Contains(desc, "@idempotent"):
		t.Errorf("@idempotent on %s, which does not document idempotency support", rootField)
	}
	if status < 200 || status >= 300 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	var ans struct {
		Data map[string]any `json:"data"`
	}
	if err := dec.Decode(&ans); err != nil {
		t.Fatalf("answer %s: %v", answer, err)
	}
	if ans.Data == nil {
		return // an errors-only answer
	}
	for _, e := range a.checkAnswer(op.SelectionSet, ans.Data, "data") {
		t.Errorf("answer: %s", e)
	}
}

// selectedTypes walks a selection, calling visit with each field and the
// name of the type it is selected on.
func selectedTypes(sel ast.SelectionSet, visit func(parent string, f *ast.Field)) {
	for _, s := range sel {
		if f, ok := s.(*ast.Field); ok {
			visit(f.ObjectDefinition.Name, f)
			selectedTypes(f.SelectionSet, visit)
		}
	}
}

// needs lists what reading a selection needs, as Shopify's offline_scopes
// say: for each field, its own scopes and those of the type it returns,
// each met by any one of its alternatives.
func (a *adminSchema) needs(op *ast.OperationDefinition) (needs map[string][]string, protected []string) {
	needs = map[string][]string{}
	selectedTypes(op.SelectionSet, func(parent string, f *ast.Field) {
		key := parent + "." + f.Name
		if s := a.scopes[key]; len(s) > 0 {
			needs[key] = s
		}
		if s := a.scopes[f.Definition.Type.Name()]; len(s) > 0 {
			needs[f.Definition.Type.Name()] = s
		}
		if a.fields[key].IsProtected {
			protected = append(protected, key)
		}
	})
	return needs, protected
}

// granted reports whether scopes meet one of alternatives: Shopify's
// write_x includes read_x.
func granted(scopes, alternatives []string) bool {
	for _, alt := range alternatives {
		for _, s := range scopes {
			for _, e := range strings.Split(s, "|") {
				if e == alt || strings.HasPrefix(alt, "read_") && e == "write_"+strings.TrimPrefix(alt, "read_") {
					return true
				}
			}
		}
	}
	return false
}

func init() {
	specCheckers[shopifySchema] = checkShopifyGraphQL
}

// TestShopifySchemaLoads: the converted schema is the published one, as
// far as the checks go, and the validator refuses what it does not have.
func TestShopifySchemaLoads(t *testing.T) {
	a := shopifyAdmin(t)
	if a.schema.Query == nil || a.schema.Mutation == nil || a.schema.Types["InventoryChangeInput"] == nil {
		t.Fatal("query, mutation or input types missing")
	}
	if d := a.schema.Directives["idempotent"]; d == nil || d.Arguments.ForName("key") == nil || !d.Arguments.ForName("key").Type.NonNull {
		t.Fatalf("@idempotent(key: String!) missing: %v", d)
	}
	for _, bad := range []string{
		`{ products(first: 1) { nodes { titel } } }`,                       // unknown field
		`{ products(first: 1) { nodes } }`,                                 // object without selection
		`query($id: ID!) { order(id: $id) { id } product(id: $x) { id } }`, // undefined variable
		`{ order { id } }`, // missing required argument
		`mutation { customerCreate(input: {email: 1}) @idempotent { customer { id } } }`,
		`{ shop { name { x } } }`,
	} {
		if _, err := a.operation(bad); err == nil {
			t.Errorf("%s validated", bad)
		}
	}
	// The verify query, against the schema with QueryRoot.shop as published.
	if _, err := a.operation(shopQuery); err != nil {
		t.Errorf("%s: %v", shopQuery, err)
	}
	// The variables checker refuses what Shopify would.
	op, err := a.operation(shopifyAdjustInventory)
	if err != nil {
		t.Fatal(err)
	}
	change := func(m map[string]any) map[string]any {
		c := map[string]any{"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1", "delta": 1.0, "changeFromQuantity": nil}
		for k, v := range m {
			if v == "-" {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	vars := func(c map[string]any) map[string]any {
		return map[string]any{"idempotencyKey": "k", "input": map[string]any{"reason": "correction", "name": "available", "changes": []any{c}}}
	}
	if errs := a.checkVariables(op, vars(change(nil))); len(errs) > 0 {
		t.Errorf("valid variables refused: %v", errs)
	}
	for name, v := range map[string]map[string]any{
		"no changeFromQuantity": vars(change(map[string]any{"changeFromQuantity": "-"})),
		"delta not an Int":      vars(change(map[string]any{"delta": 1.5})),
		"unknown field":         vars(change(map[string]any{"quantity": 1.0})),
		"missing locationId":    vars(change(map[string]any{"locationId": "-"})),
		"no idempotency key":    {"input": vars(change(nil))["input"]},
		"undefined variable":    {"idempotencyKey": "k", "input": vars(change(nil))["input"], "x": 1.0},
	} {
		if errs := a.checkVariables(op, v); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	op, err = a.operation(shopifyCreateOrder)
	if err != nil {
		t.Fatal(err)
	}
	if errs := a.checkVariables(op, map[string]any{"order": map[string]any{"financialStatus": "pending"}}); len(errs) == 0 {
		t.Error("a lower-case enum value accepted")
	}
	if !slices.Equal(a.scopes["Mutation.orderCreate"], []string{"write_orders"}) {
		t.Errorf("offline scopes of orderCreate: %v", a.scopes["Mutation.orderCreate"])
	}
}
