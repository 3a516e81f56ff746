// Package composio is Composio (https://composio.dev) as an auth provider:
// a small client for the parts of its v3 platform API this service uses
// (Connect Links, connected accounts, the proxy), the Provider that
// implements connectors.Provider on it, and the verification of the
// Standard Webhooks that Composio signs.
//
// Composio keeps each connection's tokens and sends every request itself
// (its proxy): this service stores only the connected account's id.
//
// One Client is built per cold start and shared: it holds one keep-alive
// transport, bounds each attempt with a per-call timeout, and bounds the
// whole call with the caller's context.
//
// Retry policy. Only calls that are safe to repeat are retried, on 5xx
// answers, network errors and 429 (honouring Retry-After): reading a
// connected account (GET) and deleting one (DELETE: a repeat after a lost
// answer reports not-found, which Revoke takes as done). Creating a link
// and re-running an account's authentication (POST) are never retried:
// each attempt would start another flow. The proxy is never retried: its
// upstream effects are unknown.
package composio

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
// -ldflags "-X github.com/automators/connectors/internal/adapter/composio.Version=1.2.3".
var Version = "dev"

// DefaultBaseURL is Composio's API.
const DefaultBaseURL = "https://backend.composio.dev"

// Defaults for New.
const (
	DefaultCallTimeout = httpcall.DefaultCallTimeout
	DefaultMaxRetries  = httpcall.DefaultMaxRetries
	DefaultBackoffBase = httpcall.DefaultBackoffBase
	DefaultBackoffMax  = httpcall.DefaultBackoffMax
)

// HeaderAPIKey carries the project API key.
const HeaderAPIKey = "x-api-key"

// Client calls Composio's API with a project API key. It is safe for
// concurrent use.
type Client struct {
	baseURL     string // without a trailing slash
	apiKey      string
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
// before retry n is min(max, base*2^(n-1)) randomised by ±50%, unless
// Composio said how long to wait with Retry-After.
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

// WithCallTimeout bounds each attempt (default 10 s).
func WithCallTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}

// New returns a client for Composio's API at baseURL (empty:
// DefaultBaseURL) authenticated with the project API key apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	c := &Client{
		baseURL:     strings.TrimRight(baseURL, "/"),
		apiKey:      apiKey,
		hc:          httpcall.SharedClient(),
		callTimeout: DefaultCallTimeout,
		maxRetries:  DefaultMaxRetries,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		userAgent:   "automators-connectors/" + Version + " (+composio-go)",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// request is one logical call; send may make several attempts of it.
type request struct {
	method string
	path   string // escaped path, e.g. "/api/v3/connected_accounts/ca_1"
	op     string // for errors: method and path template, never an id or a query
	query  url.Values
	body   []byte
	retry  bool // safe to repeat (see the package comment)
}

// response is a complete answer of Composio.
type response = httpcall.Response

// callError reports that no answer came from Composio: a network error, a
// timeout, or the caller's context ending. IsUnavailable matches it.
type callError struct {
	op  string
	err error
}

// Error names the operation and the cause, never the URL or the API key.
func (e *callError) Error() string { return "composio: " + e.op + ": " + e.err.Error() }

// Unwrap gives the cause, so errors.Is sees a context's error.
func (e *callError) Unwrap() error { return e.err }

// do sends r, decodes a 2xx JSON answer into out (when out is not nil), and
// turns any other answer into an *APIError.
func (c *Client) do(ctx context.Context, r *request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	if resp.Status/100 != 2 {
		return c.parseAPIError(r.op, resp)
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &DecodeError{Op: r.op, Err: err}
	}
	return nil
}

// doJSON is do with a JSON request body.
func (c *Client) doJSON(ctx context.Context, r *request, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("composio: %s: encoding request: %w", r.op, err)
	}
	r.body = b
	return c.do(ctx, r, out)
}

// DecodeError is a 2xx answer whose body is not what the document says.
type DecodeError struct {
	Op  string
	Err error
}

// Error implements the error interface.
func (e *DecodeError) Error() string {
	return "composio: " + e.Op + ": decoding answer: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// policy is the client's retry settings, read at each call so that options
// set plain fields.
func (c *Client) policy() httpcall.Policy {
	return httpcall.Policy{
		Client:      c.hc,
		CallTimeout: c.callTimeout,
		MaxRetries:  c.maxRetries,
		BackoffBase: c.backoffBase,
		BackoffMax:  c.backoffMax,
	}
}

// send sends r with the API key and Composio's headers, retrying it as the
// package comment says. It returns an error only when it has no answer to
// give: a *callError, scrubbed of the API key, which wraps the last answer's
// *APIError when the caller's context ended after one.
func (c *Client) send(ctx context.Context, r *request) (*response, error) {
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	h := http.Header{}
	if r.body != nil {
		h.Set("Content-Type", "application/json")
	}
	h.Set(HeaderAPIKey, c.apiKey)
	h.Set("User-Agent", c.userAgent)
	h.Set("Accept", "application/json")
	resp, err := c.policy().Send(ctx, &httpcall.Request{
		Method: r.method, URL: u, Header: h, Body: r.body, Retry: r.retry,
		AnswerError: func(resp *response) error { return c.parseAPIError(r.op, resp) },
	})
	if err != nil {
		return nil, &callError{op: r.op, err: c.scrub(err)}
	}
	return resp, nil
}

// scrub makes sure no error text holds the API key, whatever a transport
// or Composio put in it.
func (c *Client) scrub(err error) error {
	if err == nil || c.apiKey == "" || !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.apiKey, "[REDACTED]"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
