// Package panoracontract holds test helpers for the panora adapter and the
// fake Panora: it checks HTTP exchanges against Panora's published OpenAPI
// document (read at test time, never copied into the repository), and what
// the document leaves out (magic links, error answers, webhook deliveries)
// against shapes taken from Panora's source, each named below.
//
// The document is found at <repo root>/../shared/reference/panora-openapi.yaml,
// or at the path in PANORA_OPENAPI. Without it (a fresh clone with no
// ../shared) a test skips with one line naming the file; under CI=true,
// where ../shared is always present, it fails.
//
// Every place where the tests follow Panora's behaviour rather than the
// document, or work around the document, is one entry of Exceptions.
package panoracontract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/automators/connectors/internal/tstest/openapicheck"
	"github.com/automators/connectors/internal/tstest/reftest"
)

// DocPath returns the path of Panora's OpenAPI document, skipping t (failing
// it under CI=true) when it cannot be found.
func DocPath(t testing.TB) string {
	t.Helper()
	return reftest.Path(t, "panora-openapi.yaml", "PANORA_OPENAPI")
}

// Exchange is one request and its answer, as seen by the validator.
type Exchange struct {
	Method   string
	Path     string
	Status   int
	RespBody []byte
}

// Exception is a known difference between the document and Panora's
// behaviour (or a defect of the document). Patch ones (Match nil) are
// applied to the loaded document. Match ones take the exchanges they match
// away from the document: the request is still validated against the
// document when RequestToDocument is set, or against RequestSchema (a
// schema built from Panora's source) when that is set; the answer against
// AnswerSchema when that is set, else not at all.
type Exception struct {
	Name              string
	Why               string
	Match             func(x *Exchange) bool
	RequestToDocument bool
	RequestSchema     func() *openapi3.Schema
	AnswerSchema      func(x *Exchange) *openapi3.Schema
}

func isMagicLinkAPI(x *Exchange) bool {
	return x.Path == "/magic_links" || strings.HasPrefix(x.Path, "/magic_links/")
}

func isLookup(x *Exchange) bool {
	return x.Method == http.MethodGet && (x.Path == "/linked_users/fromRemoteId" ||
		(strings.HasPrefix(x.Path, "/linked_users/") && strings.Count(x.Path, "/") == 2) ||
		strings.HasPrefix(x.Path, "/passthrough/"))
}

// Exceptions lists every place where the tests follow Panora's behaviour
// (github.com/panoratech/Panora at c6741e9e, the commit the document comes
// from) rather than the document, or work around the document.
var Exceptions = []Exception{
	{Name: "document-examples", Why: "patch: the document fails validation only on an example of an operation this service does not use (QueryBody.topK of POST /rag/query: \"3\" for a number); it is checked with examples validation off"},
	{Name: "passthrough-request-format", Why: "patch: PassThroughRequestDto.request_format is declared an object or an array (nullable), but the source reads the string 'JSON' or 'MULTIPART' (packages/api/src/@core/passthrough/dto/passthrough.dto.ts) and sends no body for anything else (connections/@utils/base.service.ts, constructPassthrough); validated as a nullable string enum JSON | MULTIPART"},
	{Name: "passthrough-headers", Why: "patch: the source's PassThroughRequestDto has `headers` (added to the provider request), which the document omits; validated as an object of strings"},
	{Name: "passthrough-override-base-url", Why: "patch: overrideBaseUrl is declared an object, but the source uses it as the base URL string (`${overrideBaseUrl || account_url}/${path}`); validated as a nullable string (the adapter sends null)"},
	{Name: "passthrough-201", Why: "patch: POST /passthrough answers 201 (NestJS's default status for a @Post handler; passthrough.controller.ts sets none), the document declares 200; the 201 answer is validated against the 200 one's schema"},
	{Name: "magic-links-not-in-document", Why: "POST /magic_links and GET /magic_links/{id} are not in the document (magic-link.controller.ts is @ApiExcludeController); validated against schemas built from the source: CreateMagicLinkDto (magic-link/dto/create-magic-link.dto.ts) for the request, the invite_links row (prisma/schema.prisma, returned by magic-link.service.ts createUniqueLink) for the answer, Panora's error shape for an error",
		Match:         isMagicLinkAPI,
		RequestSchema: func() *openapi3.Schema { return MagicLinkRequestSchema() },
		AnswerSchema: func(x *Exchange) *openapi3.Schema {
			if x.Status/100 != 2 {
				return ErrorSchema()
			}
			return MagicLinkSchema()
		}},
	{Name: "magic-link-page", Why: "the magic-link page (the fake's under /connect/, Panora's a separate app at connect.panora.dev) is not part of the API; not validated",
		Match: func(x *Exchange) bool { return strings.HasPrefix(x.Path, "/connect/") || x.Path == "/connect" }},
	{Name: "lookup-empty-200", Why: "a lookup that matches nothing (GET /linked_users/fromRemoteId, GET /linked_users/{id}, GET /passthrough/{retryId} while the job runs) answers 200 with no body and no content type (its service returns null and NestJS sends nothing); the document declares a LinkedUserResponse. The request is validated against the document",
		Match: func(x *Exchange) bool {
			return isLookup(x) && x.Status == http.StatusOK && len(bytes.TrimSpace(x.RespBody)) == 0
		},
		RequestToDocument: true},
	{Name: "undeclared-errors", Why: "the document declares no error answer; Panora's global filter answers every error as {statusCode, timestamp, path, message} (packages/api/src/@core/utils/exception.filter.ts, installed in main.ts): 401 from the API-key guard, 404 for an unknown route, 500 for any other failure (an unknown connection token, a provider error relayed by the passthrough); the answer is validated against that shape, the request against the document",
		Match:             func(x *Exchange) bool { return x.Status >= 400 },
		RequestToDocument: true,
		AnswerSchema:      func(*Exchange) *openapi3.Schema { return ErrorSchema() }},
}

// ErrorSchema is Panora's error answer (exception.filter.ts).
func ErrorSchema() *openapi3.Schema {
	s := openapi3.NewObjectSchema().
		WithProperty("statusCode", openapi3.NewIntegerSchema()).
		WithProperty("timestamp", openapi3.NewDateTimeSchema()).
		WithProperty("path", openapi3.NewStringSchema()).
		WithProperty("message", openapi3.NewStringSchema())
	s.Required = []string{"statusCode", "timestamp", "path", "message"}
	return s
}

// MagicLinkRequestSchema is CreateMagicLinkDto
// (magic-link/dto/create-magic-link.dto.ts): four strings.
func MagicLinkRequestSchema() *openapi3.Schema {
	s := openapi3.NewObjectSchema()
	for _, k := range []string{"linked_user_origin_id", "email", "alias", "id_project"} {
		s.WithProperty(k, openapi3.NewStringSchema())
	}
	s.Properties["id_project"].Value.WithFormat("uuid")
	s.Required = []string{"linked_user_origin_id", "email", "alias", "id_project"}
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
	return s
}

// MagicLinkSchema is the invite_links row (prisma/schema.prisma, model
// invite_links); GET /magic_links/{id} adds the linked user's id_project
// (magic-link.service.ts, getMagicLink).
func MagicLinkSchema() *openapi3.Schema {
	list := openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema())
	s := openapi3.NewObjectSchema().
		WithProperty("id_invite_link", openapi3.NewUUIDSchema()).
		WithProperty("status", openapi3.NewStringSchema()).
		WithProperty("email", openapi3.NewStringSchema().WithNullable()).
		WithProperty("id_linked_user", openapi3.NewUUIDSchema()).
		WithProperty("displayed_verticals", list).
		WithProperty("displayed_providers", list).
		WithProperty("id_project", openapi3.NewUUIDSchema())
	s.Required = []string{"id_invite_link", "status", "email", "id_linked_user", "displayed_verticals", "displayed_providers"}
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
	return s
}

// Contract is Panora's document, loaded and patched, with a router.
type Contract struct {
	doc *openapicheck.Doc
}

var (
	loadOnce sync.Once
	loaded   *Contract
	loadErr  error
)

// Load reads, patches, validates and routes Panora's document (once per
// test binary).
func Load(t testing.TB) *Contract {
	t.Helper()
	path := DocPath(t)
	loadOnce.Do(func() { loaded, loadErr = load(path) })
	if loadErr != nil {
		t.Fatalf("panoracontract: %v", loadErr)
	}
	return loaded
}

func load(path string) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, errors.New("loading Panora's document: " + err.Error())
	}
	if err := patch(doc); err != nil {
		return nil, err
	}
	// Exception document-examples.
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, errors.New("Panora's document (patched) is not valid: " + err.Error())
	}
	d, err := openapicheck.New(doc, apiKeyAuth)
	if err != nil {
		return nil, errors.New("Panora's document: " + err.Error())
	}
	return &Contract{doc: d}, nil
}

// patch applies the patch exceptions; it fails when the document no longer
// has what a patch expects, so that a new document is looked at again.
func patch(doc *openapi3.T) error {
	ref := doc.Components.Schemas["PassThroughRequestDto"]
	if ref == nil || ref.Value == nil || ref.Value.Properties["request_format"] == nil || ref.Value.Properties["overrideBaseUrl"] == nil {
		return errors.New("PassThroughRequestDto has no request_format or overrideBaseUrl; has the document changed?")
	}
	dto := ref.Value
	// passthrough-request-format
	rf := openapi3.NewStringSchema().WithEnum("JSON", "MULTIPART").WithNullable()
	dto.Properties["request_format"] = rf.NewRef()
	// passthrough-override-base-url
	dto.Properties["overrideBaseUrl"] = openapi3.NewStringSchema().WithNullable().NewRef()
	// passthrough-headers
	if _, ok := dto.Properties["headers"]; ok {
		return errors.New("PassThroughRequestDto declares headers now; drop the passthrough-headers patch")
	}
	dto.Properties["headers"] = openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewStringSchema()).NewRef()
	// passthrough-201
	op := doc.Paths.Value("/passthrough")
	if op == nil || op.Post == nil || op.Post.Responses.Value("200") == nil {
		return errors.New("POST /passthrough declares no 200; has the document changed?")
	}
	if op.Post.Responses.Value("201") != nil {
		return errors.New("POST /passthrough declares 201 now; drop the passthrough-201 patch")
	}
	op.Post.Responses.Set("201", op.Post.Responses.Value("200"))
	return nil
}

// Validator is an http.RoundTripper that checks every exchange against the
// contract. A failure is a test error.
type Validator = openapicheck.Validator

// Transport returns a Validator over base (nil: http.DefaultTransport).
func (c *Contract) Transport(t testing.TB, base http.RoundTripper) *Validator {
	return openapicheck.NewValidator(t, "Panora", base, c.check)
}

// check holds one exchange to the document, or, when a Match exception
// takes it, to what that exception says.
func (c *Contract) check(v *Validator, x *openapicheck.Exchange) {
	ex := &Exchange{Method: x.Request.Method, Path: x.Request.URL.Path, Status: x.Status, RespBody: x.Body}
	for _, e := range Exceptions {
		if e.Match == nil || !e.Match(ex) {
			continue
		}
		v.Count(e.Name)
		switch {
		case e.RequestToDocument:
			v.Validate(c.doc, x, openapicheck.Options{RequestOnly: true})
		case e.RequestSchema != nil && len(x.RequestBody) > 0:
			checkSchema(v, x, "request ("+e.Name+")", e.RequestSchema(), x.RequestBody)
		}
		if e.AnswerSchema != nil {
			checkSchema(v, x, "answer ("+e.Name+")", e.AnswerSchema(ex), x.Body)
		}
		return
	}
	v.Validate(c.doc, x, openapicheck.Options{})
}

// checkSchema validates body against schema.
func checkSchema(v *Validator, x *openapicheck.Exchange, what string, schema *openapi3.Schema, body []byte) {
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		v.Errorf(x, "%s is not JSON: %v", what, err)
		return
	}
	if err := schema.VisitJSON(val, openapi3.MultiErrors()); err != nil {
		v.Errorf(x, "%s does not match Panora's source: %v", what, err)
	}
}

// errNoAPIKey is the security failure of a request without an API key.
var errNoAPIKey = errors.New("missing x-api-key")

// apiKeyAuth checks the document's api_key scheme (header x-api-key).
func apiKeyAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "api_key" {
		return errors.New("unknown security scheme " + in.SecuritySchemeName)
	}
	if in.RequestValidationInput.Request.Header.Get("x-api-key") == "" {
		return errNoAPIKey
	}
	return nil
}

// ConnectionSchema is the document's Connection schema.
func (c *Contract) ConnectionSchema() *openapi3.Schema {
	return c.doc.T.Components.Schemas["Connection"].Value
}

// CheckWebhook validates a webhook delivery (not in the document: its
// shape is the source's, webhook.processor.ts): a JSON object with
// id_event, type and data, a string holding the JSON of the event's
// object; for a connection.* event that object is checked against the
// document's Connection schema. It also checks that the body holds data as
// JSON.stringify writes it (no HTML escaping), since that is what is
// signed.
func (c *Contract) CheckWebhook(t testing.TB, body []byte) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		t.Errorf("contract: webhook body is not a JSON object: %v", err)
		return
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"data", "id_event", "type"}) {
		t.Errorf("contract: webhook body has members %v, want data, id_event, type", keys)
	}
	var typ, data string
	if json.Unmarshal(env["type"], &typ) != nil || json.Unmarshal(env["data"], &data) != nil {
		t.Errorf("contract: webhook type and data must be strings")
		return
	}
	if strings.Contains(string(env["data"]), `\u003c`) || strings.Contains(string(env["data"]), `\u0026`) {
		t.Errorf("contract: webhook data is HTML-escaped, which JSON.stringify never does")
	}
	if !strings.HasPrefix(typ, "connection.") {
		return
	}
	var obj any
	if err := json.Unmarshal([]byte(data), &obj); err != nil {
		t.Errorf("contract: webhook data is not JSON: %v", err)
		return
	}
	if err := c.ConnectionSchema().VisitJSON(obj, openapi3.MultiErrors()); err != nil {
		t.Errorf("contract: webhook data is not a Connection of Panora's document: %v", err)
	}
}
