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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Version names this client in the User-Agent. It is set at build time with
// -ldflags "-X github.com/automators/connectors/internal/adapter/composio.Version=1.2.3".
var Version = "dev"

// DefaultBaseURL is Composio's API.
const DefaultBaseURL = "https://backend.composio.dev"

// Defaults for New.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultMaxRetries  = 3
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// HeaderAPIKey carries the project API key.
const HeaderAPIKey = "x-api-key"

// maxBody bounds what is read from one answer, so a misbehaving server
// cannot exhaust a Lambda's memory.
const maxBody = 32 << 20

// sharedTransport is the one keep-alive transport of the process: every
// Client built without WithHTTPClient reuses its connections.
var sharedTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 16
	t.IdleConnTimeout = 90 * time.Second
	return t
}()

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
		hc:          &http.Client{Transport: sharedTransport},
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
type response struct {
	status int
	header http.Header
	body   []byte
}

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
	if resp.status/100 != 2 {
		return c.parseAPIError(r.op, resp)
	}
	if out == nil || len(resp.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
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

func isRetryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// errRetryStatus marks an answer whose status may be retried, so that
// backoff.Retry tries again; send returns the answer itself, never this.
var errRetryStatus = errors.New("retryable status")

// send makes attempts of r until one gets a final answer: a status that is
// not retryable, a call that may not be retried, retries used up, or no
// time left. It returns an error only when it has no answer to give: a
// network error, or the caller's context ending.
func (c *Client) send(ctx context.Context, r *request) (*response, error) {
	var (
		last    *response
		lastErr error
		tries   uint
	)
	op := func() (*response, error) {
		tries++
		last, lastErr = c.attempt(ctx, r)
		if lastErr != nil {
			return nil, lastErr
		}
		if !isRetryableStatus(last.status) {
			return last, nil
		}
		if last.status == http.StatusTooManyRequests {
			if ra, ok := parseRetryAfter(last.header.Get("Retry-After"), time.Now()); ok {
				return nil, &backoff.RetryAfterError{Duration: ra}
			}
		}
		return nil, errRetryStatus
	}
	maxTries := uint(1)
	if r.retry {
		maxTries += uint(c.maxRetries)
	}
	opts := []backoff.RetryOption{
		backoff.WithMaxTries(maxTries),
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval:     c.backoffBase,
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         c.backoffMax,
		}),
		backoff.WithMaxElapsedTime(0), // the tries bound the call
	}
	if deadline, ok := ctx.Deadline(); ok {
		// A wait that would outlive the caller ends the call with the
		// answer we have now, so a 429 reaches the caller at once.
		opts = append(opts, backoff.WithMaxElapsedTime(max(time.Until(deadline), 1)))
	}
	if resp, err := backoff.Retry(ctx, op, opts...); err == nil {
		return resp, nil
	}
	switch {
	case ctx.Err() != nil:
		return nil, c.finalError(ctx, r, last, lastErr)
	case lastErr != nil && tries < maxTries:
		return nil, &callError{op: r.op, err: fmt.Errorf("%w (no time left to retry)", lastErr)}
	case lastErr != nil:
		return nil, &callError{op: r.op, err: lastErr}
	}
	return last, nil
}

// finalError is the error of a call whose context ended: it wraps the
// context's error and, when there was one, the last answer's error.
func (c *Client) finalError(ctx context.Context, r *request, resp *response, err error) error {
	cause := ctx.Err()
	if err == nil && resp != nil && resp.status/100 != 2 {
		err = c.parseAPIError(r.op, resp)
	}
	if err == nil || errors.Is(err, cause) {
		return &callError{op: r.op, err: cause}
	}
	return &callError{op: r.op, err: fmt.Errorf("%w (last attempt: %w)", cause, err)}
}

// attempt makes one HTTP exchange bounded by the per-call timeout.
func (c *Client) attempt(ctx context.Context, r *request) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()

	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return nil, stripURL(err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(HeaderAPIKey, c.apiKey)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.scrub(stripURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, c.scrub(stripURL(err))
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// stripURL drops the *url.Error wrapper, whose message repeats the full
// URL: errors name the operation instead.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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
