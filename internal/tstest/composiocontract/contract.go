// Package composiocontract holds Composio's published OpenAPI document (the
// v3 platform API) to the composio adapter and the fake Composio: every
// request the adapter sends and every answer the fake gives is validated
// against it with kin-openapi, except where Exceptions says why not.
//
// The document is read at test time, never copied into the repository: it is
// <repo root>/../shared/reference/composio-openapi.json, or the path in
// COMPOSIO_OPENAPI. Without it (a fresh clone with no ../shared) a test skips
// with one line naming the file; under CI=true, where ../shared is always
// present, it fails.
package composiocontract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/automators/connectors/internal/tstest/openapicheck"
	"github.com/automators/connectors/internal/tstest/reftest"
)

// DocPath returns the path of Composio's OpenAPI document, skipping t
// (failing it under CI=true) when it cannot be found.
func DocPath(t testing.TB) string {
	t.Helper()
	return reftest.Path(t, "composio-openapi.json", "COMPOSIO_OPENAPI")
}

// Exchange is one request and its answer, as an Exception sees it.
type Exchange struct {
	Method   string
	Path     string
	Status   int
	RespBody []byte
}

// Exception is a known difference between the document and Composio (or
// the adapter's use of it), or a defect of the document. Patch ones are
// applied to the loaded document (Match is nil); Match ones excuse a
// validation failure of an exchange they match, and nothing else.
type Exception struct {
	Name  string
	Why   string
	Match func(x *Exchange) bool
}

// Exceptions lists, in one place, every place where the tests do not hold an
// exchange to the document as published, and why.
var Exceptions = []Exception{
	{Name: "undefined-id-formats", Why: "patch: the document gives ids the formats `authConfigId` and `connectedAccountId` " +
		"without defining them anywhere (OpenAPI 3.0 has no such formats); they are defined here as Composio's id shapes, " +
		"`ac_` and `ca_` followed by a nanoid ([A-Za-z0-9_-]+), so that a malformed id fails validation"},
	{Name: "fake-pages", Why: "the fake's hosted link pages (/link/...) stand in for Composio's hosted Connect Link " +
		"(connect.composio.dev), which is not part of the platform API; they are not validated",
		Match: func(x *Exchange) bool { return strings.HasPrefix(x.Path, "/link/") }},
	{Name: "state-lacks-failed-expired", Why: "the connected account's `state` is a oneOf by auth scheme, each a oneOf by status; " +
		"for API_KEY, BASIC, BEARER_TOKEN, GOOGLE_SERVICE_ACCOUNT and SERVICE_ACCOUNT it has no FAILED and no EXPIRED variant, " +
		"though the account's `status` enum allows both for every scheme: an API-key account Composio marks FAILED or EXPIRED " +
		"cannot be described; such an answer is excused (the status still has to be one of the enum)",
		Match: func(x *Exchange) bool {
			return x.Method == http.MethodGet && x.Status == http.StatusOK && stateLacksStatus(x.RespBody)
		}},
	{Name: "undeclared-429", Why: "Composio rate limits every endpoint with 429 (and Retry-After), in its Error shape; " +
		"only the proxy declares 429, the connected-account operations and the link do not",
		Match: func(x *Exchange) bool { return x.Status == http.StatusTooManyRequests && isErrorShape(x.RespBody) }},
	{Name: "undeclared-5xx", Why: "a gateway in front of Composio answers 502, 503 and 504 on any endpoint; the " +
		"connected-account operations declare only 500 and 501 (the proxy declares 502 and 504, not 503)",
		Match: func(x *Exchange) bool { return x.Status >= 500 && isErrorShape(x.RespBody) }},
}

// Known defects of the document that need no exception, because the adapter
// and the fake do not depend on them (documented here so that the list of
// differences is in one place):
//   - GET /api/v3/connected_accounts/{nanoid} requires, for an ACTIVE OAuth 2
//     account, `state.val.access_token`: the document makes the API hand out
//     the account's token. Composio masks it by default ("mask secrets"); the
//     fake answers a masked placeholder and the adapter never reads `state`.
//   - The connected account's `status` enum (INITIALIZING, INITIATED,
//     ACTIVE, FAILED, EXPIRED, INACTIVE) lacks REVOKED, which Composio's SDKs
//     list; the adapter treats any status but ACTIVE as unusable.
//   - Errors are documented as {"error":{"message","code"(number),"status",...}};
//     Composio's answers also carry `slug`, which the schema does not name
//     (it allows it: the object is open).
//   - The document has no webhooks: the signed events Composio sends
//     (composio.connected_account.expired, composio.trigger.*) and their
//     Standard Webhooks headers are described only in Composio's docs.
//   - POST /api/v3/connected_accounts/{nanoid}/refresh re-runs the
//     authentication (it may answer a new redirect_url and leave the account
//     INITIATED until the user completes it); it is no token refresh. The
//     adapter uses it only to reconnect an account, never for Grant's refresh.

// schemesWithoutFailedExpired are the auth schemes whose `state` has no
// FAILED or EXPIRED variant in the document.
var schemesWithoutFailedExpired = map[string]bool{
	"API_KEY": true, "BASIC": true, "BEARER_TOKEN": true, "GOOGLE_SERVICE_ACCOUNT": true, "SERVICE_ACCOUNT": true,
}

func stateLacksStatus(b []byte) bool {
	var a struct {
		Status string `json:"status"`
		State  struct {
			AuthScheme string `json:"authScheme"`
			Val        struct {
				Status string `json:"status"`
			} `json:"val"`
		} `json:"state"`
	}
	if json.Unmarshal(b, &a) != nil || !schemesWithoutFailedExpired[a.State.AuthScheme] || a.State.Val.Status != a.Status {
		return false
	}
	return a.Status == "FAILED" || a.Status == "EXPIRED"
}

func isErrorShape(b []byte) bool {
	var e struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal(b, &e) == nil && e.Error != nil
}

// ID patterns for the undefined-id-formats patch.
const (
	AuthConfigIDPattern       = `^ac_[A-Za-z0-9_-]+$`
	ConnectedAccountIDPattern = `^ca_[A-Za-z0-9_-]+$`
)

var defineFormats sync.Once

// Contract is Composio's document, loaded and patched, with a router.
type Contract struct {
	doc *openapicheck.Doc
}

var (
	loadMu sync.Mutex
	loaded *Contract
)

// Load reads, patches and routes Composio's document (once per test binary).
func Load(t testing.TB) *Contract {
	t.Helper()
	path := DocPath(t)
	loadMu.Lock()
	defer loadMu.Unlock()
	if loaded != nil {
		return loaded
	}
	defineFormats.Do(func() {
		openapi3.DefineStringFormatValidator("authConfigId", openapi3.NewRegexpFormatValidator(AuthConfigIDPattern))
		openapi3.DefineStringFormatValidator("connectedAccountId", openapi3.NewRegexpFormatValidator(ConnectedAccountIDPattern))
	})
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("composiocontract: loading Composio's document: %v", err)
	}
	if len(doc.Servers) == 0 {
		t.Fatal("composiocontract: the document names no server; has it changed?")
	}
	for _, op := range Operations {
		if doc.Paths.Find(op.Path) == nil || doc.Paths.Find(op.Path).GetOperation(op.Method) == nil {
			t.Fatalf("composiocontract: the document has no %s %s; has it changed?", op.Method, op.Path)
		}
	}
	d, err := openapicheck.New(doc, apiKeyAuth)
	if err != nil {
		t.Fatalf("composiocontract: Composio's document: %v", err)
	}
	loaded = &Contract{doc: d}
	return loaded
}

// Operation is one operation of the document the adapter uses.
type Operation struct{ Method, Path string }

// Operations are the operations the adapter and the fake implement.
var Operations = []Operation{
	{http.MethodPost, "/api/v3/connected_accounts/link"},
	{http.MethodGet, "/api/v3/connected_accounts/{nanoid}"},
	{http.MethodDelete, "/api/v3/connected_accounts/{nanoid}"},
	{http.MethodPost, "/api/v3/connected_accounts/{nanoid}/refresh"},
	{http.MethodPost, "/api/v3/tools/execute/proxy"},
}

// Validator is an http.RoundTripper that checks every exchange against the
// contract. A failure is a test error unless an Exception matches it.
type Validator = openapicheck.Validator

// Transport returns a Validator over base (nil: http.DefaultTransport).
func (c *Contract) Transport(t testing.TB, base http.RoundTripper) *Validator {
	return openapicheck.NewValidator(t, "Composio", base, c.check)
}

// check holds one exchange to the document, but for the fake's own pages,
// and excuses failures an Exception matches.
func (c *Contract) check(v *Validator, x *openapicheck.Exchange) {
	ex := &Exchange{Method: x.Request.Method, Path: x.Request.URL.Path, Status: x.Status, RespBody: x.Body}
	if strings.HasPrefix(ex.Path, "/link/") {
		v.Count("fake-pages")
		return
	}
	v.Validate(c.doc, x, openapicheck.Options{Except: func() bool { return except(v, ex) }})
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

// errNoAPIKey is the security failure of a request without the API key.
var errNoAPIKey = errors.New("missing x-api-key header")

// apiKeyAuth checks the document's security schemes: the project API key
// (x-api-key) is what the adapter sends; the organization key and the
// dashboard's cookie never are.
func apiKeyAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	switch in.SecuritySchemeName {
	case "ApiKeyAuth":
		if in.RequestValidationInput.Request.Header.Get("x-api-key") == "" {
			return errNoAPIKey
		}
		return nil
	default:
		return fmt.Errorf("security scheme %s is not used by this service", in.SecuritySchemeName)
	}
}
