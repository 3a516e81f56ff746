// Package nango is a small client for Nango's REST API (https://nango.dev):
// connect sessions, connections and their credentials, integrations, the
// proxy, and the verification of the webhooks Nango sends.
//
// One Client is built per cold start and shared: it holds one keep-alive
// transport, bounds each attempt with a per-call timeout, and bounds the whole
// call with the caller's context.
//
// Retry policy. Only calls that are safe to repeat are retried, on 5xx
// answers, network errors and 429 (honouring Retry-After):
//   - GET (list, get, token, integrations): read-only;
//   - DELETE of a connection: repeating it cannot delete anything else (a
//     repeat after a lost answer reports not-found, which IsNotFound matches);
//   - PATCH of a connection's tags and both metadata calls: they set values,
//     so applying the same body twice leaves the same state.
//
// Creating a connect session (POST) is never retried: each attempt would
// create another session. The proxy is never retried by the client either: its
// upstream effects are unknown, and ProxyRequest.Retries asks Nango to retry
// upstream failures itself.
package nango

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/automators/connectors/internal/httpcall"
)

// Version names this client in the User-Agent. It is set at build time with
// -ldflags "-X github.com/automators/connectors/internal/adapter/nango.Version=1.2.3".
var Version = "dev"

// Defaults for New.
const (
	DefaultCallTimeout = httpcall.DefaultCallTimeout
	DefaultMaxRetries  = httpcall.DefaultMaxRetries
	DefaultBackoffBase = httpcall.DefaultBackoffBase
	DefaultBackoffMax  = httpcall.DefaultBackoffMax
)

// Client calls Nango's API with a secret key. It is safe for concurrent use.
type Client struct {
	host        string // base URL without a trailing slash
	secretKey   string
	hc          *http.Client
	callTimeout time.Duration
	maxRetries  int
	backoffBase time.Duration
	backoffMax  time.Duration
	userAgent   string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the shared keep-alive client (tests use it to
// observe or validate traffic). Its Timeout, if any, applies on top of the
// per-call timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithMaxRetries sets how many times a retryable call is repeated after its
// first attempt (default 3; 0 disables retries).
func WithMaxRetries(n int) Option {
	return func(c *Client) {
		if n >= 0 {
			c.maxRetries = n
		}
	}
}

// WithBackoff sets the exponential back-off between attempts: the wait
// before retry n is min(max, base*2^(n-1)) randomised by ±50%, so clients
// failing together do not retry together, unless Nango said how long to
// wait with Retry-After.
func WithBackoff(base, max time.Duration) Option {
	return func(c *Client) {
		if base > 0 {
			c.backoffBase = base
		}
		if max > 0 {
			c.backoffMax = max
		}
	}
}

// New returns a client for the Nango instance at host (for example
// "https://api.nango.dev") authenticated with secretKey.
func New(host, secretKey string, opts ...Option) *Client {
	c := &Client{
		host:        strings.TrimRight(host, "/"),
		secretKey:   secretKey,
		hc:          httpcall.SharedClient(),
		callTimeout: DefaultCallTimeout,
		maxRetries:  DefaultMaxRetries,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		userAgent:   "automators-connectors/" + Version + " (+nango-go)",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// request is one logical call; send may make several attempts of it.
type request struct {
	method string
	path   string // escaped path, e.g. "/connections/abc"
	op     string // for error messages: method and path template, never a query
	query  url.Values
	header http.Header
	body   []byte
	retry  bool // safe to repeat (see the package comment)
}

// response is a complete answer of Nango.
type response = httpcall.Response

// callError reports that no answer came from Nango: a network error, a
// timeout, or the caller's context ending. IsUnavailable matches it.
type callError struct {
	op  string
	err error
}

// Error names the operation and the cause, never the URL or a secret.
func (e *callError) Error() string { return "nango: " + e.op + ": " + e.err.Error() }

// Unwrap gives the cause, so errors.Is sees a context's error.
func (e *callError) Unwrap() error { return e.err }

// do sends r, decodes a 2xx JSON answer into out (when out is not nil), and
// turns any other answer into an *APIError.
func (c *Client) do(ctx context.Context, r *request, out any) error {
	resp, err := c.send(ctx, r, nil)
	if err != nil {
		return err
	}
	if resp.Status/100 != 2 {
		return parseAPIError(r.op, resp)
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("nango: %s: decoding answer: %w", r.op, err)
	}
	return nil
}

// doJSON is do with a JSON request body.
func (c *Client) doJSON(ctx context.Context, r *request, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("nango: %s: encoding request: %w", r.op, err)
	}
	r.body = b
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set("Content-Type", "application/json")
	return c.do(ctx, r, out)
}

// policy is the client's retry settings, read at each call so that options
// and tests set plain fields.
func (c *Client) policy() httpcall.Policy {
	return httpcall.Policy{
		Client:      c.hc,
		CallTimeout: c.callTimeout,
		MaxRetries:  c.maxRetries,
		BackoffBase: c.backoffBase,
		BackoffMax:  c.backoffMax,
	}
}

// send sends r with Nango's credentials and headers, retrying it as the
// package comment says; retryStatus nil means httpcall.RetryableStatus. It
// returns an error only when it has no answer to give: a *callError, which
// wraps the last answer's *APIError when the caller's context ended after
// one.
func (c *Client) send(ctx context.Context, r *request, retryStatus func(int) bool) (*response, error) {
	u := c.host + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+c.secretKey)
	h.Set("User-Agent", c.userAgent)
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	resp, err := c.policy().Send(ctx, &httpcall.Request{
		Method: r.method, URL: u, Header: h, Body: r.body,
		Retry: r.retry, RetryStatus: retryStatus,
		AnswerError: func(resp *response) error { return parseAPIError(r.op, resp) },
	})
	if err != nil {
		return nil, &callError{op: r.op, err: err}
	}
	return resp, nil
}
