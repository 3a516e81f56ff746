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
// -ldflags "-X github.com/automators/connectors/internal/adapter/nango.Version=1.2.3".
var Version = "dev"

// Defaults for New.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultMaxRetries  = 3
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// maxBody bounds what is read from one answer, so a misbehaving server cannot
// exhaust a Lambda's memory.
const maxBody = 32 << 20

// sharedTransport is the one keep-alive transport of the process: every Client
// built without WithHTTPClient reuses its connections across invocations.
var sharedTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 16
	t.IdleConnTimeout = 90 * time.Second
	return t
}()

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
		hc:          &http.Client{Transport: sharedTransport},
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
type response struct {
	status int
	header http.Header
	body   []byte
}

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
	resp, err := c.send(ctx, r, isRetryableStatus)
	if err != nil {
		return err
	}
	if resp.status/100 != 2 {
		return parseAPIError(r.op, resp)
	}
	if out == nil || len(resp.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
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

func isRetryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// errRetryStatus marks an answer whose status retryStatus accepts, so that
// backoff.Retry tries again; send returns the answer itself, never this.
var errRetryStatus = errors.New("retryable status")

// send makes attempts of r until one gets an answer that is final: a status
// that retryStatus refuses, a call that may not be retried, retries used up,
// or no time left. It returns an error only when it has no answer to give:
// a network error, or an answer it retried past (as *APIError).
func (c *Client) send(ctx context.Context, r *request, retryStatus func(int) bool) (*response, error) {
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
		if !retryStatus(last.status) {
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
		// No limit without a deadline: the tries bound the call.
		backoff.WithMaxElapsedTime(0),
	}
	if deadline, ok := ctx.Deadline(); ok {
		// A wait that would outlive the caller ends the call with the answer
		// we have now, so a 429 reaches the caller as rate-limited at once.
		opts = append(opts, backoff.WithMaxElapsedTime(max(time.Until(deadline), 1)))
	}
	if resp, err := backoff.Retry(ctx, op, opts...); err == nil {
		return resp, nil
	}
	switch {
	case ctx.Err() != nil:
		// The caller's deadline or cancellation, not a per-attempt timeout.
		return nil, c.finalError(ctx, r, last, lastErr)
	case lastErr != nil && tries < maxTries:
		return nil, &callError{op: r.op, err: fmt.Errorf("%w (no time left to retry)", lastErr)}
	case lastErr != nil:
		return nil, &callError{op: r.op, err: lastErr}
	}
	return last, nil
}

// finalError is the error of a call whose context ended: it wraps the
// context's error and, when there was one, the last answer's error, so both
// errors.Is(err, context.DeadlineExceeded) and IsRateLimited work.
func (c *Client) finalError(ctx context.Context, r *request, resp *response, err error) error {
	cause := ctx.Err()
	if err == nil && resp != nil && resp.status/100 != 2 {
		err = parseAPIError(r.op, resp)
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

	u := c.host + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.secretKey)
	req.Header.Set("User-Agent", c.userAgent)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, stripURL(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, stripURL(err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// stripURL drops the *url.Error wrapper, whose message repeats the full URL
// (with its query): errors name the operation instead.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
