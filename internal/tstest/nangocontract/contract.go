// Package nangotest holds test helpers for the nango client and the fake
// Nango: it checks HTTP exchanges against Nango's published OpenAPI document
// (read at test time, never copied into the repository).
//
// The document is found at <repo root>/../shared/reference/nango-openapi.yaml,
// or at the path in NANGO_OPENAPI. Without it (a fresh clone with no
// ../shared) the test skips with one line naming the file; under CI=true,
// where ../shared is always present, it fails.
package nangotest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/automators/connectors/internal/tstest/openapicheck"
	"github.com/automators/connectors/internal/tstest/reftest"
)

// DocPath returns the path of Nango's OpenAPI document, skipping t (failing
// it under CI=true) when it cannot be found.
func DocPath(t testing.TB) string {
	t.Helper()
	return reftest.Path(t, "nango-openapi.yaml", "NANGO_OPENAPI")
}

// Exchange is one request and its answer, as seen by the validator.
type Exchange struct {
	Method   string
	Path     string
	Status   int
	Code     string // the answer's error.code, when it has one
	HasAuth  bool   // the request carried an Authorization header
	RespBody []byte
}

// Exception is a known difference between the document and Nango's
// behaviour (or a defect of the document). Patch ones are applied to the
// loaded document; Match ones excuse a validation failure of an exchange
// they match, and nothing else.
type Exception struct {
	Name  string
	Why   string
	Match func(x *Exchange) bool // nil for document patches
}

// Exceptions lists every place where the tests follow Nango's behaviour
// rather than the document (SOURCES.md), or work around the document.
var Exceptions = []Exception{
	{Name: "credentials-with-raw", Why: "patch: each *CredentialsWithRaw schema is an allOf of two objects with additionalProperties:false, so no credentials object that has `raw` (Nango always sends it) can match; validated as the base schema plus `raw`"},
	{Name: "integration-full-allof", Why: "patch: IntegrationFull is an allOf of Integration and an object with webhook_url and credentials, both additionalProperties:false, so no integration can match both; validated as one object with the properties of the two"},
	{Name: "proxy-any-path", Why: "patch: /proxy/{anyPath} is one path segment in the document; Nango proxies paths of any depth, so proxy requests are routed as /proxy/{anyPath} with the path collapsed"},
	{Name: "proxy-any-query-params", Why: "patch: the proxy's required query parameter `$ANY_QUERY_PARAMS` is a placeholder for any query, not a parameter; removed"},
	{Name: "delete-unknown-connection", Why: "DELETE /connections/{id} of an unknown connection answers 400 unknown_connection (the document says 404); the 400 body fits the declared BadRequest",
		Match: func(x *Exchange) bool {
			return x.Method == http.MethodDelete && x.Status == http.StatusBadRequest && x.Code == "unknown_connection"
		}},
	{Name: "unknown-provider-config", Why: "an unknown integration answers 400 unknown_provider_config (not listed in the document)",
		Match: func(x *Exchange) bool {
			return x.Status == http.StatusBadRequest && x.Code == "unknown_provider_config"
		}},
	{Name: "refresh-failure-payload", Why: "a failed refresh answers 400 or 424 invalid_credentials with the connection in error.payload, which StdError (additionalProperties:false) does not allow",
		Match: func(x *Exchange) bool {
			return (x.Status == http.StatusBadRequest || x.Status == http.StatusFailedDependency) && x.Code == "invalid_credentials"
		}},
	{Name: "proxy-unknown-connection", Why: "the proxy answers 400 server_error \"Failed to get connection\" for an unknown connection; the document declares only 200",
		Match: func(x *Exchange) bool {
			return strings.HasPrefix(x.Path, "/proxy/") && x.Status == http.StatusBadRequest && x.Code == "server_error"
		}},
	{Name: "proxy-upstream-status", Why: "the proxy passes the provider's status and body through; the document declares only 200",
		Match: func(x *Exchange) bool { return strings.HasPrefix(x.Path, "/proxy/") }},
	{Name: "undeclared-429-5xx", Why: "Nango answers 429 too_many_request (with Retry-After) and 5xx on any endpoint; most operations do not declare them",
		Match: func(x *Exchange) bool { return x.Status == http.StatusTooManyRequests || x.Status >= 500 }},
	{Name: "undeclared-401", Why: "Nango's auth middleware answers 401 on every endpoint; the /connections operations do not declare it (tests send unauthenticated requests on purpose)",
		Match: func(x *Exchange) bool { return x.Status == http.StatusUnauthorized }},
}

// Contract is Nango's document, loaded and patched, with a router.
type Contract struct {
	doc *openapicheck.Doc
}

// Load reads, patches and routes Nango's document.
func Load(t testing.TB) *Contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(DocPath(t))
	if err != nil {
		t.Fatalf("nangotest: loading Nango's document: %v", err)
	}
	// doc.Validate is not called: the document fails it on an example of an
	// operation this service does not use (/action/trigger).
	patchWithRaw(t, doc)
	patchIntegrationFull(t, doc)
	if p := doc.Paths.Value("/proxy/{anyPath}"); p != nil {
		for _, op := range p.Operations() {
			op.Parameters = slices.DeleteFunc(op.Parameters, func(p *openapi3.ParameterRef) bool {
				return p.Value != nil && p.Value.Name == "$ANY_QUERY_PARAMS"
			})
		}
	}
	d, err := openapicheck.New(doc, bearerAuth)
	if err != nil {
		t.Fatalf("nangotest: Nango's document: %v", err)
	}
	return &Contract{doc: d}
}

// patchWithRaw rewrites each *CredentialsWithRaw schema, in place (refs to it
// share the pointer), as its base schema with a required `raw` object.
func patchWithRaw(t testing.TB, doc *openapi3.T) {
	t.Helper()
	n := 0
	for name, ref := range doc.Components.Schemas {
		if !strings.HasSuffix(name, "CredentialsWithRaw") || ref.Value == nil || len(ref.Value.AllOf) != 2 {
			continue
		}
		base := ref.Value.AllOf[0].Value
		merged := *base
		merged.Properties = openapi3.Schemas{}
		for k, v := range base.Properties {
			merged.Properties[k] = v
		}
		merged.Properties["raw"] = openapi3.NewObjectSchema().NewRef()
		merged.Required = append(slices.Clone(base.Required), "raw")
		merged.Title = ref.Value.Title
		*ref.Value = merged
		n++
	}
	if n == 0 {
		t.Fatal("nangotest: no *CredentialsWithRaw schema to patch; has the document changed?")
	}
}

// patchIntegrationFull merges IntegrationFull's allOf into one closed object
// (exception integration-full-allof).
func patchIntegrationFull(t testing.TB, doc *openapi3.T) {
	t.Helper()
	ref := doc.Components.Schemas["IntegrationFull"]
	if ref == nil || ref.Value == nil || len(ref.Value.AllOf) != 2 || ref.Value.AllOf[0].Value == nil || ref.Value.AllOf[1].Value == nil {
		t.Fatal("nangotest: IntegrationFull is not an allOf of two schemas; has the document changed?")
	}
	base, extra := ref.Value.AllOf[0].Value, ref.Value.AllOf[1].Value
	merged := *base
	merged.Properties = openapi3.Schemas{}
	for _, s := range []*openapi3.Schema{base, extra} {
		for k, v := range s.Properties {
			merged.Properties[k] = v
		}
	}
	merged.Required = slices.Concat(base.Required, extra.Required)
	*ref.Value = merged
}

// Validator is an http.RoundTripper that checks every exchange against the
// contract. A failure is a test error unless an Exception matches it.
type Validator = openapicheck.Validator

// Transport returns a Validator over base (nil: http.DefaultTransport).
func (c *Contract) Transport(t testing.TB, base http.RoundTripper) *Validator {
	return openapicheck.NewValidator(t, "Nango", base, c.check)
}

// check holds one exchange to the document, but for the sandbox connect
// URL, and excuses failures an Exception matches.
func (c *Contract) check(v *Validator, x *openapicheck.Exchange) {
	req := x.Request
	if strings.HasPrefix(req.URL.Path, "/oauth/connect/") {
		return // the sandbox connect URL, not part of Nango's API
	}
	ex := &Exchange{Method: req.Method, Path: req.URL.Path, Status: x.Status, HasAuth: req.Header.Get("Authorization") != "", RespBody: x.Body}
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(x.Body, &env) == nil {
		ex.Code = env.Error.Code
	}
	o := openapicheck.Options{Except: func() bool { return except(v, ex) }}
	if strings.HasPrefix(req.URL.Path, "/proxy/") {
		o.RoutePath = "/proxy/any" // exception proxy-any-path
	}
	v.Validate(c.doc, x, o)
}

// except reports whether a Match exception excuses x, counting it.
func except(v *Validator, x *Exchange) bool {
	for _, ex := range Exceptions {
		if ex.Match != nil && ex.Match(x) {
			v.Count(ex.Name)
			return true
		}
	}
	return false
}

// errNoBearer is the security failure of a request without a bearer token.
var errNoBearer = errors.New("missing Authorization: Bearer <secret key>")

// bearerAuth checks the document's bearerAuth scheme.
func bearerAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") || len(h) == len("Bearer ") {
		return errNoBearer
	}
	return nil
}
