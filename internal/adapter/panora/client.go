// Package panora is Panora (https://panora.dev) as an auth provider: a small
// client for the parts of Panora's unified API this service uses (linked
// users, magic links, connections, the passthrough), the verification of the
// webhooks Panora sends, and Provider, which implements connectors.Provider
// on them.
//
// Panora keeps the provider's tokens. What it hands out per connection is a
// connection token (a UUID, the `x-connection-token` of every unified and
// passthrough call); this service keeps it sealed in the connection's record
// and sends every provider request through Panora's passthrough.
//
// One Client is built per cold start and shared: it holds one keep-alive
// transport, bounds each attempt with a per-call timeout, and bounds the whole
// call with the caller's context.
//
// Retry policy. Only calls that are safe to repeat are retried, on 5xx
// answers, network errors and 429 (honouring Retry-After): the GETs (linked
// users, connections, a queued passthrough's result). Creating a linked user
// or a magic link (POST) is never retried: each attempt would create another
// one (Panora has no unique constraint on linked_user_origin_id). The
// passthrough is never retried by the client: its upstream effects are
// unknown, and Panora queues and repeats a rate-limited request itself.
//
// What this package follows that Panora's OpenAPI document does not say
// comes from Panora's source (github.com/panoratech/Panora at c6741e9e, the
// commit the document comes from); each place names the file. It is read,
// not copied. In short (paths under packages/api/src unless said):
//   - magic links: the request is CreateMagicLinkDto
//     (@core/magic-link/dto/create-magic-link.dto.ts), the answer the
//     invite_links row (packages/api/prisma/schema.prisma) that
//     createUniqueLink returns (@core/magic-link/magic-link.service.ts),
//     the route is guarded by the dashboard's JWT, not the API key
//     (@core/magic-link/magic-link.controller.ts), and the page is
//     <connect host>/?uniqueLink=<id> (apps/magic-link/src/lib/
//     ProviderModal.tsx; hosts in packages/api/variables.MD);
//   - linked users: lookups are not bound to the project and answer nothing
//     for no match (@core/linked-users/linked-users.service.ts); origin ids
//     are not unique (prisma/schema.prisma, model linked_users);
//   - connections: statuses ("valid") and in-place updates on reconnect
//     (@core/connections/crm/services/hubspot/hubspot.service.ts and its
//     siblings); the project's active apps (packages/shared/src/
//     connectors/metadata.ts);
//   - passthrough: request_format and headers (@core/passthrough/dto/
//     passthrough.dto.ts, @core/connections/@utils/base.service.ts), the
//     answers and the queued retry (@core/passthrough/passthrough.service.ts,
//     @core/passthrough/types/index.ts, @core/@core-services/request-retry/
//     retry.handler.ts and retry.consumer.ts), an unknown connection token
//     (@core/connections/@utils/index.ts);
//   - errors: @core/utils/exception.filter.ts;
//   - webhooks: the header, the body and the HMAC
//     (@core/@core-services/webhooks/panora-webhooks/webhook.processor.ts
//     and webhook.service.ts), the event names (packages/shared/src/
//     webhookScopes.ts).
package panora

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
// -ldflags "-X github.com/automators/connectors/internal/adapter/panora.Version=1.2.3".
var Version = "dev"

// DefaultHost is Panora's cloud API.
const DefaultHost = "https://api.panora.dev"

// Defaults for New.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultMaxRetries  = 3
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// Headers of Panora's API.
const (
	// HeaderAPIKey carries the project's API key (the document's api_key
	// security scheme).
	HeaderAPIKey = "x-api-key"
	// HeaderConnectionToken names the connection of a unified or
	// passthrough call.
	HeaderConnectionToken = "x-connection-token"
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

// Client calls Panora's API with a project's API key. It is safe for
// concurrent use. It never prints its secrets.
type Client struct {
	host           string // base URL without a trailing slash
	apiKey         string
	dashboardToken string // Bearer for POST /magic_links, when set
	hc             *http.Client
	callTimeout    time.Duration
	maxRetries     int
	backoffBase    time.Duration
	backoffMax     time.Duration
	userAgent      string
}

// String never shows the secrets.
func (c *Client) String() string { return "panora.Client{host:" + c.host + "}" }

// GoString is String.
func (c *Client) GoString() string { return c.String() }

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
// before retry n is min(max, base*2^(n-1)) randomised by ±50%, unless Panora
// said how long to wait with Retry-After.
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

// WithCallTimeout bounds each attempt (default DefaultCallTimeout); the
// caller's context still bounds the whole call.
func WithCallTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}

// WithDashboardToken sets the bearer token sent with POST /magic_links.
// Panora guards that route with its dashboard's JWT guard, not the API key
// (packages/api/src/@core/magic-link/magic-link.controller.ts:
// @UseGuards(JwtAuthGuard); the guard reads `Authorization: Bearer`,
// packages/api/src/@core/auth/strategies/jwt.strategy.ts), so a deployment
// that creates magic links needs a dashboard session's token besides the
// API key. Without it the client sends the API key only, which Panora's
// cloud refuses with 401 there.
func WithDashboardToken(token string) Option {
	return func(c *Client) { c.dashboardToken = token }
}

// New returns a client for the Panora API at host (DefaultHost when empty)
// authenticated with apiKey.
func New(host, apiKey string, opts ...Option) *Client {
	if host == "" {
		host = DefaultHost
	}
	c := &Client{
		host:        strings.TrimRight(host, "/"),
		apiKey:      apiKey,
		hc:          &http.Client{Transport: sharedTransport},
		callTimeout: DefaultCallTimeout,
		maxRetries:  DefaultMaxRetries,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		userAgent:   "automators-connectors/" + Version + " (+panora-go)",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// request is one logical call; send may make several attempts of it.
type request struct {
	method string
	path   string // escaped path, e.g. "/linked_users/abc"
	op     string // for error messages: method and path template, never a query
	query  url.Values
	header http.Header
	body   []byte
	retry  bool     // safe to repeat (see the package comment)
	bearer string   // Authorization: Bearer, when set (magic links)
	hide   []string // secrets of this call (a connection token), scrubbed from errors
}

// response is a complete answer of Panora.
type response struct {
	status int
	header http.Header
	body   []byte
}

// callError reports that no answer came from Panora: a network error, a
// timeout, or the caller's context ending. IsUnavailable matches it.
type callError struct {
	op  string
	err error
}

// Error names the operation and the cause, never the URL or a secret.
func (e *callError) Error() string { return "panora: " + e.op + ": " + e.err.Error() }

// Unwrap gives the cause, so errors.Is sees a context's error.
func (e *callError) Unwrap() error { return e.err }

// secrets are the values no error of r may show.
func (c *Client) secrets(r *request) []string {
	return append([]string{c.apiKey, c.dashboardToken}, r.hide...)
}

// do sends r, decodes a 2xx JSON answer into out (when out is not nil), and
// turns any other answer into an *APIError. A 2xx answer with an empty body
// (or `null`), which is how Panora answers a lookup that matched nothing,
// leaves out untouched and reports found = false.
func (c *Client) do(ctx context.Context, r *request, out any) (found bool, err error) {
	resp, err := c.send(ctx, r, isRetryableStatus)
	if err != nil {
		return false, err
	}
	if resp.status/100 != 2 {
		return false, parseAPIError(r.op, resp, c.secrets(r))
	}
	b := bytes.TrimSpace(resp.body)
	if len(b) == 0 || string(b) == "null" {
		return false, nil
	}
	if out == nil {
		return true, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return false, fmt.Errorf("panora: %s: decoding answer: %w", r.op, err)
	}
	return true, nil
}

// doJSON is do with a JSON request body.
func (c *Client) doJSON(ctx context.Context, r *request, in, out any) (bool, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return false, fmt.Errorf("panora: %s: encoding request: %w", r.op, err)
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
		err = parseAPIError(r.op, resp, c.secrets(r))
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
		return nil, stripURL(err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set(HeaderAPIKey, c.apiKey)
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
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
// (with its query, which may hold a linked user's origin id): errors name the
// operation instead.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
