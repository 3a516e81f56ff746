// Package openapicheck checks HTTP exchanges against an OpenAPI document with
// kin-openapi; it is the part the provider contract packages
// (nangocontract, panoracontract, composiocontract) share.
//
// A contract package loads and patches its provider's document, then wraps
// it in a Doc (New) with the function that checks the document's security
// schemes. Its tests send requests through a Validator, an http.RoundTripper
// that captures each exchange and hands it to the contract package's check
// function; that function decides what is held to the document (its
// exceptions) and calls Validator.Validate for the rest. The Validator
// counts what it validated and what each exception took, so that a test can
// see that it checked something.
package openapicheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Doc is a loaded document routed on its first server.
type Doc struct {
	// T is the document, for schemas a contract package checks by hand.
	T      *openapi3.T
	router routers.Router
	server string
	auth   openapi3filter.AuthenticationFunc
}

// New routes doc on its first server. auth checks the document's security
// schemes on a request (nil: any request passes them).
func New(doc *openapi3.T, auth openapi3filter.AuthenticationFunc) (*Doc, error) {
	if len(doc.Servers) == 0 {
		return nil, errors.New("the document names no server")
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the document: %w", err)
	}
	if auth == nil {
		auth = openapi3filter.NoopAuthenticationFunc
	}
	return &Doc{T: doc, router: r, server: strings.TrimRight(doc.Servers[0].URL, "/"), auth: auth}, nil
}

// ErrNoRoute is the error of an exchange that matches no operation of the
// document.
var ErrNoRoute = errors.New("no operation in the document")

// Exchange is one request and its answer, bodies read in full.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header // the answer's
	Body        []byte      // the answer's
}

// Options says how Validator.Validate holds an exchange to the document.
type Options struct {
	// RoutePath replaces the request's path when finding its operation, for
	// paths the document can only describe with a placeholder; empty routes
	// the path as sent.
	RoutePath string
	// RequestOnly validates the request and not the answer.
	RequestOnly bool
	// Except is asked about each failure (request or answer); true excuses
	// it, as a known difference between the document and the provider.
	// Routing failures are never excused. Nil excuses nothing.
	Except func() bool
}

// Operation returns the operation of the document x's request is, routed
// as Validate routes it; an error wrapping ErrNoRoute when it is none.
func (d *Doc) Operation(x *Exchange, o Options) (*openapi3.Operation, error) {
	_, route, _, err := d.route(x, o)
	if err != nil {
		return nil, err
	}
	return route.Operation, nil
}

// route finds x's operation on the document's server with the same path
// (or o.RoutePath) and query: the exchange went to a fake or a test
// server, not to the provider.
func (d *Doc) route(x *Exchange, o Options) (*http.Request, *routers.Route, map[string]string, error) {
	routed := x.Request.Clone(context.Background())
	routed.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	path := x.Request.URL.EscapedPath()
	if o.RoutePath != "" {
		path = o.RoutePath
	}
	target := d.server + path
	if x.Request.URL.RawQuery != "" {
		target += "?" + x.Request.URL.RawQuery
	}
	full, err := http.NewRequest(x.Request.Method, target, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	routed.URL = full.URL
	routed.Host = full.URL.Host
	route, params, err := d.router.FindRoute(routed)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrNoRoute, err)
	}
	return routed, route, params, nil
}

// Validate validates x's request, and its answer unless RequestOnly, and
// returns the two results; an exchange with no operation has reqErr
// wrapping ErrNoRoute. The document's parameter defaults are not filled
// in: they are not what was sent, and not ours to check (Trello declares
// one outside its own enum).
func (d *Doc) Validate(x *Exchange, o Options) (reqErr, respErr error) {
	routed, route, params, err := d.route(x, o)
	if err != nil {
		return err, nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request: routed, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: d.auth, MultiError: true, SkipSettingDefaults: true},
	}
	reqErr = openapi3filter.ValidateRequest(context.Background(), in)
	if o.RequestOnly {
		return reqErr, nil
	}
	respErr = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: x.Status, Header: x.Header,
		Body:    io.NopCloser(bytes.NewReader(x.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	return reqErr, respErr
}

// Validator is an http.RoundTripper that hands every exchange to a check
// function and reports what that finds as errors of a test.
type Validator struct {
	t        testing.TB
	name     string // the provider, in messages: "does not match Nango's document"
	base     http.RoundTripper
	check    func(v *Validator, x *Exchange)
	mu       sync.Mutex
	checked  int
	excepted map[string]int
}

// NewValidator returns a Validator over base (nil: http.DefaultTransport)
// reporting to t. check is called with each exchange (it calls Validate,
// Count and Errorf on v); name is the provider, for messages.
func NewValidator(t testing.TB, name string, base http.RoundTripper, check func(v *Validator, x *Exchange)) *Validator {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Validator{t: t, name: name, base: base, check: check, excepted: map[string]int{}}
}

// RoundTrip sends req, reads both bodies (leaving them readable), and checks
// the exchange.
func (v *Validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	v.check(v, &Exchange{Request: req, RequestBody: reqBody, Status: resp.StatusCode, Header: resp.Header, Body: respBody})
	return resp, nil
}

// Check checks one exchange, as RoundTrip does; tests of a fake that build
// requests by hand may call it directly.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	v.t.Helper()
	v.check(v, &Exchange{Request: req, RequestBody: reqBody, Status: status, Header: header, Body: respBody})
}

// Validate holds x to d (see Doc.Validate), counts it as checked when it
// has an operation, and reports each failure not excused.
func (v *Validator) Validate(d *Doc, x *Exchange, o Options) {
	v.t.Helper()
	reqErr, respErr := d.Validate(x, o)
	if errors.Is(reqErr, ErrNoRoute) {
		v.Errorf(x, "no operation in %s's document: %v", v.name, reqErr)
		return
	}
	v.mu.Lock()
	v.checked++
	v.mu.Unlock()
	for _, e := range []struct {
		what string
		err  error
	}{{"request", reqErr}, {"answer", respErr}} {
		if e.err == nil || (o.Except != nil && o.Except()) {
			continue
		}
		v.Errorf(x, "%s does not match %s's document: %v", e.what, v.name, e.err)
	}
}

// Errorf reports a failure of exchange x.
func (v *Validator) Errorf(x *Exchange, format string, args ...any) {
	v.t.Helper()
	v.t.Errorf("contract: %s %s -> %d: %s", x.Request.Method, x.Request.URL.Path, x.Status, fmt.Sprintf(format, args...))
}

// Count records that exception name took (or excused) an exchange.
func (v *Validator) Count(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.excepted[name]++
}

// Checked is the number of exchanges validated against the document.
func (v *Validator) Checked() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.checked
}

// Excepted returns how many exchanges each exception took or excused.
func (v *Validator) Excepted() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return maps.Clone(v.excepted)
}
