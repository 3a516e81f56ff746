// Package apigw runs a net/http handler as an API Gateway HTTP API (payload
// 2.0) Lambda handler: the event becomes an *http.Request, the handler
// writes into a buffer, and the buffer becomes the response event. It is the
// only place that knows the event types, so the handlers stay plain
// net/http and run unchanged behind any server.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/connectors"
)

// Handler is an API Gateway HTTP API Lambda handler.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Wrap returns the Lambda handler that serves events with h. It never
// returns an error: a Lambda error reaches the caller as the gateway's bare
// 500, so h answers every failure itself.
func Wrap(h http.Handler) Handler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		w := &responseWriter{header: http.Header{}}
		h.ServeHTTP(w, NewRequest(ctx, ev))
		return w.response(), nil
	}
}

type eventKey struct{}

// RequestFromContext returns the event a request handled by Wrap came from,
// for what only the gateway knows: its request id, the JWT authorizer's
// claims, the stage.
func RequestFromContext(ctx context.Context) (*events.APIGatewayV2HTTPRequest, bool) {
	ev, ok := ctx.Value(eventKey{}).(*events.APIGatewayV2HTTPRequest)
	return ev, ok
}

// RequestID returns the gateway's request id of r, or "" when r did not come
// through Wrap.
func RequestID(r *http.Request) string {
	if ev, ok := RequestFromContext(r.Context()); ok {
		return ev.RequestContext.RequestID
	}
	return ""
}

// NewRequest converts an event to the request a handler serves: method, raw
// path and query, headers, cookies, the body (base64-decoded when the
// gateway encoded it), path parameters as path values, and the route key as
// the pattern. The event stays reachable through RequestFromContext.
func NewRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) *http.Request {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method, _, _ = strings.Cut(ev.RouteKey, " ")
	}
	if method == "" {
		method = http.MethodGet
	}
	rawPath := ev.RawPath
	if rawPath == "" {
		rawPath = ev.RequestContext.HTTP.Path
	}
	if rawPath == "" {
		rawPath = "/"
	}
	u := &url.URL{Path: rawPath, RawQuery: ev.RawQueryString}
	if p, err := url.PathUnescape(rawPath); err == nil {
		u.Path, u.RawPath = p, rawPath
	}
	if u.RawQuery == "" && len(ev.QueryStringParameters) > 0 {
		// Events written by hand may carry only the decoded map.
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}

	var body io.Reader = strings.NewReader(ev.Body)
	size := int64(len(ev.Body))
	if ev.IsBase64Encoded {
		// Decoded as read, so an oversized body is refused by its length
		// before a byte of it is decoded.
		body = base64Body{base64.NewDecoder(base64.StdEncoding, strings.NewReader(ev.Body))}
		size = decodedLen(ev.Body)
	}
	// Built on a fixed method and URL, which cannot fail, then given the
	// event's own: a handler sees them as sent, valid or not.
	r, _ := http.NewRequestWithContext(context.WithValue(ctx, eventKey{}, &ev), http.MethodGet, "/", body)
	r.Method = method
	r.URL = u
	r.RequestURI = u.RequestURI()
	r.ContentLength = size
	if size == 0 {
		r.Body = http.NoBody
	}
	r.Proto = ev.RequestContext.HTTP.Protocol
	if r.Proto == "" {
		r.Proto = "HTTP/1.1"
	}
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	// Lower-case names (what the gateway sends) last, so they win over a
	// differently spelled duplicate, as a lookup of the event map would.
	for k, v := range ev.Headers {
		if k != strings.ToLower(k) {
			r.Header.Set(k, v)
		}
	}
	for k, v := range ev.Headers {
		if k == strings.ToLower(k) {
			r.Header.Set(k, v)
		}
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	for k, v := range ev.PathParameters {
		r.SetPathValue(k, v)
	}
	r.Pattern = ev.RouteKey
	return r
}

// decodedLen is the length of the bytes a padded base64 text decodes to.
func decodedLen(s string) int64 {
	n := base64.StdEncoding.DecodedLen(len(s))
	if len(s)%4 == 0 {
		n -= strings.Count(s[len(s)-min(len(s), 2):], "=")
	}
	return int64(n)
}

// base64Body reports a body that is not base64 as the caller's error, not
// as a failure of the service.
type base64Body struct{ r io.Reader }

func (b base64Body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = connectors.Errorf(connectors.EInvalid, "request body is not valid base64")
	}
	return n, err
}

// responseWriter keeps what a handler writes, for the response event.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// response converts what was written: one header value per name (repeated
// values joined by commas, as payload 2.0 wants), Set-Cookie as cookies,
// and a body that is not UTF-8 text in base64.
func (w *responseWriter) response() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	for k, vs := range w.header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		if resp.Headers == nil {
			resp.Headers = map[string]string{}
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	if b := w.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b)
		resp.IsBase64Encoded = true
	}
	return resp
}
