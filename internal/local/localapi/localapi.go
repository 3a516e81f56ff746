// Package localapi serves the HttpApi routes of template.yaml in process, as
// API Gateway (HTTP API, payload format 2.0) would: a net/http.ServeMux
// matches each HTTP request to its route, the request becomes the
// events.APIGatewayV2HTTPRequest the gateway sends to the Lambda function of
// that route, and the function's events.APIGatewayV2HTTPResponse becomes the
// HTTP answer. It is what `make run` listens with.
//
// What it does not emulate: stages other than $default, authorizers, custom
// domains, throttling. As in net/http, a GET route also serves HEAD.
package localapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/local/samtemplate"
)

// Handler is a Lambda handler for API Gateway HTTP API events, as the
// functions run them.
type Handler = apigw.Handler

// MaxBodyBytes is API Gateway's HTTP API payload limit (10 MB); larger
// requests are refused before the function sees them, as by the gateway.
const MaxBodyBytes = 10 << 20

// DefaultTimeout is API Gateway's integration timeout for HTTP APIs.
const DefaultTimeout = 30 * time.Second

// Route is an HttpApi route and the function serving it.
type Route struct {
	Method string // upper case, or "ANY"
	Path   string // e.g. "/api/v1/nango/connections/{connectionId}"
	// Function is the function's folder under functions/, e.g.
	// "nango-get-connection", as handlers are keyed.
	Function string
}

// Options configure a Server.
type Options struct {
	Logger  *slog.Logger  // default slog.Default()
	Timeout time.Duration // per request; default DefaultTimeout
	Now     func() time.Time
	// CORS answers preflight requests as the HttpApi's CorsConfiguration
	// does; nil answers them 405 like any unrouted method.
	CORS *CORS
}

// CORS is the HttpApi CorsConfiguration the gateway applies to preflights.
type CORS struct {
	AllowOrigins []string // "*" allows any
	AllowMethods []string
	AllowHeaders []string
	MaxAge       int // seconds
}

// preflight answers an OPTIONS preflight for a routed path. The function is
// not called: the gateway answers preflights itself.
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if slices.Contains(c.AllowOrigins, "*") || slices.Contains(c.AllowOrigins, origin) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		if c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", fmt.Sprint(c.MaxAge))
		}
		h.Add("Vary", "Origin")
	}
	w.WriteHeader(http.StatusNoContent)
}

// Server is an http.Handler that emulates API Gateway for a set of routes.
// A net/http.ServeMux matches the routes: API Gateway's precedence (a
// literal segment over a {parameter}, {proxy+} last) is ServeMux's.
type Server struct {
	mux      *http.ServeMux
	handlers map[string]Handler
	opts     Options
	head     bool // a route declares HEAD; otherwise GET routes imply it only in net/http
}

// Pattern returns the net/http pattern of an API Gateway route: "ANY" is no
// method, and a greedy {name+} is {name...}.
func (r Route) Pattern() string {
	segs := strings.Split(r.Path, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}") {
			segs[i] = strings.TrimSuffix(seg, "+}") + "...}"
		}
	}
	path := strings.Join(segs, "/")
	if r.Method == "ANY" {
		return path
	}
	return r.Method + " " + path
}

// params returns the names of the route's path parameters.
func (r Route) params() []string {
	var names []string
	for seg := range strings.SplitSeq(r.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.TrimSuffix(seg[1:], "}"), "+"))
		}
	}
	return names
}

// RoutesFromTemplate returns every HttpApi route of a parsed template.
func RoutesFromTemplate(t *samtemplate.Template) []Route {
	var out []Route
	for _, r := range t.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path, Function: r.Folder})
	}
	return out
}

// New returns a server for routes. Every route's function must have a
// handler: a route without one is a configuration error, reported now
// rather than as a 500 on first use; so is a route ServeMux cannot tell from
// another.
func New(routes []Route, handlers map[string]Handler, opts Options) (s *Server, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s = &Server{mux: http.NewServeMux(), handlers: handlers, opts: opts}
	var missing []string
	for _, r := range routes {
		if handlers[r.Function] == nil {
			missing = append(missing, r.Function)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("localapi: no handler for function(s) %s", strings.Join(missing, ", "))
	}
	defer func() {
		// ServeMux panics on an invalid or conflicting pattern.
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("localapi: %v", p)
		}
	}()
	for _, r := range routes {
		r.Method = strings.ToUpper(r.Method)
		s.head = s.head || r.Method == http.MethodHead
		s.mux.Handle(r.Pattern(), s.route(r))
	}
	return s, nil
}

type requestIDKey struct{}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	// Real API Gateway returns its request id in this header on every answer.
	w.Header().Set("Apigw-Requestid", requestID)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, requestID))
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}

	// No route: let the mux say whether the path has routes for other
	// methods (405 and Allow), then answer in the gateway's place.
	probe := &probeWriter{header: http.Header{}}
	s.mux.ServeHTTP(probe, r)
	if probe.status != http.StatusMethodNotAllowed {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path), requestID)
		return
	}
	if r.Method == http.MethodOptions && s.opts.CORS != nil &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		s.opts.CORS.preflight(w, r)
		return
	}
	var allow []string
	for m := range strings.SplitSeq(probe.header.Get("Allow"), ",") {
		if m = strings.TrimSpace(m); m != "" && (m != http.MethodHead || s.head) {
			allow = append(allow, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
		fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")), requestID)
}

// probeWriter keeps the status and headers of the mux's own answer.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) WriteHeader(status int)      { p.status = status }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }

// route returns the handler of rt: the event of the request, to the
// function, and its answer back, as the gateway does.
func (s *Server) route(rt Route) http.Handler {
	names := rt.params()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		requestID, _ := r.Context().Value(requestIDKey{}).(string)
		var params map[string]string
		for _, name := range names {
			if params == nil {
				params = map[string]string{}
			}
			// Decoded, as API Gateway passes path parameters.
			params[name] = r.PathValue(name)
		}
		s.serve(w, r, rt, params, requestID, start)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt Route, params map[string]string, requestID string, start time.Time) {
	req, err := s.Request(r, rt, params, requestID, start)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "request body exceeds the API Gateway limit", requestID)
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request", "could not read the request body", requestID)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:" + rt.Function,
	})
	resp, err := s.invoke(ctx, s.handlers[rt.Function], req)
	log := s.opts.Logger.With("request_id", requestID, "route", req.RouteKey, "target", rt.Function)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// What API Gateway answers when the integration times out.
		log.Error("function timed out", "timeout", s.opts.Timeout)
		writeGateway(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case err != nil:
		// A function error is not an HTTP answer: API Gateway hides it
		// behind a bare 500, and so do we; the log has the detail.
		log.Error("function returned an error", "err", err)
		writeGateway(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if err := WriteResponse(w, resp); err != nil {
		log.Error("invalid function response", "err", err)
		writeGateway(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// The functions log their own requests; this line is for debugging the
	// gateway emulation itself.
	log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", max(resp.StatusCode, 200),
		"durationMs", s.opts.Now().Sub(start).Milliseconds())
}

// invoke runs h, turning a panic into an error as the Lambda runtime does,
// and giving up at the context's deadline as the gateway does.
func (s *Server) invoke(ctx context.Context, h Handler, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	type result struct {
		resp events.APIGatewayV2HTTPResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		resp, err := h(ctx, req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		return events.APIGatewayV2HTTPResponse{}, ctx.Err()
	}
}

// Request builds the event API Gateway sends for r on route rt.
func (s *Server) Request(r *http.Request, rt Route, params map[string]string, requestID string, now time.Time) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}

	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			// Payload 2.0 moves cookies out of the headers into their own
			// list, one "name=value" per cookie.
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	// Go keeps Host out of r.Header; the gateway passes it on.
	headers["host"] = r.Host
	if _, ok := headers["x-forwarded-for"]; !ok {
		headers["x-forwarded-for"] = sourceIP(r)
	}
	if _, ok := headers["x-forwarded-proto"]; !ok {
		headers["x-forwarded-proto"] = "http"
	}
	if len(body) > 0 {
		headers["content-length"] = fmt.Sprint(len(body))
	}

	var query map[string]string
	if r.URL.RawQuery != "" {
		values, _ := url.ParseQuery(r.URL.RawQuery) // as lenient as the gateway
		if len(values) > 0 {
			query = map[string]string{}
			for k, v := range values {
				query[k] = strings.Join(v, ",")
			}
		}
	}

	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	req := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Method + " " + rt.Path,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Method + " " + rt.Path,
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   host,
			DomainPrefix: strings.Split(host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			req.Body = string(body)
		} else {
			req.Body = base64.StdEncoding.EncodeToString(body)
			req.IsBase64Encoded = true
		}
	}
	return req, nil
}

// isText reports whether API Gateway would pass a body as text rather than
// base64: a textual media type, and valid UTF-8.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/x-www-form-urlencoded",
		mt == "application/javascript", mt == "application/graphql":
		return true
	}
	return false
}

func sourceIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// WriteResponse writes a function's answer as API Gateway does: headers,
// then multi-value headers, cookies as Set-Cookie, the body base64-decoded
// when flagged. A zero status code means 200, as for the gateway.
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("body flagged base64 is not base64: %w", err)
		}
		body = b
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return fmt.Errorf("status code %d out of range", status)
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		// API Gateway never sniffs; keep net/http from doing it either.
		h["Content-Type"] = nil
	}
	w.WriteHeader(status)
	w.Write(body) // an error here is a client gone away: nothing to tell it
	return nil
}

// writeError writes the service's JSON error body for answers
// the local API gives itself (unknown route, wrong method).
func writeError(w http.ResponseWriter, status int, code, message, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]string{"code": code, "message": message, "requestId": requestID},
	})
}

// writeGateway writes API Gateway's own error body, {"message": ...}.
func writeGateway(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": message})
}

// newRequestID returns an id shaped like API Gateway's (16 characters,
// base64).
func newRequestID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)[:14] + "A="
}
